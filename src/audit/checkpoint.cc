#include "audit/checkpoint.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "common/crypto.h"

namespace moat::audit {
namespace {

constexpr size_t kLogIdOffset = 19;
constexpr size_t kTreeSizeOffset = 35;
constexpr size_t kRootOffset = 43;
constexpr size_t kTimeOffset = 75;
constexpr size_t kPreviousOffset = 83;
constexpr size_t kKeyIdOffset = 115;
static_assert(kCheckpointMagic.size() == kLogIdOffset);
static_assert(kKeyIdOffset + 32 == kCheckpointSignedBytes);

void AppendUint64(std::string& out, uint64_t value) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

uint64_t ReadUint64(std::string_view bytes, size_t offset) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | static_cast<uint8_t>(bytes[offset + i]);
  return value;
}

template <size_t N>
void AppendBytes(std::string& out, const std::array<uint8_t, N>& bytes) {
  out.append(reinterpret_cast<const char*>(bytes.data()), N);
}

template <size_t N>
std::array<uint8_t, N> ReadBytes(std::string_view bytes, size_t offset) {
  std::array<uint8_t, N> out;
  std::memcpy(out.data(), bytes.data() + offset, N);
  return out;
}

}  // namespace

std::string EncodeCheckpointSignedPart(const CheckpointFields& fields, const Sha256Digest& signer_key_id) {
  std::string out;
  out.reserve(kCheckpointBytes);
  out.append(kCheckpointMagic);
  AppendBytes(out, fields.log_id);
  AppendUint64(out, fields.tree_size);
  AppendBytes(out, fields.root);
  AppendUint64(out, static_cast<uint64_t>(fields.time_ms));
  AppendBytes(out, fields.previous_hash);
  AppendBytes(out, signer_key_id);
  return out;
}

std::string EncodeCheckpoint(const Checkpoint& checkpoint) {
  std::string out = EncodeCheckpointSignedPart(checkpoint.fields, checkpoint.signer_key_id);
  out.append(checkpoint.signature);
  return out;
}

StatusOr<Checkpoint> DecodeCheckpoint(std::string_view bytes) {
  if (bytes.size() != kCheckpointBytes) {
    return InvalidArgumentError("checkpoint has " + std::to_string(bytes.size()) + " bytes, expected " +
                                std::to_string(kCheckpointBytes));
  }
  if (bytes.substr(0, kCheckpointMagic.size()) != kCheckpointMagic) {
    return InvalidArgumentError("checkpoint magic is not \"moat-checkpoint-v1\\n\" (bytes 0 to 18)");
  }
  Checkpoint checkpoint;
  checkpoint.fields.log_id = ReadBytes<16>(bytes, kLogIdOffset);
  checkpoint.fields.tree_size = ReadUint64(bytes, kTreeSizeOffset);
  checkpoint.fields.root = ReadBytes<32>(bytes, kRootOffset);
  checkpoint.fields.time_ms = static_cast<int64_t>(ReadUint64(bytes, kTimeOffset));
  checkpoint.fields.previous_hash = ReadBytes<32>(bytes, kPreviousOffset);
  checkpoint.signer_key_id = ReadBytes<32>(bytes, kKeyIdOffset);
  checkpoint.signature = std::string(bytes.substr(kCheckpointSignedBytes));
  return checkpoint;
}

std::string CheckpointToLine(const Checkpoint& checkpoint) {
  std::string encoded = EncodeCheckpoint(checkpoint);
  return Base64Encode(std::span(reinterpret_cast<const uint8_t*>(encoded.data()), encoded.size()));
}

StatusOr<Checkpoint> CheckpointFromLine(std::string_view line) {
  if (line.ends_with('\n')) line.remove_suffix(1);
  if (line.ends_with('\r')) line.remove_suffix(1);
  StatusOr<std::string> bytes = Base64Decode(line);
  if (!bytes.ok()) return InvalidArgumentError("checkpoint line is not base64: " + bytes.status().message());
  return DecodeCheckpoint(*bytes);
}

MerkleHash CheckpointHash(const Checkpoint& checkpoint) { return Sha256Of(EncodeCheckpoint(checkpoint)); }

StatusOr<Checkpoint> SignCheckpoint(const CheckpointFields& fields, const bundle::PrivateKey& key) {
  MOAT_ASSIGN_OR_RETURN(std::string key_id, HexDecode(key.key_id()));
  Checkpoint checkpoint;
  checkpoint.fields = fields;
  std::memcpy(checkpoint.signer_key_id.data(), key_id.data(), checkpoint.signer_key_id.size());
  MOAT_ASSIGN_OR_RETURN(checkpoint.signature,
                        key.Sign(EncodeCheckpointSignedPart(fields, checkpoint.signer_key_id)));
  return checkpoint;
}

Status VerifyCheckpoint(const Checkpoint& checkpoint, const bundle::PublicKey& key) {
  std::string signer = HexEncode(checkpoint.signer_key_id);
  if (signer != key.key_id()) {
    return PermissionDeniedError("checkpoint of size " + std::to_string(checkpoint.fields.tree_size) +
                                 " is signed by key " + signer + ", not by key " + key.key_id());
  }
  if (checkpoint.signature.size() != bundle::kEd25519SignatureBytes ||
      !key.Verify(EncodeCheckpointSignedPart(checkpoint.fields, checkpoint.signer_key_id), checkpoint.signature)) {
    return DataLossError("checkpoint of size " + std::to_string(checkpoint.fields.tree_size) +
                         " has a bad signature for key " + key.key_id());
  }
  return OkStatus();
}

Status CheckpointChain::Append(const Checkpoint& checkpoint, std::span<const MerkleHash> consistency_proof) {
  const CheckpointFields& next = checkpoint.fields;
  const std::string position = "checkpoint " + std::to_string(count_);
  if (!last_) {
    if (next.previous_hash != MerkleHash{}) {
      return DataLossError(position + " is the first but its previous hash is not zero");
    }
  } else {
    const CheckpointFields& previous = last_->fields;
    if (next.log_id != previous.log_id) {
      return DataLossError(position + " has log id " + HexEncode(next.log_id) + ", but the chain is of log " +
                           HexEncode(previous.log_id));
    }
    if (next.previous_hash != last_hash_) {
      return DataLossError(position + " has previous hash " + HexEncode(next.previous_hash) +
                           ", but the checkpoint before it hashes to " + HexEncode(last_hash_));
    }
    if (next.tree_size < previous.tree_size) {
      return DataLossError(position + " has size " + std::to_string(next.tree_size) +
                           ", smaller than the size " + std::to_string(previous.tree_size) + " before it");
    }
    if (next.time_ms < previous.time_ms) {
      // Subtracting as unsigned avoids overflow when the times are far apart.
      uint64_t earlier_by_ms = static_cast<uint64_t>(previous.time_ms) - static_cast<uint64_t>(next.time_ms);
      return DataLossError(position + " has a time " + std::to_string(earlier_by_ms) +
                           " ms earlier than the checkpoint before it");
    }
    if (next.tree_size == previous.tree_size && next.root != previous.root) {
      return DataLossError("two checkpoints of size " + std::to_string(next.tree_size) + " with different roots");
    }
    // Every tree extends the empty one, and VerifyConsistency rejects size 0.
    if (previous.tree_size > 0) {
      Status consistent =
          VerifyConsistency(previous.tree_size, next.tree_size, consistency_proof, previous.root, next.root);
      if (!consistent.ok()) {
        return Status(consistent.code(), position + " is not consistent with the checkpoint before it: " +
                                             consistent.message());
      }
    }
  }
  last_hash_ = CheckpointHash(checkpoint);
  last_ = checkpoint;
  ++count_;
  return OkStatus();
}

Status CheckpointChain::Append(const Checkpoint& checkpoint, const MerkleTree& tree) {
  std::vector<MerkleHash> proof;
  if (last_ && last_->fields.tree_size > 0 && last_->fields.tree_size <= checkpoint.fields.tree_size) {
    MOAT_ASSIGN_OR_RETURN(proof, tree.ConsistencyProof(last_->fields.tree_size, checkpoint.fields.tree_size));
  }
  return Append(checkpoint, proof);
}

CheckpointPolicy::CheckpointPolicy(uint64_t every_records, int64_t every_ms, Clock clock)
    : every_records_(every_records), every_ms_(every_ms), clock_(std::move(clock)), last_time_ms_(clock_()) {}

bool CheckpointPolicy::Due(uint64_t tree_size) const {
  if (requested_) return true;
  if (tree_size <= last_size_) return false;
  if (every_records_ > 0 && tree_size - last_size_ >= every_records_) return true;
  return every_ms_ > 0 && clock_() - last_time_ms_ >= every_ms_;
}

void CheckpointPolicy::MarkEmitted(uint64_t tree_size) {
  last_size_ = tree_size;
  last_time_ms_ = clock_();
  requested_ = false;
}

}  // namespace moat::audit
