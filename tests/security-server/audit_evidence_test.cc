// audit_evidence_test.cc: the auditor's view of a message that really
// travelled: `axis audit document --server/--message`, `axis audit export`
// to ASiC-E, the package checked offline, and every kind of tampering with
// the package found.
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "cli/asic.h"
#include "evidence.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/security-server/ss_fixture.h"

namespace axis::ss::testing_util {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class AuditEvidenceTest : public SecurityServerFixture {
 protected:
  // Delivered sends the decree from vpcp to mic and quangninh and waits for
  // both receipts; returns the message id.
  std::string Delivered() {
    StartServer("vpcp");
    StartServer("mic");
    StartServer("quangninh");
    std::string decree = SignedDecree();
    const Agency& vpcp = agencies_["vpcp"];
    auto sent = Axis("vpcp", {"send", "--server", vpcp.gateway(), "--from", vpcp.subsystem,
                              "--to", agencies_["mic"].subsystem, "--to",
                              agencies_["quangninh"].subsystem, decree});
    EXPECT_EQ(sent.exit_code, 0) << sent.err;
    std::string id(absl::StripAsciiWhitespace(sent.out));
    for (const char* r : {"mic", "quangninh"}) {
      EXPECT_TRUE(WaitForState("vpcp", id, agencies_[r].subsystem, RecipientStatus::DELIVERED,
                               absl::Seconds(20)));
    }
    return id;
  }

  axis::testing::CommandResult AuditPackage(const std::string& path) {
    return Axis("vpcp", {"audit", "document", path, "--offline", "--trust", PkiPath("roots.pem"),
                         "--crl", PkiPath("crl.pem")});
  }

  // Rewrite rewrites the package at `in` into `out` after `change` edits its
  // evidence and document.
  void Rewrite(const std::string& in, const std::string& out,
               const std::function<void(Evidence*, std::string*)>& change) {
    absl::StatusOr<std::vector<cli::AsicEntry>> entries = cli::ReadAsicE(in);
    ASSERT_TRUE(entries.ok()) << entries.status();
    Evidence evidence;
    std::string* document = nullptr;
    cli::AsicEntry* evidence_entry = nullptr;
    for (cli::AsicEntry& e : *entries) {
      if (e.name == "evidence/evidence.pb") {
        ASSERT_TRUE(evidence.ParseFromString(e.data));
        evidence_entry = &e;
      } else if (e.name == "document.xml") {
        document = &e.data;
      }
    }
    ASSERT_NE(evidence_entry, nullptr);
    ASSERT_NE(document, nullptr);
    change(&evidence, document);
    evidence_entry->data = evidence.SerializeAsString();
    ASSERT_TRUE(cli::WriteAsicE(out, *entries).ok());
  }
};

TEST_F(AuditEvidenceTest, TellsTheStoryOfASentDecreeAndItsPackageChecksOutOffline) {
  std::string id = Delivered();
  const Agency& vpcp = agencies_["vpcp"];
  std::string html = dir_ + "/story.html";
  auto story = Axis("vpcp", {"audit", "document", "--server", vpcp.gateway(), "--message", id,
                             "--trust", PkiPath("roots.pem"), "--crl", PkiPath("crl.pem"),
                             "--html", html});
  EXPECT_EQ(story.exit_code, 0) << story.out << story.err;
  EXPECT_THAT(story.out, HasSubstr("to VN/GOV/000.00.00.G12/QLVB: DELIVERED"));
  EXPECT_THAT(story.out, HasSubstr("ok    envelope to VN/GOV/000.00.00.H49/QLVB: sealed by"));
  EXPECT_THAT(story.out, HasSubstr("ok    receipt from VN/GOV/000.00.00.G12/QLVB: signed by"));
  EXPECT_THAT(story.out, HasSubstr("(accepted)"));
  EXPECT_THAT(story.out, HasSubstr("every check passed"));
  std::string page = Slurp(html);
  EXPECT_THAT(page, HasSubstr("<h2>Evidence checks</h2>"));
  EXPECT_THAT(page, HasSubstr("receipt from VN/GOV/000.00.00.H49/QLVB"));
  EXPECT_THAT(page, HasSubstr("Every check passed."));

  std::string package = dir_ + "/evidence.asice";
  auto exported = Axis("vpcp", {"audit", "export", "--server", vpcp.gateway(), id, "-o", package});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  EXPECT_THAT(exported.out, HasSubstr("2 envelopes, 2 receipts"));
  auto offline = AuditPackage(package);
  EXPECT_EQ(offline.exit_code, 0) << offline.out << offline.err;
  EXPECT_THAT(offline.out, HasSubstr("every check passed"));
  // Each delivered envelope carries the OCSP response stapled to it, checked
  // offline against the auditor's roots at the time it was received.
  EXPECT_THAT(offline.out, HasSubstr("; OCSP good (produced "));
  EXPECT_THAT(offline.out, Not(HasSubstr("no OCSP response kept")));
}

TEST_F(AuditEvidenceTest, FindsEveryKindOfTamperingWithThePackage) {
  std::string id = Delivered();
  std::string package = dir_ + "/evidence.asice";
  auto exported = Axis("vpcp", {"audit", "export", "--server", agencies_["vpcp"].gateway(), id,
                                "-o", package});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;

  struct Case {
    const char* name;
    std::function<void(Evidence*, std::string*)> change;
    const char* expect;
  };
  std::vector<Case> cases = {
      {"document altered",
       [](Evidence*, std::string* doc) { (*doc)[doc->size() / 2] ^= 1; },
       "altered document"},
      {"envelope header altered",
       [](Evidence* e, std::string*) {
         std::string* h = e->mutable_envelopes(0)->mutable_header();
         (*h)[h->size() - 1] ^= 1;
       },
       "envelope signature"},
      {"envelope's batch path altered",
       [](Evidence* e, std::string*) {
         // Both envelopes were sealed in one batch: each carries a path.
         ASSERT_GT(e->envelopes(0).batch_path_size(), 0);
         (*e->mutable_envelopes(0)->mutable_batch_path(0))[7] ^= 1;
       },
       "envelope signature: the header is not leaf"},
      {"receipt body altered",
       [](Evidence* e, std::string*) {
         std::string* b = e->mutable_receipts(1)->mutable_body();
         (*b)[b->size() - 1] ^= 1;
       },
       "receipt signature"},
      {"receipt signed by another member's seal",
       [](Evidence* e, std::string*) {
         *e->mutable_receipts(0)->mutable_cert_chain_der(0) =
             e->envelopes(0).cert_chain_der(0);  // vpcp's seal, not the recipient's
       },
       "not of member"},
      {"stapled OCSP response altered",
       [](Evidence* e, std::string*) {
         std::string* o = e->mutable_envelopes(1)->mutable_ocsp_response();
         ASSERT_FALSE(o->empty());
         (*o)[o->size() - 3] ^= 1;  // near the end: the responder certificate's signature
       },
       "stapled OCSP response"},
      {"log record altered",
       [](Evidence* e, std::string*) { e->mutable_records(0)->set_peer("someone else"); },
       "hash does not match its content"},
  };
  for (const Case& c : cases) {
    std::string bad = dir_ + "/bad.asice";
    Rewrite(package, bad, c.change);
    auto r = AuditPackage(bad);
    EXPECT_EQ(r.exit_code, 1) << c.name << "\n" << r.out;
    EXPECT_THAT(r.out, HasSubstr(c.expect)) << c.name;
    EXPECT_THAT(r.out, HasSubstr("NOT VALID")) << c.name;
  }
}

TEST_F(AuditEvidenceTest, RefusesEvidenceOfAMessageTheCallerDidNotSend) {
  std::string id = Delivered();
  auto r = Axis("mic", {"audit", "export", "--server", agencies_["mic"].gateway(), id, "-o",
                        dir_ + "/x.asice"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("was not sent by your subsystems"));
}

}  // namespace
}  // namespace axis::ss::testing_util
