// tsa_fixture.h: shared helpers of the time-stamping tests.
#ifndef AXIS_TESTS_TSA_TSA_FIXTURE_H_
#define AXIS_TESTS_TSA_TSA_FIXTURE_H_

#include <openssl/ts.h>

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/c_ptr.h"
#include "gtest/gtest.h"
#include "signer/certs.h"
#include "signer/timestamp.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/paths.h"
#include "tsa_config.pb.h"

namespace axis::tsa::test {

inline constexpr char kPolicy[] = "1.3.6.1.4.1.99999.1.1";

// TestConfig is a valid configuration with the test PKI's TSA, its state
// under `dir`.
inline TsaConfig TestConfig(const std::string& dir) {
  TsaConfig c;
  c.set_listen("127.0.0.1:0");
  c.set_key_file(axis::testing::PkiPath("tsa/tsa.key.pem"));
  c.set_cert_file(axis::testing::PkiPath("tsa/tsa.cert.pem"));
  c.add_chain_files(axis::testing::PkiPath("chain.pem"));
  c.set_policy_oid(kPolicy);
  c.set_accuracy_seconds(1);
  c.set_accuracy_millis(500);
  c.set_serial_file(dir + "/serial");
  return c;
}

// PkiTrust trusts the test root, with the issuing CA as intermediate.
inline signer::TrustStore PkiTrust() {
  auto trust = signer::TrustStore::FromPemFiles({axis::testing::PkiPath("roots.pem")},
                                                {axis::testing::PkiPath("chain.pem")}, {});
  EXPECT_TRUE(trust.ok()) << trust.status();
  return std::move(*trust);
}

// RequestDer builds a DER TimeStampReq by hand, so tests can send what the
// client never would.
inline std::string RequestDer(const signer::MessageImprint& imprint, bool cert_req = true,
                              const std::string& policy = "", uint64_t nonce = 0x1234567890ULL) {
  UniquePtr<TS_REQ> req(TS_REQ_new());
  UniquePtr<TS_MSG_IMPRINT> mi(TS_MSG_IMPRINT_new());
  UniquePtr<X509_ALGOR> algor(X509_ALGOR_new());
  X509_ALGOR_set0(algor.get(), OBJ_nid2obj(imprint.hash_nid), V_ASN1_NULL, nullptr);
  TS_MSG_IMPRINT_set_algo(mi.get(), algor.get());
  TS_MSG_IMPRINT_set_msg(mi.get(),
                         reinterpret_cast<unsigned char*>(const_cast<char*>(imprint.digest.data())),
                         static_cast<int>(imprint.digest.size()));
  TS_REQ_set_version(req.get(), 1);
  TS_REQ_set_msg_imprint(req.get(), mi.get());
  TS_REQ_set_cert_req(req.get(), cert_req ? 1 : 0);
  if (!policy.empty()) {
    UniquePtr<ASN1_OBJECT> oid(OBJ_txt2obj(policy.c_str(), 1));
    TS_REQ_set_policy_id(req.get(), oid.get());
  }
  UniquePtr<ASN1_STRING> n(ASN1_INTEGER_new());
  ASN1_INTEGER_set_uint64(n.get(), nonce);
  TS_REQ_set_nonce(req.get(), n.get());
  int len = i2d_TS_REQ(req.get(), nullptr);
  std::string der(static_cast<size_t>(len), '\0');
  unsigned char* p = reinterpret_cast<unsigned char*>(der.data());
  i2d_TS_REQ(req.get(), &p);
  return der;
}

inline UniquePtr<TS_RESP> ParseReply(const std::string& der) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  return UniquePtr<TS_RESP>(d2i_TS_RESP(nullptr, &p, static_cast<long>(der.size())));
}

inline long StatusOf(TS_RESP* resp) {
  return ASN1_INTEGER_get(TS_STATUS_INFO_get0_status(TS_RESP_get_status_info(resp)));
}

inline bool HasFailureInfo(TS_RESP* resp, int bit) {
  const ASN1_BIT_STRING* bits = TS_STATUS_INFO_get0_failure_info(TS_RESP_get_status_info(resp));
  return bits != nullptr && ASN1_BIT_STRING_get_bit(bits, bit) != 0;
}

inline uint64_t SerialOf(TS_RESP* resp) {
  uint64_t v = 0;
  ASN1_INTEGER_get_uint64(&v, TS_TST_INFO_get_serial(TS_RESP_get_tst_info(resp)));
  return v;
}

inline std::string TokenOf(TS_RESP* resp) {
  PKCS7* token = TS_RESP_get_token(resp);
  if (token == nullptr) {
    return "";
  }
  int len = i2d_PKCS7(token, nullptr);
  std::string der(static_cast<size_t>(len), '\0');
  unsigned char* p = reinterpret_cast<unsigned char*>(der.data());
  i2d_PKCS7(token, &p);
  return der;
}

inline uint64_t SerialFromHex(const std::string& hex) { return std::stoull(hex, nullptr, 16); }

using ::axis::testing::FakeClock;

}  // namespace axis::tsa::test

#endif  // AXIS_TESTS_TSA_TSA_FIXTURE_H_
