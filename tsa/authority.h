// authority.h: the RFC 3161 time-stamping authority behind axis-tsa.
#ifndef AXIS_TSA_AUTHORITY_H_
#define AXIS_TSA_AUTHORITY_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "common/c_ptr.h"
#include "common/clock.h"
#include "tsa_config.pb.h"

namespace axis::tsa {

// kDefaultMaxRequestBytes applies when TsaConfig.max_request_bytes is 0.
inline constexpr size_t kDefaultMaxRequestBytes = 16384;
// kMaxMaxRequestBytes is the largest max_request_bytes a config may set.
inline constexpr size_t kMaxMaxRequestBytes = size_t{1} << 20;
// kSerialBlock is how many serial numbers are reserved in serial_file at a
// time: a crash skips at most this many, and the file is written (with
// fsync) once per block rather than once per token.
inline constexpr uint64_t kSerialBlock = 1000;

// TimeStampAuthority answers DER TimeStampReq with DER TimeStampResp
// (RFC 3161): SHA-256 signatures with an ESS signing-certificate-v2
// attribute (SHA-256 cert id), the configured policy and accuracy, genTime
// in milliseconds, and the certificate chain when the request sets certReq.
// Message imprints of SHA-256, SHA-384 and SHA-512 are accepted.
// Thread-safe: Respond may run on many threads at once.
class TimeStampAuthority {
 public:
  // Create loads the key, certificate, chain and serial state of `config`.
  // INVALID_ARGUMENT listing every problem ("field: reason", one a line)
  // when the configuration is not usable, including a certificate without a
  // critical timeStamping-only extended key usage or one that does not match
  // the key; the serial file's error when it cannot be written. `clock`
  // (default: the wall clock) gives genTime and must outlive the authority.
  static absl::StatusOr<std::unique_ptr<TimeStampAuthority>> Create(const TsaConfig& config,
                                                                    const Clock* clock = nullptr);

  // CheckConfig returns every problem of `config` as "field: reason", empty
  // when Create would accept it. Reads files, writes nothing. The listen
  // address is checked too.
  static std::vector<std::string> CheckConfig(const TsaConfig& config);

  TimeStampAuthority(const TimeStampAuthority&) = delete;
  TimeStampAuthority& operator=(const TimeStampAuthority&) = delete;
  ~TimeStampAuthority();

  // Respond answers one DER TimeStampReq. A malformed or unacceptable
  // request (bad DER, trailing bytes, a weak hash, an unknown policy) gets a
  // DER TimeStampResp with status rejection and its failure info, as the RFC
  // wants; RESOURCE_EXHAUSTED when `der_request` is over max_request_bytes;
  // UNAVAILABLE when no serial number can be reserved (serial_file cannot be
  // written), so that no token is issued whose serial might repeat.
  absl::StatusOr<std::string> Respond(absl::string_view der_request);

  size_t max_request_bytes() const { return max_request_bytes_; }

 private:
  TimeStampAuthority() = default;

  // NextSerial hands out the next serial number, first reserving a new block
  // in serial_file when the current one is used up.
  absl::StatusOr<uint64_t> NextSerial();

  static ASN1_INTEGER* SerialCallback(TS_RESP_CTX* ctx, void* data);
  static int TimeCallback(TS_RESP_CTX* ctx, void* data, long* sec, long* usec);

  const Clock* clock_ = nullptr;
  UniquePtr<EVP_PKEY> key_;
  UniquePtr<X509> cert_;
  UniquePtr<STACK_OF(X509)> chain_;
  UniquePtr<ASN1_OBJECT> policy_;
  uint32_t accuracy_seconds_ = 0;
  uint32_t accuracy_millis_ = 0;
  size_t max_request_bytes_ = kDefaultMaxRequestBytes;
  std::string serial_file_;

  absl::Mutex mu_;
  uint64_t next_serial_ ABSL_GUARDED_BY(mu_) = 1;
  // serial_file holds reserved_end_: every serial below it may have been
  // issued; none at or above it has been.
  uint64_t reserved_end_ ABSL_GUARDED_BY(mu_) = 1;
};

}  // namespace axis::tsa

#endif  // AXIS_TSA_AUTHORITY_H_
