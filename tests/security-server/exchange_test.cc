// exchange_test.cc: a signed decree travels between real security servers:
// one Send to two agencies, signed receipts, business statuses back, and
// delivery that one recipient's outage does not hold back. (edxml_exchange_test
// follows an edXML decree's statuses 01..06 and a misaddressed one's 02.)
#include <sqlite3.h>

#include <csignal>
#include <string>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "security-server/message_log.h"
#include "security-server/trust.h"
#include "tests/security-server/ss_fixture.h"

namespace axis::ss::testing_util {
namespace {

using ::testing::HasSubstr;

class ExchangeTest : public SecurityServerFixture {};

TEST_F(ExchangeTest, SignedDecreeReachesBothAgenciesWithReceiptsAndAStatusComesBack) {
  StartServer("vpcp");
  StartServer("mic");
  StartServer("quangninh");
  std::string decree = SignedDecree();
  const Agency& vpcp = agencies_["vpcp"];
  const Agency& mic = agencies_["mic"];
  const Agency& qn = agencies_["quangninh"];

  auto sent = Axis("vpcp", {"send", "--server", vpcp.gateway(), "--from", vpcp.subsystem, "--to",
                            mic.subsystem, "--to", qn.subsystem, "--reference", "VPCP-2026-123",
                            decree});
  ASSERT_EQ(sent.exit_code, 0) << sent.err << Slurp(vpcp.log_path);
  std::string id(absl::StripAsciiWhitespace(sent.out));
  ASSERT_EQ(id.size(), 32u) << sent.out;

  for (const Agency* a : {&mic, &qn}) {
    EXPECT_TRUE(WaitForState("vpcp", id, a->subsystem, RecipientStatus::DELIVERED, absl::Seconds(20)))
        << a->dir << "\n" << Slurp(vpcp.log_path) << Slurp(a->log_path);
  }
  StatusResponse st = StatusOf("vpcp", id);
  for (const Agency* a : {&mic, &qn}) {
    const RecipientStatus* r = For(st, a->subsystem);
    ASSERT_NE(r, nullptr);
    ASSERT_TRUE(r->has_receipt());
    ReceiptBody body;
    ASSERT_TRUE(body.ParseFromString(r->receipt().body()));
    EXPECT_EQ(body.message_id(), id);
    EXPECT_EQ(FormatIdentifier(body.recipient()), a->subsystem);
    // The receipt is signed by the recipient's seal (in a receipt batch).
    absl::StatusOr<UniquePtr<X509>> signer = signer::CertFromDer(r->receipt().cert_chain_der(0));
    ASSERT_TRUE(signer.ok());
    EXPECT_THAT(signer::DescribeCertificate(signer->get()).subject, HasSubstr(a->code));
    EXPECT_TRUE(VerifyBatchProof(signer->get(), BatchKind::kReceipt, r->receipt().body(),
                                 ProofOf(r->receipt()))
                    .ok());
  }

  // Each recipient's DMS gets the very bytes that were signed, with a report.
  for (const Agency* a : {&mic, &qn}) {
    std::string out = axis::testing::MakeTempDir("inbox-" + a->dir);
    auto inbox = Axis(a->dir, {"inbox", "--server", a->gateway(), "--subsystem", a->subsystem,
                               "-o", out});
    ASSERT_EQ(inbox.exit_code, 0) << inbox.err;
    EXPECT_THAT(inbox.out, HasSubstr(id));
    EXPECT_EQ(Slurp(out + "/" + id + ".payload"), Slurp(decree));
    std::string meta = Slurp(out + "/" + id + ".json");
    EXPECT_THAT(meta, HasSubstr("VPCP-2026-123"));
    EXPECT_THAT(meta, HasSubstr("verification_report_json"));
  }

  // mic answers with a business status (edXML 03, accepted); it reaches vpcp.
  std::string status_doc = dir_ + "/status.edxml";
  auto made = Axis("mic", {"edxml", "status", "--code", "03", "--for", decree, "--from",
                           "000.00.00.G12", "-o", status_doc});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  auto status_sent = Axis("mic", {"send", "--server", mic.gateway(), "--from", mic.subsystem,
                                  "--to", vpcp.subsystem, "--type", "status", "--reply-to", id,
                                  "--status-code", "03", "--status-text", "Đã tiếp nhận",
                                  status_doc});
  ASSERT_EQ(status_sent.exit_code, 0) << status_sent.err;
  // (01, arrived, is mic's server's own answer; answers.h.)
  EXPECT_TRUE(WaitForStatusCodes("vpcp", id, mic.subsystem, {"01", "03"}, absl::Seconds(20)))
      << Slurp(mic.log_path) << Slurp(vpcp.log_path);
  EXPECT_TRUE(WaitForStatusCodes("vpcp", id, qn.subsystem, {"01"}, absl::Seconds(20)));

  // Acknowledging takes the message off mic's pending set.
  auto ack = Axis("mic", {"ack", "--server", mic.gateway(), id});
  EXPECT_EQ(ack.exit_code, 0) << ack.err;
  auto again = Axis("mic", {"inbox", "--server", mic.gateway(), "--subsystem", mic.subsystem});
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_THAT(again.out, ::testing::Not(HasSubstr(id)));
  EXPECT_EQ(For(StatusOf("mic", id), mic.subsystem)->state(), RecipientStatus::ACKNOWLEDGED);
}

TEST_F(ExchangeTest, OneRecipientDownDoesNotHoldBackTheOtherAndGetsItAfterReturning) {
  StartServer("vpcp");
  StartServer("mic");
  StartServer("quangninh");
  std::string decree = SignedDecree();
  Agency& qn = agencies_["quangninh"];
  qn.process->Stop();
  const Agency& vpcp = agencies_["vpcp"];
  const Agency& mic = agencies_["mic"];

  auto sent = Axis("vpcp", {"send", "--server", vpcp.gateway(), "--from", vpcp.subsystem, "--to",
                            qn.subsystem, "--to", mic.subsystem, decree});
  ASSERT_EQ(sent.exit_code, 0) << sent.err;
  std::string id(absl::StripAsciiWhitespace(sent.out));
  EXPECT_TRUE(WaitForState("vpcp", id, mic.subsystem, RecipientStatus::DELIVERED, absl::Seconds(10)));
  EXPECT_TRUE(WaitForState("vpcp", id, qn.subsystem, RecipientStatus::RELAYED, absl::Seconds(10)));
  StatusResponse st = StatusOf("vpcp", id);  // For points into it
  const RecipientStatus* down = For(st, qn.subsystem);
  ASSERT_NE(down, nullptr);
  EXPECT_GE(down->attempts(), 1u);
  EXPECT_FALSE(down->reason().empty());

  StartServer("quangninh");
  EXPECT_TRUE(WaitForState("vpcp", id, qn.subsystem, RecipientStatus::DELIVERED, absl::Seconds(20)))
      << Slurp(vpcp.log_path);
  auto inbox = Axis("quangninh", {"inbox", "--server", qn.gateway(), "--subsystem", qn.subsystem});
  EXPECT_THAT(inbox.out, HasSubstr(id));
}

// A recipient whose server hangs (it is stopped: the kernel takes the
// connection, nothing answers) holds its relay calls until their deadline.
// Its rows pile up in the sender's queue beyond what the queue takes
// directly; another member's document must still go at once, and every
// document of the hung one once it answers again.
TEST_F(ExchangeTest, AHungRecipientDoesNotHoldBackTheOthersAndGetsAllOnceItAnswers) {
  StartServer("vpcp");
  StartServer("mic");
  StartServer("quangninh");
  const Agency& vpcp = agencies_["vpcp"];
  const Agency& mic = agencies_["mic"];
  Agency& qn = agencies_["quangninh"];
  ASSERT_EQ(::kill(qn.process->pid(), SIGSTOP), 0);
  auto stub = Gateway("vpcp");
  constexpr int kToHung = 700;  // beyond the 256 rows Send queues directly
  for (int i = 0; i < kToHung; ++i) {
    absl::StatusOr<std::string> id =
        SendOne(stub.get(), "vpcp", "quangninh", absl::StrCat("to qn ", i), "hung");
    ASSERT_TRUE(id.ok()) << id.status();
  }
  absl::StatusOr<std::string> to_mic = SendOne(stub.get(), "vpcp", "mic", "to mic", "other");
  ASSERT_TRUE(to_mic.ok()) << to_mic.status();
  const bool mic_got_it =
      WaitForState("vpcp", *to_mic, mic.subsystem, RecipientStatus::DELIVERED, absl::Seconds(10));
  ASSERT_EQ(::kill(qn.process->pid(), SIGCONT), 0);
  EXPECT_TRUE(mic_got_it) << Slurp(vpcp.log_path);

  // Once quangninh answers, all of its documents arrive (none stays behind
  // in the store), each once.
  auto delivered = [&]() -> uint64_t {
    absl::StatusOr<ServerStatusResponse> s = ServerStatusOf("vpcp");
    return s.ok() ? s->queues().outbox_delivered() : 0;
  };
  absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (delivered() < kToHung + 1 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(200));
  }
  EXPECT_EQ(delivered(), static_cast<uint64_t>(kToHung + 1)) << Slurp(vpcp.log_path);
  absl::StatusOr<ServerStatusResponse> qn_status = ServerStatusOf("quangninh");
  ASSERT_TRUE(qn_status.ok()) << qn_status.status();
  EXPECT_EQ(qn_status->queues().inbox_pending(), static_cast<uint64_t>(kToHung));
  // Each relayed once: one `sent` record per message and recipient in
  // vpcp's log (the recipient's inbox would hide a second delivery).
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(absl::StrCat(dir_, "/", vpcp.dir, ".db").c_str(), &db,
                            SQLITE_OPEN_READONLY, nullptr),
            SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db,
                               "SELECT count(*), count(DISTINCT message_id || ' ' || peer) "
                               "FROM message_log WHERE event = ?",
                               -1, &st, nullptr),
            SQLITE_OK);
  sqlite3_bind_int(st, 1, static_cast<int>(LogEvent::kSent));
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int64(st, 0), kToHung + 1);
  EXPECT_EQ(sqlite3_column_int64(st, 1), kToHung + 1);
  sqlite3_finalize(st);
  sqlite3_close(db);
}

TEST_F(ExchangeTest, TrafficContinuesOnTheCachedOcspResponseWhileTheResponderIsDown) {
  StartServer("vpcp");
  StartServer("mic");
  const std::string& mic = agencies_["mic"].subsystem;
  std::string id1 = SendBytes("vpcp", "mic");
  ASSERT_TRUE(WaitForState("vpcp", id1, mic, RecipientStatus::DELIVERED, absl::Seconds(10)));
  ocsp_->Stop();  // the responder goes away; the cached response is fresh for an hour
  std::string id2 = SendBytes("vpcp", "mic");
  EXPECT_TRUE(WaitForState("vpcp", id2, mic, RecipientStatus::DELIVERED, absl::Seconds(10)))
      << Slurp(agencies_["vpcp"].log_path);
}

TEST_F(ExchangeTest, ADecreeWhoseRevocationCannotBeCheckedWaitsForTheResponderThenArrives) {
  conf_carries_crl_ = false;  // the CA's CRL would otherwise decide without the responder
  ASSERT_TRUE(WriteConf(absl::Hours(1)).ok());
  StartServer("vpcp");
  StartServer("mic");
  const Agency& vpcp = agencies_["vpcp"];
  const Agency& mic = agencies_["mic"];
  // A first message while the responder is up: vpcp's seal has its OCSP
  // response cached for the envelopes.
  std::string id1 = SendBytes("vpcp", "mic");
  ASSERT_TRUE(WaitForState("vpcp", id1, mic.subsystem, RecipientStatus::DELIVERED, absl::Seconds(10)));

  // The decree carries no revocation data (B-B): mic must ask the responder,
  // which is down. That is an outage, not a bad decree: it stays relayed
  // (retrying), is not refused, and arrives once the responder is back.
  std::string decree = SignedDecree({mic.code});
  std::string url = ocsp_url_;
  int port = 0;
  ASSERT_TRUE(absl::SimpleAtoi(url.substr(url.rfind(':') + 1, url.size() - url.rfind(':') - 2), &port))
      << url;
  ocsp_->Stop();
  auto sent = Axis("vpcp", {"send", "--server", vpcp.gateway(), "--from", vpcp.subsystem, "--to",
                            mic.subsystem, decree});
  ASSERT_EQ(sent.exit_code, 0) << sent.err;
  std::string id(absl::StripAsciiWhitespace(sent.out));
  absl::Time deadline = absl::Now() + absl::Seconds(20);
  std::string reason;
  while (absl::Now() < deadline && !absl::StrContains(reason, "revocation status unavailable")) {
    StatusResponse st = StatusOf("vpcp", id);
    const RecipientStatus* r = For(st, mic.subsystem);
    ASSERT_NE(r, nullptr);
    ASSERT_NE(r->state(), RecipientStatus::FAILED) << r->reason();
    reason = r->reason();
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_THAT(reason, HasSubstr("revocation status unavailable")) << Slurp(mic.log_path);
  EXPECT_EQ(For(StatusOf("vpcp", id), mic.subsystem)->state(), RecipientStatus::RELAYED);

  absl::StatusOr<axis::testing::OcspResponder> back =
      axis::testing::StartOcspResponder("ocsp/ocsp", "60", port);
  ASSERT_TRUE(back.ok()) << back.status();
  ocsp_ = std::move(back->process);
  EXPECT_TRUE(WaitForState("vpcp", id, mic.subsystem, RecipientStatus::DELIVERED, absl::Seconds(20)))
      << Slurp(vpcp.log_path) << Slurp(mic.log_path);
}

TEST_F(ExchangeTest, RecipientRefusesAnEdxmlDocumentWhoseFromIsNotTheSendingMember) {
  StartServer("mic");
  StartServer("quangninh");
  // vpcp's signed decree (From 000.00.00.G22), forwarded by mic as its own.
  std::string decree = SignedDecree();
  const Agency& mic = agencies_["mic"];
  const Agency& qn = agencies_["quangninh"];
  auto sent = Axis("mic", {"send", "--server", mic.gateway(), "--from", mic.subsystem, "--to",
                           qn.subsystem, decree});
  ASSERT_EQ(sent.exit_code, 0) << sent.err;
  std::string id(absl::StripAsciiWhitespace(sent.out));
  ASSERT_TRUE(WaitForState("mic", id, qn.subsystem, RecipientStatus::FAILED, absl::Seconds(20)))
      << Slurp(mic.log_path) << Slurp(qn.log_path);
  EXPECT_THAT(For(StatusOf("mic", id), qn.subsystem)->reason(),
              HasSubstr("is From \"000.00.00.G22\" but came from member VN/GOV/000.00.00.G12"));
  auto inbox = Axis("quangninh", {"inbox", "--server", qn.gateway(), "--subsystem", qn.subsystem});
  EXPECT_EQ(inbox.exit_code, 0);
  EXPECT_THAT(inbox.out, ::testing::Not(HasSubstr(id)));
}

TEST_F(ExchangeTest, OneAckTakesSeveralMessagesOffThePendingSetOrNoneOfThem) {
  StartServer("vpcp");
  StartServer("mic");
  const Agency& mic = agencies_["mic"];
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    ids.push_back(SendBytes("vpcp", "mic"));
    ASSERT_FALSE(ids.back().empty());
  }
  for (const std::string& id : ids) {
    ASSERT_TRUE(WaitForState("vpcp", id, mic.subsystem, RecipientStatus::DELIVERED,
                             absl::Seconds(20)));
  }
  auto pending = [&] {
    return Axis("mic", {"inbox", "--server", mic.gateway(), "--subsystem", mic.subsystem}).out;
  };
  // One id that is not in the inbox: nothing is acknowledged.
  std::string unknown = "00000000000000000000000000000000";
  auto refused = Axis("mic", {"ack", "--server", mic.gateway(), ids[0], unknown, ids[1]});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_THAT(refused.err, HasSubstr(unknown));
  EXPECT_THAT(refused.err, HasSubstr("is not in this client's inbox"));
  std::string still = pending();
  for (const std::string& id : ids) {
    EXPECT_THAT(still, HasSubstr(id));
  }
  // All three in one call.
  auto ack = Axis("mic", {"ack", "--server", mic.gateway(), ids[0], ids[1], ids[2]});
  ASSERT_EQ(ack.exit_code, 0) << ack.err;
  std::string after = pending();
  for (const std::string& id : ids) {
    EXPECT_THAT(after, ::testing::Not(HasSubstr(id)));
    StatusResponse st = StatusOf("mic", id);  // the recipient's server knows
    const RecipientStatus* r = For(st, mic.subsystem);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->state(), RecipientStatus::ACKNOWLEDGED) << id;
  }
}

TEST_F(ExchangeTest, AgenciesListsTheDirectoryFromTheGlobalConfiguration) {
  StartServer("vpcp");
  auto r = Axis("vpcp", {"agencies", "--server", agencies_["vpcp"].gateway()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("000.00.00.H49"));
  EXPECT_THAT(r.out, HasSubstr("VN/GOV/000.00.00.G12/QLVB"));
  EXPECT_THAT(r.out, HasSubstr("Bộ Thông tin và Truyền thông"));
}

TEST_F(ExchangeTest, ClientWithoutARegisteredCertificateIsRefused) {
  StartServer("vpcp");
  // mic's DMS certificate is not a local client of vpcp's server.
  std::string ag = PkiPath("agencies/mic");
  auto r = Axis("vpcp", {"agencies", "--server", agencies_["vpcp"].gateway(), "--tls-cert",
                         ag + "/dms.cert.pem", "--tls-key", ag + "/dms.key.pem"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("not a local client"));
}

}  // namespace
}  // namespace axis::ss::testing_util
