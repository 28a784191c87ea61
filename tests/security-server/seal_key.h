// seal_key.h: the test PKI's agency seals as signing keys, for tests that
// sign envelopes and receipts without a server.
#ifndef AXIS_TESTS_SECURITY_SERVER_SEAL_KEY_H_
#define AXIS_TESTS_SECURITY_SERVER_SEAL_KEY_H_

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "signer/keys.h"
#include "tests/testing/paths.h"

namespace axis::ss {

// SealKey loads pki-testdata/agencies/<agency>/seal.{key,cert}.pem with the
// issuing CA's chain (vpcp: RSA-2048, mic: P-256).
inline signer::SigningKey SealKey(const std::string& agency) {
  signer::KeySpec spec;
  spec.key = axis::testing::PkiPath(absl::StrCat("agencies/", agency, "/seal.key.pem"));
  spec.cert_path = axis::testing::PkiPath(absl::StrCat("agencies/", agency, "/seal.cert.pem"));
  spec.chain_path = axis::testing::PkiPath("chain.pem");
  absl::StatusOr<signer::SigningKey> key = signer::LoadSigningKey(spec, signer::NoSecret());
  EXPECT_TRUE(key.ok()) << key.status();
  return std::move(*key);
}

}  // namespace axis::ss

#endif  // AXIS_TESTS_SECURITY_SERVER_SEAL_KEY_H_
