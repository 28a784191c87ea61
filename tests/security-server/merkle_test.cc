// Tests of the RFC 6962-style Merkle trees under the message log's batches.
#include "security-server/merkle.h"

#include <openssl/evp.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace axis::ss {
namespace {

using ::testing::HasSubstr;

// Sha256 is computed here independently of merkle.cc.
std::string Sha256(const std::string& data) {
  unsigned char out[32];
  unsigned int len = 0;
  EXPECT_EQ(EVP_Digest(data.data(), data.size(), out, &len, EVP_sha256(), nullptr), 1);
  return std::string(reinterpret_cast<char*>(out), len);
}
std::string Leaf(const std::string& d) { return Sha256(std::string(1, '\0') + d); }
std::string Node(const std::string& l, const std::string& r) {
  return Sha256(std::string(1, '\1') + l + r);
}

std::vector<std::string> Leaves(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    out.push_back(Sha256(absl::StrCat("record ", i)));
  }
  return out;
}

TEST(MerkleTest, RootsFollowRfc6962ForSmallTrees) {
  std::vector<std::string> d = Leaves(5);
  EXPECT_EQ(MerkleRoot({d[0]}), Leaf(d[0]));
  EXPECT_EQ(MerkleRoot({d[0], d[1]}), Node(Leaf(d[0]), Leaf(d[1])));
  EXPECT_EQ(MerkleRoot({d[0], d[1], d[2]}), Node(Node(Leaf(d[0]), Leaf(d[1])), Leaf(d[2])));
  EXPECT_EQ(MerkleRoot(d),
            Node(Node(Node(Leaf(d[0]), Leaf(d[1])), Node(Leaf(d[2]), Leaf(d[3]))), Leaf(d[4])));
  EXPECT_EQ(MerkleRoot({}), Sha256(""));
}

TEST(MerkleTest, LeafCannotPoseAsAnInnerNode) {
  std::vector<std::string> d = Leaves(2);
  // A one-leaf tree whose leaf is the two children's concatenation must not
  // have the two-leaf tree's root.
  EXPECT_NE(MerkleRoot({Leaf(d[0]) + Leaf(d[1])}), MerkleRoot(d));
  EXPECT_NE(MerkleLeafHash(d[0] + d[1]), MerkleNodeHash(d[0], d[1]));
}

TEST(MerkleTest, EveryLeafOfTreesOfOneToSeventeenLeavesHasAProofThatVerifies) {
  for (int n = 1; n <= 17; ++n) {
    std::vector<std::string> d = Leaves(n);
    std::string root = MerkleRoot(d);
    for (int i = 0; i < n; ++i) {
      std::vector<std::string> path = MerklePath(d, static_cast<size_t>(i));
      EXPECT_TRUE(VerifyMerklePath(d[i], i, n, path, root).ok()) << "n=" << n << " i=" << i;
      // Proof length is the leaf's depth: at most ceil(log2 n).
      size_t depth = 0;
      while ((size_t{1} << depth) < static_cast<size_t>(n)) {
        ++depth;
      }
      EXPECT_LE(path.size(), depth) << "n=" << n << " i=" << i;
    }
  }
}

TEST(MerkleTest, TamperedProofsFailForTreesOfOneToSeventeenLeaves) {
  for (int n = 1; n <= 17; ++n) {
    std::vector<std::string> d = Leaves(n);
    std::string root = MerkleRoot(d);
    for (int i = 0; i < n; ++i) {
      std::vector<std::string> path = MerklePath(d, static_cast<size_t>(i));
      for (size_t k = 0; k < path.size(); ++k) {
        std::vector<std::string> bad = path;
        bad[k][k % 32] ^= 0x01;
        EXPECT_FALSE(VerifyMerklePath(d[i], i, n, bad, root).ok()) << "n=" << n << " i=" << i;
      }
      std::string other = d[i];
      other[0] ^= 0x80;
      EXPECT_FALSE(VerifyMerklePath(other, i, n, path, root).ok()) << "n=" << n << " i=" << i;
      if (n > 1) {
        EXPECT_FALSE(VerifyMerklePath(d[i], (i + 1) % n, n, path, root).ok())
            << "wrong index, n=" << n << " i=" << i;
        std::vector<std::string> shorter(path.begin(), path.end() - 1);
        EXPECT_FALSE(VerifyMerklePath(d[i], i, n, shorter, root).ok()) << "n=" << n;
      }
      std::vector<std::string> longer = path;
      longer.push_back(root);
      EXPECT_FALSE(VerifyMerklePath(d[i], i, n, longer, root).ok()) << "n=" << n << " i=" << i;
      std::string bad_root = root;
      bad_root[31] ^= 0x01;
      EXPECT_FALSE(VerifyMerklePath(d[i], i, n, path, bad_root).ok()) << "n=" << n;
    }
  }
}

TEST(MerkleTest, RefusesAnIndexOutsideTheTree) {
  std::vector<std::string> d = Leaves(4);
  absl::Status s = VerifyMerklePath(d[0], 4, 4, MerklePath(d, 0), MerkleRoot(d));
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(s.message()), HasSubstr("outside a tree of 4"));
}

TEST(MerkleTest, AllPathsAtOnceAreTheRootAndPathsOfEachLeafAlone) {
  std::vector<std::vector<std::string>> paths;
  EXPECT_EQ(MerkleRootAndPaths({}, &paths), MerkleRoot({}));
  EXPECT_TRUE(paths.empty());
  for (int n = 1; n <= 70; ++n) {
    std::vector<std::string> d = Leaves(n);
    std::vector<absl::string_view> views(d.begin(), d.end());
    std::string root = MerkleRootAndPaths(views, &paths);
    ASSERT_EQ(root, MerkleRoot(d)) << "n=" << n;
    ASSERT_EQ(paths.size(), d.size());
    for (int i = 0; i < n; ++i) {
      EXPECT_EQ(paths[i], MerklePath(d, static_cast<size_t>(i))) << "n=" << n << " i=" << i;
    }
  }
}

}  // namespace
}  // namespace axis::ss
