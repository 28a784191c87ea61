#include "tsa/config.h"

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/files.h"

namespace axis::tsa {
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

absl::Status ParseListenAddress(absl::string_view listen, std::string* host, int* port) {
  if (listen.empty()) {
    listen = kDefaultListen;
  }
  absl::string_view h;
  absl::string_view p;
  if (listen.front() == '[') {
    size_t close = listen.find(']');
    if (close == absl::string_view::npos || close + 1 >= listen.size() ||
        listen[close + 1] != ':') {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", listen, "\" is not HOST:PORT or [IPV6]:PORT"));
    }
    h = listen.substr(1, close - 1);
    p = listen.substr(close + 2);
  } else {
    size_t colon = listen.rfind(':');
    if (colon == absl::string_view::npos || listen.find(':') != colon) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", listen, "\" is not HOST:PORT or [IPV6]:PORT"));
    }
    h = listen.substr(0, colon);
    p = listen.substr(colon + 1);
  }
  int value = 0;
  if (h.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", listen, "\" has no host (name the interface, e.g. 127.0.0.1, to bind only it)"));
  }
  if (p.empty() || !absl::SimpleAtoi(p, &value) || value < 0 || value > 65535 ||
      p.find_first_not_of("0123456789") != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", listen, "\": port must be a number from 0 to 65535"));
  }
  *host = std::string(h);
  *port = value;
  return absl::OkStatus();
}

absl::StatusOr<TsaConfig> LoadTsaConfig(absl::string_view path) {
  absl::StatusOr<std::string> text = ReadFile(path, size_t{1} << 20);
  if (!text.ok()) {
    return text.status();
  }
  TsaConfig config;
  Collector collector{std::string(path)};
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&collector);
  if (!parser.ParseFromString(*text, &config) || !collector.errors().empty()) {
    if (collector.errors().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": not a TsaConfig in text format"));
    }
    return absl::InvalidArgumentError(absl::StrJoin(collector.errors(), "\n"));
  }
  return config;
}

}  // namespace axis::tsa
