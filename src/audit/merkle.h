// Merkle tree hashing and proofs for the audit log, as defined in RFC 6962
// section 2.1 and its successor RFC 9162 section 2.1, with SHA-256.
//
// Definitions, for a list D[n] = d(0), ..., d(n-1) of n leaf entries, where
// D[a:b] is the sublist d(a), ..., d(b-1) and "||" is concatenation:
//
//   LeafHash(d)      = SHA-256(0x00 || d)
//   NodeHash(l, r)   = SHA-256(0x01 || l || r), where l and r are 32-byte hashes
//   MTH({})          = SHA-256(""), the root of the empty tree
//   MTH({d(0)})      = LeafHash(d(0))
//   MTH(D[n]), n > 1 = NodeHash(MTH(D[0:k]), MTH(D[k:n])), where k is the
//                      largest power of two smaller than n
//
// The 0x00 and 0x01 prefixes keep a leaf from being passed off as an inner
// node. A tree of n leaves is thus split into perfect subtrees whose sizes
// are the set bits of n, largest and leftmost first.
//
// Inclusion proof (audit path) of leaf m in a tree of n leaves, 0 <= m < n:
//
//   PATH(0, {d(0)}) = {}
//   PATH(m, D[n])   = PATH(m, D[0:k]) : MTH(D[k:n])       if m < k
//   PATH(m, D[n])   = PATH(m - k, D[k:n]) : MTH(D[0:k])   if m >= k
//
// where ":" appends. The proof therefore lists the sibling hashes from the
// leaf up to the root, deepest first. Its length is
// bit_width(m XOR (n - 1)) + popcount(m >> bit_width(m XOR (n - 1))).
//
// Consistency proof between tree sizes m and n, 0 < m <= n:
//
//   PROOF(m, D[n])                = SUBPROOF(m, D[n], true)
//   SUBPROOF(m, D[m], true)       = {}
//   SUBPROOF(m, D[m], false)      = {MTH(D[m])}
//   SUBPROOF(m, D[n], b), m < n   = SUBPROOF(m, D[0:k], b) : MTH(D[k:n])         if m <= k
//                                 = SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])  if m > k
//
// The proof is empty when m == n. Moat rejects m == 0: every tree extends
// the empty tree, so such a proof would show nothing. For 0 < m < n, with
// inner = bit_width((m - 1) XOR (n - 1)), the proof length is
// inner - countr_zero(m) + popcount((m - 1) >> inner), plus one unless m is
// a power of two (then root(m) itself is the first node and is not sent).
//
// Hashes travel as 32 raw bytes here; encodings (hex, base64) belong to the
// formats that carry them.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "common/crypto.h"
#include "common/status.h"

namespace moat::audit {

using MerkleHash = Sha256Digest;

MerkleHash EmptyTreeRoot();
MerkleHash LeafHash(std::span<const uint8_t> data);
MerkleHash LeafHash(std::string_view data);
MerkleHash NodeHash(const MerkleHash& left, const MerkleHash& right);

// Converts raw bytes to a hash. Errors: INVALID_ARGUMENT unless `bytes` has
// exactly 32 bytes.
StatusOr<MerkleHash> MerkleHashFromBytes(std::span<const uint8_t> bytes);

// Root of a growing tree in O(log n) memory: it keeps only the roots of the
// perfect subtrees that make up the current size (the compact range of
// [0, size)). Use it where the leaves are not kept, e.g. while writing.
// Not thread-safe.
class MerkleFrontier {
 public:
  MerkleFrontier() = default;
  // Restores a frontier saved as size() and subtree_roots(), e.g. at the
  // end of a segment, so that appending can resume without the old leaves.
  // Errors: INVALID_ARGUMENT unless there is one root per set bit of `size`.
  static StatusOr<MerkleFrontier> Restore(uint64_t size, std::vector<MerkleHash> subtree_roots);

  void Append(const MerkleHash& leaf_hash);
  uint64_t size() const { return size_; }
  // Computes MTH of the leaves appended so far, which is EmptyTreeRoot()
  // before the first. Costs popcount(size) - 1 hashes.
  MerkleHash Root() const;
  // Roots of the perfect subtrees, largest (leftmost) first. Entry i covers
  // 2^j leaves, where j is the i-th set bit of size() counting from the top.
  const std::vector<MerkleHash>& subtree_roots() const { return subtree_roots_; }

 private:
  uint64_t size_ = 0;
  std::vector<MerkleHash> subtree_roots_;
};

// A tree that keeps every leaf hash and the roots of all complete perfect
// subtrees (about 2n hashes for n leaves), so that roots and proofs for any
// earlier size cost O(log^2 n) hashes and never rehash the leaves.
// Not thread-safe, but const methods may run concurrently.
// NOTE: all of it stays in memory, at least 64 bytes per leaf, so 10^8
// records need over 6.4 GB. A large log needs these levels read from disk.
class MerkleTree {
 public:
  void Append(const MerkleHash& leaf_hash);
  uint64_t size() const { return levels_.empty() ? 0 : levels_[0].size(); }
  // REQUIRES: index < size().
  const MerkleHash& leaf_hash(uint64_t index) const { return levels_[0][index]; }

  // Computes MTH(D[0:tree_size]). Errors: OUT_OF_RANGE if tree_size > size().
  StatusOr<MerkleHash> Root(uint64_t tree_size) const;

  // Builds PATH(index, D[0:tree_size]), deepest sibling first. Errors:
  // OUT_OF_RANGE if tree_size > size(); INVALID_ARGUMENT if index >= tree_size.
  StatusOr<std::vector<MerkleHash>> InclusionProof(uint64_t index, uint64_t tree_size) const;

  // Builds PROOF(size1, D[0:size2]). Errors: OUT_OF_RANGE if size2 > size();
  // INVALID_ARGUMENT if size1 == 0 or size1 > size2.
  StatusOr<std::vector<MerkleHash>> ConsistencyProof(uint64_t size1, uint64_t size2) const;

 private:
  MerkleHash SubtreeRoot(uint64_t begin, uint64_t end) const;
  void AppendPath(uint64_t index, uint64_t begin, uint64_t end, std::vector<MerkleHash>& proof) const;
  void AppendSubproof(uint64_t size1, uint64_t begin, uint64_t end, bool whole_first_tree,
                      std::vector<MerkleHash>& proof) const;

  // levels_[j][i] is the root of the perfect subtree of 2^j leaves that
  // starts at leaf i * 2^j, so levels_[0] contains the leaf hashes.
  std::vector<std::vector<MerkleHash>> levels_;
};

// Checks that `proof` shows the leaf with hash `leaf_hash` at `index` in the
// tree of `tree_size` leaves whose root is `root` (RFC 9162 section 2.1.3.2).
// Errors, checked in this order: INVALID_ARGUMENT if index >= tree_size or
// the proof does not have the length that index and tree_size fix;
// DATA_LOSS if the proof does not lead to `root`. Messages name the values.
Status VerifyInclusion(const MerkleHash& leaf_hash, uint64_t index, uint64_t tree_size,
                       std::span<const MerkleHash> proof, const MerkleHash& root);

// Checks that the tree of size2 leaves with root `root2` extends the tree of
// size1 leaves with root `root1` (RFC 9162 section 2.1.4.2). Errors, checked
// in this order: INVALID_ARGUMENT if size1 == 0, size1 > size2, or the proof
// does not have the length that the sizes fix (none when size1 == size2);
// DATA_LOSS if the roots differ at equal sizes or the proof does not lead to
// root1 and root2.
Status VerifyConsistency(uint64_t size1, uint64_t size2, std::span<const MerkleHash> proof,
                         const MerkleHash& root1, const MerkleHash& root2);

}  // namespace moat::audit
