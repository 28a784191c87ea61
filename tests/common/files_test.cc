#include "common/files.h"

#include <sys/stat.h>

#include "gtest/gtest.h"
#include "tests/testing/process.h"

namespace axis {
namespace {

TEST(FilesTest, WriteThenReadReturnsSameBytes) {
  std::string dir = testing::MakeTempDir("files");
  std::string path = dir + "/a.bin";
  std::string data("b\0ytes \xe1\xbb\x87", 10);
  ASSERT_TRUE(WriteFileAtomic(path, data).ok());
  absl::StatusOr<std::string> got = ReadFile(path);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, data);
}

TEST(FilesTest, ReadOfMissingFileIsNotFoundAndNamesPath) {
  absl::StatusOr<std::string> got = ReadFile("/nonexistent/axis/file");
  EXPECT_EQ(got.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(got.status().message().find("/nonexistent/axis/file"), std::string::npos);
}

TEST(FilesTest, ReadOverLimitIsResourceExhausted) {
  std::string dir = testing::MakeTempDir("files");
  std::string path = dir + "/big";
  ASSERT_TRUE(WriteFileAtomic(path, std::string(100, 'x')).ok());
  EXPECT_EQ(ReadFile(path, 99).status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(ReadFile(path, 100).ok());
}

TEST(FilesTest, AtomicWriteReplacesAndLeavesNoTemporary) {
  std::string dir = testing::MakeTempDir("files");
  std::string path = dir + "/f";
  ASSERT_TRUE(WriteFileAtomic(path, "old").ok());
  ASSERT_TRUE(WriteFileAtomic(path, "new", 0600).ok());
  EXPECT_EQ(*ReadFile(path), "new");
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  absl::StatusOr<testing::CommandResult> ls = testing::RunCommand({"ls", "-A", dir});
  ASSERT_TRUE(ls.ok());
  EXPECT_EQ(ls->out, "f\n");
}

TEST(FilesTest, WriteIntoMissingDirectoryFailsNamingIt) {
  absl::Status s = WriteFileAtomic("/nonexistent/axis/f", "x");
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("/nonexistent/axis/f"), std::string::npos);
}

}  // namespace
}  // namespace axis
