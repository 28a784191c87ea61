// Tests of cli/asic.h: ASiC-E containers written and read back, and the
// refusals of containers that are not what they claim.
#include "cli/asic.h"

#include <zip.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/files.h"
#include "tests/testing/process.h"

namespace axis::cli {
namespace {

using ::testing::HasSubstr;

std::vector<AsicEntry> Sample() {
  return {{"decision.xml", "text/xml", "<QuyetDinh>Điều 1.</QuyetDinh>"},
          {"evidence/receipt-1.pb", "application/octet-stream", std::string("\0\x01\x02", 3)},
          {"evidence/report.json", "application/json", "{\"valid\":true}"}};
}

// RawZip writes a ZIP with the given (name, data, stored) entries, in order,
// so a test can build containers WriteAsicE would never make.
void RawZip(const std::string& path,
            const std::vector<std::tuple<std::string, std::string, bool>>& entries) {
  int err = 0;
  zip_t* z = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
  ASSERT_NE(z, nullptr);
  for (const auto& [name, data, stored] : entries) {
    zip_source_t* src = zip_source_buffer(z, data.data(), data.size(), 0);
    zip_int64_t i = zip_file_add(z, name.c_str(), src, ZIP_FL_ENC_UTF_8);
    ASSERT_GE(i, 0);
    zip_set_file_compression(z, static_cast<zip_uint64_t>(i), stored ? ZIP_CM_STORE : ZIP_CM_DEFLATE, 0);
  }
  ASSERT_EQ(zip_close(z), 0);
}

const char kManifest[] =
    "<manifest:manifest xmlns:manifest=\"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0\">"
    "<manifest:file-entry manifest:full-path=\"a.xml\" manifest:media-type=\"text/xml\"/>"
    "</manifest:manifest>";

TEST(AsicTest, ReadsBackWhatItWrote) {
  std::string path = testing::MakeTempDir("asic") + "/e.asice";
  ASSERT_TRUE(WriteAsicE(path, Sample()).ok());
  absl::StatusOr<std::vector<AsicEntry>> got = ReadAsicE(path);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ((*got)[i].name, Sample()[i].name);
    EXPECT_EQ((*got)[i].mime_type, Sample()[i].mime_type);
    EXPECT_EQ((*got)[i].data, Sample()[i].data);
  }
}

TEST(AsicTest, StartsWithTheStoredMimetypeAsAsicRequires) {
  std::string path = testing::MakeTempDir("asic") + "/e.asice";
  ASSERT_TRUE(WriteAsicE(path, Sample()).ok());
  absl::StatusOr<std::string> bytes = ReadFile(path);
  ASSERT_TRUE(bytes.ok());
  // Local file header: name at offset 30, then (no extra field) the data.
  EXPECT_EQ(bytes->substr(30, 8), "mimetype");
  EXPECT_EQ(bytes->substr(38, std::string(kAsicEMimeType).size()), kAsicEMimeType);
}

TEST(AsicTest, RefusesNamesThatEscapeOrClash) {
  std::string dir = testing::MakeTempDir("asic");
  for (const char* bad : {"../x", "/etc/passwd", "a/../../b", "a//b", "mimetype", "META-INF/x"}) {
    absl::Status s = WriteAsicE(dir + "/e.asice", {{bad, "text/plain", "x"}});
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_THAT(WriteAsicE(dir + "/e.asice", {{"a", "t", "1"}, {"a", "t", "2"}}).message(),
              HasSubstr("given twice"));
}

TEST(AsicTest, RefusesAZipWithoutAStoredMimetypeFirst) {
  std::string dir = testing::MakeTempDir("asic");
  RawZip(dir + "/a.zip", {{"a.xml", "<a/>", false}, {"mimetype", kAsicEMimeType, true}});
  EXPECT_THAT(ReadAsicE(dir + "/a.zip").status().message(), HasSubstr("not ASiC"));
  RawZip(dir + "/b.zip", {{"mimetype", kAsicEMimeType, false}, {"a.xml", "<a/>", false}});
  EXPECT_THAT(ReadAsicE(dir + "/b.zip").status().message(), HasSubstr("not ASiC"));
  RawZip(dir + "/c.zip", {{"mimetype", "application/zip", true}, {"a.xml", "<a/>", false}});
  EXPECT_THAT(ReadAsicE(dir + "/c.zip").status().message(), HasSubstr("mimetype is"));
}

TEST(AsicTest, RefusesEntriesTheManifestDoesNotList) {
  std::string dir = testing::MakeTempDir("asic");
  RawZip(dir + "/a.zip", {{"mimetype", kAsicEMimeType, true},
                          {"a.xml", "<a/>", false},
                          {"smuggled.xml", "<b/>", false},
                          {"META-INF/manifest.xml", kManifest, false}});
  EXPECT_THAT(ReadAsicE(dir + "/a.zip").status().message(),
              HasSubstr("\"smuggled.xml\" is not listed"));
  RawZip(dir + "/b.zip", {{"mimetype", kAsicEMimeType, true},
                          {"META-INF/manifest.xml", kManifest, false}});
  EXPECT_THAT(ReadAsicE(dir + "/b.zip").status().message(),
              HasSubstr("lists \"a.xml\", which is not in the container"));
}

TEST(AsicTest, RefusesPathTraversalInsideTheZip) {
  std::string dir = testing::MakeTempDir("asic");
  RawZip(dir + "/a.zip", {{"mimetype", kAsicEMimeType, true},
                          {"../../a.xml", "<a/>", false},
                          {"META-INF/manifest.xml", kManifest, false}});
  EXPECT_THAT(ReadAsicE(dir + "/a.zip").status().message(), HasSubstr("not a plain relative path"));
}

TEST(AsicTest, StopsDecompressingAtTheLimitWhateverTheZipClaims) {
  std::string dir = testing::MakeTempDir("asic");
  ASSERT_TRUE(WriteAsicE(dir + "/e.asice", {{"big.bin", "application/octet-stream",
                                             std::string(1 << 20, 'a')}})
                  .ok());
  AsicLimits limits;
  limits.max_entry_bytes = 1000;
  absl::StatusOr<std::vector<AsicEntry>> got = ReadAsicE(dir + "/e.asice", limits);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(got.status().message(), HasSubstr("big.bin: larger than 1000 bytes"));
}

TEST(AsicTest, RefusesAFileThatIsNotAZip) {
  std::string dir = testing::MakeTempDir("asic");
  ASSERT_TRUE(WriteFileAtomic(dir + "/x.asice", "<not-a-zip/>").ok());
  EXPECT_THAT(ReadAsicE(dir + "/x.asice").status().message(), HasSubstr("not a readable ZIP"));
}

}  // namespace
}  // namespace axis::cli
