#include "proto/identifiers.h"

#include "gtest/gtest.h"

namespace axis {
namespace {

TEST(IdentifiersTest, ParsesMemberWithLegacyCode) {
  absl::StatusOr<Identifier> id = ParseIdentifier("VN/GOV/000.00.00.G22");
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->instance(), "VN");
  EXPECT_EQ(id->member_class(), "GOV");
  EXPECT_EQ(id->member_code(), "000.00.00.G22");
  EXPECT_TRUE(id->subsystem().empty());
}

TEST(IdentifiersTest, ParsesSubsystemWith2020Code) {
  absl::StatusOr<Identifier> id = ParseSubsystemId("VN/GOV/H37.02.02/QLVB");
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->member_code(), "H37.02.02");
  EXPECT_EQ(id->subsystem(), "QLVB");
}

TEST(IdentifiersTest, PrintsWhatItParsed) {
  for (const char* text : {"VN/GOV/000.00.00.G22", "VN/GOV/000.00.00.G22/QLVB", "EE/COM/12345/x-1",
                           "VN/GOV/G09.01/dms_2"}) {
    absl::StatusOr<Identifier> id = ParseIdentifier(text);
    ASSERT_TRUE(id.ok()) << text << ": " << id.status();
    EXPECT_EQ(FormatIdentifier(*id), text);
  }
}

TEST(IdentifiersTest, RefusesMalformedIdentifiersWithReason) {
  struct Case {
    const char* text;
    const char* reason;
  } cases[] = {
      {"", "parts"},
      {"VN/GOV", "has 2 '/'-separated parts"},
      {"VN/GOV/000.00.00.G22/QLVB/extra", "has 5"},
      {"VN//000.00.00.G22", "member class is empty"},
      {"/GOV/000.00.00.G22", "instance is empty"},
      {"VN/GOV/", "member code is empty"},
      {"VN/GOV/000.00.00.G22/", "subsystem is empty"},
      {"VN/GOV/000 00", "character outside"},
      {"VN/GOV/.G22", "empty dot-separated level"},
      {"VN/GOV/G22.", "empty dot-separated level"},
      {"VN/GOV/000..G22", "empty dot-separated level"},
      {"VN/G.V/000.00.00.G22", "member class \"G.V\" has a character outside"},
      {"VN/GOV/Bộ", "character outside"},
      {"VERYLONGINSTANCENAME/GOV/1", "longer than 16"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<Identifier> id = ParseIdentifier(c.text);
    ASSERT_FALSE(id.ok()) << "accepted " << c.text;
    EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(id.status().message().find(c.reason), std::string::npos)
        << c.text << " -> " << id.status().message();
  }
}

TEST(IdentifiersTest, MemberAndSubsystemParsersInsistOnTheirKind) {
  EXPECT_FALSE(ParseMemberId("VN/GOV/000.00.00.G22/QLVB").ok());
  EXPECT_FALSE(ParseSubsystemId("VN/GOV/000.00.00.G22").ok());
  EXPECT_TRUE(ParseMemberId("VN/GOV/000.00.00.G22").ok());
}

TEST(IdentifiersTest, MemberOfDropsSubsystem) {
  Identifier sub = *ParseSubsystemId("VN/GOV/000.00.00.G22/QLVB");
  Identifier member = MemberOf(sub);
  EXPECT_EQ(FormatIdentifier(member), "VN/GOV/000.00.00.G22");
  EXPECT_TRUE(SameIdentifier(member, *ParseMemberId("VN/GOV/000.00.00.G22")));
  EXPECT_FALSE(SameIdentifier(member, sub));
}

}  // namespace
}  // namespace axis
