// batch_signer.h: one signature over many envelopes (or receipts).
//
// A security server seals every envelope and every receipt with its
// member's seal key. Signing each one alone made the sender's RSA-2048 seal
// the largest single cost per document, so signatures are batched like a
// group commit: callers that want a signature while one is being made wait
// for it to finish, then one of them signs, in ONE signature, the RFC 6962
// Merkle root (merkle.h) of all their leaves (the serialized header or
// receipt body); each gets back the signature, the root, its leaf index, the
// leaf count and its audit path. Nobody waits on a timer: a lone caller
// signs at once (a batch of one), and batches grow only while signing is
// the bottleneck.
//
// What is signed is never a leaf itself but the batch statement
// (BatchStatement): a fixed layout naming the kind of batch, the leaf count
// and the root. Every envelope and receipt is in a batch (perhaps of one);
// there is no other way to sign or verify them.
#ifndef AXIS_SECURITY_SERVER_BATCH_SIGNER_H_
#define AXIS_SECURITY_SERVER_BATCH_SIGNER_H_

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <openssl/x509.h>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "signer/keys.h"

namespace axis::ss {

// BatchKind says what a batch's leaves are; it is part of what is signed, so
// a signature over a batch of one kind never vouches for the other.
enum class BatchKind {
  kEnvelope,  // leaves: serialized EnvelopeHeaders
  kReceipt,   // leaves: serialized ReceiptBodies
};

// BatchStatement returns the bytes a batch signature covers:
//   0x00 || "axis envelope batch v1" or "axis receipt batch v1" || 0x00
//        || leaf count (8 bytes, big-endian) || root (32 bytes)
// The first byte would be a Protobuf tag of field number 0, which no parser
// accepts, and every serialized message we sign elsewhere (headers, receipt
// bodies, management requests, configuration statements) starts with a
// non-zero tag: a statement can never be mistaken for one of them, nor they
// for a statement.
std::string BatchStatement(BatchKind kind, absl::string_view root, uint64_t count);

// BatchProof is one leaf's share of a batch signature.
struct BatchProof {
  std::string algorithm;           // "rsa-pkcs1-sha256" or "ecdsa-sha256"
  std::string signature;           // over BatchStatement(kind, root, count)
  std::string root;                // the Merkle root of the batch's leaves
  uint64_t index = 0;              // this leaf's position, 0-based
  uint64_t count = 0;              // the number of leaves in the batch
  std::vector<std::string> path;   // RFC 6962 audit path, nearest sibling first
};

// BatchSigner signs leaves in batches with one key. Thread-safe; Sign,
// SignAll and Wait block until the caller's leaves are signed.
class BatchSigner {
  struct Waiter;

 public:
  static constexpr size_t kDefaultMaxBatch = 256;

  // `key` must outlive the signer. `max_batch` (>= 1) bounds the leaves
  // under one signature.
  BatchSigner(const signer::SigningKey* key, BatchKind kind, size_t max_batch = kDefaultMaxBatch);
  BatchSigner(const BatchSigner&) = delete;
  BatchSigner& operator=(const BatchSigner&) = delete;

  // Sign signs `leaf` in a batch with whatever other leaves are waiting.
  // INTERNAL when the key cannot sign (every caller of that batch gets it).
  absl::StatusOr<BatchProof> Sign(absl::string_view leaf);

  // SignAll signs `leaves` together (in one batch when there are at most
  // max_batch of them, else in batches of max_batch); proofs in order.
  absl::StatusOr<std::vector<BatchProof>> SignAll(const std::vector<std::string>& leaves);

  // Ticket is leaves handed to Submit, to be collected by Wait. Leaves not
  // yet taken into a batch when their ticket is destroyed are withdrawn.
  // Must not outlive its signer.
  class Ticket {
   public:
    Ticket() = default;
    Ticket(Ticket&& other) noexcept
        : signer_(std::exchange(other.signer_, nullptr)), parts_(std::move(other.parts_)) {}
    Ticket& operator=(Ticket&& other) noexcept;
    ~Ticket();

   private:
    friend class BatchSigner;
    BatchSigner* signer_ = nullptr;
    std::vector<std::shared_ptr<Waiter>> parts_;  // at most max_batch leaves each
  };

  // Submit queues `leaves` for the next batch and returns at once, so that
  // a caller can do other work (or wait elsewhere) while other leaves
  // gather; SignAll is Submit then Wait.
  Ticket Submit(std::vector<std::string> leaves);

  // Wait blocks until the ticket's leaves are signed (signing a batch itself
  // when nobody else is) and returns their proofs, in order. Once per ticket.
  absl::StatusOr<std::vector<BatchProof>> Wait(Ticket& ticket);

  const signer::SigningKey& key() const { return *key_; }
  BatchKind kind() const { return kind_; }

  // Stats counts what the signer did since it was made (for the operator
  // and the benchmarks).
  struct Stats {
    uint64_t signatures = 0;  // batches signed
    uint64_t leaves = 0;      // leaves signed
    uint64_t largest = 0;     // leaves in the largest batch
  };
  Stats stats() const;

 private:
  // Run signs `group` (under max_batch_ leaves, several callers' leaves) and
  // hands every waiter its proofs or the error.
  void Run(const std::vector<std::shared_ptr<Waiter>>& group, size_t leaves);
  // WaitFor blocks until `w` is signed, leading batches while nobody is
  // signing.
  void WaitFor(Waiter* w);
  void Withdraw(Ticket& ticket);

  const signer::SigningKey* key_;
  const BatchKind kind_;
  const size_t max_batch_;

  mutable absl::Mutex mu_;
  std::deque<std::shared_ptr<Waiter>> waiting_ ABSL_GUARDED_BY(mu_);
  bool signing_ ABSL_GUARDED_BY(mu_) = false;  // a leader is signing now
  Stats stats_ ABSL_GUARDED_BY(mu_);
};

// BatchMemo remembers, briefly, batch signatures that verified, so the other
// members of a batch (which carry the same statement and signature) skip the
// public-key operation. Keyed by the exact statement, signature, algorithm
// and certificate; at most kMaxEntries (cleared when full). Thread-safe.
class BatchMemo {
 public:
  static constexpr size_t kMaxEntries = 4096;
  static constexpr absl::Duration kTtl = absl::Seconds(60);

  bool Seen(const std::string& key, absl::Time now) const;
  void Remember(const std::string& key, absl::Time now);

 private:
  mutable absl::Mutex mu_;
  std::map<std::string, absl::Time> until_ ABSL_GUARDED_BY(mu_);
};

// VerifyBatchProof checks that `leaf` is leaf proof.index of a batch of
// proof.count leaves whose root is proof.root (by proof.path), and that
// proof.signature over BatchStatement(kind, root, count) verifies with
// `cert`'s public key. With a `memo`, a signature it remembers for `cert` is
// not verified again, and one that verifies is remembered. It does not judge
// the certificate itself (chain, owner, revocation): callers do. A proof
// without batch fields (count 0, no root, no path) is the form before
// batch signatures: the signature is over `leaf` itself.
// INVALID_ARGUMENT naming the reason ("... does not lead to the root",
// "signature does not verify", ...).
absl::Status VerifyBatchProof(X509* cert, BatchKind kind, absl::string_view leaf,
                              const BatchProof& proof, BatchMemo* memo = nullptr,
                              absl::Time now = absl::InfinitePast());

}  // namespace axis::ss

#endif  // AXIS_SECURITY_SERVER_BATCH_SIGNER_H_
