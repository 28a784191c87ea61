// Tests of sealing and checking envelopes and receipts in batches
// (trust.h): what a recipient's and a sender's server accept and refuse,
// against a trust store built from a configuration of the test PKI (no
// servers, no OCSP: CheckEnvelope's require_ocsp is false here; the relay
// and exchange tests cover the stapled responses).
#include "security-server/trust.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/conversions.h"
#include "proto/identifiers.h"
#include "signer/bytes_sign.h"
#include "signer/certs.h"
#include "tests/security-server/seal_key.h"
#include "tests/testing/paths.h"

namespace axis::ss {
namespace {

using ::axis::testing::PkiPath;
using ::testing::HasSubstr;

constexpr char kVpcp[] = "VN/GOV/000.00.00.G22/QLVB";
constexpr char kMic[] = "VN/GOV/000.00.00.G12/QLVB";
constexpr char kQuangninh[] = "VN/GOV/000.00.00.H49/QLVB";

std::string FirstCertDer(const std::string& pem_path) {
  absl::StatusOr<std::vector<UniquePtr<X509>>> c = signer::LoadPemCertificates(pem_path);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? signer::CertificateDer((*c)[0].get()) : "";
}

signer::SigningKey Seal(const std::string& agency) { return SealKey(agency); }

Identifier Id(const char* text) { return *ParseSubsystemId(text); }

class TrustTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto v = std::make_shared<central::VerifiedConf>();
    TrustedCa* root = v->conf.add_cas();
    root->set_name("root");
    root->set_cert_der(FirstCertDer(PkiPath("roots.pem")));
    root->set_is_root(true);
    TrustedCa* issuing = v->conf.add_cas();
    issuing->set_name("issuing");
    issuing->set_cert_der(FirstCertDer(PkiPath("chain.pem")));
    v->expires_at = absl::Now() + absl::Hours(1);
    absl::StatusOr<std::shared_ptr<const ConfView>> view = BuildConfView(std::move(v));
    ASSERT_TRUE(view.ok()) << view.status();
    conf_ = std::move(*view);
  }

  EnvelopeHeader Header(const char* to, const std::string& ref = "ref") {
    EnvelopeHeader h;
    h.set_message_id("00000000000000000000000000000001");
    *h.mutable_sender() = Id(kVpcp);
    *h.mutable_recipient() = Id(to);
    *h.mutable_created_at() = ToProtoTime(absl::Now());
    h.set_payload_sha256(signer::Sha256("payload"));
    h.set_payload_size(7);
    h.set_content_type("application/octet-stream");
    h.set_dms_reference(ref);
    return h;
  }

  // Sealed returns three envelopes (to mic, quangninh and mic again),
  // sealed in one batch by vpcp.
  std::vector<Envelope> Sealed() {
    absl::StatusOr<std::vector<Envelope>> e =
        SealEnvelopes({Header(kMic, "a"), Header(kQuangninh, "b"), Header(kMic, "c")}, envelopes_);
    EXPECT_TRUE(e.ok()) << e.status();
    return e.ok() ? *e : std::vector<Envelope>();
  }

  absl::StatusOr<CheckedEnvelope> Check(const Envelope& e) {
    return CheckEnvelope(e, *conf_, absl::Now(), /*require_ocsp=*/false, absl::Hours(1));
  }

  std::shared_ptr<const ConfView> conf_;
  signer::SigningKey vpcp_ = Seal("vpcp");
  signer::SigningKey mic_ = Seal("mic");
  BatchSigner envelopes_{&vpcp_, BatchKind::kEnvelope};
  BatchSigner receipts_{&mic_, BatchKind::kReceipt};
};

TEST_F(TrustTest, EnvelopesSealedInOneBatchEachCheckOut) {
  std::vector<Envelope> sealed = Sealed();
  ASSERT_EQ(sealed.size(), 3u);
  EXPECT_EQ(envelopes_.stats().signatures, 1u);
  for (size_t i = 0; i < sealed.size(); ++i) {
    EXPECT_EQ(sealed[i].batch_index(), i);
    EXPECT_EQ(sealed[i].batch_count(), 3u);
    EXPECT_EQ(sealed[i].signature(), sealed[0].signature());
    EXPECT_EQ(sealed[i].cert_chain_der_size(), 2);
    absl::StatusOr<CheckedEnvelope> c = Check(sealed[i]);
    ASSERT_TRUE(c.ok()) << i << ": " << c.status();
    EXPECT_EQ(c->header_sha256, signer::Sha256(sealed[i].header()));
  }
}

TEST_F(TrustTest, AMessagesEnvelopesShareABatchAndEachHeaderHasItsOwnSalt) {
  MessageRow m;
  m.id = "00000000000000000000000000000002";
  m.sender = kVpcp;
  m.content_type = "application/octet-stream";
  m.payload_sha256 = signer::Sha256("payload");
  m.payload_size = 7;
  m.created_at = absl::Now();
  std::vector<LogItem> log;
  absl::StatusOr<std::vector<OutboxRow>> rows =
      SealOutgoing(m, Id(kVpcp), {Id(kMic), Id(kQuangninh)}, envelopes_, &log);
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 2u);
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(envelopes_.stats().signatures, 1u);
  std::vector<std::string> salts;
  for (size_t i = 0; i < 2; ++i) {
    Envelope e;
    ASSERT_TRUE(e.ParseFromString((*rows)[i].envelope));
    EXPECT_EQ(e.batch_count(), 2u);
    EXPECT_EQ(log[i].data, e.header());  // the "accepted" record holds the header signed
    absl::StatusOr<CheckedEnvelope> c = Check(e);
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_EQ(FormatIdentifier(c->header.recipient()), (*rows)[i].recipient);
    EXPECT_EQ(c->header.salt().size(), 16u);
    salts.push_back(c->header.salt());
  }
  // Otherwise mic could hash candidate headers against its audit path and
  // learn that quangninh got the message too.
  EXPECT_NE(salts[0], salts[1]);
}

TEST_F(TrustTest, ALoneEnvelopeIsABatchOfOneThatChecksOut) {
  absl::StatusOr<Envelope> e = SealEnvelope(Header(kMic), envelopes_);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->batch_count(), 1u);
  EXPECT_EQ(e->batch_path_size(), 0);
  EXPECT_TRUE(Check(*e).ok());
}

TEST_F(TrustTest, RefusesATamperedHeaderUnderAValidBatchSignature) {
  std::vector<Envelope> sealed = Sealed();
  ASSERT_EQ(sealed.size(), 3u);
  ASSERT_TRUE(Check(sealed[1]).ok());  // the batch signature is now in the memo
  EnvelopeHeader h;
  ASSERT_TRUE(h.ParseFromString(sealed[1].header()));
  h.set_dms_reference("altered");
  Envelope bad = sealed[1];
  bad.set_header(h.SerializeAsString());
  absl::StatusOr<CheckedEnvelope> c = Check(bad);
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(c.status().message()),
              HasSubstr("envelope signature does not verify: the header is not leaf 1 of the "
                        "signed batch of 3: Merkle proof: the path does not lead to the root"));
}

TEST_F(TrustTest, RefusesAHeaderCarryingAnotherBatchMembersProof) {
  std::vector<Envelope> sealed = Sealed();
  ASSERT_EQ(sealed.size(), 3u);
  Envelope swapped = sealed[2];
  swapped.set_header(sealed[0].header());
  absl::StatusOr<CheckedEnvelope> c = Check(swapped);
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(c.status().message()), HasSubstr("is not leaf 2 of the signed batch"));
}

TEST_F(TrustTest, RefusesAFlippedPathByteAnEditedIndexOrCount) {
  std::vector<Envelope> sealed = Sealed();
  ASSERT_EQ(sealed.size(), 3u);
  ASSERT_GT(sealed[0].batch_path_size(), 0);
  Envelope e = sealed[0];
  (*e.mutable_batch_path(0))[5] ^= 0x20;
  EXPECT_THAT(std::string(Check(e).status().message()), HasSubstr("envelope signature does not verify"));
  e = sealed[0];
  e.set_batch_index(1);
  EXPECT_THAT(std::string(Check(e).status().message()), HasSubstr("envelope signature does not verify"));
  e = sealed[0];
  e.set_batch_count(4);  // same path shape for leaf 0: the signature catches it
  EXPECT_THAT(std::string(Check(e).status().message()),
              HasSubstr("envelope signature does not verify: batch signature does not verify"));
  e = sealed[0];
  e.set_batch_count(0);
  EXPECT_THAT(std::string(Check(e).status().message()), HasSubstr("a batch of 0 leaves"));
  // Stripped of every batch field, the signature (over the statement) is
  // taken for one over the header itself, the form before batch
  // signatures, and does not verify.
  e.clear_batch_root();
  e.clear_batch_path();
  e.set_batch_index(0);
  EXPECT_THAT(std::string(Check(e).status().message()),
              HasSubstr("envelope signature does not verify"));
}

TEST_F(TrustTest, RefusesAnEnvelopeUnderAReceiptBatchSignatureOfTheSameSeal) {
  // vpcp's seal signs a receipt batch whose leaf is a header's bytes: that
  // signature must not pass for the envelope.
  BatchSigner vpcp_receipts(&vpcp_, BatchKind::kReceipt);
  absl::StatusOr<Envelope> e = SealEnvelope(Header(kMic), envelopes_);
  ASSERT_TRUE(e.ok());
  absl::StatusOr<BatchProof> p = vpcp_receipts.Sign(e->header());
  ASSERT_TRUE(p.ok());
  Envelope forged = *e;
  SetProof(*p, &forged);
  absl::StatusOr<CheckedEnvelope> c = Check(forged);
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(c.status().message()),
              HasSubstr("envelope signature does not verify: batch signature does not verify"));
}

TEST_F(TrustTest, AnEnvelopeSealerNeedsAnEnvelopeBatchSigner) {
  absl::StatusOr<Envelope> e = SealEnvelope(Header(kMic), receipts_);
  EXPECT_EQ(e.status().code(), absl::StatusCode::kInternal);
  ReceiptBody b;
  EXPECT_EQ(MakeReceipt(b, envelopes_).status().code(), absl::StatusCode::kInternal);
}

TEST_F(TrustTest, ReceiptsAreBatchSignedAndCheckedAndATamperedBodyIsRefused) {
  std::vector<Envelope> sealed = Sealed();
  ASSERT_EQ(sealed.size(), 3u);
  ReceiptBody body;
  body.set_message_id(Header(kMic).message_id());
  body.set_envelope_sha256(signer::Sha256(sealed[0].header()));
  *body.mutable_received_at() = ToProtoTime(absl::Now());
  *body.mutable_sender() = Id(kVpcp);
  *body.mutable_recipient() = Id(kMic);
  absl::StatusOr<Receipt> r = MakeReceipt(body, receipts_);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->batch_count(), 1u);
  Identifier mic_member = *ParseMemberId("VN/GOV/000.00.00.G12");
  absl::StatusOr<ReceiptBody> ok = CheckReceipt(*r, *conf_, body.message_id(),
                                                body.envelope_sha256(), mic_member, absl::Now());
  ASSERT_TRUE(ok.ok()) << ok.status();

  Receipt bad = *r;
  *body.mutable_received_at() = ToProtoTime(absl::Now() + absl::Hours(1));
  bad.set_body(body.SerializeAsString());
  absl::StatusOr<ReceiptBody> refused = CheckReceipt(
      bad, *conf_, body.message_id(), body.envelope_sha256(), mic_member, absl::Now());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(refused.status().message()),
              HasSubstr("receipt signature does not verify: the receipt body is not leaf 0"));

  // mic's envelope batch signature over the receipt body is no receipt.
  BatchSigner mic_envelopes(&mic_, BatchKind::kEnvelope);
  absl::StatusOr<BatchProof> p = mic_envelopes.Sign(r->body());
  ASSERT_TRUE(p.ok());
  Receipt forged = *r;
  SetProof(*p, &forged);
  refused = CheckReceipt(forged, *conf_, body.message_id(), body.envelope_sha256(), mic_member,
                         absl::Now());
  EXPECT_THAT(std::string(refused.status().message()),
              HasSubstr("receipt signature does not verify: batch signature does not verify"));
}

TEST_F(TrustTest, ReceiptsSignedTogetherShareOneSignatureAndEachChecksOut) {
  std::vector<Envelope> sealed = Sealed();
  ASSERT_EQ(sealed.size(), 3u);
  std::vector<Receipt> receipts(3);
  std::vector<Receipt*> pointers;
  for (size_t i = 0; i < 3; ++i) {
    ReceiptBody body;
    body.set_message_id(absl::StrCat("message ", i));
    body.set_envelope_sha256(signer::Sha256(sealed[i].header()));
    *body.mutable_received_at() = ToProtoTime(absl::Now());
    *body.mutable_sender() = Id(kVpcp);
    *body.mutable_recipient() = Id(kMic);
    receipts[i].set_body(body.SerializeAsString());
    pointers.push_back(&receipts[i]);
  }
  ASSERT_TRUE(SignReceipts(pointers, receipts_).ok());
  EXPECT_EQ(receipts_.stats().signatures, 1u);
  Identifier mic_member = *ParseMemberId("VN/GOV/000.00.00.G12");
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(receipts[i].batch_count(), 3u);
    EXPECT_EQ(receipts[i].batch_index(), i);
    EXPECT_EQ(receipts[i].cert_chain_der_size(), 2);
    absl::StatusOr<ReceiptBody> ok =
        CheckReceipt(receipts[i], *conf_, absl::StrCat("message ", i),
                     signer::Sha256(sealed[i].header()), mic_member, absl::Now());
    EXPECT_TRUE(ok.ok()) << i << ": " << ok.status();
  }
  // A receipt for another message of the batch is still refused.
  absl::StatusOr<ReceiptBody> other = CheckReceipt(
      receipts[1], *conf_, "message 0", signer::Sha256(sealed[0].header()), mic_member, absl::Now());
  EXPECT_THAT(std::string(other.status().message()), HasSubstr("another message or envelope"));
}

}  // namespace
}  // namespace axis::ss
