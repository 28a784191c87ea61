#include "edxml/writer.h"

#include <string>

#include "edxml/reader.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/edxml/edxml_fixture.h"

namespace axis::edxml {
namespace {

using ::testing::HasSubstr;
using testing_util::AddAttachment;
using testing_util::MakeTempDir;
using testing_util::ReadTestFile;
using testing_util::SampleMessage;
using testing_util::WriteTestFile;

// RoundTrip builds `m`, reads it back (attachments into a fresh directory)
// and builds it again; both builds must be identical.
void ExpectStableRoundTrip(const Message& m, std::string* first = nullptr, Message* read = nullptr) {
  absl::StatusOr<std::string> a = BuildMessage(m);
  ASSERT_TRUE(a.ok()) << a.status();
  ReadOptions options;
  options.attachment_dir = MakeTempDir();
  absl::StatusOr<Message> parsed = ReadMessageString(*a, "built", options);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  absl::StatusOr<std::string> b = BuildMessage(*parsed);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(*a, *b);
  if (first != nullptr) {
    *first = *a;
  }
  if (read != nullptr) {
    *read = std::move(*parsed);
  }
}

TEST(WriterTest, BuildParseBuildGivesIdenticalBytes) {
  std::string dir = MakeTempDir();
  Message m = SampleMessage();
  AddAttachment(&m, "cid:209", "Quyết định 123.pdf", WriteTestFile(dir + "/a.pdf", "%PDF-1.7 văn bản\n"));
  AddAttachment(&m, "cid:210", "phu-luc.zip", WriteTestFile(dir + "/b.zip", std::string(100000, '\x7f')));
  std::string bytes;
  Message read;
  ExpectStableRoundTrip(m, &bytes, &read);
  ASSERT_EQ(read.attachments.size(), 2u);
  EXPECT_EQ(ReadTestFile(read.attachments[0].content->path), "%PDF-1.7 văn bản\n");
  EXPECT_EQ(read.attachments[1].content->size, 100000u);
  EXPECT_TRUE(read.unknown.empty());
}

TEST(WriterTest, EveryModelFieldSurvivesTheRoundTrip) {
  Message read;
  ExpectStableRoundTrip(SampleMessage(), nullptr, &read);
  const Message m = SampleMessage();
  EXPECT_EQ(read.header.from->organ_name, m.header.from->organ_name);
  EXPECT_EQ(read.header.from->fax, std::optional<std::string>(""));  // present but empty
  EXPECT_EQ(read.header.to.size(), 2u);
  EXPECT_EQ(read.header.other_info->appendixes->appendix, m.header.other_info->appendixes->appendix);
  EXPECT_EQ(read.header.to_places->place, m.header.to_places->place);
  EXPECT_EQ(read.header.response_for[0].document_id, m.header.response_for[0].document_id);
  EXPECT_EQ(read.trace_header_list->bussiness->replacement_info_list->replacement_info[0]
                .organ_id_list->organ_id,
            m.trace_header_list->bussiness->replacement_info_list->replacement_info[0]
                .organ_id_list->organ_id);
  EXPECT_EQ(read.trace_header_list->bussiness->bussiness_document_info->receiver_list->receiver[0]
                .receiver_type,
            "1");
  EXPECT_EQ(read.manifest->version, "1.0");
}

TEST(WriterTest, VietnameseTextIsByteExact) {
  Message m = SampleMessage();
  // Precomposed and combining forms, markup characters, CR and a tab.
  const std::string subject =
      "Về việc Trục liên thông: \xe1\xbb\x87 vs e\xcc\xa3\xcc\x82 & <b> \"x\" 'y'\r\n\tĐẶNG";
  m.header.subject = subject;
  std::string bytes;
  Message read;
  ExpectStableRoundTrip(m, &bytes, &read);
  EXPECT_EQ(read.header.subject, subject);
  EXPECT_THAT(bytes, HasSubstr("Về việc Trục liên thông: \xe1\xbb\x87 vs e\xcc\xa3\xcc\x82 &amp; &lt;b&gt;"));
  EXPECT_THAT(bytes, HasSubstr("&#13;\n\tĐẶNG</edXML:Subject>"));
}

TEST(WriterTest, WritesThePrefixAsTheStandardShows) {
  std::string dir = MakeTempDir();
  Message m = SampleMessage();
  AddAttachment(&m, "cid:1", "a.pdf", WriteTestFile(dir + "/a.pdf", "x"));
  absl::StatusOr<std::string> s = BuildMessage(m);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_THAT(*s, HasSubstr("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                            "<edXML xmlns:edXML=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\">\n"
                            "  <edXML:edXMLEnvelope>\n    <edXML:edXMLHeader>\n"
                            "      <edXML:MessageHeader>\n        <edXML:From>\n"));
  EXPECT_THAT(*s, HasSubstr("<edXML:Bussiness>"));
  EXPECT_THAT(*s, HasSubstr("<edXML:edXMLManifest version=\"1.0\">"));
  EXPECT_THAT(*s, HasSubstr("  <AttachmentEncoded>\n    <Attachment>\n      <ContentId>cid:1</ContentId>\n"));
  EXPECT_THAT(*s, HasSubstr("<edXML:ContentTransferEncoded>eA==\n</edXML:ContentTransferEncoded>"));
  EXPECT_THAT(*s, HasSubstr("<edXML:Fax/>"));
}

TEST(WriterTest, AttachmentsOfEverySizeRoundTrip) {
  std::string dir = MakeTempDir();
  for (size_t size : {0u, 1u, 2u, 3u, 47u, 48u, 49u, 49151u, 49152u, 49153u, 200003u}) {
    std::string data;
    for (size_t i = 0; i < size; ++i) {
      data.push_back(static_cast<char>((i * 131 + size) & 0xff));
    }
    Message m = SampleMessage();
    AddAttachment(&m, "cid:1", "f.bin", WriteTestFile(absl::StrCat(dir, "/f", size), data));
    Message read;
    ExpectStableRoundTrip(m, nullptr, &read);
    ASSERT_EQ(read.attachments.size(), 1u);
    ASSERT_TRUE(read.attachments[0].content.has_value());
    EXPECT_EQ(read.attachments[0].content->base64_error, "") << size;
    EXPECT_EQ(read.attachments[0].content->size, size);
    EXPECT_EQ(ReadTestFile(read.attachments[0].content->path), data) << size;
  }
}

TEST(WriterTest, UnknownElementsAreKeptAndWrittenBack) {
  const std::string xml = testing_util::Minimal(
      "<edXML:From><edXML:OrganId>G09.01</edXML:OrganId><edXML:Extra a=\"1\">x &amp; y</edXML:Extra>"
      "</edXML:From><edXML:Subject>S</edXML:Subject><v:Note xmlns:v=\"urn:vendor\"><v:k>1</v:k></v:Note>");
  absl::StatusOr<Message> m = ReadMessageString(xml);
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_EQ(m->unknown.size(), 2u);
  EXPECT_EQ(m->unknown[0].path, "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader/From/edXML:Extra");
  EXPECT_EQ(m->unknown[0].xml, "<edXML:Extra a=\"1\">x &amp; y</edXML:Extra>");
  EXPECT_EQ(m->unknown[1].xml, "<v:Note xmlns:v=\"urn:vendor\"><v:k>1</v:k></v:Note>");
  absl::StatusOr<std::string> built = BuildMessage(*m);
  ASSERT_TRUE(built.ok()) << built.status();
  EXPECT_THAT(*built, HasSubstr("<edXML:Extra a=\"1\">x &amp; y</edXML:Extra>\n        </edXML:From>"));
  EXPECT_THAT(*built, HasSubstr("<v:Note xmlns:v=\"urn:vendor\"><v:k>1</v:k></v:Note>\n      </edXML:MessageHeader>"));
  ExpectStableRoundTrip(*m);
}

TEST(WriterTest, RefusesTextXmlCannotCarry) {
  Message m = SampleMessage();
  m.header.subject = "bell \x07";
  absl::StatusOr<std::string> s = BuildMessage(m);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.status().message(),
              HasSubstr("/edXML/edXMLEnvelope/edXMLHeader/MessageHeader/Subject: character U+0007"));
  m.header.subject = "bad \xff utf-8";
  s = BuildMessage(m);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("Subject: not valid UTF-8 at byte 5"));
}

TEST(WriterTest, ReportsMissingAttachmentFile) {
  Message m = SampleMessage();
  AddAttachment(&m, "cid:1", "a.pdf", "/nonexistent/a.pdf");
  absl::StatusOr<std::string> s = BuildMessage(m);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(s.status().message(), HasSubstr("/nonexistent/a.pdf"));
}

TEST(WriterTest, WriteMessageFileMatchesBuildMessage) {
  std::string dir = MakeTempDir();
  Message m = SampleMessage();
  AddAttachment(&m, "cid:1", "a.pdf", WriteTestFile(dir + "/a.pdf", std::string(70000, 'q')));
  ASSERT_TRUE(WriteMessageFile(m, dir + "/m.edxml").ok());
  absl::StatusOr<std::string> s = BuildMessage(m);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(ReadTestFile(dir + "/m.edxml"), *s);
}

TEST(WriterTest, StatusMessageRoundTrips) {
  Message m;
  m.kind = MessageKind::kStatus;
  m.status.from = testing_util::Org("G09.01", "Bộ Thông tin và Truyền thông");
  m.status.response_for.emplace().document_id = "000.00.00.G22,2024/05/01,123/QĐ-TTg";
  m.status.response_for->organ_id = "000.00.00.G22";
  m.status.staff_info.emplace().staff = "Lê Văn C";
  m.status.status_code = "03";
  m.status.description = "Đã tiếp nhận, vào sổ";
  m.status.timestamp = "2024/05/01 09:00:00";
  Message read;
  ExpectStableRoundTrip(m, nullptr, &read);
  EXPECT_EQ(read.kind, MessageKind::kStatus);
  EXPECT_EQ(read.status.status_code, "03");
  EXPECT_EQ(read.status.staff_info->staff, "Lê Văn C");
}

}  // namespace
}  // namespace axis::edxml
