#include "edxml/validate.h"

#include <functional>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/edxml/edxml_fixture.h"

namespace axis::edxml {
namespace {

using ::testing::HasSubstr;
using testing_util::SampleMessage;

constexpr char kMH[] = "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader";
constexpr char kTHL[] = "/edXML/edXMLEnvelope/edXMLHeader/TraceHeaderList";

std::string Describe(const std::vector<Problem>& problems) {
  std::vector<std::string> lines;
  for (const Problem& p : problems) {
    lines.push_back(p.ToString());
  }
  return absl::StrJoin(lines, "\n");
}

// ExpectOnlyError checks that `m` has exactly one error, with that path and
// a rule containing `rule`.
void ExpectOnlyError(const Message& m, const std::string& path, const std::string& rule) {
  std::vector<Problem> problems = Validate(m);
  std::vector<Problem> errors;
  for (const Problem& p : problems) {
    if (p.severity == Severity::kError) {
      errors.push_back(p);
    }
  }
  ASSERT_EQ(errors.size(), 1u) << "want " << path << ": " << rule << "\ngot:\n" << Describe(problems);
  EXPECT_EQ(errors[0].path, path);
  EXPECT_THAT(errors[0].rule, HasSubstr(rule));
}

Message WithAttachments() {
  Message m = SampleMessage();
  testing_util::AddAttachment(&m, "cid:1", "a.pdf", "/unused");
  m.attachments[0].content->size = 1;
  return m;
}

TEST(ValidateTest, SampleMessageIsValid) {
  EXPECT_EQ(Describe(Validate(SampleMessage())), "");
  EXPECT_EQ(Describe(Validate(WithAttachments())), "");
}

TEST(ValidateTest, ReportsMissingRequiredElements) {
  struct Case {
    std::function<void(Message&)> change;
    std::string path;
    std::string rule;
  } cases[] = {
      {[](Message& m) { m.header.subject.reset(); }, absl::StrCat(kMH, "/Subject"),
       "required element is missing"},
      {[](Message& m) { m.header.subject = ""; }, absl::StrCat(kMH, "/Subject"), "required value is empty"},
      {[](Message& m) { m.header.from.reset(); }, absl::StrCat(kMH, "/From"), "required element is missing"},
      {[](Message& m) { m.header.from->organ_id.reset(); }, absl::StrCat(kMH, "/From/OrganId"),
       "required element is missing"},
      {[](Message& m) { m.header.to.clear(); }, absl::StrCat(kMH, "/To"), "at least one To is required"},
      {[](Message& m) { m.header.to[1].organ_id.reset(); }, absl::StrCat(kMH, "/To[2]/OrganId"),
       "required element is missing"},
      {[](Message& m) { m.header.document_id.reset(); }, absl::StrCat(kMH, "/DocumentId"),
       "required element is missing"},
      {[](Message& m) { m.header.code->code_number.reset(); }, absl::StrCat(kMH, "/Code/CodeNumber"),
       "required element is missing"},
      {[](Message& m) { m.header.promulgation_info.reset(); }, absl::StrCat(kMH, "/PromulgationInfo"),
       "required element is missing"},
      {[](Message& m) { m.trace_header_list->trace_header[0].timestamp.reset(); },
       absl::StrCat(kTHL, "/TraceHeader[1]/Timestamp"), "required element is missing"},
  };
  for (const Case& c : cases) {
    Message m = SampleMessage();
    c.change(m);
    SCOPED_TRACE(c.path);
    if (c.path == absl::StrCat(kMH, "/From") || c.path == absl::StrCat(kMH, "/From/OrganId") ||
        c.path == absl::StrCat(kMH, "/Code/CodeNumber") || c.path == absl::StrCat(kMH, "/PromulgationInfo")) {
      // These also break DocumentId's consistency (or not); check presence only.
      std::vector<Problem> problems = Validate(m);
      bool found = false;
      for (const Problem& p : problems) {
        found = found || (p.path == c.path && absl::StrContains(p.rule, c.rule));
      }
      EXPECT_TRUE(found) << Describe(problems);
      continue;
    }
    ExpectOnlyError(m, c.path, c.rule);
  }
}

TEST(ValidateTest, ReportsEachLengthLimitInCharacters) {
  struct Case {
    std::function<void(Message&, const std::string&)> set;
    std::string path;
    size_t max;
  } cases[] = {
      {[](Message& m, const std::string& v) { m.header.code->code_number = v; }, "/Code/CodeNumber", 11},
      {[](Message& m, const std::string& v) { m.header.code->code_notation = v; }, "/Code/CodeNotation", 30},
      {[](Message& m, const std::string& v) { m.header.promulgation_info->place = v; },
       "/PromulgationInfo/Place", 50},
      {[](Message& m, const std::string& v) { m.header.document_type->type_name = v; },
       "/DocumentType/TypeName", 100},
      {[](Message& m, const std::string& v) { m.header.subject = v; }, "/Subject", 500},
      {[](Message& m, const std::string& v) { m.header.content = v; }, "/Content", 500},
      {[](Message& m, const std::string& v) { m.header.to_places->place[1] = v; }, "/ToPlaces/Place[2]", 150},
      {[](Message& m, const std::string& v) { m.header.other_info->typer_notation = v; },
       "/OtherInfo/TyperNotation", 10},
      {[](Message& m, const std::string& v) { m.header.from->organ_name = v; }, "/From/OrganName", 200},
      {[](Message& m, const std::string& v) { m.header.to[0].organ_add = v; }, "/To[1]/OrganAdd", 250},
      {[](Message& m, const std::string& v) { m.header.from->email = v; }, "/From/Email", 100},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.path);
    std::string at_limit, over;
    for (size_t i = 0; i < c.max; ++i) {
      at_limit += "ệ";  // 3 bytes, one character
    }
    over = at_limit + "a";
    Message m = SampleMessage();
    c.set(m, at_limit);
    if (c.path.rfind("/Code/", 0) == 0) {
      m.header.document_id.reset();  // keep DocumentId out of it
      std::vector<Problem> problems = Validate(m);
      EXPECT_EQ(problems.size(), 1u) << Describe(problems);  // only DocumentId missing
      c.set(m, over);
      problems = Validate(m);
      bool found = false;
      for (const Problem& p : problems) {
        found = found || (p.path == absl::StrCat(kMH, c.path) &&
                          p.rule == absl::StrCat("longer than ", c.max, " characters (", c.max + 1, ")"));
      }
      EXPECT_TRUE(found) << Describe(problems);
      continue;
    }
    EXPECT_EQ(Describe(Validate(m)), "");
    c.set(m, over);
    ExpectOnlyError(m, absl::StrCat(kMH, c.path),
                    absl::StrCat("longer than ", c.max, " characters (", c.max + 1, ")"));
  }
}

TEST(ValidateTest, ReportsMalformedDatesAndTimestamps) {
  for (const char* bad : {"2024-05-01", "2024/5/1", "2024/13/01", "2023/02/29", "2024/04/31", "01/05/2024",
                          "2024/05/01 "}) {
    Message m = SampleMessage();
    m.header.due_date = bad;
    SCOPED_TRACE(bad);
    ExpectOnlyError(m, absl::StrCat(kMH, "/DueDate"), "not a date yyyy/MM/dd");
  }
  Message leap = SampleMessage();
  leap.header.due_date = "2024/02/29";
  EXPECT_EQ(Describe(Validate(leap)), "");
  for (const char* bad : {"2024/05/01 24:00:00", "2024/05/01 8:30:00", "2024/05/01T08:30:00",
                          "2024/05/01 08:60:00", "2024/05/01"}) {
    Message m = SampleMessage();
    m.trace_header_list->trace_header[0].timestamp = bad;
    SCOPED_TRACE(bad);
    ExpectOnlyError(m, absl::StrCat(kTHL, "/TraceHeader[1]/Timestamp"), "not a timestamp yyyy/MM/dd HH:mm:ss");
  }
}

TEST(ValidateTest, ChecksDocumentIdAgainstFromDateAndCode) {
  const std::string path = absl::StrCat(kMH, "/DocumentId");
  Message m = SampleMessage();
  m.header.document_id = "G09.01,2024/05/01,123/QĐ-TTg";
  ExpectOnlyError(m, path, "agency \"G09.01\" differs from From/OrganId \"000.00.00.G22\"");
  m.header.document_id = "000.00.00.G22,2024/05/02,123/QĐ-TTg";
  ExpectOnlyError(m, path, "date \"2024/05/02\" differs from PromulgationDate \"2024/05/01\"");
  m.header.document_id = "000.00.00.G22,2024/05/01,124/QĐ-TTg";
  ExpectOnlyError(m, path, "code \"124/QĐ-TTg\" differs from Code \"123/QĐ-TTg\"");
  m.header.document_id = "000.00.00.G22 2024/05/01 123/QĐ-TTg";
  ExpectOnlyError(m, path, "not {OrganId},{yyyy/MM/dd},{CodeNumber}/{CodeNotation}");
}

TEST(ValidateTest, ChecksCodedValues) {
  struct Case {
    std::function<void(Message&)> change;
    std::string path;
    std::string rule;
  } cases[] = {
      {[](Message& m) { m.header.other_info->priority = "5"; }, absl::StrCat(kMH, "/OtherInfo/Priority"),
       "must be an integer from 0 to 4"},
      {[](Message& m) { m.header.other_info->priority = "khẩn"; }, absl::StrCat(kMH, "/OtherInfo/Priority"),
       "must be an integer from 0 to 4"},
      {[](Message& m) { m.header.steering_type = "3"; }, absl::StrCat(kMH, "/SteeringType"),
       "must be an integer from 0 to 2"},
      {[](Message& m) { m.trace_header_list->bussiness->bussiness_doc_type = "4"; },
       absl::StrCat(kTHL, "/Bussiness/BussinessDocType"), "must be an integer from 0 to 3"},
      {[](Message& m) { m.trace_header_list->bussiness->paper = "2"; }, absl::StrCat(kTHL, "/Bussiness/Paper"),
       "must be an integer from 0 to 1"},
      {[](Message& m) { m.header.other_info->page_amount = "-1"; }, absl::StrCat(kMH, "/OtherInfo/PageAmount"),
       "must be a non-negative integer"},
      {[](Message& m) { m.header.to[1].organ_id = "000.00.00.h49"; }, absl::StrCat(kMH, "/To[2]/OrganId"),
       "wants a capital letter at position 11"},
      {[](Message& m) { m.header.response_for[0].organ_id = "G9.01"; },
       absl::StrCat(kMH, "/ResponseFor[1]/OrganId"), "first level \"G9\""},
      {[](Message& m) { m.trace_header_list->trace_header[0].organ_id = "X"; },
       absl::StrCat(kTHL, "/TraceHeader[1]/OrganId"), "format 2020: first level \"X\""},
      {[](Message& m) {
         m.trace_header_list->bussiness->replacement_info_list->replacement_info[0].organ_id_list->organ_id[1] =
             "H37.2";
       },
       absl::StrCat(kTHL, "/Bussiness/ReplacementInfoList/ReplacementInfo[1]/OrganIdList/OrganId[2]"),
       "level 2 \"2\" must be 2 or 3 digits"},
  };
  for (const Case& c : cases) {
    Message m = SampleMessage();
    c.change(m);
    SCOPED_TRACE(c.path);
    ExpectOnlyError(m, c.path, c.rule);
  }
}

Message SampleStatus() {
  Message m;
  m.kind = MessageKind::kStatus;
  m.status.from = testing_util::Org("G09.01", "Bộ Thông tin và Truyền thông");
  m.status.response_for.emplace();
  m.status.response_for->organ_id = "000.00.00.G22";
  m.status.response_for->document_id = "000.00.00.G22,2024/05/01,123/QĐ-TTg";
  m.status.status_code = "03";
  m.status.timestamp = "2024/05/01 09:00:00";
  return m;
}

TEST(ValidateTest, ChecksStatusMessages) {
  EXPECT_EQ(Describe(Validate(SampleStatus())), "");
  for (const char* code : {"01", "02", "03", "04", "05", "06", "13", "15", "16"}) {
    Message m = SampleStatus();
    m.status.status_code = code;
    EXPECT_EQ(Describe(Validate(m)), "") << code;
  }
  for (const char* code : {"07", "3", "14", "00", "99"}) {
    Message m = SampleStatus();
    m.status.status_code = code;
    SCOPED_TRACE(code);
    ExpectOnlyError(m, absl::StrCat(kMH, "/StatusCode"), "unknown status code");
  }
  Message m = SampleStatus();
  m.status.response_for.reset();
  ExpectOnlyError(m, absl::StrCat(kMH, "/ResponseFor"), "required element is missing");
  m = SampleStatus();
  m.status.timestamp = "2024/05/01";
  ExpectOnlyError(m, absl::StrCat(kMH, "/Timestamp"), "not a timestamp");
}

TEST(ValidateTest, ManifestAndAttachmentsAgreeOneToOne) {
  const std::string att1 = "/edXML/AttachmentEncoded/Attachment[1]";
  const std::string ref1 = "/edXML/edXMLEnvelope/edXMLBody/edXMLManifest/Reference[1]";
  Message m = WithAttachments();
  m.manifest->reference[0].content_id = "cid:2";
  std::vector<Problem> problems = Validate(m);
  ASSERT_EQ(problems.size(), 2u) << Describe(problems);
  EXPECT_EQ(problems[0].ToString(), absl::StrCat(ref1, "/ContentId: \"cid:2\": no Attachment has this ContentId"));
  EXPECT_EQ(problems[1].ToString(),
            absl::StrCat(att1, "/ContentId: \"cid:1\": attachment is not listed in the manifest"));

  m = WithAttachments();
  m.attachments.push_back(m.attachments[0]);
  problems = Validate(m);
  EXPECT_THAT(Describe(problems), HasSubstr("ContentId is used by more than one Attachment"));

  m = WithAttachments();
  m.manifest->reference.push_back(m.manifest->reference[0]);
  EXPECT_THAT(Describe(Validate(m)), HasSubstr("ContentId is listed more than once in the manifest"));

  m = WithAttachments();
  m.attachments[0].content_id.reset();
  EXPECT_THAT(Describe(Validate(m)), HasSubstr(absl::StrCat(att1, "/ContentId: required element is missing")));

  m = WithAttachments();
  m.attachments[0].content.reset();
  ExpectOnlyError(m, absl::StrCat(att1, "/ContentTransferEncoded"), "required element is missing");

  m = WithAttachments();
  m.attachments[0].content->base64_error = "character 0x24 at base64 character 5 is not base64";
  ExpectOnlyError(m, absl::StrCat(att1, "/ContentTransferEncoded"),
                  "invalid base64: character 0x24 at base64 character 5");

  m = WithAttachments();
  m.manifest.reset();
  ExpectOnlyError(m, "/edXML/edXMLEnvelope/edXMLBody/edXMLManifest",
                  "attachments are present but the manifest is missing");
}

TEST(ValidateTest, WarningsDoNotMakeAMessageInvalid) {
  Message m = WithAttachments();
  m.manifest->reference[0].attachment_name = "b.pdf";
  SignatureInfo legacy;
  legacy.path = "/edXML/edXMLEnvelope/edXMLHeader/Signature[1]";
  legacy.signature_method = "http://www.w3.org/2000/09/xmldsig#rsa-sha1";
  m.signatures.push_back(legacy);
  m.unknown.push_back({kMH, absl::StrCat(kMH, "/Extra"), "<Extra/>"});
  std::vector<Problem> problems = Validate(m);
  EXPECT_FALSE(HasErrors(problems));
  ASSERT_EQ(problems.size(), 3u) << Describe(problems);
  EXPECT_THAT(problems[0].ToString(), HasSubstr("warning: "));
  EXPECT_THAT(problems[0].rule, HasSubstr("differs from the Attachment's name \"a.pdf\""));
  EXPECT_THAT(problems[1].rule, HasSubstr("weak signature"));
  EXPECT_EQ(problems[2].ToString(),
            absl::StrCat("warning: ", kMH, "/Extra: element not in the edXML model (kept as is)"));
}

}  // namespace
}  // namespace axis::edxml
