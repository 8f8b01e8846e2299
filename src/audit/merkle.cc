#include "audit/merkle.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <string>
#include <utility>

namespace moat::audit {
namespace {

constexpr uint8_t kLeafPrefix = 0x00;
constexpr uint8_t kNodePrefix = 0x01;

// Largest power of two smaller than n. REQUIRES: n > 1.
uint64_t SplitPoint(uint64_t n) { return std::bit_floor(n - 1); }

std::string CountHashes(size_t count) { return std::to_string(count) + (count == 1 ? " hash" : " hashes"); }

// The walk up the tree that both RFC 9162 verifiers make: fn is the index
// of the current node in its level and sn that of the level's last node.
struct PathWalk {
  uint64_t fn;
  uint64_t sn;

  // Moves up one proof node and returns whether that node goes on the left,
  // which is when the current node is a right child or the last of its level.
  // Levels where a last node that is a left child has no sibling are skipped.
  bool NextNodeIsLeft() {
    bool left = (fn & 1) == 1 || fn == sn;
    if (left) {
      while ((fn & 1) == 0 && fn != 0) Up();
    }
    Up();
    return left;
  }

  void Up() {
    fn >>= 1;
    sn >>= 1;
  }
};

// Returns value >> bits, or 0 for a shift by 64 or more, which C++ leaves
// undefined. The proof lengths below shift by up to 64.
uint64_t ShiftRight(uint64_t value, uint64_t bits) { return bits >= 64 ? 0 : value >> bits; }

// Counts the set bits of value, as an unsigned number.
uint64_t SetBits(uint64_t value) { return static_cast<uint64_t>(std::popcount(value)); }

size_t InclusionProofLength(uint64_t index, uint64_t tree_size) {
  uint64_t inner = std::bit_width(index ^ (tree_size - 1));
  return inner + SetBits(ShiftRight(index, inner));
}

// REQUIRES: 0 < size1 < size2, which also makes inner > shift.
size_t ConsistencyProofLength(uint64_t size1, uint64_t size2) {
  uint64_t inner = std::bit_width((size1 - 1) ^ (size2 - 1));
  uint64_t shift = static_cast<uint64_t>(std::countr_zero(size1));
  uint64_t border = SetBits(ShiftRight(size1 - 1, inner));
  uint64_t seed = std::has_single_bit(size1) ? 0 : 1;
  return inner - shift + border + seed;
}

}  // namespace

MerkleHash EmptyTreeRoot() { return Sha256Of(std::string_view()); }

MerkleHash LeafHash(std::span<const uint8_t> data) {
  Sha256 sha;
  sha.Update(std::span<const uint8_t>(&kLeafPrefix, 1));
  sha.Update(data);
  return sha.Finish();
}

MerkleHash LeafHash(std::string_view data) { return LeafHash(AsBytes(data)); }

MerkleHash NodeHash(const MerkleHash& left, const MerkleHash& right) {
  Sha256 sha;
  sha.Update(std::span<const uint8_t>(&kNodePrefix, 1));
  sha.Update(left);
  sha.Update(right);
  return sha.Finish();
}

StatusOr<MerkleHash> MerkleHashFromBytes(std::span<const uint8_t> bytes) {
  MerkleHash hash;
  if (bytes.size() != hash.size()) {
    return InvalidArgumentError("a Merkle hash has " + std::to_string(hash.size()) + " bytes, got " +
                                std::to_string(bytes.size()));
  }
  std::copy(bytes.begin(), bytes.end(), hash.begin());
  return hash;
}

StatusOr<MerkleFrontier> MerkleFrontier::Restore(uint64_t size, std::vector<MerkleHash> subtree_roots) {
  size_t expected = SetBits(size);
  if (subtree_roots.size() != expected) {
    return InvalidArgumentError("a Merkle frontier of size " + std::to_string(size) + " needs " +
                                CountHashes(expected) + ", got " + std::to_string(subtree_roots.size()));
  }
  MerkleFrontier frontier;
  frontier.size_ = size;
  frontier.subtree_roots_ = std::move(subtree_roots);
  return frontier;
}

void MerkleFrontier::Append(const MerkleHash& leaf_hash) {
  subtree_roots_.push_back(leaf_hash);
  ++size_;
  // Each trailing zero bit of the new size is a pair of equal perfect
  // subtrees at the end that now merge into one.
  for (uint64_t bits = size_; (bits & 1) == 0; bits >>= 1) {
    MerkleHash right = subtree_roots_.back();
    subtree_roots_.pop_back();
    subtree_roots_.back() = NodeHash(subtree_roots_.back(), right);
  }
}

MerkleHash MerkleFrontier::Root() const {
  if (subtree_roots_.empty()) return EmptyTreeRoot();
  MerkleHash root = subtree_roots_.back();
  for (size_t i = subtree_roots_.size() - 1; i-- > 0;) root = NodeHash(subtree_roots_[i], root);
  return root;
}

void MerkleTree::Append(const MerkleHash& leaf_hash) {
  if (levels_.empty()) levels_.emplace_back();
  levels_[0].push_back(leaf_hash);
  for (size_t level = 0; levels_[level].size() % 2 == 0; ++level) {
    if (level + 1 == levels_.size()) levels_.emplace_back();
    const std::vector<MerkleHash>& below = levels_[level];
    levels_[level + 1].push_back(NodeHash(below[below.size() - 2], below.back()));
  }
}

// MTH(D[begin:end]) for a range that the MTH recursion reaches from the
// root, so every perfect part starts at a multiple of its own size and is
// stored in levels_. REQUIRES: begin < end <= size().
MerkleHash MerkleTree::SubtreeRoot(uint64_t begin, uint64_t end) const {
  uint64_t count = end - begin;
  if (std::has_single_bit(count)) {
    int level = std::countr_zero(count);
    assert(begin % count == 0);
    return levels_[level][begin >> level];
  }
  uint64_t split = begin + SplitPoint(count);
  return NodeHash(SubtreeRoot(begin, split), SubtreeRoot(split, end));
}

StatusOr<MerkleHash> MerkleTree::Root(uint64_t tree_size) const {
  if (tree_size > size()) {
    return OutOfRangeError("tree size " + std::to_string(tree_size) + " is beyond the " +
                           std::to_string(size()) + " leaves stored");
  }
  if (tree_size == 0) return EmptyTreeRoot();
  return SubtreeRoot(0, tree_size);
}

// Appends PATH(index - begin, D[begin:end]).
void MerkleTree::AppendPath(uint64_t index, uint64_t begin, uint64_t end,
                            std::vector<MerkleHash>& proof) const {
  if (end - begin == 1) return;
  uint64_t split = begin + SplitPoint(end - begin);
  if (index < split) {
    AppendPath(index, begin, split, proof);
    proof.push_back(SubtreeRoot(split, end));
  } else {
    AppendPath(index, split, end, proof);
    proof.push_back(SubtreeRoot(begin, split));
  }
}

StatusOr<std::vector<MerkleHash>> MerkleTree::InclusionProof(uint64_t index, uint64_t tree_size) const {
  if (tree_size > size()) {
    return OutOfRangeError("tree size " + std::to_string(tree_size) + " is beyond the " +
                           std::to_string(size()) + " leaves stored");
  }
  if (index >= tree_size) {
    return InvalidArgumentError("leaf index " + std::to_string(index) + " is beyond tree size " +
                                std::to_string(tree_size));
  }
  std::vector<MerkleHash> proof;
  AppendPath(index, 0, tree_size, proof);
  return proof;
}

// Appends SUBPROOF(size1 - begin, D[begin:end], whole_first_tree).
void MerkleTree::AppendSubproof(uint64_t size1, uint64_t begin, uint64_t end, bool whole_first_tree,
                                std::vector<MerkleHash>& proof) const {
  if (size1 == end) {
    if (!whole_first_tree) proof.push_back(SubtreeRoot(begin, end));
    return;
  }
  uint64_t split = begin + SplitPoint(end - begin);
  if (size1 <= split) {
    AppendSubproof(size1, begin, split, whole_first_tree, proof);
    proof.push_back(SubtreeRoot(split, end));
  } else {
    AppendSubproof(size1, split, end, false, proof);
    proof.push_back(SubtreeRoot(begin, split));
  }
}

StatusOr<std::vector<MerkleHash>> MerkleTree::ConsistencyProof(uint64_t size1, uint64_t size2) const {
  if (size2 > size()) {
    return OutOfRangeError("tree size " + std::to_string(size2) + " is beyond the " + std::to_string(size()) +
                           " leaves stored");
  }
  if (size1 == 0) {
    return InvalidArgumentError("size1 must be at least 1, because every tree extends the empty tree");
  }
  if (size1 > size2) {
    return InvalidArgumentError("size1 " + std::to_string(size1) + " is greater than size2 " +
                                std::to_string(size2));
  }
  std::vector<MerkleHash> proof;
  AppendSubproof(size1, 0, size2, true, proof);
  return proof;
}

Status VerifyInclusion(const MerkleHash& leaf_hash, uint64_t index, uint64_t tree_size,
                       std::span<const MerkleHash> proof, const MerkleHash& root) {
  if (index >= tree_size) {
    return InvalidArgumentError("leaf index " + std::to_string(index) + " is beyond tree size " +
                                std::to_string(tree_size));
  }
  size_t expected_length = InclusionProofLength(index, tree_size);
  if (proof.size() != expected_length) {
    return InvalidArgumentError("wrong inclusion proof length: got " + CountHashes(proof.size()) +
                                ", but leaf index " + std::to_string(index) + " in a tree of size " +
                                std::to_string(tree_size) + " needs " + CountHashes(expected_length));
  }

  // RFC 9162 section 2.1.3.2, walking up from the leaf.
  PathWalk walk{index, tree_size - 1};
  MerkleHash computed = leaf_hash;
  for (const MerkleHash& sibling : proof) {
    computed = walk.NextNodeIsLeft() ? NodeHash(sibling, computed) : NodeHash(computed, sibling);
  }
  // The length check above fixes the number of levels, so the walk ends at the root.
  assert(walk.sn == 0);
  if (computed != root) {
    return DataLossError("root mismatch: the inclusion proof leads to " + HexEncode(computed) +
                         ", but the expected root is " + HexEncode(root));
  }
  return OkStatus();
}

Status VerifyConsistency(uint64_t size1, uint64_t size2, std::span<const MerkleHash> proof,
                         const MerkleHash& root1, const MerkleHash& root2) {
  if (size1 == 0) {
    return InvalidArgumentError("size1 must be at least 1, because every tree extends the empty tree");
  }
  if (size1 > size2) {
    return InvalidArgumentError("size1 " + std::to_string(size1) + " is greater than size2 " +
                                std::to_string(size2));
  }
  size_t expected_length = size1 == size2 ? 0 : ConsistencyProofLength(size1, size2);
  if (proof.size() != expected_length) {
    return InvalidArgumentError("wrong consistency proof length: got " + CountHashes(proof.size()) +
                                ", but sizes " + std::to_string(size1) + " and " + std::to_string(size2) +
                                " need " + CountHashes(expected_length));
  }
  if (size1 == size2) {
    if (root1 != root2) {
      return DataLossError("root mismatch at equal tree sizes " + std::to_string(size1) + ": root1 is " +
                           HexEncode(root1) + ", root2 is " + HexEncode(root2));
    }
    return OkStatus();
  }

  // RFC 9162 section 2.1.4.2. When size1 is a power of two, the old tree is
  // a perfect subtree of the new one and root1 is the first node.
  bool root1_is_first = std::has_single_bit(size1);
  MerkleHash first = root1_is_first ? root1 : proof[0];
  std::span<const MerkleHash> rest = root1_is_first ? proof : proof.subspan(1);
  PathWalk walk{size1 - 1, size2 - 1};
  // Start at the first node's level: below it, the old tree's last node is a right child.
  while ((walk.fn & 1) == 1) walk.Up();
  MerkleHash old_root = first;
  MerkleHash new_root = first;
  for (const MerkleHash& node : rest) {
    if (walk.NextNodeIsLeft()) {
      old_root = NodeHash(node, old_root);
      new_root = NodeHash(node, new_root);
    } else {
      new_root = NodeHash(new_root, node);
    }
  }
  assert(walk.sn == 0);
  if (old_root != root1) {
    return DataLossError("root1 mismatch: the consistency proof leads to " + HexEncode(old_root) +
                         " for size " + std::to_string(size1) + ", but root1 is " + HexEncode(root1));
  }
  if (new_root != root2) {
    return DataLossError("root2 mismatch: the consistency proof leads to " + HexEncode(new_root) +
                         " for size " + std::to_string(size2) + ", but root2 is " + HexEncode(root2));
  }
  return OkStatus();
}

}  // namespace moat::audit
