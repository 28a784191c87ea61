// relay_test.cc: the recipient side of the peer relay refuses every bad
// delivery with a precise reason and stores nothing; a re-delivery gets the
// original receipt. The test plays a (possibly rogue) sending server against
// a real axis-security-server for mic.
#include <string>

#include <grpcpp/grpcpp.h>
#include <sqlite3.h>
#include <openssl/rand.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "security-server/store.h"
#include "security-server/trust.h"
#include "signer/ocsp.h"
#include "tests/security-server/ss_fixture.h"

namespace axis::ss::testing_util {
namespace {

using ::testing::HasSubstr;

struct Signer {
  std::string key;
  std::string cert;
};

class RelayTest : public SecurityServerFixture {
 protected:
  // Envelope seals a header from vpcp to mic over `payload`.
  Envelope MakeEnvelope(const std::string& payload, const Signer& s,
                        const std::string& content_type = "application/octet-stream") {
    EnvelopeHeader h;
    unsigned char b[8];
    RAND_bytes(b, sizeof(b));
    h.set_message_id(absl::StrCat("test-", absl::Hex(*reinterpret_cast<uint64_t*>(b))));
    *h.mutable_sender() = *ParseSubsystemId(agencies_["vpcp"].subsystem);
    *h.mutable_recipient() = *ParseSubsystemId(agencies_["mic"].subsystem);
    *h.mutable_created_at() = google::protobuf::util::TimeUtil::GetCurrentTime();
    h.set_payload_sha256(signer::Sha256(payload));
    h.set_payload_size(payload.size());
    h.set_content_type(content_type);
    h.set_document_type("edxml");
    signer::KeySpec spec;
    spec.key = s.key;
    spec.cert_path = s.cert;
    spec.chain_path = PkiPath("chain.pem");
    absl::StatusOr<signer::SigningKey> key = signer::LoadSigningKey(spec, signer::NoSecret());
    EXPECT_TRUE(key.ok()) << key.status();
    BatchSigner batch(&*key, BatchKind::kEnvelope);
    absl::StatusOr<Envelope> sealed = SealEnvelope(h, batch);
    EXPECT_TRUE(sealed.ok()) << sealed.status();
    Envelope e = *sealed;
    signer::OcspOptions o;
    o.url = ocsp_url_;
    absl::StatusOr<signer::OcspResponse> r =
        signer::FetchOcsp(key->cert.get(), key->chain[0].get(), o);
    EXPECT_TRUE(r.ok()) << r.status();
    if (r.ok()) {
      e.set_ocsp_response(r->der);
    }
    return e;
  }

  Signer VpcpSeal() {
    return {PkiPath("agencies/vpcp/seal.key.pem"), PkiPath("agencies/vpcp/seal.cert.pem")};
  }

  // RelayStub calls mic's relay as the TLS client `tls` (a path prefix
  // below pki-testdata, without .cert.pem/.key.pem).
  std::unique_ptr<Relay::Stub> RelayStub(const std::string& tls) {
    grpc::SslCredentialsOptions o;
    o.pem_root_certs = Slurp(PkiPath("ca-bundle.pem"));
    o.pem_cert_chain = Slurp(PkiPath(tls + ".cert.pem"));
    o.pem_private_key = Slurp(PkiPath(tls + ".key.pem"));
    return Relay::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", agencies_["mic"].relay_port), grpc::SslCredentials(o)));
  }

  // Deliver sends `e` and `payload` to mic's relay as the TLS client
  // `tls` (a path prefix below pki-testdata, without .cert.pem/.key.pem).
  grpc::Status Deliver(const Envelope& e, const std::string& payload, const std::string& tls,
                       Receipt* receipt) {
    auto stub = RelayStub(tls);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    auto w = stub->Deliver(&ctx, receipt);
    DeliverRequest first;
    *first.mutable_envelope() = e;
    if (w->Write(first)) {
      DeliverRequest chunk;
      chunk.set_chunk(payload);
      if (w->Write(chunk)) {
        w->WritesDone();
      }
    }
    return w->Finish();
  }

  // DeliverBatch sends `deliveries` to mic's relay in one call as `tls`.
  grpc::Status DeliverBatch(const std::vector<std::pair<Envelope, std::string>>& deliveries,
                            const std::string& tls, DeliverBatchResponse* out) {
    auto stub = RelayStub(tls);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    DeliverBatchRequest req;
    for (const auto& [e, payload] : deliveries) {
      Delivery* d = req.add_deliveries();
      *d->mutable_envelope() = e;
      d->set_payload(payload);
    }
    return stub->DeliverBatch(&ctx, req, out);
  }

  // MicRefusals counts the `refused` records of mic's message log.
  int64_t MicRefusals() {
    sqlite3* db = nullptr;
    std::string path = absl::StrCat(dir_, "/", agencies_["mic"].dir, ".db");
    int64_t n = -1;
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
      sqlite3_stmt* st = nullptr;
      if (sqlite3_prepare_v2(db, "SELECT count(*) FROM message_log WHERE event=5", -1, &st,
                             nullptr) == SQLITE_OK &&
          sqlite3_step(st) == SQLITE_ROW) {
        n = sqlite3_column_int64(st, 0);
      }
      sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return n;
  }

  // MicInboxIsEmpty: nothing was stored as accepted.
  void ExpectMicInboxEmpty() {
    const Agency& mic = agencies_["mic"];
    auto r = Axis("mic", {"inbox", "--server", mic.gateway(), "--subsystem", mic.subsystem});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "");
  }
};

TEST_F(RelayTest, GoodDeliveryGetsASignedReceiptAndARedeliveryTheSameOne) {
  StartServer("mic");
  std::string payload = "payload bytes";
  Envelope e = MakeEnvelope(payload, VpcpSeal());
  Receipt first, second;
  grpc::Status s = Deliver(e, payload, "agencies/vpcp/server", &first);
  ASSERT_TRUE(s.ok()) << s.error_message() << Slurp(agencies_["mic"].log_path);
  s = Deliver(e, payload, "agencies/vpcp/server", &second);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(first.SerializeAsString(), second.SerializeAsString());
  ReceiptBody body;
  ASSERT_TRUE(body.ParseFromString(first.body()));
  EXPECT_EQ(body.envelope_sha256(), signer::Sha256(e.header()));
  const Agency& mic = agencies_["mic"];
  auto r = Axis("mic", {"inbox", "--server", mic.gateway(), "--subsystem", mic.subsystem});
  std::vector<std::string> lines = absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  EXPECT_EQ(lines.size(), 1u) << r.out;
}

TEST_F(RelayTest, ABatchIsAnsweredMessageByMessageAndKeepsOnlyTheGoodOnesOnce) {
  StartServer("mic");
  std::string a_payload = "first", c_payload = "third";
  std::string big(Spool::kInlineMax + 1, 'b');
  Envelope a = MakeEnvelope(a_payload, VpcpSeal());
  Envelope b = MakeEnvelope("what the envelope says", VpcpSeal());
  Envelope c = MakeEnvelope(c_payload, VpcpSeal());
  Envelope d = MakeEnvelope(big, VpcpSeal());
  DeliverBatchResponse resp;
  grpc::Status s = DeliverBatch({{a, a_payload}, {b, "other bytes"}, {c, c_payload}, {a, a_payload},
                                 {d, big}},
                                "agencies/vpcp/server", &resp);
  ASSERT_TRUE(s.ok()) << s.error_message() << Slurp(agencies_["mic"].log_path);
  ASSERT_EQ(resp.results_size(), 5);
  // a and c: receipts for their own envelopes.
  for (int i : {0, 2}) {
    EXPECT_EQ(resp.results(i).error_code(), 0) << resp.results(i).error_message();
    ReceiptBody body;
    ASSERT_TRUE(body.ParseFromString(resp.results(i).receipt().body()));
    EXPECT_EQ(body.envelope_sha256(), signer::Sha256((i == 0 ? a : c).header()));
  }
  // b: the digest mismatch, as Deliver would say it.
  EXPECT_EQ(resp.results(1).error_code(), static_cast<int>(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(resp.results(1).error_message(), HasSubstr("payload digest mismatch"));
  // a again in the same call: a's one receipt, a stored once.
  EXPECT_EQ(resp.results(3).error_code(), 0) << resp.results(3).error_message();
  EXPECT_EQ(resp.results(3).receipt().SerializeAsString(),
            resp.results(0).receipt().SerializeAsString());
  // d: too big for a batch (Deliver streams it).
  EXPECT_EQ(resp.results(4).error_code(), static_cast<int>(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(resp.results(4).error_message(), HasSubstr("a batched payload is at most"));
  const Agency& mic = agencies_["mic"];
  auto r = Axis("mic", {"inbox", "--server", mic.gateway(), "--subsystem", mic.subsystem});
  std::vector<std::string> lines = absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  EXPECT_EQ(lines.size(), 2u) << r.out;

  // A later Deliver of a gets the receipt the batch gave.
  Receipt again;
  s = Deliver(a, a_payload, "agencies/vpcp/server", &again);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(again.SerializeAsString(), resp.results(0).receipt().SerializeAsString());
}

TEST_F(RelayTest, ABatchFromAPeerThatIsNotARegisteredSecurityServerIsRefusedWhole) {
  StartServer("mic");
  std::string payload = "x";
  DeliverBatchResponse resp;
  grpc::Status s = DeliverBatch({{MakeEnvelope(payload, VpcpSeal()), payload}},
                                "agencies/vpcp/dms", &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(s.error_message(), HasSubstr("not a registered security server"));
  s = DeliverBatch({}, "agencies/vpcp/server", &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("a batch carries 1 to 256 messages"));
  ExpectMicInboxEmpty();
}

TEST_F(RelayTest, ABatchRefusedWholeIsOneLogRecordHoweverManyEntriesItCarries) {
  StartServer("mic");
  int64_t before = MicRefusals();
  ASSERT_GE(before, 0);
  // 5,000 empty entries from a DMS certificate (any certificate of the PKI
  // reaches the relay port): one record, not one per entry.
  std::vector<std::pair<Envelope, std::string>> junk(5000);
  DeliverBatchResponse resp;
  grpc::Status s = DeliverBatch(junk, "agencies/vpcp/dms", &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(MicRefusals(), before + 1);
  // Too many entries from a registered server: refused whole, one record.
  s = DeliverBatch(junk, "agencies/vpcp/server", &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("not 5000"));
  EXPECT_EQ(MicRefusals(), before + 2);
  // Entries refused one by one are still one record each.
  std::vector<std::pair<Envelope, std::string>> three(3);
  s = DeliverBatch(three, "agencies/vpcp/server", &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(resp.results_size(), 3);
  EXPECT_EQ(MicRefusals(), before + 5);
  ExpectMicInboxEmpty();
}

TEST_F(RelayTest, RefusesAPeerThatIsNotARegisteredSecurityServer) {
  StartServer("mic");
  std::string payload = "x";
  Receipt receipt;
  grpc::Status s = Deliver(MakeEnvelope(payload, VpcpSeal()), payload, "agencies/vpcp/dms", &receipt);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(s.error_message(), HasSubstr("not a registered security server"));
  ExpectMicInboxEmpty();
}

TEST_F(RelayTest, RefusesAServerOfAnotherMemberThanTheSender) {
  StartServer("mic");
  std::string payload = "x";
  Receipt receipt;
  grpc::Status s =
      Deliver(MakeEnvelope(payload, VpcpSeal()), payload, "agencies/quangninh/server", &receipt);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(s.error_message(), HasSubstr("not of the sending member"));
  ExpectMicInboxEmpty();
}

TEST_F(RelayTest, RefusesAnEnvelopeWhoseHeaderWasAlteredAfterSigning) {
  StartServer("mic");
  std::string payload = "x";
  Envelope e = MakeEnvelope(payload, VpcpSeal());
  EnvelopeHeader h;
  ASSERT_TRUE(h.ParseFromString(e.header()));
  h.set_dms_reference("altered");
  e.set_header(h.SerializeAsString());
  Receipt receipt;
  grpc::Status s = Deliver(e, payload, "agencies/vpcp/server", &receipt);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("envelope signature does not verify"));
  ExpectMicInboxEmpty();
}

TEST_F(RelayTest, RefusesAnEnvelopeSignedWithARevokedCertificate) {
  StartServer("mic");
  std::string payload = "x";
  Envelope e = MakeEnvelope(payload, {PkiPath("negative/revoked-leader.key.pem"),
                                      PkiPath("negative/revoked-leader.cert.pem")});
  Receipt receipt;
  grpc::Status s = Deliver(e, payload, "agencies/vpcp/server", &receipt);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("revoked"));
  ExpectMicInboxEmpty();
}

TEST_F(RelayTest, RefusesAPayloadThatDoesNotMatchTheEnvelopeDigest) {
  StartServer("mic");
  Envelope e = MakeEnvelope("the signed payload", VpcpSeal());
  Receipt receipt;
  grpc::Status s = Deliver(e, "the swapped payload", "agencies/vpcp/server", &receipt);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("payload digest mismatch"));
  ExpectMicInboxEmpty();
}

TEST_F(RelayTest, RefusesASenderTheAccessRulesDoNotAllow) {
  StartServer("mic", absl::StrCat("access { recipient: \"", agencies_["mic"].subsystem,
                                  "\" allowed: \"", agencies_["quangninh"].member, "\" }\n"));
  std::string payload = "x";
  Receipt receipt;
  grpc::Status s = Deliver(MakeEnvelope(payload, VpcpSeal()), payload, "agencies/vpcp/server", &receipt);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(s.error_message(), HasSubstr("may not deliver to"));
  ExpectMicInboxEmpty();
}

TEST_F(RelayTest, RefusesAnXmlDocumentWhoseSignaturesAreInvalid) {
  StartServer("mic");
  std::string decree = Slurp(SignedDecree());
  std::string marker = "chuyển đổi số";
  size_t at = decree.find(marker);
  ASSERT_NE(at, std::string::npos);
  decree.replace(at, marker.size(), "chuyển đổi xanh");
  Receipt receipt;
  grpc::Status s = Deliver(MakeEnvelope(decree, VpcpSeal(), "application/xml"), decree,
                           "agencies/vpcp/server", &receipt);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("document signatures are not valid"));
  ExpectMicInboxEmpty();
}

TEST_F(RelayTest, ExpiredConfigurationStopsTrafficAndAFreshOneResumesItWithoutRestart) {
  ASSERT_TRUE(WriteConf(absl::Seconds(3)).ok());
  StartServer("mic");
  StartServer("vpcp");
  absl::SleepFor(absl::Seconds(3.5));
  std::string payload = "x";
  Receipt receipt;
  grpc::Status s = Deliver(MakeEnvelope(payload, VpcpSeal()), payload, "agencies/vpcp/server", &receipt);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr("expired"));
  ExpectMicInboxEmpty();

  const Agency& vpcp = agencies_["vpcp"];
  std::string file = dir_ + "/doc.bin";
  std::ofstream(file) << "document";
  auto sent = Axis("vpcp", {"send", "--server", vpcp.gateway(), "--from", vpcp.subsystem, "--to",
                            agencies_["mic"].subsystem, "--content-type", "application/octet-stream",
                            file});
  EXPECT_EQ(sent.exit_code, 1);
  EXPECT_THAT(sent.err, HasSubstr("expired"));

  ASSERT_TRUE(WriteConf(absl::Hours(1)).ok());
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  do {
    absl::SleepFor(absl::Milliseconds(200));
    sent = Axis("vpcp", {"send", "--server", vpcp.gateway(), "--from", vpcp.subsystem, "--to",
                         agencies_["mic"].subsystem, "--content-type", "application/octet-stream",
                         file});
  } while (sent.exit_code != 0 && absl::Now() < deadline);
  ASSERT_EQ(sent.exit_code, 0) << sent.err;
  std::string id(absl::StripAsciiWhitespace(sent.out));
  EXPECT_TRUE(WaitForState("vpcp", id, agencies_["mic"].subsystem, RecipientStatus::DELIVERED,
                           absl::Seconds(10)))
      << Slurp(vpcp.log_path);
}

}  // namespace
}  // namespace axis::ss::testing_util
