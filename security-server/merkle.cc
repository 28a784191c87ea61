#include "security-server/merkle.h"

#include <openssl/evp.h>

#include "absl/strings/str_cat.h"
#include "common/c_ptr.h"

namespace axis::ss {
namespace {

std::string Sha256(absl::string_view a, absl::string_view b = {}, absl::string_view c = {}) {
  // EVP with the default provider's SHA-256 cannot fail short of memory
  // exhaustion, which the allocator reports on its own.
  UniquePtr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  EVP_DigestUpdate(ctx.get(), a.data(), a.size());
  EVP_DigestUpdate(ctx.get(), b.data(), b.size());
  EVP_DigestUpdate(ctx.get(), c.data(), c.size());
  std::string out(kMerkleHashSize, '\0');
  EVP_DigestFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), nullptr);
  return out;
}

constexpr absl::string_view kLeafPrefix("\x00", 1);
constexpr absl::string_view kNodePrefix("\x01", 1);

// LargestPowerOfTwoBelow returns the k of RFC 6962: the largest power of two
// smaller than n (n > 1).
size_t LargestPowerOfTwoBelow(size_t n) {
  size_t k = 1;
  while (k * 2 < n) {
    k *= 2;
  }
  return k;
}

// Root is MTH(D[begin:end]), end > begin.
std::string Root(const std::vector<std::string>& leaves, size_t begin, size_t end) {
  if (end - begin == 1) {
    return MerkleLeafHash(leaves[begin]);
  }
  size_t k = LargestPowerOfTwoBelow(end - begin);
  return MerkleNodeHash(Root(leaves, begin, begin + k), Root(leaves, begin + k, end));
}

void Path(const std::vector<std::string>& leaves, size_t m, size_t begin, size_t end,
          std::vector<std::string>* out) {
  if (end - begin <= 1) {
    return;
  }
  size_t k = LargestPowerOfTwoBelow(end - begin);
  if (m < k) {
    Path(leaves, m, begin, begin + k, out);
    out->push_back(Root(leaves, begin + k, end));
  } else {
    Path(leaves, m - k, begin + k, end, out);
    out->push_back(Root(leaves, begin, begin + k));
  }
}

}  // namespace

std::string MerkleLeafHash(absl::string_view data) { return Sha256(kLeafPrefix, data); }

std::string MerkleNodeHash(absl::string_view left, absl::string_view right) {
  return Sha256(kNodePrefix, left, right);
}

std::string MerkleRoot(const std::vector<std::string>& leaves) {
  if (leaves.empty()) {
    return Sha256("");
  }
  return Root(leaves, 0, leaves.size());
}

std::vector<std::string> MerklePath(const std::vector<std::string>& leaves, size_t index) {
  std::vector<std::string> out;
  if (index < leaves.size()) {
    Path(leaves, index, 0, leaves.size(), &out);
  }
  return out;
}

std::string MerkleRootAndPaths(const std::vector<absl::string_view>& leaves,
                               std::vector<std::vector<std::string>>* paths) {
  paths->assign(leaves.size(), {});
  if (leaves.empty()) {
    return Sha256("");
  }
  std::vector<std::string> level;
  level.reserve(leaves.size());
  for (absl::string_view leaf : leaves) {
    level.push_back(MerkleLeafHash(leaf));
  }
  // position[i]: leaf i's node on the current level.
  std::vector<size_t> position(leaves.size());
  for (size_t i = 0; i < position.size(); ++i) {
    position[i] = i;
  }
  while (level.size() > 1) {
    for (size_t i = 0; i < position.size(); ++i) {
      size_t sibling = position[i] ^ 1;
      if (sibling < level.size()) {
        (*paths)[i].push_back(level[sibling]);
      }
      position[i] /= 2;
    }
    std::vector<std::string> up;
    up.reserve((level.size() + 1) / 2);
    for (size_t j = 0; j + 1 < level.size(); j += 2) {
      up.push_back(MerkleNodeHash(level[j], level[j + 1]));
    }
    if (level.size() % 2 == 1) {
      up.push_back(std::move(level.back()));
    }
    level = std::move(up);
  }
  return level[0];
}

absl::Status VerifyMerklePath(absl::string_view leaf, uint64_t index, uint64_t size,
                              const std::vector<std::string>& path, absl::string_view root) {
  if (index >= size) {
    return absl::DataLossError(
        absl::StrCat("Merkle proof: leaf index ", index, " is outside a tree of ", size));
  }
  uint64_t fn = index;
  uint64_t sn = size - 1;
  std::string r = MerkleLeafHash(leaf);
  for (const std::string& p : path) {
    if (p.size() != kMerkleHashSize) {
      return absl::DataLossError("Merkle proof: a path element is not a SHA-256 hash");
    }
    if (sn == 0) {
      return absl::DataLossError("Merkle proof: the path is longer than the tree is deep");
    }
    if ((fn & 1) != 0 || fn == sn) {
      r = MerkleNodeHash(p, r);
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      r = MerkleNodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) {
    return absl::DataLossError("Merkle proof: the path is shorter than the tree is deep");
  }
  if (r != root) {
    return absl::DataLossError("Merkle proof: the path does not lead to the root");
  }
  return absl::OkStatus();
}

}  // namespace axis::ss
