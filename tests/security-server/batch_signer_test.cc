// Tests of the batch signer: one signature over the Merkle root of many
// leaves, each caller getting a proof that verifies for its leaf only.
#include "security-server/batch_signer.h"

#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "security-server/merkle.h"
#include "security_server.pb.h"
#include "signer/bytes_sign.h"
#include "signer/keys.h"
#include "tests/security-server/seal_key.h"
#include "tests/testing/paths.h"

namespace axis::ss {
namespace {

using ::axis::testing::PkiPath;
using ::testing::HasSubstr;

signer::SigningKey Seal(const std::string& agency) { return SealKey(agency); }

std::vector<std::string> Leaves(int n, const std::string& prefix = "header ") {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    out.push_back(absl::StrCat(prefix, i));
  }
  return out;
}

class BatchSignerTest : public ::testing::Test {
 protected:
  signer::SigningKey vpcp_ = Seal("vpcp");  // RSA-2048
  signer::SigningKey mic_ = Seal("mic");    // P-256
};

TEST_F(BatchSignerTest, ALoneLeafIsABatchOfOne) {
  BatchSigner s(&vpcp_, BatchKind::kEnvelope);
  absl::StatusOr<BatchProof> p = s.Sign("the only header");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->count, 1u);
  EXPECT_EQ(p->index, 0u);
  EXPECT_TRUE(p->path.empty());
  EXPECT_EQ(p->root, MerkleLeafHash("the only header"));
  EXPECT_EQ(p->algorithm, "rsa-pkcs1-sha256");
  EXPECT_TRUE(VerifyBatchProof(vpcp_.cert.get(), BatchKind::kEnvelope, "the only header", *p).ok());
  BatchSigner::Stats st = s.stats();
  EXPECT_EQ(st.signatures, 1u);
  EXPECT_EQ(st.leaves, 1u);
  EXPECT_EQ(st.largest, 1u);
}

TEST_F(BatchSignerTest, ConcurrentCallersFromSeveralThreadsGetProofsThatVerify) {
  BatchSigner s(&vpcp_, BatchKind::kEnvelope);
  constexpr int kThreads = 12;
  constexpr int kEach = 20;
  absl::Mutex mu;
  std::vector<std::pair<std::string, BatchProof>> got;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        std::string leaf = absl::StrCat("thread ", t, " header ", i);
        absl::StatusOr<BatchProof> p = s.Sign(leaf);
        ASSERT_TRUE(p.ok()) << p.status();
        absl::MutexLock l(&mu);
        got.emplace_back(leaf, std::move(*p));
      }
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  ASSERT_EQ(got.size(), size_t{kThreads * kEach});
  std::set<std::pair<std::string, uint64_t>> positions;  // (root, index)
  for (const auto& [leaf, proof] : got) {
    EXPECT_TRUE(VerifyBatchProof(vpcp_.cert.get(), BatchKind::kEnvelope, leaf, proof).ok())
        << leaf;
    EXPECT_LT(proof.index, proof.count);
    EXPECT_TRUE(positions.insert({proof.root, proof.index}).second)
        << "two leaves at one position of one batch";
  }
  BatchSigner::Stats st = s.stats();
  EXPECT_EQ(st.leaves, uint64_t{kThreads * kEach});
  // Twelve threads asking for RSA signatures of ~1 ms each: callers gather
  // while a signature runs, so there are fewer signatures than leaves.
  EXPECT_LT(st.signatures, st.leaves);
  EXPECT_GT(st.largest, 1u);
  EXPECT_LE(st.largest, uint64_t{kThreads});
}

TEST_F(BatchSignerTest, NoBatchIsLargerThanItsBound) {
  BatchSigner s(&mic_, BatchKind::kReceipt, /*max_batch=*/4);
  std::vector<std::string> leaves = Leaves(10);
  absl::StatusOr<std::vector<BatchProof>> proofs = s.SignAll(leaves);
  ASSERT_TRUE(proofs.ok()) << proofs.status();
  ASSERT_EQ(proofs->size(), 10u);
  std::vector<uint64_t> counts;
  for (size_t i = 0; i < leaves.size(); ++i) {
    EXPECT_TRUE(
        VerifyBatchProof(mic_.cert.get(), BatchKind::kReceipt, leaves[i], (*proofs)[i]).ok());
    counts.push_back((*proofs)[i].count);
  }
  EXPECT_EQ(counts, std::vector<uint64_t>({4, 4, 4, 4, 4, 4, 4, 4, 2, 2}));
  EXPECT_EQ(s.stats().signatures, 3u);
  EXPECT_EQ(s.stats().largest, 4u);

  // Concurrent callers too.
  std::vector<std::thread> threads;
  absl::Mutex mu;
  uint64_t largest = 0;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        absl::StatusOr<BatchProof> p = s.Sign(absl::StrCat(t, "/", i));
        ASSERT_TRUE(p.ok());
        absl::MutexLock l(&mu);
        largest = std::max(largest, p->count);
      }
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  EXPECT_LE(largest, 4u);
  EXPECT_LE(s.stats().largest, 4u);
}

TEST_F(BatchSignerTest, LeavesSignedTogetherShareOneSignatureAndEachProofFitsOnlyItsLeaf) {
  BatchSigner s(&vpcp_, BatchKind::kEnvelope);
  std::vector<std::string> leaves = Leaves(5);
  absl::StatusOr<std::vector<BatchProof>> proofs = s.SignAll(leaves);
  ASSERT_TRUE(proofs.ok()) << proofs.status();
  EXPECT_EQ(s.stats().signatures, 1u);
  for (size_t i = 0; i < leaves.size(); ++i) {
    const BatchProof& p = (*proofs)[i];
    EXPECT_EQ(p.index, i);
    EXPECT_EQ(p.count, 5u);
    EXPECT_EQ(p.signature, (*proofs)[0].signature);
    EXPECT_EQ(p.root, (*proofs)[0].root);
    for (size_t j = 0; j < leaves.size(); ++j) {
      absl::Status st = VerifyBatchProof(vpcp_.cert.get(), BatchKind::kEnvelope, leaves[j], p);
      if (i == j) {
        EXPECT_TRUE(st.ok()) << st;
      } else {
        EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << i << " " << j;
        EXPECT_THAT(std::string(st.message()),
                    HasSubstr(absl::StrCat("the header is not leaf ", i, " of the signed batch of 5")));
      }
    }
  }
}

TEST_F(BatchSignerTest, AChangedPathByteIndexCountRootOrSignatureIsRefused) {
  BatchSigner s(&vpcp_, BatchKind::kEnvelope);
  std::vector<std::string> leaves = Leaves(6);
  absl::StatusOr<std::vector<BatchProof>> proofs = s.SignAll(leaves);
  ASSERT_TRUE(proofs.ok()) << proofs.status();
  const BatchProof good = (*proofs)[2];
  ASSERT_TRUE(VerifyBatchProof(vpcp_.cert.get(), BatchKind::kEnvelope, leaves[2], good).ok());
  auto refused = [&](const BatchProof& p, const std::string& why) {
    absl::Status st = VerifyBatchProof(vpcp_.cert.get(), BatchKind::kEnvelope, leaves[2], p);
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << why;
    return std::string(st.message());
  };
  ASSERT_FALSE(good.path.empty());
  for (size_t k = 0; k < good.path.size(); ++k) {
    for (size_t byte : {size_t{0}, size_t{17}, size_t{31}}) {
      BatchProof p = good;
      p.path[k][byte] ^= 0x01;
      EXPECT_THAT(refused(p, "path byte"), HasSubstr("does not lead to the root"));
    }
  }
  for (uint64_t index = 0; index < 8; ++index) {
    if (index != good.index) {
      BatchProof p = good;
      p.index = index;
      refused(p, absl::StrCat("index ", index));
    }
  }
  for (uint64_t count : {0, 1, 3, 5, 7, 8, 12}) {
    BatchProof p = good;
    p.count = count;
    refused(p, absl::StrCat("count ", count));
  }
  {
    // A count that still fits the path's shape (5 or 6 leaves: three levels
    // above index 2) is caught by the signature, which covers the count.
    BatchProof p = good;
    p.count = 5;
    EXPECT_THAT(refused(p, "count 5"), HasSubstr("signature does not verify"));
  }
  {
    BatchProof p = good;
    p.root[0] ^= 1;
    refused(p, "root");
  }
  {
    BatchProof p = good;
    p.signature[p.signature.size() / 2] ^= 1;
    EXPECT_THAT(refused(p, "signature"), HasSubstr("batch signature does not verify"));
  }
  {
    BatchProof p = good;
    p.path.push_back(good.path[0]);
    refused(p, "longer path");
  }
}

TEST_F(BatchSignerTest, AReceiptBatchSignatureIsRefusedAsAnEnvelopeBatchOne) {
  BatchSigner receipts(&vpcp_, BatchKind::kReceipt);
  absl::StatusOr<BatchProof> p = receipts.Sign("bytes");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_TRUE(VerifyBatchProof(vpcp_.cert.get(), BatchKind::kReceipt, "bytes", *p).ok());
  absl::Status st = VerifyBatchProof(vpcp_.cert.get(), BatchKind::kEnvelope, "bytes", *p);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(st.message()), HasSubstr("batch signature does not verify"));

  BatchSigner envelopes(&vpcp_, BatchKind::kEnvelope);
  p = envelopes.Sign("bytes");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_FALSE(VerifyBatchProof(vpcp_.cert.get(), BatchKind::kReceipt, "bytes", *p).ok());
}

TEST_F(BatchSignerTest, ASignatureOfAnotherKeyIsRefused) {
  BatchSigner s(&mic_, BatchKind::kEnvelope);
  absl::StatusOr<BatchProof> p = s.Sign("header");
  ASSERT_TRUE(p.ok()) << p.status();
  absl::Status st = VerifyBatchProof(vpcp_.cert.get(), BatchKind::kEnvelope, "header", *p);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(st.message()), HasSubstr("does not match the certificate's key"));
}

TEST_F(BatchSignerTest, ALeafSignedDirectlyAsBeforeBatchSignaturesStillVerifies) {
  // Envelopes queued, receipts kept and evidence exported before batch
  // signatures carry a signature over the header or body itself.
  absl::StatusOr<signer::BytesSignature> direct = signer::SignBytes(vpcp_, "old header");
  ASSERT_TRUE(direct.ok()) << direct.status();
  BatchProof p;
  p.algorithm = direct->algorithm;
  p.signature = direct->value;
  EXPECT_TRUE(VerifyBatchProof(vpcp_.cert.get(), BatchKind::kEnvelope, "old header", p).ok());
  absl::Status other = VerifyBatchProof(vpcp_.cert.get(), BatchKind::kEnvelope, "another", p);
  EXPECT_EQ(other.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(other.message()), HasSubstr("signature"));
  // A batch signature stripped of its batch fields is a signature over the
  // statement, not over the leaf: refused.
  BatchSigner s(&vpcp_, BatchKind::kEnvelope);
  absl::StatusOr<BatchProof> batch = s.Sign("new header");
  ASSERT_TRUE(batch.ok()) << batch.status();
  BatchProof stripped;
  stripped.algorithm = batch->algorithm;
  stripped.signature = batch->signature;
  EXPECT_FALSE(
      VerifyBatchProof(vpcp_.cert.get(), BatchKind::kEnvelope, "new header", stripped).ok());
  // Count 0 with a root or path is neither form.
  BatchProof half = *batch;
  half.count = 0;
  EXPECT_THAT(std::string(VerifyBatchProof(vpcp_.cert.get(), BatchKind::kEnvelope,
                                           "new header", half)
                              .message()),
              HasSubstr("a batch of 0 leaves"));
}

TEST_F(BatchSignerTest, WhatIsSignedCanNeverBeAHeaderOrReceiptBody) {
  std::string root = MerkleLeafHash("x");
  std::string envelope = BatchStatement(BatchKind::kEnvelope, root, 1);
  std::string receipt = BatchStatement(BatchKind::kReceipt, root, 1);
  EXPECT_NE(envelope, receipt);
  EXPECT_NE(BatchStatement(BatchKind::kEnvelope, root, 2), envelope);
  EXPECT_EQ(envelope, std::string("\0axis envelope batch v1\0", 24) +
                          std::string("\0\0\0\0\0\0\0\1", 8) + root);
  // Protobuf has no field number 0: no message parses from a statement.
  for (const std::string& s : {envelope, receipt}) {
    EXPECT_FALSE(EnvelopeHeader().ParseFromString(s));
    EXPECT_FALSE(ReceiptBody().ParseFromString(s));
  }
}

TEST_F(BatchSignerTest, TheMemoNeverLetsAnotherLeafSignatureOrCertificatePass) {
  BatchSigner s(&vpcp_, BatchKind::kEnvelope);
  std::vector<std::string> leaves = Leaves(3);
  absl::StatusOr<std::vector<BatchProof>> proofs = s.SignAll(leaves);
  ASSERT_TRUE(proofs.ok()) << proofs.status();
  BatchMemo memo;
  absl::Time now = absl::FromUnixSeconds(1800000000);
  for (size_t i = 0; i < leaves.size(); ++i) {
    EXPECT_TRUE(VerifyBatchProof(vpcp_.cert.get(), BatchKind::kEnvelope, leaves[i], (*proofs)[i],
                                 &memo, now)
                    .ok());
  }
  // The memo holds the batch's signature now; each leaf is still checked.
  EXPECT_FALSE(VerifyBatchProof(vpcp_.cert.get(), BatchKind::kEnvelope, "forged", (*proofs)[0],
                                &memo, now)
                   .ok());
  BatchProof bad = (*proofs)[1];
  bad.signature[3] ^= 1;
  EXPECT_FALSE(
      VerifyBatchProof(vpcp_.cert.get(), BatchKind::kEnvelope, leaves[1], bad, &memo, now).ok());
  EXPECT_FALSE(VerifyBatchProof(mic_.cert.get(), BatchKind::kEnvelope, leaves[1], (*proofs)[1],
                                &memo, now)
                   .ok());
  EXPECT_FALSE(VerifyBatchProof(vpcp_.cert.get(), BatchKind::kReceipt, leaves[1], (*proofs)[1],
                                &memo, now)
                   .ok());
  // And after its time to live, it verifies afresh (still fine).
  EXPECT_TRUE(VerifyBatchProof(vpcp_.cert.get(), BatchKind::kEnvelope, leaves[2], (*proofs)[2],
                               &memo, now + BatchMemo::kTtl + absl::Seconds(1))
                  .ok());
}

TEST_F(BatchSignerTest, LeavesSubmittedBeforeAWaitShareItsSignature) {
  BatchSigner s(&vpcp_, BatchKind::kEnvelope);
  BatchSigner::Ticket a = s.Submit(Leaves(2, "a"));
  BatchSigner::Ticket b = s.Submit(Leaves(3, "b"));
  absl::StatusOr<std::vector<BatchProof>> pa = s.Wait(a);
  ASSERT_TRUE(pa.ok()) << pa.status();
  EXPECT_EQ(s.stats().signatures, 1u);  // b's leaves were signed with a's
  absl::StatusOr<std::vector<BatchProof>> pb = s.Wait(b);
  ASSERT_TRUE(pb.ok()) << pb.status();
  EXPECT_EQ(s.stats().signatures, 1u);
  ASSERT_EQ(pa->size(), 2u);
  ASSERT_EQ(pb->size(), 3u);
  std::vector<std::string> la = Leaves(2, "a"), lb = Leaves(3, "b");
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ((*pb)[i].count, 5u);
    EXPECT_EQ((*pb)[i].index, 2 + i);
    EXPECT_TRUE(VerifyBatchProof(vpcp_.cert.get(), BatchKind::kEnvelope, lb[i], (*pb)[i]).ok());
  }
  EXPECT_TRUE(VerifyBatchProof(vpcp_.cert.get(), BatchKind::kEnvelope, la[1], (*pa)[1]).ok());
}

TEST_F(BatchSignerTest, AWithdrawnTicketsLeavesAreNotSigned) {
  BatchSigner s(&vpcp_, BatchKind::kEnvelope);
  {
    BatchSigner::Ticket dropped = s.Submit(Leaves(4, "dropped"));
  }
  absl::StatusOr<BatchProof> p = s.Sign("kept");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->count, 1u);
  EXPECT_EQ(s.stats().leaves, 1u);
}

TEST_F(BatchSignerTest, EveryCallerGetsTheErrorWhenTheKeyCannotSign) {
  signer::SigningKey none;  // no key
  BatchSigner s(&none, BatchKind::kEnvelope);
  std::vector<std::thread> threads;
  std::atomic<int> failed{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      absl::StatusOr<BatchProof> p = s.Sign("header");
      if (!p.ok() && p.status().code() == absl::StatusCode::kInternal &&
          absl::StrContains(p.status().message(), "batch signature: no signing key")) {
        failed.fetch_add(1);
      }
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  EXPECT_EQ(failed.load(), 4);
  EXPECT_FALSE(s.SignAll(Leaves(3)).ok());
}

}  // namespace
}  // namespace axis::ss
