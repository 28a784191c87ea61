#include "proto/text_config.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/files.h"

namespace axis {
namespace {

// Collector keeps every parser complaint with its position, so one run of
// --check-config shows all of them.
class Collector : public google::protobuf::io::ErrorCollector {
 public:
  explicit Collector(std::string path) : path_(std::move(path)) {}
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    // The parser counts from zero.
    errors_.push_back(absl::StrCat(path_, ":", line + 1, ":", column + 1, ": ", message));
  }
  // Warnings fail the read like errors.
  void AddWarning(int line, google::protobuf::io::ColumnNumber column,
                  const std::string& message) override {
    AddError(line, column, message);
  }
  const std::vector<std::string>& errors() const { return errors_; }

 private:
  std::string path_;
  std::vector<std::string> errors_;
};

}  // namespace

absl::Status ReadTextConfig(absl::string_view path, google::protobuf::Message* message) {
  absl::StatusOr<std::string> text = ReadFile(path, kMaxTextConfigBytes);
  if (!text.ok()) {
    return text.status();
  }
  Collector collector{std::string(path)};
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&collector);
  if (parser.ParseFromString(*text, message) && collector.errors().empty()) {
    return absl::OkStatus();
  }
  if (collector.errors().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not a ", message->GetDescriptor()->name(), " in text format"));
  }
  return absl::InvalidArgumentError(absl::StrJoin(collector.errors(), "\n"));
}

}  // namespace axis
