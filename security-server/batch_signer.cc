#include "security-server/batch_signer.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "security-server/merkle.h"
#include "signer/bytes_sign.h"

namespace axis::ss {
namespace {

absl::string_view KindName(BatchKind kind) {
  return kind == BatchKind::kEnvelope ? "axis envelope batch v1" : "axis receipt batch v1";
}

absl::string_view LeafName(BatchKind kind) {
  return kind == BatchKind::kEnvelope ? "header" : "receipt body";
}

// CertSha256 is the SHA-256 of the certificate's DER ("" if it has none).
std::string CertSha256(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (X509_digest(cert, EVP_sha256(), md, &n) != 1) {
    return "";
  }
  return std::string(reinterpret_cast<char*>(md), n);
}

}  // namespace

std::string BatchStatement(BatchKind kind, absl::string_view root, uint64_t count) {
  std::string out(1, '\0');
  absl::StrAppend(&out, KindName(kind));
  out.push_back('\0');
  for (int shift = 56; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((count >> shift) & 0xff));
  }
  absl::StrAppend(&out, root);
  return out;
}

// ---------------------------------------------------------------------------
// BatchSigner

// Waiter is one part of a ticket: its leaves, and what they get back.
struct BatchSigner::Waiter {
  std::vector<std::string> leaves;
  BatchSigner* signer = nullptr;
  absl::StatusOr<std::vector<BatchProof>> result;
  bool done = false;
};

BatchSigner::BatchSigner(const signer::SigningKey* key, BatchKind kind, size_t max_batch)
    : key_(key), kind_(kind), max_batch_(std::max<size_t>(1, max_batch)) {}

BatchSigner::Ticket& BatchSigner::Ticket::operator=(Ticket&& other) noexcept {
  if (this != &other) {
    if (signer_ != nullptr) {
      signer_->Withdraw(*this);
    }
    signer_ = other.signer_;
    parts_ = std::move(other.parts_);
    other.signer_ = nullptr;
    other.parts_.clear();
  }
  return *this;
}

BatchSigner::Ticket::~Ticket() {
  if (signer_ != nullptr) {
    signer_->Withdraw(*this);
  }
}

void BatchSigner::Withdraw(Ticket& ticket) {
  absl::MutexLock l(&mu_);
  for (const std::shared_ptr<Waiter>& w : ticket.parts_) {
    auto it = std::find(waiting_.begin(), waiting_.end(), w);
    if (it != waiting_.end()) {
      waiting_.erase(it);
    }
  }
  ticket.parts_.clear();
}

absl::StatusOr<BatchProof> BatchSigner::Sign(absl::string_view leaf) {
  std::vector<std::string> one;
  one.emplace_back(leaf);
  Ticket t = Submit(std::move(one));
  absl::StatusOr<std::vector<BatchProof>> proofs = Wait(t);
  if (!proofs.ok()) {
    return proofs.status();
  }
  return std::move((*proofs)[0]);
}

absl::StatusOr<std::vector<BatchProof>> BatchSigner::SignAll(const std::vector<std::string>& leaves) {
  Ticket t = Submit(leaves);
  return Wait(t);
}

BatchSigner::Ticket BatchSigner::Submit(std::vector<std::string> leaves) {
  Ticket t;
  t.signer_ = this;
  for (size_t at = 0; at < leaves.size(); at += max_batch_) {
    auto w = std::make_shared<Waiter>();
    w->signer = this;
    size_t n = std::min(max_batch_, leaves.size() - at);
    w->leaves.reserve(n);
    for (size_t i = at; i < at + n; ++i) {
      w->leaves.push_back(std::move(leaves[i]));
    }
    t.parts_.push_back(std::move(w));
  }
  absl::MutexLock l(&mu_);
  for (const std::shared_ptr<Waiter>& w : t.parts_) {
    waiting_.push_back(w);
  }
  return t;
}

absl::StatusOr<std::vector<BatchProof>> BatchSigner::Wait(Ticket& ticket) {
  std::vector<BatchProof> out;
  for (const std::shared_ptr<Waiter>& w : ticket.parts_) {
    WaitFor(w.get());
    if (!w->result.ok()) {
      return w->result.status();
    }
    for (BatchProof& p : *w->result) {
      out.push_back(std::move(p));
    }
  }
  return out;
}

void BatchSigner::WaitFor(Waiter* me) {
  mu_.Lock();
  while (true) {
    // Wait until our leaves are signed, or until nobody is signing: then we
    // lead, signing for everyone waiting (ourselves among them, unless more
    // than a batch's worth came first). A waiter not yet signed is either
    // queued or in the batch being signed, so the queue is not empty here.
    mu_.Await(absl::Condition(
        +[](Waiter* w) ABSL_NO_THREAD_SAFETY_ANALYSIS { return w->done || !w->signer->signing_; },
        me));
    if (me->done) {
      break;
    }
    signing_ = true;
    std::vector<std::shared_ptr<Waiter>> group;
    size_t total = 0;
    while (!waiting_.empty() &&
           (group.empty() || total + waiting_.front()->leaves.size() <= max_batch_)) {
      total += waiting_.front()->leaves.size();
      group.push_back(std::move(waiting_.front()));
      waiting_.pop_front();
    }
    mu_.Unlock();
    Run(group, total);
    mu_.Lock();
    for (const std::shared_ptr<Waiter>& w : group) {
      w->done = true;
    }
    signing_ = false;
    ++stats_.signatures;
    stats_.leaves += total;
    stats_.largest = std::max<uint64_t>(stats_.largest, total);
  }
  mu_.Unlock();
}

void BatchSigner::Run(const std::vector<std::shared_ptr<Waiter>>& group, size_t leaves) {
  std::vector<absl::string_view> all;
  all.reserve(leaves);
  for (const std::shared_ptr<Waiter>& w : group) {
    for (const std::string& leaf : w->leaves) {
      all.emplace_back(leaf);
    }
  }
  std::vector<std::vector<std::string>> paths;
  std::string root = MerkleRootAndPaths(all, &paths);
  absl::StatusOr<signer::BytesSignature> sig =
      signer::SignBytes(*key_, BatchStatement(kind_, root, all.size()));
  size_t index = 0;
  for (const std::shared_ptr<Waiter>& w : group) {
    if (!sig.ok()) {
      w->result = absl::InternalError(absl::StrCat("batch signature: ", sig.status().message()));
      index += w->leaves.size();
      continue;
    }
    std::vector<BatchProof> proofs(w->leaves.size());
    for (BatchProof& p : proofs) {
      p.algorithm = sig->algorithm;
      p.signature = sig->value;
      p.root = root;
      p.index = index;
      p.count = all.size();
      p.path = std::move(paths[index]);
      ++index;
    }
    w->result = std::move(proofs);
  }
}

BatchSigner::Stats BatchSigner::stats() const {
  absl::MutexLock l(&mu_);
  return stats_;
}

// ---------------------------------------------------------------------------
// BatchMemo

bool BatchMemo::Seen(const std::string& key, absl::Time now) const {
  absl::MutexLock l(&mu_);
  auto it = until_.find(key);
  return it != until_.end() && now < it->second;
}

void BatchMemo::Remember(const std::string& key, absl::Time now) {
  absl::MutexLock l(&mu_);
  if (until_.size() >= kMaxEntries) {
    until_.clear();
  }
  until_[key] = now + kTtl;
}

// ---------------------------------------------------------------------------
// Verification

absl::Status VerifyBatchProof(X509* cert, BatchKind kind, absl::string_view leaf,
                              const BatchProof& proof, BatchMemo* memo, absl::Time now) {
  if (proof.count == 0 && proof.index == 0 && proof.root.empty() && proof.path.empty()) {
    // Signed the way envelopes and receipts were before batch signatures:
    // the signature is over the leaf itself. Still accepted, so that rows
    // queued, receipts kept and evidence exported then stay verifiable; it
    // cannot pose as a batch signature nor the reverse, a statement
    // starting with a byte no serialized header or body starts with.
    absl::Status sig = signer::VerifyBytes(cert, proof.algorithm, leaf, proof.signature);
    if (!sig.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("signature ", sig.message()));
    }
    return absl::OkStatus();
  }
  if (proof.count == 0) {
    return absl::InvalidArgumentError("a batch of 0 leaves");
  }
  if (proof.root.size() != kMerkleHashSize) {
    return absl::InvalidArgumentError("the batch root is not a SHA-256 hash");
  }
  absl::Status in = VerifyMerklePath(leaf, proof.index, proof.count, proof.path, proof.root);
  if (!in.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("the ", LeafName(kind), " is not leaf ",
                                                   proof.index, " of the signed batch of ",
                                                   proof.count, ": ", in.message()));
  }
  std::string statement = BatchStatement(kind, proof.root, proof.count);
  std::string key;
  std::string cert_sha = memo != nullptr ? CertSha256(cert) : "";
  if (!cert_sha.empty()) {
    // Length-prefixed, so no two different tuples make the same key.
    key = signer::Sha256(absl::StrCat(statement.size(), ":", statement, proof.signature.size(),
                                      ":", proof.signature, proof.algorithm.size(), ":",
                                      proof.algorithm, cert_sha));
    if (memo->Seen(key, now)) {
      return absl::OkStatus();
    }
  }
  absl::Status sig = signer::VerifyBytes(cert, proof.algorithm, statement, proof.signature);
  if (!sig.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("batch ", sig.message()));
  }
  if (!key.empty()) {
    memo->Remember(key, now);
  }
  return absl::OkStatus();
}

}  // namespace axis::ss
