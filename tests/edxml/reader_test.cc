#include "edxml/reader.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/c_ptr.h"
#include "edxml/validate.h"
#include "edxml/writer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/edxml/edxml_fixture.h"

namespace axis::edxml {
namespace {

using ::testing::HasSubstr;
using testing_util::AddAttachment;
using testing_util::MakeTempDir;
using testing_util::Minimal;
using testing_util::SampleMessage;

constexpr char kOrg[] = "<edXML:From><edXML:OrganId>G09.01</edXML:OrganId></edXML:From>";

std::string WithAttachment(const std::string& base64) {
  return Minimal(kOrg, "",
                 absl::StrCat("<AttachmentEncoded><Attachment><ContentId>cid:1</ContentId>"
                              "<AttachmentName>a.bin</AttachmentName>"
                              "<edXML:ContentTransferEncoded>",
                              base64, "</edXML:ContentTransferEncoded></Attachment></AttachmentEncoded>"));
}

TEST(ReaderTest, RefusesDoctypeWithEntities) {
  const std::string xml =
      "<?xml version=\"1.0\"?>\n"
      "<!DOCTYPE edXML [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">"
      "<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;\">]>\n"
      "<edXML>&xxe;&lol2;</edXML>\n";
  absl::StatusOr<Message> m = ReadMessageString(xml, "evil.edxml");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(m.status().message(), HasSubstr("evil.edxml:2: DOCTYPE edXML refused"));
}

TEST(ReaderTest, RefusesExternalDoctype) {
  absl::StatusOr<Message> m = ReadMessageString(
      "<!DOCTYPE edXML SYSTEM \"http://127.0.0.1:1/x.dtd\"><edXML/>", "ext.edxml");
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(m.status().message(), HasSubstr("DOCTYPE edXML refused"));
}

TEST(ReaderTest, RefusesUndeclaredEntity) {
  absl::StatusOr<Message> m = ReadMessageString(Minimal("<edXML:Subject>&xxe;</edXML:Subject>"), "m");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(m.status().message(), HasSubstr("Entity 'xxe' not defined"));
}

TEST(ReaderTest, ReportsMalformedXmlWithLine) {
  absl::StatusOr<Message> m = ReadMessageString("<edXML>\n<a>\n</b></edXML>", "bad.edxml");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(m.status().message(), HasSubstr("bad.edxml:3: "));
  EXPECT_THAT(m.status().message(), HasSubstr("mismatch"));
}

TEST(ReaderTest, ReportsBadEncodingInItsErrorAndNotOnStderr) {
  // libxml2 sends encoding-conversion failures to its generic handler,
  // which prints to stderr unless the reader catches them.
  std::string xml =
      "<?xml version=\"1.0\" encoding=\"ISO-2022-JP\"?>\n"
      "<edXML:edXMLEnvelope xmlns:edXML=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\">"
      "\x1b$B\xff\xfe</edXML:edXMLEnvelope>";
  ::testing::internal::CaptureStderr();
  absl::StatusOr<Message> m = ReadMessageString(xml, "enc.edxml");
  std::string err = ::testing::internal::GetCapturedStderr();
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(m.status().message(), HasSubstr("input conversion failed"));
  EXPECT_EQ(err, "");
}

TEST(ReaderTest, RefusesDeepNesting) {
  std::string deep;
  for (int i = 0; i < 40; ++i) {
    deep += "<x>";
  }
  for (int i = 0; i < 40; ++i) {
    deep += "</x>";
  }
  absl::StatusOr<Message> m = ReadMessageString(Minimal(deep), "deep");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(m.status().message(), HasSubstr("nest deeper than 32"));
}

TEST(ReaderTest, LimitsTextOutsideAttachments) {
  ReadOptions options;
  options.max_text_bytes = 1000;
  absl::StatusOr<Message> m = ReadMessageString(
      Minimal(absl::StrCat("<edXML:Subject>", std::string(2000, 'a'), "</edXML:Subject>")), "big",
      options);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(m.status().message(), HasSubstr("more than 1000 bytes of text outside attachments"));
}

TEST(ReaderTest, LimitsElementCount) {
  ReadOptions options;
  options.max_elements = 50;
  std::string many;
  for (int i = 0; i < 100; ++i) {
    many += "<x/>";
  }
  absl::StatusOr<Message> m = ReadMessageString(Minimal(many), "many", options);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), absl::StatusCode::kResourceExhausted);
}

TEST(ReaderTest, RefusesForeignRoot) {
  absl::StatusOr<Message> m = ReadMessageString("<html/>", "page");
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(m.status().message(), HasSubstr("page: root element is html, want edXML"));
}

TEST(ReaderTest, RecognisesStatusMessage) {
  absl::StatusOr<Message> m = ReadMessageString(
      Minimal("<edXML:From><edXML:OrganId>G09.01</edXML:OrganId></edXML:From>"
              "<edXML:ResponseFor><edXML:DocumentId>x</edXML:DocumentId></edXML:ResponseFor>"
              "<edXML:StatusCode>02</edXML:StatusCode><edXML:Description>Sai địa chỉ</edXML:Description>"
              "<edXML:Timestamp>2024/05/01 10:00:00</edXML:Timestamp>"));
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->kind, MessageKind::kStatus);
  EXPECT_EQ(m->status.status_code, "02");
  EXPECT_EQ(m->status.description, "Sai địa chỉ");
  EXPECT_EQ(m->status.response_for->document_id, "x");
}

TEST(ReaderTest, AcceptsUnprefixedEdxmlChildren) {
  // Tolerant on input: children without the prefix (no namespace) are read.
  absl::StatusOr<Message> m = ReadMessageString(
      "<edXML><edXMLEnvelope><edXMLHeader><MessageHeader><Subject>S</Subject></MessageHeader>"
      "</edXMLHeader></edXMLEnvelope></edXML>");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->header.subject, "S");
  EXPECT_TRUE(m->unknown.empty());
}

TEST(ReaderTest, DecodesBase64WithLineBreaksAnywhere) {
  absl::StatusOr<Message> m = ReadMessageString(WithAttachment("\n  aGVs\r\nbG8g\n d29y bGQ=\n  "));
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_EQ(m->attachments.size(), 1u);
  const AttachmentContent& c = *m->attachments[0].content;
  EXPECT_EQ(c.base64_error, "");
  EXPECT_EQ(c.size, 11u);  // "hello world"
  EXPECT_EQ(c.sha256, "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9");
}

TEST(ReaderTest, RecordsInvalidBase64) {
  struct Case {
    const char* base64;
    const char* error;
  } cases[] = {
      {"aGVs$G8=", "character 0x24 at base64 character 5 is not base64"},
      {"aGVs-G8=", "character 0x2D at base64 character 5"},
      {"aGU=aGVs", "data after '=' padding at base64 character 5"},
      {"aG===", "more than two '='"},
      {"aGVsbG8", "7 characters is not a multiple of 4"},
      {"aGVsb", "5 characters is not a multiple of 4"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<Message> m = ReadMessageString(WithAttachment(c.base64));
    ASSERT_TRUE(m.ok()) << c.base64 << ": " << m.status();
    ASSERT_EQ(m->attachments.size(), 1u);
    EXPECT_THAT(m->attachments[0].content->base64_error, HasSubstr(c.error)) << c.base64;
    std::vector<Problem> problems = Validate(*m);
    bool found = false;
    for (const Problem& p : problems) {
      found = found || (absl::StrContains(p.rule, "invalid base64") &&
                        absl::StrContains(p.path, "Attachment[1]/ContentTransferEncoded"));
    }
    EXPECT_TRUE(found) << c.base64;
  }
}

TEST(ReaderTest, RemovesPartialFileOfInvalidAttachment) {
  ReadOptions options;
  options.attachment_dir = MakeTempDir();
  absl::StatusOr<Message> m = ReadMessageString(WithAttachment("aGVsbG8gd29ybGQ=!"), "m", options);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->attachments[0].content->path, "");
  EXPECT_EQ(::rmdir(options.attachment_dir.c_str()), 0) << "directory not empty";
}

TEST(ReaderTest, KeepsAttachmentNamesInsideTheDirectory) {
  ReadOptions options;
  options.attachment_dir = MakeTempDir();
  const std::string xml = Minimal(
      kOrg, "",
      "<AttachmentEncoded>"
      "<Attachment><ContentId>1</ContentId><AttachmentName>../../etc/passwd</AttachmentName>"
      "<edXML:ContentTransferEncoded>eA==</edXML:ContentTransferEncoded></Attachment>"
      "<Attachment><ContentId>2</ContentId><AttachmentName>..</AttachmentName>"
      "<edXML:ContentTransferEncoded>eQ==</edXML:ContentTransferEncoded></Attachment>"
      "<Attachment><ContentId>3</ContentId><AttachmentName>passwd</AttachmentName>"
      "<edXML:ContentTransferEncoded>eg==</edXML:ContentTransferEncoded></Attachment>"
      "</AttachmentEncoded>");
  absl::StatusOr<Message> m = ReadMessageString(xml, "m", options);
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_EQ(m->attachments.size(), 3u);
  EXPECT_EQ(m->attachments[0].content->path, options.attachment_dir + "/passwd");
  EXPECT_EQ(m->attachments[1].content->path, options.attachment_dir + "/attachment-2");
  EXPECT_EQ(m->attachments[2].content->path, options.attachment_dir + "/3-passwd");
  EXPECT_EQ(testing_util::ReadTestFile(m->attachments[2].content->path), "z");
}

// Found by edxml_fuzzer: a read that fails after an attachment was placed
// left the file behind, and one the model does not report (a second
// ContentTransferEncoded) stayed even when the read succeeded.
TEST(ReaderTest, LeavesOnlyReportedAttachmentFiles) {
  ReadOptions options;
  options.attachment_dir = MakeTempDir();
  const std::string xml = Minimal(
      kOrg, "",
      "<AttachmentEncoded>"
      "<Attachment><ContentId>1</ContentId><AttachmentName>a.txt</AttachmentName>"
      "<edXML:ContentTransferEncoded>eA==</edXML:ContentTransferEncoded>"
      "<edXML:ContentTransferEncoded>eQ==</edXML:ContentTransferEncoded></Attachment>"
      "<Attachment><ContentId>2</ContentId><AttachmentName>b.txt</AttachmentName>"
      "<edXML:ContentTransferEncoded>eg==</edXML:ContentTransferEncoded></Attachment>"
      "</AttachmentEncoded>");
  // Cut inside the second attachment: the first is placed, then the read fails.
  const std::string cut = xml.substr(0, xml.find("<edXML:ContentTransferEncoded>eg=="));
  EXPECT_FALSE(ReadMessageString(cut, "m", options).ok());
  EXPECT_EQ(::rmdir(options.attachment_dir.c_str()), 0) << "directory not empty";

  ASSERT_EQ(::mkdir(options.attachment_dir.c_str(), 0700), 0);
  {
    absl::StatusOr<Message> m = ReadMessageString(xml, "m", options);
    ASSERT_TRUE(m.ok()) << m.status();
    ASSERT_EQ(m->attachments.size(), 2u);
    ::unlink(m->attachments[0].content->path.c_str());
    ::unlink(m->attachments[1].content->path.c_str());
  }
  EXPECT_EQ(::rmdir(options.attachment_dir.c_str()), 0) << "directory not empty";
}

TEST(ReaderTest, LegacyUnnamespacedRsaSha1SignatureIsReportedWeak) {
  // The shape of the public SDK samples: Signature without the XML-DSig
  // namespace, RSA-SHA1 over a SHA-1 digest.
  const std::string sig =
      "<Signature><SignedInfo>"
      "<CanonicalizationMethod Algorithm=\"http://www.w3.org/TR/2001/REC-xml-c14n-20010315\"/>"
      "<SignatureMethod Algorithm=\"http://www.w3.org/2000/09/xmldsig#rsa-sha1\"/>"
      "<Reference URI=\"\"><Transforms><Transform "
      "Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/></Transforms>"
      "<DigestMethod Algorithm=\"http://www.w3.org/2000/09/xmldsig#sha1\"/>"
      "<DigestValue>2jmj7l5rSw0yVb/vlWAYkK/YBwk=</DigestValue></Reference></SignedInfo>"
      "<SignatureValue>AAAA</SignatureValue><KeyInfo><X509Data><X509Certificate>AAAA"
      "</X509Certificate></X509Data></KeyInfo></Signature>";
  absl::StatusOr<Message> m = ReadMessageString(Minimal(kOrg, sig), "legacy.edxml");
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_EQ(m->signatures.size(), 1u);
  const SignatureInfo& s = m->signatures[0];
  EXPECT_EQ(s.path, "/edXML/edXMLEnvelope/edXMLHeader/Signature[1]");
  EXPECT_FALSE(s.dsig_namespace);
  EXPECT_EQ(s.signature_method, "http://www.w3.org/2000/09/xmldsig#rsa-sha1");
  std::string reason;
  EXPECT_TRUE(IsWeakSignature(s, &reason));
  EXPECT_THAT(reason, HasSubstr("not in the XML-DSig namespace"));
  EXPECT_THAT(reason, HasSubstr("rsa-sha1"));
  EXPECT_THAT(reason, HasSubstr("digest algorithm http://www.w3.org/2000/09/xmldsig#sha1"));
  EXPECT_TRUE(m->unknown.empty());
  std::vector<Problem> problems = Validate(*m);
  bool warned = false;
  for (const Problem& p : problems) {
    if (p.path == s.path) {
      warned = true;
      EXPECT_EQ(p.severity, Severity::kWarning);
      EXPECT_THAT(p.rule, HasSubstr("weak signature"));
    }
  }
  EXPECT_TRUE(warned);
}

TEST(ReaderTest, NamespacedSha256SignatureIsNotWeak) {
  const std::string sig =
      "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:SignedInfo>"
      "<ds:SignatureMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256\"/>"
      "<ds:Reference URI=\"\"><ds:DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/>"
      "</ds:Reference></ds:SignedInfo></ds:Signature>";
  absl::StatusOr<Message> m = ReadMessageString(Minimal(kOrg, sig));
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_EQ(m->signatures.size(), 1u);
  EXPECT_TRUE(m->signatures[0].dsig_namespace);
  EXPECT_FALSE(IsWeakSignature(m->signatures[0]));
}

long PeakRssKb() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

std::string Sha256OfFile(const std::string& path) {
  UniquePtr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  int fd = ::open(path.c_str(), O_RDONLY);
  std::vector<char> buf(1 << 16);
  ssize_t n;
  while ((n = ::read(fd, buf.data(), buf.size())) > 0) {
    EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<size_t>(n));
  }
  ::close(fd);
  unsigned char md[32];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), md, &len);
  std::string hex;
  for (unsigned i = 0; i < len; ++i) {
    absl::StrAppend(&hex, absl::Hex(md[i], absl::kZeroPad2));
  }
  return hex;
}

TEST(ReaderTest, FiftyMegabyteAttachmentStreamsWithBoundedMemory) {
  std::string dir = MakeTempDir();
  const std::string payload = dir + "/payload.bin";
  {
    std::mt19937_64 rng(42);
    std::vector<uint64_t> block(1 << 17);  // 1 MiB
    FILE* f = std::fopen(payload.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    for (int i = 0; i < 50; ++i) {
      for (auto& w : block) {
        w = rng();
      }
      ASSERT_EQ(std::fwrite(block.data(), sizeof(uint64_t), block.size(), f), block.size());
    }
    std::fclose(f);
  }
  Message m = SampleMessage();
  AddAttachment(&m, "cid:1", "big.bin", payload);
  const long before_write = PeakRssKb();
  ASSERT_TRUE(WriteMessageFile(m, dir + "/big.edxml").ok());
  const long after_write = PeakRssKb();

  ReadOptions options;
  options.attachment_dir = dir + "/out";
  ASSERT_EQ(::mkdir(options.attachment_dir.c_str(), 0755), 0);
  const long before = PeakRssKb();
  auto start = std::chrono::steady_clock::now();
  absl::StatusOr<Message> read = ReadMessageFile(dir + "/big.edxml", options);
  auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const long after = PeakRssKb();
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->attachments.size(), 1u);
  const AttachmentContent& c = *read->attachments[0].content;
  EXPECT_EQ(c.base64_error, "");
  EXPECT_EQ(c.size, uint64_t{50} << 20);
  EXPECT_EQ(c.sha256, Sha256OfFile(payload));
  EXPECT_EQ(Sha256OfFile(c.path), c.sha256);
  // A sanity bound, not a benchmark: the message is ~68 MB of base64.
  EXPECT_LT(after - before, 64 * 1024) << "peak RSS grew by " << (after - before) << " KiB";
  EXPECT_LT(after_write - before_write, 64 * 1024);
  struct stat st;
  ASSERT_EQ(::stat((dir + "/big.edxml").c_str(), &st), 0);
  std::printf("[ info ] 50 MiB attachment: %.1f MB message read at %.1f MB/s, peak RSS %ld -> %ld KiB "
              "(write +%ld KiB)\n",
              static_cast<double>(st.st_size) / 1e6, static_cast<double>(st.st_size) / 1e6 / seconds,
              before, after, after_write - before_write);
}

}  // namespace
}  // namespace axis::edxml
