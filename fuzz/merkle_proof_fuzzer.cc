// Feeds arbitrary bytes to both Merkle proof verifiers. The input is a
// (8 bytes, little-endian), b (8 bytes), hash A (32 bytes), hash B (32 bytes)
// and then the proof as 32-byte hashes. Short inputs are padded with zero
// bytes, and a trailing partial hash is dropped. The calls are
// VerifyInclusion(A, a, b, proof, B) and VerifyConsistency(a, b, proof, A, B).
// Besides not crashing, an accepted proof must stop verifying when one of
// its hashes changes, and proofs that MerkleTree generates for small sizes
// derived from a and b must verify.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "audit/merkle.h"

namespace {

using moat::audit::MerkleHash;

constexpr size_t kHeaderBytes = 8 + 8 + 32 + 32;
constexpr uint64_t kMaxGeneratedSize = 40;

uint64_t ReadUint64(const uint8_t* bytes) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | bytes[i];
  return value;
}

MerkleHash ReadHash(const uint8_t* bytes) {
  MerkleHash hash;
  std::copy(bytes, bytes + hash.size(), hash.begin());
  return hash;
}

// Changes one bit of proof[0], so that an accepted proof must fail.
std::vector<MerkleHash> Tampered(std::span<const MerkleHash> proof) {
  std::vector<MerkleHash> changed(proof.begin(), proof.end());
  changed[0][0] ^= 1;
  return changed;
}

void CheckGeneratedProofs(uint64_t a, uint64_t b, const MerkleHash& seed) {
  uint64_t size = 1 + b % kMaxGeneratedSize;
  uint64_t index = a % size;
  moat::audit::MerkleTree tree;
  MerkleHash leaf = seed;
  for (uint64_t i = 0; i < size; ++i) {
    tree.Append(leaf);
    leaf = moat::audit::NodeHash(leaf, seed);
  }
  MerkleHash root = tree.Root(size).value();
  std::vector<MerkleHash> inclusion = tree.InclusionProof(index, size).value();
  if (!moat::audit::VerifyInclusion(tree.leaf_hash(index), index, size, inclusion, root).ok()) std::abort();

  uint64_t size1 = index + 1;
  std::vector<MerkleHash> consistency = tree.ConsistencyProof(size1, size).value();
  MerkleHash root1 = tree.Root(size1).value();
  if (!moat::audit::VerifyConsistency(size1, size, consistency, root1, root).ok()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> bytes(data, data + size);
  if (bytes.size() < kHeaderBytes) bytes.resize(kHeaderBytes, 0);
  uint64_t a = ReadUint64(bytes.data());
  uint64_t b = ReadUint64(bytes.data() + 8);
  MerkleHash hash_a = ReadHash(bytes.data() + 16);
  MerkleHash hash_b = ReadHash(bytes.data() + 48);
  std::vector<MerkleHash> proof;
  for (size_t offset = kHeaderBytes; offset + 32 <= bytes.size(); offset += 32) {
    proof.push_back(ReadHash(bytes.data() + offset));
  }

  if (moat::audit::VerifyInclusion(hash_a, a, b, proof, hash_b).ok() && !proof.empty() &&
      moat::audit::VerifyInclusion(hash_a, a, b, Tampered(proof), hash_b).ok()) {
    std::abort();
  }
  if (moat::audit::VerifyConsistency(a, b, proof, hash_a, hash_b).ok() && !proof.empty() &&
      moat::audit::VerifyConsistency(a, b, Tampered(proof), hash_a, hash_b).ok()) {
    std::abort();
  }
  CheckGeneratedProofs(a, b, hash_a);
  return 0;
}
