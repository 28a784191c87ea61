#include "tsa/config.h"

#include "common/files.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/process.h"

namespace axis::tsa {
namespace {

using ::testing::HasSubstr;

TEST(ConfigTest, ParsesListenAddresses) {
  std::string host;
  int port = -1;
  ASSERT_TRUE(ParseListenAddress("", &host, &port).ok());
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 0);
  ASSERT_TRUE(ParseListenAddress("10.0.0.1:3180", &host, &port).ok());
  EXPECT_EQ(host, "10.0.0.1");
  EXPECT_EQ(port, 3180);
  ASSERT_TRUE(ParseListenAddress("[::1]:8080", &host, &port).ok());
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 8080);
}

TEST(ConfigTest, RefusesMalformedListenAddresses) {
  std::string host;
  int port = 0;
  for (const char* bad : {"127.0.0.1", ":80", "127.0.0.1:", "127.0.0.1:65536", "h:-1", "h:8x",
                          "::1:80", "[::1]80", "[::1"}) {
    EXPECT_EQ(ParseListenAddress(bad, &host, &port).code(), absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

TEST(ConfigTest, LoadsTextFormat) {
  std::string dir = axis::testing::MakeTempDir("tsaconfig");
  std::string path = dir + "/tsa.textproto";
  ASSERT_TRUE(WriteFileAtomic(path,
                              "listen: \"127.0.0.1:0\"\n"
                              "# comment\n"
                              "chain_files: \"a.pem\"\nchain_files: \"b.pem\"\n"
                              "accuracy_millis: 5\n")
                  .ok());
  absl::StatusOr<TsaConfig> config = LoadTsaConfig(path);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->chain_files_size(), 2);
  EXPECT_EQ(config->accuracy_millis(), 5u);
}

TEST(ConfigTest, NamesFileLineAndColumnOfUnknownField) {
  std::string dir = axis::testing::MakeTempDir("tsaconfig");
  std::string path = dir + "/tsa.textproto";
  ASSERT_TRUE(WriteFileAtomic(path, "listen: \"127.0.0.1:0\"\n  key_fil: \"k\"\n").ok());
  absl::StatusOr<TsaConfig> config = LoadTsaConfig(path);
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(config.status().message()), HasSubstr(path + ":2:"));
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("key_fil"));
}

TEST(ConfigTest, MissingFileIsNotFound) {
  EXPECT_EQ(LoadTsaConfig("/nonexistent/tsa.textproto").status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace axis::tsa
