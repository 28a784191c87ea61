// trust_services_test.h: a test suite with a real axis-tsa and a real
// `openssl ocsp` responder, started once for the suite inside a network
// namespace that has only loopback (the responder listens on every
// interface). Tests skip, saying why, when the namespace cannot be made.
#ifndef AXIS_TESTS_TSA_TRUST_SERVICES_TEST_H_
#define AXIS_TESTS_TSA_TRUST_SERVICES_TEST_H_

#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "tests/ocsp/responder.h"
#include "tests/testing/paths.h"
#include "tests/testing/process.h"
#include "tests/tsa/tsa_process.h"

namespace axis::testing {

class TrustServicesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!LoopbackOnlyNetworkError().empty()) {
      return;
    }
    absl::StatusOr<TsaProcess> tsa = StartTsaProcess(TestPkiTsa(BinDir(), PkiDir()));
    ASSERT_TRUE(tsa.ok()) << tsa.status();
    tsa_ = new TsaProcess(std::move(*tsa));
    absl::StatusOr<OcspResponder> ocsp = StartOcspResponder();
    ASSERT_TRUE(ocsp.ok()) << ocsp.status();
    ocsp_ = new OcspResponder(std::move(*ocsp));
  }
  static void TearDownTestSuite() {
    delete tsa_;
    delete ocsp_;
    tsa_ = nullptr;
    ocsp_ = nullptr;
  }

  // SetUp skips without the namespace, and gives each test its own
  // directory named after `prefix`.
  void SetUpTrustServices(const std::string& prefix) {
    if (!LoopbackOnlyNetworkError().empty()) {
      GTEST_SKIP() << "cannot isolate the OCSP responder (it listens on every interface): "
                   << LoopbackOnlyNetworkError();
    }
    ASSERT_NE(tsa_, nullptr);
    ASSERT_NE(ocsp_, nullptr);
    dir_ = MakeTempDir(prefix);
  }

  static inline TsaProcess* tsa_ = nullptr;
  static inline OcspResponder* ocsp_ = nullptr;
  std::string dir_;
};

}  // namespace axis::testing

#endif  // AXIS_TESTS_TSA_TRUST_SERVICES_TEST_H_
