#include "audit/merkle.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <bit>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "audit_test_util.h"

namespace moat::audit {
namespace {

constexpr uint64_t kMaxExhaustiveSize = 64;

// Proof cases, one JSON file each: leafIdx, treeSize, root and leafHash for
// inclusion, or size1, size2, root1 and root2 for consistency, plus proof
// (base64 hashes or null), desc and wantErr.
std::filesystem::path VectorsDir() {
  return std::filesystem::path(MOAT_SHARED_DIR) / "vectors" / "rfc6962-merkle";
}

std::vector<std::filesystem::path> CaseFiles(const std::string& kind) {
  std::vector<std::filesystem::path> files;
  std::filesystem::path folder = VectorsDir() / kind;
  if (!std::filesystem::is_directory(folder)) return files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(folder)) {
    if (entry.is_regular_file() && entry.path().extension() == ".json") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// A vector case after decoding. A field that is not a 32-byte hash leaves
// `malformed` set, since Moat's verifiers take only well-formed hashes.
struct DecodedCase {
  rapidjson::Document json;
  std::optional<Status> malformed;
  std::vector<MerkleHash> proof;

  MerkleHash Hash(const char* field) {
    StatusOr<MerkleHash> hash = DecodeHash(json[field]);
    if (!hash.ok()) {
      malformed = Status(hash.status().code(), std::string(field) + ": " + hash.status().message());
      return {};
    }
    return *hash;
  }
  uint64_t Number(const char* field) const { return json[field].GetUint64(); }
  bool want_error() const { return json["wantErr"].GetBool(); }

  static StatusOr<MerkleHash> DecodeHash(const rapidjson::Value& value) {
    if (!value.IsString()) return InvalidArgumentError("not a base64 string");
    StatusOr<std::string> bytes = Base64Decode(std::string_view(value.GetString(), value.GetStringLength()));
    if (!bytes.ok()) return bytes.status();
    return MerkleHashFromBytes(AsBytes(*bytes));
  }
};

DecodedCase ReadCase(const std::filesystem::path& file) {
  DecodedCase decoded;
  std::string text = testing::ReadAll(file.string());
  decoded.json.Parse(text.data(), text.size());
  EXPECT_FALSE(decoded.json.HasParseError()) << file;
  const rapidjson::Value& proof = decoded.json["proof"];
  if (proof.IsArray()) {
    for (const rapidjson::Value& node : proof.GetArray()) {
      StatusOr<MerkleHash> hash = DecodedCase::DecodeHash(node);
      if (hash.ok()) {
        decoded.proof.push_back(*hash);
      } else {
        decoded.malformed = Status(hash.status().code(), "proof: " + hash.status().message());
      }
    }
  }
  return decoded;
}

// The vectors accept one case whose two equal "roots" are 12 bytes long.
// Moat rejects it, because no SHA-256 tree has such a root.
const char kShortRootsAccepted[] = "sizes-are-equal-one-and-proof-is-empty.json";

// Runs `verify` on every case under `kind` and checks its outcome against
// wantErr. A case with a malformed hash counts as rejected, whatever `verify`
// returns for the zero hash put in its place.
void RunVectorCases(const std::string& kind, const std::function<Status(DecodedCase&)>& verify) {
  std::vector<std::filesystem::path> files = CaseFiles(kind);
  ASSERT_FALSE(files.empty()) << "no cases under " << VectorsDir() / kind;
  int accepted = 0;
  int rejected = 0;
  for (const auto& file : files) {
    DecodedCase decoded = ReadCase(file);
    Status result = verify(decoded);
    SCOPED_TRACE(file.string() + ": " + decoded.json["desc"].GetString());
    if (decoded.malformed.has_value()) {
      EXPECT_TRUE(decoded.want_error() || file.filename() == kShortRootsAccepted)
          << decoded.malformed->message();
      ++rejected;
    } else if (decoded.want_error()) {
      EXPECT_FALSE(result.ok());
      ++rejected;
    } else {
      EXPECT_TRUE(result.ok()) << result.ToString();
      ++accepted;
    }
  }
  EXPECT_GT(accepted, 0);
  EXPECT_GT(rejected, 0);
}

// A checkout without the shared vectors folder skips the vector tests with
// the path it looked at; configure with -DMOAT_SHARED_DIR=PATH to point at it.
#define MOAT_REQUIRE_VECTORS()                                                                           \
  if (!std::filesystem::is_directory(VectorsDir())) {                                                     \
    GTEST_SKIP() << "RFC 6962 test vectors not found at " << VectorsDir()                                 \
                 << "; configure with -DMOAT_SHARED_DIR=PATH to the folder that contains vectors/";       \
  }

TEST(MerkleVectors, InclusionCases) {
  MOAT_REQUIRE_VECTORS();
  RunVectorCases("inclusion", [](DecodedCase& decoded) {
    MerkleHash leaf_hash = decoded.Hash("leafHash");
    MerkleHash root = decoded.Hash("root");
    return VerifyInclusion(leaf_hash, decoded.Number("leafIdx"), decoded.Number("treeSize"), decoded.proof,
                           root);
  });
}

TEST(MerkleVectors, ConsistencyCases) {
  MOAT_REQUIRE_VECTORS();
  RunVectorCases("consistency", [](DecodedCase& decoded) {
    MerkleHash root1 = decoded.Hash("root1");
    MerkleHash root2 = decoded.Hash("root2");
    return VerifyConsistency(decoded.Number("size1"), decoded.Number("size2"), decoded.proof, root1, root2);
  });
}

// Reference definitions written straight from the recursive formulas in
// merkle.h, over the leaf hashes d[begin:end].
uint64_t LargestPowerOfTwoBelow(uint64_t n) {
  uint64_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

MerkleHash NaiveRoot(const std::vector<MerkleHash>& d, uint64_t begin, uint64_t end) {
  if (end == begin) return EmptyTreeRoot();
  if (end - begin == 1) return d[begin];
  uint64_t k = LargestPowerOfTwoBelow(end - begin);
  return NodeHash(NaiveRoot(d, begin, begin + k), NaiveRoot(d, begin + k, end));
}

std::vector<MerkleHash> NaivePath(const std::vector<MerkleHash>& d, uint64_t m, uint64_t begin,
                                  uint64_t end) {
  if (end - begin == 1) return {};
  uint64_t k = LargestPowerOfTwoBelow(end - begin);
  std::vector<MerkleHash> path;
  if (m < k) {
    path = NaivePath(d, m, begin, begin + k);
    path.push_back(NaiveRoot(d, begin + k, end));
  } else {
    path = NaivePath(d, m - k, begin + k, end);
    path.push_back(NaiveRoot(d, begin, begin + k));
  }
  return path;
}

std::vector<MerkleHash> NaiveSubproof(const std::vector<MerkleHash>& d, uint64_t m, uint64_t begin,
                                      uint64_t end, bool whole) {
  uint64_t n = end - begin;
  if (m == n) return whole ? std::vector<MerkleHash>{} : std::vector<MerkleHash>{NaiveRoot(d, begin, end)};
  uint64_t k = LargestPowerOfTwoBelow(n);
  std::vector<MerkleHash> proof;
  if (m <= k) {
    proof = NaiveSubproof(d, m, begin, begin + k, whole);
    proof.push_back(NaiveRoot(d, begin + k, end));
  } else {
    proof = NaiveSubproof(d, m - k, begin + k, end, false);
    proof.push_back(NaiveRoot(d, begin, begin + k));
  }
  return proof;
}

std::vector<MerkleHash> TestLeaves(uint64_t count) {
  std::vector<MerkleHash> leaves;
  for (uint64_t i = 0; i < count; ++i) leaves.push_back(LeafHash("leaf " + std::to_string(i)));
  return leaves;
}

MerkleTree TreeOf(const std::vector<MerkleHash>& leaves) {
  MerkleTree tree;
  for (const MerkleHash& leaf : leaves) tree.Append(leaf);
  return tree;
}

MerkleHash Flipped(MerkleHash hash) {
  hash[7] ^= 0x10;
  return hash;
}

TEST(MerkleHashing, KnownAnswers) {
  EXPECT_EQ(HexEncode(EmptyTreeRoot()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(HexEncode(LeafHash("")), "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
  std::string node_input(1, '\x01');
  node_input += std::string(32, 'a') + std::string(32, 'b');
  MerkleHash left;
  MerkleHash right;
  left.fill('a');
  right.fill('b');
  EXPECT_EQ(NodeHash(left, right), Sha256Of(node_input));
}

TEST(MerkleHashing, HashFromBytesChecksLength) {
  std::vector<uint8_t> bytes(32, 7);
  StatusOr<MerkleHash> hash = MerkleHashFromBytes(bytes);
  ASSERT_TRUE(hash.ok());
  EXPECT_EQ((*hash)[31], 7);
  bytes.pop_back();
  StatusOr<MerkleHash> short_hash = MerkleHashFromBytes(bytes);
  ASSERT_FALSE(short_hash.ok());
  EXPECT_EQ(short_hash.status().message(), "a Merkle hash has 32 bytes, got 31");
}

TEST(MerkleFrontier, RootMatchesNaiveAtEverySize) {
  std::vector<MerkleHash> leaves = TestLeaves(kMaxExhaustiveSize);
  MerkleFrontier frontier;
  EXPECT_EQ(frontier.Root(), EmptyTreeRoot());
  for (uint64_t n = 1; n <= kMaxExhaustiveSize; ++n) {
    frontier.Append(leaves[n - 1]);
    EXPECT_EQ(frontier.size(), n);
    EXPECT_EQ(frontier.subtree_roots().size(), static_cast<size_t>(std::popcount(n))) << "size " << n;
    EXPECT_EQ(frontier.Root(), NaiveRoot(leaves, 0, n)) << "size " << n;
  }
}

TEST(MerkleFrontier, RestoreResumesAppending) {
  std::vector<MerkleHash> leaves = TestLeaves(13);
  MerkleFrontier first;
  for (uint64_t i = 0; i < 6; ++i) first.Append(leaves[i]);

  StatusOr<MerkleFrontier> restored = MerkleFrontier::Restore(first.size(), first.subtree_roots());
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  for (uint64_t i = 6; i < leaves.size(); ++i) restored->Append(leaves[i]);
  EXPECT_EQ(restored->size(), 13u);
  EXPECT_EQ(restored->Root(), NaiveRoot(leaves, 0, 13));

  StatusOr<MerkleFrontier> wrong = MerkleFrontier::Restore(7, first.subtree_roots());
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().message(), "a Merkle frontier of size 7 needs 3 hashes, got 2");
}

TEST(MerkleTree, RootMatchesNaiveAtEverySize) {
  std::vector<MerkleHash> leaves = TestLeaves(kMaxExhaustiveSize);
  MerkleTree tree = TreeOf(leaves);
  ASSERT_EQ(tree.size(), kMaxExhaustiveSize);
  for (uint64_t n = 0; n <= kMaxExhaustiveSize; ++n) {
    StatusOr<MerkleHash> root = tree.Root(n);
    ASSERT_TRUE(root.ok()) << root.status().ToString();
    EXPECT_EQ(*root, NaiveRoot(leaves, 0, n)) << "size " << n;
  }
  EXPECT_EQ(tree.Root(kMaxExhaustiveSize + 1).status().code(), StatusCode::kOutOfRange);
}

TEST(MerkleTree, InclusionProofsVerifyUpTo64) {
  std::vector<MerkleHash> leaves = TestLeaves(kMaxExhaustiveSize);
  MerkleTree tree = TreeOf(leaves);
  for (uint64_t size = 1; size <= kMaxExhaustiveSize; ++size) {
    MerkleHash root = NaiveRoot(leaves, 0, size);
    for (uint64_t index = 0; index < size; ++index) {
      SCOPED_TRACE("index " + std::to_string(index) + ", size " + std::to_string(size));
      StatusOr<std::vector<MerkleHash>> proof = tree.InclusionProof(index, size);
      ASSERT_TRUE(proof.ok()) << proof.status().ToString();
      EXPECT_EQ(*proof, NaivePath(leaves, index, 0, size));
      EXPECT_TRUE(VerifyInclusion(leaves[index], index, size, *proof, root).ok());

      EXPECT_FALSE(VerifyInclusion(Flipped(leaves[index]), index, size, *proof, root).ok());
      EXPECT_FALSE(VerifyInclusion(leaves[index], index, size, *proof, Flipped(root)).ok());
      for (size_t i = 0; i < proof->size(); ++i) {
        std::vector<MerkleHash> tampered = *proof;
        tampered[i] = Flipped(tampered[i]);
        EXPECT_FALSE(VerifyInclusion(leaves[index], index, size, tampered, root).ok()) << "node " << i;
      }
      if (index + 1 < size) {
        EXPECT_FALSE(VerifyInclusion(leaves[index], index + 1, size, *proof, root).ok());
      }
    }
  }
}

TEST(MerkleTree, ConsistencyProofsVerifyUpTo64) {
  std::vector<MerkleHash> leaves = TestLeaves(kMaxExhaustiveSize);
  MerkleTree tree = TreeOf(leaves);
  for (uint64_t size2 = 1; size2 <= kMaxExhaustiveSize; ++size2) {
    MerkleHash root2 = NaiveRoot(leaves, 0, size2);
    for (uint64_t size1 = 1; size1 <= size2; ++size1) {
      SCOPED_TRACE("size1 " + std::to_string(size1) + ", size2 " + std::to_string(size2));
      MerkleHash root1 = NaiveRoot(leaves, 0, size1);
      StatusOr<std::vector<MerkleHash>> proof = tree.ConsistencyProof(size1, size2);
      ASSERT_TRUE(proof.ok()) << proof.status().ToString();
      EXPECT_EQ(*proof, NaiveSubproof(leaves, size1, 0, size2, true));
      Status verified = VerifyConsistency(size1, size2, *proof, root1, root2);
      EXPECT_TRUE(verified.ok()) << verified.ToString();

      EXPECT_FALSE(VerifyConsistency(size1, size2, *proof, Flipped(root1), root2).ok());
      EXPECT_FALSE(VerifyConsistency(size1, size2, *proof, root1, Flipped(root2)).ok());
      for (size_t i = 0; i < proof->size(); ++i) {
        std::vector<MerkleHash> tampered = *proof;
        tampered[i] = Flipped(tampered[i]);
        EXPECT_FALSE(VerifyConsistency(size1, size2, tampered, root1, root2).ok()) << "node " << i;
      }
    }
  }
}

TEST(MerkleTree, ProofRequestsOutOfRange) {
  MerkleTree tree = TreeOf(TestLeaves(5));
  EXPECT_EQ(tree.InclusionProof(0, 6).status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ(tree.InclusionProof(5, 5).status().message(), "leaf index 5 is beyond tree size 5");
  EXPECT_EQ(tree.ConsistencyProof(1, 6).status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ(tree.ConsistencyProof(0, 5).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(tree.ConsistencyProof(4, 3).status().message(), "size1 4 is greater than size2 3");
  EXPECT_EQ(MerkleTree().Root(0).value(), EmptyTreeRoot());
}

TEST(VerifyInclusion, NamesTheFailedCheck) {
  std::vector<MerkleHash> leaves = TestLeaves(6);
  MerkleTree tree = TreeOf(leaves);
  MerkleHash root = tree.Root(6).value();
  std::vector<MerkleHash> proof = tree.InclusionProof(2, 6).value();

  Status beyond = VerifyInclusion(leaves[2], 6, 6, proof, root);
  EXPECT_EQ(beyond.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(beyond.message(), "leaf index 6 is beyond tree size 6");

  std::vector<MerkleHash> longer = proof;
  longer.push_back(root);
  Status length = VerifyInclusion(leaves[2], 2, 6, longer, root);
  EXPECT_EQ(length.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(
      length.message(),
      "wrong inclusion proof length: got 4 hashes, but leaf index 2 in a tree of size 6 needs 3 hashes");

  Status mismatch = VerifyInclusion(leaves[3], 2, 6, proof, root);
  EXPECT_EQ(mismatch.code(), StatusCode::kDataLoss);
  EXPECT_EQ(mismatch.message().rfind("root mismatch: the inclusion proof leads to ", 0), 0u)
      << mismatch.message();
  EXPECT_NE(mismatch.message().find("but the expected root is " + HexEncode(root)), std::string::npos);

  Status empty_tree = VerifyInclusion(leaves[0], 0, 0, {}, EmptyTreeRoot());
  EXPECT_EQ(empty_tree.message(), "leaf index 0 is beyond tree size 0");
}

TEST(VerifyConsistency, NamesTheFailedCheck) {
  MerkleTree tree = TreeOf(TestLeaves(7));
  MerkleHash root3 = tree.Root(3).value();
  MerkleHash root7 = tree.Root(7).value();
  std::vector<MerkleHash> proof = tree.ConsistencyProof(3, 7).value();

  EXPECT_EQ(VerifyConsistency(0, 7, {}, EmptyTreeRoot(), root7).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(VerifyConsistency(7, 3, proof, root7, root3).message(), "size1 7 is greater than size2 3");
  EXPECT_EQ(VerifyConsistency(3, 7, {}, root3, root7).message(),
            "wrong consistency proof length: got 0 hashes, but sizes 3 and 7 need 4 hashes");
  EXPECT_EQ(VerifyConsistency(3, 3, proof, root3, root3).message(),
            "wrong consistency proof length: got 4 hashes, but sizes 3 and 3 need 0 hashes");

  Status equal_sizes = VerifyConsistency(7, 7, {}, root3, root7);
  EXPECT_EQ(equal_sizes.code(), StatusCode::kDataLoss);
  EXPECT_EQ(equal_sizes.message().rfind("root mismatch at equal tree sizes 7", 0), 0u)
      << equal_sizes.message();

  Status old_root = VerifyConsistency(3, 7, proof, Flipped(root3), root7);
  EXPECT_EQ(old_root.code(), StatusCode::kDataLoss);
  EXPECT_EQ(old_root.message().rfind("root1 mismatch", 0), 0u) << old_root.message();

  Status new_root = VerifyConsistency(3, 7, proof, root3, Flipped(root7));
  EXPECT_EQ(new_root.code(), StatusCode::kDataLoss);
  EXPECT_EQ(new_root.message().rfind("root2 mismatch", 0), 0u) << new_root.message();
}

}  // namespace
}  // namespace moat::audit
