#include "audit/checkpoint.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace moat::audit {
namespace {

MerkleTree TreeOf(uint64_t size) {
  MerkleTree tree;
  for (uint64_t i = 0; i < size; ++i) tree.Append(LeafHash("record " + std::to_string(i)));
  return tree;
}

class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StatusOr<bundle::PrivateKey> generated = bundle::PrivateKey::Generate();
    ASSERT_TRUE(generated.ok()) << generated.status().message();
    key_.emplace(std::move(*generated));
    tree_ = TreeOf(20);
  }

  // Signs the checkpoint of the first `size` records of tree_, linked to `previous`.
  Checkpoint Make(uint64_t size, int64_t time_ms, const Checkpoint* previous) {
    CheckpointFields fields;
    fields.log_id.fill(7);
    fields.tree_size = size;
    fields.root = *tree_.Root(size);
    fields.time_ms = time_ms;
    if (previous) fields.previous_hash = CheckpointHash(*previous);
    StatusOr<Checkpoint> signed_checkpoint = SignCheckpoint(fields, *key_);
    EXPECT_TRUE(signed_checkpoint.ok());
    return *signed_checkpoint;
  }

  std::optional<bundle::PrivateKey> key_;
  MerkleTree tree_;
};

TEST_F(CheckpointTest, RoundTripsThroughLine) {
  Checkpoint checkpoint = Make(5, 1'700'000'000'000, nullptr);
  std::string bytes = EncodeCheckpoint(checkpoint);
  ASSERT_EQ(bytes.size(), kCheckpointBytes);
  EXPECT_TRUE(bytes.starts_with("moat-checkpoint-v1\n"));
  StatusOr<Checkpoint> decoded = CheckpointFromLine(CheckpointToLine(checkpoint) + "\n");
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(EncodeCheckpoint(*decoded), bytes);
  EXPECT_EQ(decoded->fields.tree_size, 5u);
  EXPECT_EQ(decoded->fields.time_ms, 1'700'000'000'000);
  EXPECT_TRUE(VerifyCheckpoint(*decoded, key_->public_key()).ok());
}

TEST_F(CheckpointTest, RejectsEveryBitFlip) {
  std::string bytes = EncodeCheckpoint(Make(9, 1000, nullptr));
  for (size_t bit = 0; bit < bytes.size() * 8; ++bit) {
    std::string flipped = bytes;
    flipped[bit / 8] = static_cast<char>(flipped[bit / 8] ^ (1 << (bit % 8)));
    StatusOr<Checkpoint> decoded = DecodeCheckpoint(flipped);
    if (decoded.ok()) {
      EXPECT_FALSE(VerifyCheckpoint(*decoded, key_->public_key()).ok()) << "bit " << bit;
    }
  }
}

TEST_F(CheckpointTest, NamesMalformedEncodings) {
  std::string bytes = EncodeCheckpoint(Make(1, 0, nullptr));
  StatusOr<Checkpoint> short_input = DecodeCheckpoint(std::string_view(bytes).substr(1));
  EXPECT_EQ(short_input.status().message(), "checkpoint has 210 bytes, expected 211");
  bytes[0] = 'M';
  EXPECT_NE(DecodeCheckpoint(bytes).status().message().find("magic"), std::string::npos);
  EXPECT_EQ(CheckpointFromLine("not base64!").status().code(), StatusCode::kInvalidArgument);
}

TEST_F(CheckpointTest, RejectsWrongKeyAndSignature) {
  Checkpoint checkpoint = Make(3, 0, nullptr);
  StatusOr<bundle::PrivateKey> other = bundle::PrivateKey::Generate();
  ASSERT_TRUE(other.ok());
  Status wrong_key = VerifyCheckpoint(checkpoint, other->public_key());
  EXPECT_EQ(wrong_key.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(wrong_key.message().find("not by key " + other->key_id()), std::string::npos);
  checkpoint.signature[10] ^= 1;
  Status bad = VerifyCheckpoint(checkpoint, key_->public_key());
  EXPECT_EQ(bad.code(), StatusCode::kDataLoss);
  EXPECT_NE(bad.message().find("bad signature"), std::string::npos);
}

TEST_F(CheckpointTest, ChainAcceptsGrowingConsistentCheckpoints) {
  CheckpointChain chain;
  Checkpoint first = Make(3, 100, nullptr);
  Checkpoint second = Make(7, 200, &first);
  Checkpoint third = Make(7, 200, &second);
  Checkpoint fourth = Make(20, 300, &third);
  for (const Checkpoint* checkpoint : {&first, &second, &third, &fourth}) {
    Status status = chain.Append(*checkpoint, tree_);
    EXPECT_TRUE(status.ok()) << status.message();
  }
  EXPECT_EQ(chain.count(), 4u);
}

TEST_F(CheckpointTest, ChainRejectsEachBrokenRule) {
  Checkpoint first = Make(8, 1000, nullptr);
  auto append_after_first = [&](const Checkpoint& next) {
    CheckpointChain chain;
    EXPECT_TRUE(chain.Append(first, tree_).ok());
    Status status = chain.Append(next, tree_);
    EXPECT_EQ(chain.count(), 1u);
    return status.message();
  };
  EXPECT_NE(append_after_first(Make(9, 1000, nullptr)).find("previous hash"), std::string::npos);
  EXPECT_NE(append_after_first(Make(5, 1000, &first)).find("has size 5, smaller than the size 8"), std::string::npos);
  EXPECT_NE(append_after_first(Make(9, 750, &first)).find("250 ms earlier"), std::string::npos);

  Checkpoint other_log = Make(9, 1000, &first);
  other_log.fields.log_id.fill(8);
  EXPECT_NE(append_after_first(other_log).find("log id"), std::string::npos);

  Checkpoint forked = Make(8, 1000, &first);
  forked.fields.root = LeafHash("another history");
  EXPECT_EQ(append_after_first(forked), "two checkpoints of size 8 with different roots");

  Checkpoint not_first = Make(8, 1000, &first);
  EXPECT_NE(CheckpointChain().Append(not_first, tree_).message().find("first"), std::string::npos);
}

TEST_F(CheckpointTest, ChainRejectsInconsistentRoot) {
  CheckpointChain chain;
  Checkpoint first = Make(6, 0, nullptr);
  ASSERT_TRUE(chain.Append(first, tree_).ok());
  Checkpoint next = Make(10, 0, &first);
  next.fields.root = LeafHash("rewritten");
  Status status = chain.Append(next, tree_);
  EXPECT_EQ(status.code(), StatusCode::kDataLoss);
  EXPECT_NE(status.message().find("not consistent"), std::string::npos);
  // A proof of the wrong length is a caller error.
  std::vector<MerkleHash> no_proof;
  EXPECT_EQ(chain.Append(Make(10, 0, &first), no_proof).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(chain.Append(Make(10, 0, &first), *tree_.ConsistencyProof(6, 10)).ok());
}

TEST(CheckpointPolicyTest, EmitsByCountTimeOrRequest) {
  int64_t now_ms = 5000;
  CheckpointPolicy policy(10, 1000, [&] { return now_ms; });
  EXPECT_FALSE(policy.Due(9));
  EXPECT_TRUE(policy.Due(10));
  policy.MarkEmitted(10);

  EXPECT_FALSE(policy.Due(11));
  now_ms += 999;
  EXPECT_FALSE(policy.Due(11));
  now_ms += 1;
  EXPECT_TRUE(policy.Due(11));
  EXPECT_FALSE(policy.Due(10));  // time alone does not repeat an unchanged tree
  policy.MarkEmitted(11);

  EXPECT_FALSE(policy.Due(11));
  policy.Request();
  EXPECT_TRUE(policy.Due(11));
  policy.MarkEmitted(11);
  EXPECT_FALSE(policy.Due(11));
}

}  // namespace
}  // namespace moat::audit
