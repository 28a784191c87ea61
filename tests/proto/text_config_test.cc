#include "proto/text_config.h"

#include <string>

#include "common/files.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/process.h"
#include "tsa_config.pb.h"

namespace axis {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class TextConfigTest : public ::testing::Test {
 protected:
  void SetUp() override { path_ = axis::testing::MakeTempDir("text_config") + "/c.textproto"; }

  absl::Status Read(const std::string& text, TsaConfig* config) {
    EXPECT_TRUE(WriteFileAtomic(path_, text).ok());
    return ReadTextConfig(path_, config);
  }

  std::string path_;
};

TEST_F(TextConfigTest, ReadsEveryFieldOfAValidFile) {
  TsaConfig config;
  absl::Status s = Read(
      "# comment\n"
      "listen: \"127.0.0.1:0\"\n"
      "chain_files: \"a.pem\"\nchain_files: \"b.pem\"\n"
      "accuracy_millis: 5\n",
      &config);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(config.listen(), "127.0.0.1:0");
  EXPECT_EQ(config.chain_files_size(), 2);
  EXPECT_EQ(config.accuracy_millis(), 5u);
}

TEST_F(TextConfigTest, ReplacesWhatTheMessageHeldBefore) {
  TsaConfig config;
  config.set_key_file("old.pem");
  config.add_chain_files("old-chain.pem");
  ASSERT_TRUE(Read("chain_files: \"new.pem\"\n", &config).ok());
  EXPECT_EQ(config.key_file(), "");
  ASSERT_EQ(config.chain_files_size(), 1);
  EXPECT_EQ(config.chain_files(0), "new.pem");
}

TEST_F(TextConfigTest, NamesFileLineAndColumnOfAnUnknownField) {
  TsaConfig config;
  absl::Status s = Read("listen: \"127.0.0.1:0\"\n  key_fil: \"k\"\n", &config);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  // Line 2, column 10 (counted from 1): the parser stops on the ':' after
  // the name.
  EXPECT_THAT(std::string(s.message()), HasSubstr(path_ + ":2:10: "));
  EXPECT_THAT(std::string(s.message()), HasSubstr("key_fil"));
}

TEST_F(TextConfigTest, NamesThePositionOfASyntaxErrorAndAWrongType) {
  TsaConfig config;
  absl::Status s = Read("listen: \"127.0.0.1:0\"\naccuracy_seconds: \"one\"\n", &config);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr(path_ + ":2:"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("integer"));

  s = Read("listen: \"127.0.0.1:0\n", &config);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr(path_ + ":1:"));
  EXPECT_THAT(std::string(s.message()), Not(HasSubstr("not a TsaConfig")));
}

TEST_F(TextConfigTest, MissingFileIsNotFoundNamingThePath) {
  TsaConfig config;
  absl::Status s = ReadTextConfig(path_ + ".missing", &config);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(s.message()), HasSubstr(path_ + ".missing"));
}

TEST_F(TextConfigTest, RefusesAFileLargerThanTheLimit) {
  TsaConfig config;
  std::string big = "listen: \"" + std::string(kMaxTextConfigBytes, 'x') + "\"\n";
  EXPECT_EQ(Read(big, &config).code(), absl::StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace axis
