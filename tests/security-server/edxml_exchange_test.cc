// edxml_exchange_test.cc: an edXML decree on the axis (issue: edXML on the
// axis). A decree with a PDF attachment goes from one agency to two others;
// each recipient's security server answers 01 (arrived) by itself, signed
// with the agency's seal; the DMSs answer 03 and 06; the sender sees the
// whole history (Status and `axis audit document`). A decree sent to an
// agency it is not addressed to is refused and answered with 02 and why.
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/security-server/ss_fixture.h"

namespace axis::ss::testing_util {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class EdxmlExchangeTest : public SecurityServerFixture {
 protected:
  // Pdf writes a small PDF-like file with binary bytes and Vietnamese text.
  std::string Pdf() {
    std::string path = dir_ + "/quyet-dinh.pdf";
    std::string body = "%PDF-1.4\n%\xE2\xE3\xCF\xD3\n1 0 obj << /Title (Quyết định) >> endobj\n";
    for (int i = 0; i < 4096; ++i) {
      body.push_back(static_cast<char>(i * 37 % 256));
    }
    body += "\n%%EOF\n";
    std::ofstream(path, std::ios::binary) << body;
    return path;
  }

  // Answer has `key`'s DMS send status `code` about message `id` (whose
  // edXML is `decree`) back to vpcp.
  void Answer(const std::string& key, const std::string& id, const std::string& decree,
              const std::string& code) {
    const Agency& a = agencies_[key];
    std::string doc = absl::StrCat(dir_, "/", key, "-", code, ".status.xml");
    auto made = Axis(key, {"edxml", "status", "--code", code, "--for", decree, "--from", a.code,
                           "-o", doc});
    ASSERT_EQ(made.exit_code, 0) << made.err;
    auto sent = Axis(key, {"send", "--server", a.gateway(), "--from", a.subsystem, "--to",
                           agencies_["vpcp"].subsystem, "--type", "status", "--reply-to", id,
                           "--status-code", code, doc});
    ASSERT_EQ(sent.exit_code, 0) << sent.err;
  }
};

TEST_F(EdxmlExchangeTest, DecreeWithAPdfReachesTwoAgenciesAndStatuses01To06ComeBack) {
  StartServer("vpcp");
  StartServer("mic");
  StartServer("quangninh");
  const Agency& vpcp = agencies_["vpcp"];
  const Agency& mic = agencies_["mic"];
  const Agency& qn = agencies_["quangninh"];
  std::string pdf = Pdf();
  std::string decree = SignedDecree({mic.code, qn.code}, {pdf});

  auto sent = Axis("vpcp", {"send", "--server", vpcp.gateway(), "--from", vpcp.subsystem, "--to",
                            mic.subsystem, "--to", qn.subsystem, decree});
  ASSERT_EQ(sent.exit_code, 0) << sent.err;
  std::string id(absl::StripAsciiWhitespace(sent.out));

  // Each recipient's DMS gets the decree and, from it, the very PDF.
  for (const Agency* a : {&mic, &qn}) {
    ASSERT_TRUE(WaitForState("vpcp", id, a->subsystem, RecipientStatus::DELIVERED, absl::Seconds(20)))
        << Slurp(vpcp.log_path) << Slurp(a->log_path);
    std::string out = axis::testing::MakeTempDir("inbox-" + a->dir);
    auto inbox = Axis(a->dir, {"inbox", "--server", a->gateway(), "--subsystem", a->subsystem,
                               "-o", out});
    ASSERT_EQ(inbox.exit_code, 0) << inbox.err;
    auto extracted = Axis(a->dir, {"edxml", "extract", "-o", out + "/files", out + "/" + id + ".payload"});
    ASSERT_EQ(extracted.exit_code, 0) << extracted.err;
    EXPECT_EQ(Slurp(out + "/files/quyet-dinh.pdf"), Slurp(pdf));
  }

  // 01 comes from each recipient's server by itself, before any DMS acts.
  EXPECT_TRUE(WaitForStatusCodes("vpcp", id, mic.subsystem, {"01"}, absl::Seconds(20)))
      << Slurp(mic.log_path) << Slurp(vpcp.log_path);
  EXPECT_TRUE(WaitForStatusCodes("vpcp", id, qn.subsystem, {"01"}, absl::Seconds(20)))
      << Slurp(qn.log_path) << Slurp(vpcp.log_path);

  // The 01 is an edXML status message answering the decree, signed by
  // mic's seal; vpcp's DMS receives it like any message.
  StatusResponse st = StatusOf("vpcp", id);
  const RecipientStatus* from_mic = For(st, mic.subsystem);
  ASSERT_NE(from_mic, nullptr);
  ASSERT_EQ(from_mic->statuses_size(), 1);
  std::string status_id = from_mic->statuses(0).status_message_id();
  std::string out = axis::testing::MakeTempDir("inbox-vpcp");
  auto inbox = Axis("vpcp", {"inbox", "--server", vpcp.gateway(), "--subsystem", vpcp.subsystem,
                             "-o", out});
  ASSERT_EQ(inbox.exit_code, 0) << inbox.err;
  std::string status_file = out + "/" + status_id + ".payload";
  auto shown = Axis("vpcp", {"edxml", "show", status_file});
  EXPECT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_THAT(shown.out, HasSubstr("status message"));
  EXPECT_THAT(shown.out, HasSubstr("01"));
  EXPECT_THAT(shown.out, HasSubstr(mic.code));
  auto verified = Axis("vpcp", {"verify", "--trust", PkiPath("roots.pem"), "--crl",
                                PkiPath("crl.pem"), "--offline", status_file});
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
  EXPECT_THAT(verified.out, HasSubstr("proof of receipt"));
  EXPECT_THAT(verified.out, HasSubstr(mic.code));

  // The DMSs answer: mic registers (03) and finishes (06), quangninh registers.
  Answer("mic", id, decree, "03");
  ASSERT_TRUE(WaitForStatusCodes("vpcp", id, mic.subsystem, {"01", "03"}, absl::Seconds(20)));
  Answer("mic", id, decree, "06");
  Answer("quangninh", id, decree, "03");
  EXPECT_TRUE(WaitForStatusCodes("vpcp", id, mic.subsystem, {"01", "03", "06"}, absl::Seconds(20)))
      << Slurp(mic.log_path) << Slurp(vpcp.log_path);
  EXPECT_TRUE(WaitForStatusCodes("vpcp", id, qn.subsystem, {"01", "03"}, absl::Seconds(20)));

  // The sender's audit tells the history.
  auto story = Axis("vpcp", {"audit", "document", "--server", vpcp.gateway(), "--message", id,
                             "--trust", PkiPath("roots.pem"), "--crl", PkiPath("crl.pem")});
  EXPECT_EQ(story.exit_code, 0) << story.out << story.err;
  EXPECT_THAT(story.out, HasSubstr("status 01"));
  EXPECT_THAT(story.out, HasSubstr("status 03"));
  EXPECT_THAT(story.out, HasSubstr("status 06"));
}

TEST_F(EdxmlExchangeTest, MisaddressedDecreeIsRefusedAndAnsweredWithStatus02) {
  StartServer("vpcp");
  StartServer("mic");
  StartServer("quangninh");
  const Agency& vpcp = agencies_["vpcp"];
  const Agency& mic = agencies_["mic"];
  const Agency& qn = agencies_["quangninh"];
  // Addressed To mic only, but sent to quangninh too.
  std::string decree = SignedDecree({mic.code});
  auto sent = Axis("vpcp", {"send", "--server", vpcp.gateway(), "--from", vpcp.subsystem, "--to",
                            mic.subsystem, "--to", qn.subsystem, decree});
  ASSERT_EQ(sent.exit_code, 0) << sent.err;
  std::string id(absl::StripAsciiWhitespace(sent.out));

  ASSERT_TRUE(WaitForState("vpcp", id, qn.subsystem, RecipientStatus::FAILED, absl::Seconds(20)))
      << Slurp(vpcp.log_path) << Slurp(qn.log_path);
  EXPECT_THAT(For(StatusOf("vpcp", id), qn.subsystem)->reason(),
              HasSubstr("not addressed To 000.00.00.H49"));
  EXPECT_TRUE(WaitForStatusCodes("vpcp", id, qn.subsystem, {"02"}, absl::Seconds(20)))
      << Slurp(qn.log_path) << Slurp(vpcp.log_path);
  StatusResponse st = StatusOf("vpcp", id);
  const RecipientStatus* refused = For(st, qn.subsystem);
  ASSERT_NE(refused, nullptr);
  ASSERT_EQ(refused->statuses_size(), 1);
  EXPECT_THAT(refused->statuses(0).text(), HasSubstr("not addressed To 000.00.00.H49"));
  // The one it was addressed to takes it and says so.
  EXPECT_TRUE(WaitForState("vpcp", id, mic.subsystem, RecipientStatus::DELIVERED, absl::Seconds(20)));
  EXPECT_TRUE(WaitForStatusCodes("vpcp", id, mic.subsystem, {"01"}, absl::Seconds(20)));
  // Nothing of it is in quangninh's inbox.
  auto qn_inbox = Axis("quangninh", {"inbox", "--server", qn.gateway(), "--subsystem", qn.subsystem});
  EXPECT_EQ(qn_inbox.exit_code, 0);
  EXPECT_THAT(qn_inbox.out, Not(HasSubstr(id)));
}

TEST_F(EdxmlExchangeTest, ServerLeavesAnswersToTheDmsWhenConfiguredTo) {
  StartServer("vpcp");
  StartServer("mic", "no_edxml_answers: true\n");
  const Agency& vpcp = agencies_["vpcp"];
  const Agency& mic = agencies_["mic"];
  std::string decree = SignedDecree({mic.code});
  auto sent = Axis("vpcp", {"send", "--server", vpcp.gateway(), "--from", vpcp.subsystem, "--to",
                            mic.subsystem, decree});
  ASSERT_EQ(sent.exit_code, 0) << sent.err;
  std::string id(absl::StripAsciiWhitespace(sent.out));
  ASSERT_TRUE(WaitForState("vpcp", id, mic.subsystem, RecipientStatus::DELIVERED, absl::Seconds(20)));
  Answer("mic", id, decree, "03");
  // Only the DMS's 03: no 01 came first (it would have been sent before the 03).
  EXPECT_TRUE(WaitForStatusCodes("vpcp", id, mic.subsystem, {"03"}, absl::Seconds(20)))
      << StatusCodes("vpcp", id, mic.subsystem).size();
}

}  // namespace
}  // namespace axis::ss::testing_util
