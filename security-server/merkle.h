// merkle.h: RFC 6962-style Merkle trees over message-log record hashes.
//
// A time-stamp covers a batch of records through the root of a Merkle tree
// whose leaves are the records' hashes. Leaves and inner nodes are hashed
// with distinct prefixes (RFC 6962 section 2.1: 0x00 for a leaf, 0x01 for a
// node), so a leaf can never pose as a node. A record's inclusion proof is
// its audit path (RFC 6962 PATH(m, D[n]), verified as RFC 9162 2.1.3.2 does).
#ifndef AXIS_SECURITY_SERVER_MERKLE_H_
#define AXIS_SECURITY_SERVER_MERKLE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace axis::ss {

// kMerkleHashSize is the size of every hash here (SHA-256).
inline constexpr size_t kMerkleHashSize = 32;

// MerkleLeafHash returns SHA-256(0x00 || data).
std::string MerkleLeafHash(absl::string_view data);

// MerkleNodeHash returns SHA-256(0x01 || left || right).
std::string MerkleNodeHash(absl::string_view left, absl::string_view right);

// MerkleRoot returns the tree head over `leaves` (the leaf data, e.g. record
// hashes; they are leaf-hashed here). The root of no leaves is SHA-256("").
std::string MerkleRoot(const std::vector<std::string>& leaves);

// MerklePath returns the audit path of leaf `index` in the tree over
// `leaves`, nearest sibling first. Empty for a one-leaf tree.
// Requires index < leaves.size().
std::vector<std::string> MerklePath(const std::vector<std::string>& leaves, size_t index);

// MerkleRootAndPaths returns MerkleRoot(leaves) and sets (*paths)[i] to
// MerklePath(leaves, i) for every leaf, hashing each node of the tree once
// (n log n hashes where n calls of MerklePath take n^2). The tree is built
// bottom-up, pairing neighbours and lifting a level's odd last node
// unchanged, which is the same tree as RFC 6962's.
std::string MerkleRootAndPaths(const std::vector<absl::string_view>& leaves,
                               std::vector<std::vector<std::string>>* paths);

// VerifyMerklePath checks that `leaf` (leaf data, as given to MerkleRoot) is
// leaf `index` of a tree of `size` leaves whose root is `root`, by `path`.
// OK when it is; DATA_LOSS naming the reason otherwise (index out of range,
// path too short or too long, root mismatch).
absl::Status VerifyMerklePath(absl::string_view leaf, uint64_t index, uint64_t size,
                              const std::vector<std::string>& path, absl::string_view root);

}  // namespace axis::ss

#endif  // AXIS_SECURITY_SERVER_MERKLE_H_
