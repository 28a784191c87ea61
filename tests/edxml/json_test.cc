#include "edxml/json.h"

#include "gtest/gtest.h"
#include "tests/edxml/edxml_fixture.h"

namespace axis::edxml {
namespace {

TEST(JsonTest, UsesElementNamesAsKeys) {
  Message m = testing_util::SampleMessage();
  testing_util::AddAttachment(&m, "cid:1", "a.pdf", "/x/a.pdf");
  m.attachments[0].content->size = 3;
  m.attachments[0].content->sha256 = "ab";
  nlohmann::json j = MessageToJson(m);
  EXPECT_EQ(j["kind"], "document");
  EXPECT_EQ(j["MessageHeader"]["From"]["OrganId"], "000.00.00.G22");
  EXPECT_EQ(j["MessageHeader"]["To"][1]["OrganName"], "UBND tỉnh Quảng Ninh");
  EXPECT_EQ(j["MessageHeader"]["ToPlaces"]["Place"].size(), 3u);
  EXPECT_EQ(j["TraceHeaderList"]["Bussiness"]["StaffInfo"]["Staff"], "Trần Thị B");
  EXPECT_EQ(j["edXMLManifest"]["@version"], "1.0");
  EXPECT_EQ(j["Attachments"][0]["content"]["size"], 3);
  EXPECT_EQ(j["Attachments"][0]["content"]["path"], "/x/a.pdf");
}

TEST(JsonTest, ProblemsCarrySeverityPathValueRule) {
  nlohmann::json j = ProblemsToJson({{Severity::kWarning, "/p", "v", "r"}});
  EXPECT_EQ(j[0]["severity"], "warning");
  EXPECT_EQ(j[0]["path"], "/p");
  EXPECT_EQ(j[0]["value"], "v");
  EXPECT_EQ(j[0]["rule"], "r");
}

}  // namespace
}  // namespace axis::edxml
