// audit_document_test.cc: `axis audit document FILE.xml` verdicts on a
// decree on its own — good, signed by a revoked leader, altered — in text,
// JSON and the self-contained HTML page.
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/files.h"
#include "tests/testing/axis_cli.h"
#include "tests/testing/paths.h"
#include "tests/testing/process.h"

namespace axis {
namespace {

using ::testing::HasSubstr;
using testing::PkiPath;
using testing::RunAxis;

class AuditDocumentTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::MakeTempDir("audit-doc"); }

  // Decree writes an edXML decree signed by `leader` (a pki-testdata base
  // name) and returns its path.
  std::string Decree(const std::string& leader) {
    std::string in = dir_ + "/m.edxml";
    auto r = RunAxis({"edxml", "new", "--from", "000.00.00.G22", "--to", "000.00.00.G12",
                      "--code", "28/QĐ-TTg", "--subject", "Về việc khai trương Trục", "-o", in});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::string out = dir_ + "/" + std::to_string(n_++) + ".edxml";
    r = RunAxis({"sign", "--key", PkiPath(leader + ".key.pem"), "--cert",
                 PkiPath(leader + ".cert.pem"), "--chain", PkiPath("chain.pem"), "--as", "leader",
                 "--role", "Thủ tướng", "-o", out, in});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return out;
  }

  testing::CommandResult Audit(const std::string& file, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"audit", "document", file, "--offline", "--trust",
                                     PkiPath("roots.pem"), "--crl", PkiPath("crl.pem")};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunAxis(args);
  }

  std::string dir_;
  int n_ = 0;
};

TEST_F(AuditDocumentTest, AGoodDecreeIsValidInTextJsonAndHtml) {
  std::string decree = Decree("agencies/vpcp/leader");
  std::string html = dir_ + "/report.html";
  auto r = Audit(decree, {"--html", html});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("VALID (1 signature"));
  EXPECT_THAT(r.out, HasSubstr("role:     Thủ tướng"));
  absl::StatusOr<std::string> page = ReadFile(html);
  ASSERT_TRUE(page.ok());
  EXPECT_THAT(*page, HasSubstr("<!DOCTYPE html>"));
  EXPECT_THAT(*page, HasSubstr("Every check passed."));
  EXPECT_THAT(*page, HasSubstr("Trần Văn Thử"));
  EXPECT_THAT(*page, ::testing::Not(HasSubstr("<script")));
  // Self-contained: nothing to fetch from elsewhere.
  EXPECT_THAT(*page, ::testing::Not(HasSubstr(" src=")));
  EXPECT_THAT(*page, ::testing::Not(HasSubstr(" href=")));

  auto j = Audit(decree, {"--json"});
  EXPECT_EQ(j.exit_code, 0);
  EXPECT_THAT(j.out, HasSubstr("\"valid\": true"));
}

TEST_F(AuditDocumentTest, ADecreeSignedByARevokedLeaderIsNotValidAndSaysWhen) {
  std::string decree = Decree("negative/revoked-leader");
  std::string html = dir_ + "/report.html";
  auto r = Audit(decree, {"--html", html});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_THAT(r.out, HasSubstr("revoked"));
  EXPECT_THAT(r.out, HasSubstr("2026-01-01"));
  absl::StatusOr<std::string> page = ReadFile(html);
  ASSERT_TRUE(page.ok());
  EXPECT_THAT(*page, HasSubstr("NOT VALID"));
}

TEST_F(AuditDocumentTest, ADecreeAlteredAfterSigningIsNotValid) {
  std::string decree = Decree("agencies/vpcp/leader");
  absl::StatusOr<std::string> xml = ReadFile(decree);
  ASSERT_TRUE(xml.ok());
  size_t at = xml->find("Về việc khai trương");
  ASSERT_NE(at, std::string::npos);
  std::string altered = *xml;
  altered.replace(at, std::string("Về").size(), "Vì");
  ASSERT_TRUE(WriteFileAtomic(dir_ + "/altered.edxml", altered).ok());
  auto r = Audit(dir_ + "/altered.edxml");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_THAT(r.out, HasSubstr("does not match"));
}

TEST_F(AuditDocumentTest, RequiresTheAuditorsOwnRoots) {
  std::string decree = Decree("agencies/vpcp/leader");
  auto r = RunAxis({"audit", "document", decree});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--trust"));
}

}  // namespace
}  // namespace axis
