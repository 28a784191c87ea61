// ocsp_test.cc: the OCSP client against the real `openssl ocsp` responder
// serving the test PKI's issuing-CA database.
//
// The responder binds every interface, so the responder tests first move
// this process into a loopback-only network namespace (tests/ocsp/responder.h).
//
// The responder stamps thisUpdate/producedAt with the wall clock, so the
// freshness checks of good answers use absl::Now(); the refusals use times
// far from it.
#include "signer/ocsp.h"

#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "signer/certs.h"
#include "tests/ocsp/responder.h"
#include "tests/testing/paths.h"
#include "tests/testing/process.h"

namespace axis::signer {
namespace {

using ::testing::HasSubstr;

std::string Pki(const std::string& rel) { return axis::testing::PkiPath(rel); }

UniquePtr<X509> LoadCert(const std::string& rel) {
  absl::StatusOr<std::vector<UniquePtr<X509>>> certs = LoadPemCertificates(Pki(rel));
  if (!certs.ok() || certs->empty()) {
    ADD_FAILURE() << rel << ": " << certs.status();
    return nullptr;
  }
  return std::move(certs->front());
}

TrustStore Trust() {
  absl::StatusOr<TrustStore> trust = TrustStore::FromPemFiles({Pki("roots.pem")}, {}, {});
  EXPECT_TRUE(trust.ok()) << trust.status();
  return std::move(trust).value();
}

absl::Time Utc(int y, int mo, int d) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, 0, 0, 0), absl::UTCTimeZone());
}

// ---------------------------------------------------------------------------
// Without a responder.

std::string ResponseWithStatus(int status) {
  UniquePtr<OCSP_RESPONSE> resp(OCSP_response_create(status, nullptr));
  unsigned char* der = nullptr;
  int len = i2d_OCSP_RESPONSE(resp.get(), &der);
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

class OcspOfflineTest : public ::testing::Test {
 protected:
  UniquePtr<X509> leader_ = LoadCert("agencies/vpcp/leader.cert.pem");
  UniquePtr<X509> issuer_ = LoadCert("chain.pem");
  TrustStore trust_ = Trust();
};

TEST_F(OcspOfflineTest, FindsResponderUrlInAuthorityInformationAccess) {
  EXPECT_EQ(OcspUrlFromCertificate(leader_.get()), "http://127.0.0.1:8888/");
  UniquePtr<X509> responder = LoadCert("ocsp/ocsp.cert.pem");
  EXPECT_EQ(OcspUrlFromCertificate(responder.get()), "");
}

TEST_F(OcspOfflineTest, RefusesGarbage) {
  absl::StatusOr<OcspStatus> s =
      CheckOcspResponse("this is not DER", leader_.get(), issuer_.get(), trust_, absl::Now());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("not a DER OCSP response"));
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("serial 1001"));
}

TEST_F(OcspOfflineTest, RefusesEmptyInput) {
  absl::StatusOr<OcspStatus> s =
      CheckOcspResponse("", leader_.get(), issuer_.get(), trust_, absl::Now());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("empty OCSP response"));
}

TEST_F(OcspOfflineTest, RefusesTrailingBytes) {
  std::string der = ResponseWithStatus(OCSP_RESPONSE_STATUS_UNAUTHORIZED) + "x";
  absl::StatusOr<OcspStatus> s =
      CheckOcspResponse(der, leader_.get(), issuer_.get(), trust_, absl::Now());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("trailing bytes"));
}

TEST_F(OcspOfflineTest, RefusesTruncatedResponse) {
  std::string der = ResponseWithStatus(OCSP_RESPONSE_STATUS_UNAUTHORIZED);
  der.pop_back();
  absl::StatusOr<OcspStatus> s =
      CheckOcspResponse(der, leader_.get(), issuer_.get(), trust_, absl::Now());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("not a DER OCSP response"));
}

TEST_F(OcspOfflineTest, NamesUnsuccessfulResponseStatus) {
  absl::StatusOr<OcspStatus> s =
      CheckOcspResponse(ResponseWithStatus(OCSP_RESPONSE_STATUS_UNAUTHORIZED), leader_.get(),
                        issuer_.get(), trust_, absl::Now());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("answered unauthorized"));
}

TEST_F(OcspOfflineTest, TryLaterIsUnavailable) {
  absl::StatusOr<OcspStatus> s =
      CheckOcspResponse(ResponseWithStatus(OCSP_RESPONSE_STATUS_TRYLATER), leader_.get(),
                        issuer_.get(), trust_, absl::Now());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("tryLater"));
}

TEST_F(OcspOfflineTest, RefusesIssuerThatDidNotIssueTheCertificate) {
  UniquePtr<X509> other_root = LoadCert("negative/untrusted-root.cert.pem");
  absl::StatusOr<OcspStatus> s =
      CheckOcspResponse(ResponseWithStatus(OCSP_RESPONSE_STATUS_SUCCESSFUL), leader_.get(),
                        other_root.get(), trust_, absl::Now());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("was not issued by the given issuer"));
  OcspOptions options;
  options.url = "http://127.0.0.1:1/";
  absl::StatusOr<OcspResponse> r = FetchOcsp(leader_.get(), other_root.get(), options);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("was not issued by the given issuer"));
}

TEST_F(OcspOfflineTest, FetchRefusesUrlOfAnotherScheme) {
  OcspOptions options;
  options.url = "ftp://127.0.0.1/ocsp";
  absl::StatusOr<OcspResponse> r = FetchOcsp(leader_.get(), issuer_.get(), options);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("ftp://127.0.0.1/ocsp"));
}

TEST_F(OcspOfflineTest, FetchNeedsAUrlWhenTheCertificateNamesNone) {
  UniquePtr<X509> tsa = LoadCert("tsa/tsa.cert.pem");
  absl::StatusOr<OcspResponse> r = FetchOcsp(tsa.get(), issuer_.get(), {});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("names no OCSP responder"));
}

TEST(OcspStatusTest, NamesStatuses) {
  EXPECT_STREQ(OcspCertStatusName(OcspCertStatus::kGood), "good");
  EXPECT_STREQ(OcspCertStatusName(OcspCertStatus::kRevoked), "revoked");
  EXPECT_STREQ(OcspCertStatusName(OcspCertStatus::kUnknown), "unknown");
}

// ---------------------------------------------------------------------------
// Against `openssl ocsp`.

using Responder = axis::testing::OcspResponder;

class OcspResponderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { netns_error_ = axis::testing::LoopbackOnlyNetworkError(); }

  void SetUp() override {
    if (!netns_error_.empty()) {
      GTEST_SKIP() << "cannot isolate the OCSP responder (it listens on every interface): "
                   << netns_error_;
    }
  }

  // StartResponder runs `openssl ocsp` for the issuing CA, signing with
  // `signer` (a path prefix below pki-testdata, without .cert.pem/.key.pem).
  static absl::StatusOr<Responder> StartResponder(const std::string& signer,
                                                  const std::string& validity_minutes = "60") {
    return axis::testing::StartOcspResponder(signer, validity_minutes);
  }

  // Fetch asks `url` about `cert_path`, issued by the issuing CA.
  absl::StatusOr<OcspResponse> Fetch(const std::string& url, X509* cert, bool nonce = true) {
    OcspOptions options;
    options.url = url;
    options.send_nonce = nonce;
    options.timeout = absl::Seconds(10);
    return FetchOcsp(cert, issuer_.get(), options);
  }

  absl::StatusOr<OcspStatus> Check(const OcspResponse& r, X509* cert, absl::Time at) {
    OcspCheckOptions options;
    options.expected_nonce = r.nonce;
    return CheckOcspResponse(r.der, cert, issuer_.get(), trust_, at, options);
  }

  static std::string netns_error_;
  UniquePtr<X509> issuer_ = LoadCert("chain.pem");
  TrustStore trust_ = Trust();
};

std::string OcspResponderTest::netns_error_;

constexpr char kResponderCn[] = "CN=Axis Test OCSP Responder G1";

TEST_F(OcspResponderTest, ReportsGoodForValidCertificates) {
  absl::StatusOr<Responder> responder = StartResponder("ocsp/ocsp");
  ASSERT_TRUE(responder.ok()) << responder.status();
  for (const char* path : {"agencies/vpcp/leader.cert.pem", "agencies/vpcp/seal.cert.pem",
                           "agencies/mic/leader.cert.pem", "agencies/quangninh/seal.cert.pem"}) {
    SCOPED_TRACE(path);
    UniquePtr<X509> cert = LoadCert(path);
    absl::StatusOr<OcspResponse> r = Fetch(responder->url, cert.get());
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->url, responder->url);
    EXPECT_EQ(r->response_status, "successful");
    EXPECT_FALSE(r->nonce.empty());
    EXPECT_FALSE(r->request_der.empty());
    absl::Time now = absl::Now();
    absl::StatusOr<OcspStatus> s = Check(*r, cert.get(), now);
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_EQ(s->status, OcspCertStatus::kGood);
    EXPECT_EQ(s->revocation_time, absl::InfinitePast());
    EXPECT_EQ(s->reason, "");
    EXPECT_THAT(s->responder, HasSubstr(kResponderCn));
    EXPECT_TRUE(s->delegated);
    EXPECT_LE(s->this_update, now + absl::Minutes(1));
    EXPECT_GT(s->next_update, now);
    EXPECT_LE(s->next_update, s->this_update + absl::Minutes(60));
    EXPECT_NE(s->produced_at, absl::InfinitePast());
  }
}

TEST_F(OcspResponderTest, ReportsRevokedLeaderWithTimeAndReason) {
  absl::StatusOr<Responder> responder = StartResponder("ocsp/ocsp");
  ASSERT_TRUE(responder.ok()) << responder.status();
  UniquePtr<X509> cert = LoadCert("negative/revoked-leader.cert.pem");
  absl::StatusOr<OcspResponse> r = Fetch(responder->url, cert.get());
  ASSERT_TRUE(r.ok()) << r.status();
  absl::StatusOr<OcspStatus> s = Check(*r, cert.get(), absl::Now());
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->status, OcspCertStatus::kRevoked);
  EXPECT_EQ(s->revocation_time, Utc(2026, 1, 1));
  EXPECT_EQ(s->reason, "keyCompromise");
}

TEST_F(OcspResponderTest, AcceptsResponseSignedByTheIssuingCaItself) {
  absl::StatusOr<Responder> responder = StartResponder("issuing-ca/issuing-ca");
  ASSERT_TRUE(responder.ok()) << responder.status();
  UniquePtr<X509> cert = LoadCert("negative/revoked-leader.cert.pem");
  absl::StatusOr<OcspResponse> r = Fetch(responder->url, cert.get());
  ASSERT_TRUE(r.ok()) << r.status();
  absl::StatusOr<OcspStatus> s = Check(*r, cert.get(), absl::Now());
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->status, OcspCertStatus::kRevoked);
  EXPECT_FALSE(s->delegated);
  EXPECT_THAT(s->responder, HasSubstr("CN=Axis Test Issuing CA G1"));
}

// The responder answers "unknown" about a certificate of a CA it does not
// serve, signed with its own key: nobody that CA authorised. With our trust
// store the issuer itself is refused first; even when that foreign root is
// trusted, the responder is not its delegate.
TEST_F(OcspResponderTest, RefusesAnswerAboutCertificateOfAnotherIssuer) {
  absl::StatusOr<Responder> responder = StartResponder("ocsp/ocsp");
  ASSERT_TRUE(responder.ok()) << responder.status();
  UniquePtr<X509> cert = LoadCert("negative/untrusted-leader.cert.pem");
  UniquePtr<X509> foreign_root = LoadCert("negative/untrusted-root.cert.pem");
  OcspOptions options;
  options.url = responder->url;
  absl::StatusOr<OcspResponse> r = FetchOcsp(cert.get(), foreign_root.get(), options);
  ASSERT_TRUE(r.ok()) << r.status();
  OcspCheckOptions check;
  check.expected_nonce = r->nonce;

  absl::StatusOr<OcspStatus> s =
      CheckOcspResponse(r->der, cert.get(), foreign_root.get(), trust_, absl::Now(), check);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.status().message()),
              HasSubstr("issuer CN=Axis Untrusted Test Root CA,"));
  EXPECT_THAT(std::string(s.status().message()),
              HasSubstr("is not trusted: self-signed certificate"));

  absl::StatusOr<TrustStore> both =
      TrustStore::FromPemFiles({Pki("roots.pem"), Pki("negative/untrusted-root.cert.pem")}, {}, {});
  ASSERT_TRUE(both.ok()) << both.status();
  s = CheckOcspResponse(r->der, cert.get(), foreign_root.get(), *both, absl::Now(), check);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.status().message()), HasSubstr(kResponderCn));
  EXPECT_THAT(std::string(s.status().message()),
              HasSubstr("is not the issuer and its certificate was not issued by it"));
}

TEST_F(OcspResponderTest, ReportsUnavailableWhenResponderIsDown) {
  absl::StatusOr<Responder> responder = StartResponder("ocsp/ocsp");
  ASSERT_TRUE(responder.ok()) << responder.status();
  UniquePtr<X509> cert = LoadCert("agencies/vpcp/leader.cert.pem");
  ASSERT_TRUE(Fetch(responder->url, cert.get()).ok());
  responder->process->Kill();
  absl::StatusOr<OcspResponse> r = Fetch(responder->url, cert.get());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr(responder->url));
}

TEST_F(OcspResponderTest, AsksTheAiaUrlWhenNoneIsGiven) {
  // Nothing listens on the certificates' placeholder URL, least of all in
  // this namespace.
  UniquePtr<X509> cert = LoadCert("agencies/vpcp/leader.cert.pem");
  absl::StatusOr<OcspResponse> r = FetchOcsp(cert.get(), issuer_.get(), {});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("http://127.0.0.1:8888/"));
}

TEST_F(OcspResponderTest, RefusesResponseSignedByCertificateWithoutOcspSigning) {
  // The vpcp seal is issued by the same CA but is no delegated responder.
  absl::StatusOr<Responder> responder = StartResponder("agencies/vpcp/seal");
  ASSERT_TRUE(responder.ok()) << responder.status();
  UniquePtr<X509> cert = LoadCert("negative/revoked-leader.cert.pem");
  absl::StatusOr<OcspResponse> r = Fetch(responder->url, cert.get());
  ASSERT_TRUE(r.ok()) << r.status();
  absl::StatusOr<OcspStatus> s = Check(*r, cert.get(), absl::Now());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.status().message()),
              HasSubstr("responder certificate lacks OCSPSigning"));
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("serial F001"));
}

// Flip one byte of `needle` where it occurs in `der`.
std::string FlipInside(std::string der, const std::string& needle) {
  size_t at = der.find(needle);
  EXPECT_NE(at, std::string::npos);
  if (at != std::string::npos) {
    der[at + needle.size() / 2] ^= 0x01;
  }
  return der;
}

TEST_F(OcspResponderTest, RefusesTamperedResponse) {
  absl::StatusOr<Responder> responder = StartResponder("ocsp/ocsp");
  ASSERT_TRUE(responder.ok()) << responder.status();
  UniquePtr<X509> cert = LoadCert("agencies/vpcp/leader.cert.pem");
  absl::StatusOr<OcspResponse> r = Fetch(responder->url, cert.get());
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(Check(*r, cert.get(), absl::Now()).ok());

  // Signed content: the nonce echoed in tbsResponseData. The signature is
  // checked before the nonce, so that is what fails.
  OcspResponse altered = *r;
  altered.der = FlipInside(r->der, r->nonce);
  absl::StatusOr<OcspStatus> s = Check(altered, cert.get(), absl::Now());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.status().message()),
              HasSubstr("OCSP response signature does not verify"));

  // The signature value itself.
  const unsigned char* p = reinterpret_cast<const unsigned char*>(r->der.data());
  UniquePtr<OCSP_RESPONSE> parsed(d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(r->der.size())));
  ASSERT_NE(parsed, nullptr);
  UniquePtr<OCSP_BASICRESP> basic(OCSP_response_get1_basic(parsed.get()));
  ASSERT_NE(basic, nullptr);
  const ASN1_OCTET_STRING* sig = OCSP_resp_get0_signature(basic.get());
  std::string sig_bytes(reinterpret_cast<const char*>(ASN1_STRING_get0_data(sig)),
                        static_cast<size_t>(ASN1_STRING_length(sig)));
  altered.der = FlipInside(r->der, sig_bytes);
  s = Check(altered, cert.get(), absl::Now());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.status().message()),
              HasSubstr("OCSP response signature does not verify"));
}

TEST_F(OcspResponderTest, RefusesStaleResponse) {
  absl::StatusOr<Responder> responder = StartResponder("ocsp/ocsp", "1");
  ASSERT_TRUE(responder.ok()) << responder.status();
  UniquePtr<X509> cert = LoadCert("agencies/vpcp/leader.cert.pem");
  absl::StatusOr<OcspResponse> r = Fetch(responder->url, cert.get());
  ASSERT_TRUE(r.ok()) << r.status();
  absl::Time now = absl::Now();
  ASSERT_TRUE(Check(*r, cert.get(), now).ok());

  absl::StatusOr<OcspStatus> s = Check(*r, cert.get(), now + absl::Hours(24 * 30));
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("response is stale: nextUpdate "));

  // Older than a maximum age (checked before nextUpdate).
  OcspCheckOptions options;
  options.expected_nonce = r->nonce;
  options.max_age = absl::Minutes(10);
  s = CheckOcspResponse(r->der, cert.get(), issuer_.get(), trust_, now + absl::Minutes(30),
                        options);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("response is stale: thisUpdate "));

  s = Check(*r, cert.get(), now - absl::Hours(24));
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.status().message()),
              HasSubstr("response is not yet valid: thisUpdate "));
}

TEST_F(OcspResponderTest, RefusesNonceMismatch) {
  absl::StatusOr<Responder> responder = StartResponder("ocsp/ocsp");
  ASSERT_TRUE(responder.ok()) << responder.status();
  UniquePtr<X509> cert = LoadCert("agencies/vpcp/leader.cert.pem");
  absl::StatusOr<OcspResponse> first = Fetch(responder->url, cert.get());
  absl::StatusOr<OcspResponse> second = Fetch(responder->url, cert.get());
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(second.ok()) << second.status();
  ASSERT_NE(first->nonce, second->nonce);

  OcspResponse replayed = *second;
  replayed.der = first->der;  // an answer to another request
  absl::StatusOr<OcspStatus> s = Check(replayed, cert.get(), absl::Now());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("nonce mismatch"));
}

TEST_F(OcspResponderTest, RefusesResponseWithoutNonceWhenOneWasSent) {
  absl::StatusOr<Responder> responder = StartResponder("ocsp/ocsp");
  ASSERT_TRUE(responder.ok()) << responder.status();
  UniquePtr<X509> cert = LoadCert("agencies/vpcp/leader.cert.pem");
  absl::StatusOr<OcspResponse> without = Fetch(responder->url, cert.get(), /*nonce=*/false);
  absl::StatusOr<OcspResponse> with = Fetch(responder->url, cert.get());
  ASSERT_TRUE(without.ok()) << without.status();
  ASSERT_TRUE(with.ok()) << with.status();
  EXPECT_EQ(without->nonce, "");

  // Checked on its own (no nonce sent), it is fine.
  absl::StatusOr<OcspStatus> s = Check(*without, cert.get(), absl::Now());
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->status, OcspCertStatus::kGood);

  OcspCheckOptions options;
  options.expected_nonce = with->nonce;
  s = CheckOcspResponse(without->der, cert.get(), issuer_.get(), trust_, absl::Now(), options);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.status().message()),
              HasSubstr("nonce mismatch: the response carries no nonce"));

  options.allow_missing_nonce = true;
  s = CheckOcspResponse(without->der, cert.get(), issuer_.get(), trust_, absl::Now(), options);
  ASSERT_TRUE(s.ok()) << s.status();
}

TEST_F(OcspResponderTest, RefusesResponseAboutAnotherCertificate) {
  absl::StatusOr<Responder> responder = StartResponder("ocsp/ocsp");
  ASSERT_TRUE(responder.ok()) << responder.status();
  UniquePtr<X509> revoked = LoadCert("negative/revoked-leader.cert.pem");
  UniquePtr<X509> leader = LoadCert("agencies/vpcp/leader.cert.pem");
  absl::StatusOr<OcspResponse> r = Fetch(responder->url, leader.get());
  ASSERT_TRUE(r.ok()) << r.status();
  // A "good" for the leader must not vouch for the revoked certificate.
  absl::StatusOr<OcspStatus> s = Check(*r, revoked.get(), absl::Now());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("response is for another certificate"));
}

}  // namespace
}  // namespace axis::signer
