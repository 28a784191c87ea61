#include "edxml/agency_code.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/identifiers.h"

namespace axis::edxml {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(AgencyCodeTest, ParsesLegacyCodeRightToLeft) {
  absl::StatusOr<AgencyCode> c = ParseAgencyCode("000.00.00.G22");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->format, AgencyCodeFormat::kLegacy);
  EXPECT_THAT(c->levels, ElementsAre("G22", "00", "00", "000"));
  EXPECT_EQ(c->TopLevel(), "G22");
}

TEST(AgencyCodeTest, Parses2020CodeLeftToRight) {
  absl::StatusOr<AgencyCode> c = ParseAgencyCode("H01.151.01");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->format, AgencyCodeFormat::k2020);
  EXPECT_THAT(c->levels, ElementsAre("H01", "151", "01"));
  EXPECT_EQ(c->TopLevel(), "H01");
}

TEST(AgencyCodeTest, PrintsWhatItParsedInBothFormats) {
  for (const char* text : {"000.00.00.G22", "000.00.00.H49", "000.00.00.H41", "123.45.67.A01", "G09",
                           "G09.01", "H37.02.02", "H01.151.01", "G01.01.02.03.04.05.06.07.08.09.10"}) {
    absl::StatusOr<AgencyCode> c = ParseAgencyCode(text);
    ASSERT_TRUE(c.ok()) << text << ": " << c.status();
    EXPECT_EQ(FormatAgencyCode(*c), text);
  }
}

TEST(AgencyCodeTest, RefusesMalformedCodesWithPreciseReason) {
  struct Case {
    const char* text;
    const char* reason;
  } cases[] = {
      {"", "agency code is empty"},
      {"000.00.0.G22", "legacy format DDD.DD.DD.Lnn has 13 characters, got 12"},
      {"000.00.00.G222", "has 13 characters, got 14"},
      {"000.00.00.g22", "wants a capital letter at position 11, got 'g'"},
      {"000-00.00.G22", "wants '.' at position 4, got '-'"},
      {"000.0A.00.G22", "wants a digit at position 6, got 'A'"},
      {"000.00.00.G2X", "wants a digit at position 13, got 'X'"},
      {"G9.01", "first level \"G9\" must be a capital letter and 2 digits"},
      {"GA9.01", "first level \"GA9\" must be a capital letter and 2 digits"},
      {"G09..01", "level 2 is empty"},
      {"G09.01.", "level 3 is empty"},
      {"G09.1", "level 2 \"1\" must be 2 or 3 digits"},
      {"G09.0101", "level 2 \"0101\" must be 2 or 3 digits"},
      {"H37.02.A2", "level 3 \"A2\" must be 2 or 3 digits"},
      {"G01.01.02.03.04.05.06.07.08.09.10.11", "at most 35 characters, got 36"},
      {"g09.01", "starts with 'g'"},
      {".G09", "starts with '.'"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<AgencyCode> got = ParseAgencyCode(c.text);
    ASSERT_FALSE(got.ok()) << c.text;
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument) << c.text;
    EXPECT_THAT(got.status().message(), HasSubstr(c.reason)) << c.text;
    if (*c.text != '\0') {
      EXPECT_THAT(got.status().message(), HasSubstr(absl::StrCat("\"", c.text, "\""))) << c.text;
    }
  }
}

TEST(AgencyCodeTest, MemberIdForBuildsAxisIdentifier) {
  absl::StatusOr<Identifier> id = MemberIdFor("VN", "GOV", "G09.01");
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(FormatIdentifier(*id), "VN/GOV/G09.01");
  id = MemberIdFor("VN", "GOV", "000.00.00.G22");
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->member_code(), "000.00.00.G22");
  EXPECT_TRUE(id->subsystem().empty());
}

TEST(AgencyCodeTest, MemberIdForRefusesBadCodeAndBadIdentifierParts) {
  absl::StatusOr<Identifier> id = MemberIdFor("VN", "GOV", "G9.01");
  ASSERT_FALSE(id.ok());
  EXPECT_THAT(id.status().message(), HasSubstr("agency code \"G9.01\""));
  id = MemberIdFor("V N", "GOV", "G09.01");
  ASSERT_FALSE(id.ok());
  EXPECT_THAT(id.status().message(), HasSubstr("identifier \"V N/GOV/G09.01\""));
  id = MemberIdFor("VN", "GOV", "G09.01/QLVB");  // a subsystem is not an agency code
  ASSERT_FALSE(id.ok());
}

}  // namespace
}  // namespace axis::edxml
