// End-to-end tests of `axis audit log`: the real axis binary over a log
// database written by AppendLog and stamped by the real axis-tsa.
#include <sqlite3.h>

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "security-server/message_log.h"
#include "security-server/timestamper.h"
#include "tests/security-server/log_fixture.h"
#include "tests/testing/paths.h"
#include "tests/testing/process.h"

namespace axis::ss {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
namespace at = ::axis::testing;

class AuditCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = at::MakeTempDir("audit-cli");
    db_path_ = dir_ + "/server.db";
    test::TsaProcess tsa(dir_);
    tsa.Start();
    absl::StatusOr<LogDb> db = OpenLogDb(db_path_);
    ASSERT_TRUE(db.ok()) << db.status();
    ASSERT_TRUE(CreateLogSchema(db->get()).ok());
    test::AppendNumbered(db->get(), 8);
    Timestamper::Options o;
    o.db_path = db_path_;
    o.tsa_url = tsa.url();
    o.tsa_trust = test::TsaTrust();
    o.run_thread = false;
    absl::StatusOr<std::unique_ptr<Timestamper>> t = Timestamper::Start(o);
    ASSERT_TRUE(t.ok()) << t.status();
    ASSERT_TRUE((*t)->StampNow().ok());
    test::AppendNumbered(db->get(), 4);
  }

  at::CommandResult Axis(std::vector<std::string> args) {
    args.insert(args.begin(), at::BinDir() + "/axis");
    absl::StatusOr<at::CommandResult> r = at::RunCommand(args, "", absl::Seconds(60));
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : at::CommandResult{};
  }

  void BreakRecord5() {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(db_path_.c_str(), &raw), SQLITE_OK);
    LogDb db(raw);
    ASSERT_TRUE(ExecSql(db.get(),
                        "DROP TRIGGER message_log_no_update; "
                        "UPDATE message_log SET data = CAST('payload-of-record-0005;' AS BLOB) "
                        "WHERE seq = 5")
                    .ok());
  }

  std::string dir_;
  std::string db_path_;
};

TEST_F(AuditCliTest, IntactLogExitsZeroAndCountsRecordsAndBatches) {
  at::CommandResult r =
      Axis({"audit", "log", "--db", db_path_, "--trust", at::PkiPath("roots.pem")});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("message log intact: 12 records, 8 time-stamped in 1 batches"));
  EXPECT_THAT(r.out, Not(HasSubstr("note:")));
}

TEST_F(AuditCliTest, BrokenLogExitsOneAndNamesTheFirstBrokenRecord) {
  BreakRecord5();
  at::CommandResult r =
      Axis({"audit", "log", "--db", db_path_, "--trust", at::PkiPath("roots.pem")});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("BROKEN: record 5: hash does not match its content"));
}

TEST_F(AuditCliTest, JsonVerdictCarriesTheFirstBrokenRecord) {
  BreakRecord5();
  at::CommandResult r =
      Axis({"audit", "log", "--db", db_path_, "--trust", at::PkiPath("roots.pem"), "--json"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_EQ(j.value("ok", true), false);
  EXPECT_EQ(j.value("first_broken_seq", 0), 5);
  EXPECT_EQ(j.value("records", -1), 4);  // read up to the fault
  EXPECT_THAT(j.value("reason", std::string()), HasSubstr("record 5"));
}

TEST_F(AuditCliTest, WithoutTrustTheTokensAreMatchedButNotedAsUnverified) {
  at::CommandResult r = Axis({"audit", "log", "--db", db_path_, "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_EQ(j.value("ok", false), true);
  EXPECT_EQ(j.value("tokens_verified", true), false);
  EXPECT_EQ(j.value("stamped", 0), 8);
  r = Axis({"audit", "log", "--db", db_path_});
  EXPECT_THAT(r.out, HasSubstr("note: time-stamp tokens"));
}

TEST_F(AuditCliTest, UnreadableDatabaseExitsTwo) {
  at::CommandResult r = Axis({"audit", "log", "--db", dir_ + "/none.db"});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_THAT(r.err, HasSubstr("none.db"));
  r = Axis({"audit", "log"});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
}

}  // namespace
}  // namespace axis::ss
