// Signed checkpoints of the audit log. A checkpoint commits to the Merkle
// root of the first tree_size records and links to the checkpoint before
// it, so a verifier holding a checkpoints file can detect a log that was
// rewritten, truncated or forked after signing.
//
// Encoding (211 bytes, integers little-endian). The first 147 bytes are the
// signed part:
//
//   offset  size  field
//        0    19  magic "moat-checkpoint-v1\n"
//       19    16  log id
//       35     8  tree size (uint64)
//       43    32  Merkle root of the first tree-size records (merkle.h)
//       75     8  time, Unix milliseconds (int64)
//       83    32  hash of the previous checkpoint, zero for the first
//      115    32  signer key id, the raw SHA-256 of the Ed25519 public key
//      147    64  Ed25519 signature of bytes [0, 147)
//
// The magic starts every signed message, so a checkpoint signature cannot be
// replayed as a signature of a bundle manifest or another format. The hash
// of a checkpoint is SHA-256 of all 211 bytes. A checkpoints file contains
// one checkpoint per line as standard base64 of the 211 bytes.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "audit/merkle.h"
#include "bundle/keys.h"
#include "common/status.h"

namespace moat::audit {

inline constexpr std::string_view kCheckpointMagic = "moat-checkpoint-v1\n";
inline constexpr size_t kCheckpointSignedBytes = 147;
inline constexpr size_t kCheckpointBytes = kCheckpointSignedBytes + bundle::kEd25519SignatureBytes;

using LogId = std::array<uint8_t, 16>;

// The fields a signer vouches for, apart from its own key id.
struct CheckpointFields {
  LogId log_id{};
  uint64_t tree_size = 0;
  MerkleHash root{};
  int64_t time_ms = 0;
  MerkleHash previous_hash{};
};

struct Checkpoint {
  CheckpointFields fields;
  Sha256Digest signer_key_id{};
  std::string signature;  // 64 bytes
};

// Returns the 147 signed bytes of the layout above.
std::string EncodeCheckpointSignedPart(const CheckpointFields& fields, const Sha256Digest& signer_key_id);
// Returns the 211 bytes. REQUIRES: checkpoint.signature has 64 bytes.
std::string EncodeCheckpoint(const Checkpoint& checkpoint);
// Parses the 211 bytes. Errors: INVALID_ARGUMENT naming the length or the
// field that is wrong. The signature is not checked here.
StatusOr<Checkpoint> DecodeCheckpoint(std::string_view bytes);

// Returns the base64 line, without a newline.
std::string CheckpointToLine(const Checkpoint& checkpoint);
// Parses one line of a checkpoints file. A trailing "\n" or "\r\n" is
// accepted. Errors: INVALID_ARGUMENT as for DecodeCheckpoint, or for bad base64.
StatusOr<Checkpoint> CheckpointFromLine(std::string_view line);

// Returns SHA-256 of the encoded checkpoint, the value the next checkpoint
// stores as previous_hash.
MerkleHash CheckpointHash(const Checkpoint& checkpoint);

// Signs `fields` with `key`. Errors: those of PrivateKey::Sign.
StatusOr<Checkpoint> SignCheckpoint(const CheckpointFields& fields, const bundle::PrivateKey& key);
// Checks that `key` signed `checkpoint`. Errors: PERMISSION_DENIED if the
// signer key id is not the id of `key`, and DATA_LOSS if the signature is wrong.
Status VerifyCheckpoint(const Checkpoint& checkpoint, const bundle::PublicKey& key);

// Verifies a sequence of checkpoints of one log, one at a time, in order.
// It checks links, sizes, times and consistency but not signatures, so call
// VerifyCheckpoint on each checkpoint first. Not thread-safe.
class CheckpointChain {
 public:
  // Accepts `checkpoint` as the next one. For the first checkpoint the
  // previous hash must be zero and `consistency_proof` is ignored. Otherwise
  // `consistency_proof` must be PROOF(last size, new size), empty when the
  // sizes are equal or the last size is 0. Errors: DATA_LOSS for a wrong
  // log id or previous hash, a smaller size, an earlier time, two different
  // roots for one size or a failed proof; INVALID_ARGUMENT for a proof of
  // the wrong length. The chain is unchanged after an error.
  Status Append(const Checkpoint& checkpoint, std::span<const MerkleHash> consistency_proof);
  // Same, with the proof computed from `tree`, which must contain at least
  // checkpoint.fields.tree_size leaves. The roots are still compared with
  // the checkpoints, not taken from `tree`.
  Status Append(const Checkpoint& checkpoint, const MerkleTree& tree);

  // The last accepted checkpoint, if any.
  const std::optional<Checkpoint>& last() const { return last_; }
  uint64_t count() const { return count_; }

 private:
  std::optional<Checkpoint> last_;
  MerkleHash last_hash_{};
  uint64_t count_ = 0;
};

// Decides when a writer should emit a checkpoint: after `every_records` new
// records or `every_ms` milliseconds since the last checkpoint, whichever
// comes first, and whenever one was requested (as at clean shutdown). The
// time rule fires only if records were appended since the last checkpoint,
// so an idle log does not collect identical checkpoints. A limit of 0
// disables that rule. Uses the injected clock only; it starts no threads.
// Not thread-safe.
class CheckpointPolicy {
 public:
  using Clock = std::function<int64_t()>;  // Unix milliseconds

  CheckpointPolicy(uint64_t every_records, int64_t every_ms, Clock clock);

  // True when a checkpoint of a tree with `tree_size` records is due.
  bool Due(uint64_t tree_size) const;
  // Makes the next Due call return true, even without new records.
  void Request() { requested_ = true; }
  // Records that a checkpoint of `tree_size` records was emitted now.
  void MarkEmitted(uint64_t tree_size);

 private:
  uint64_t every_records_;
  int64_t every_ms_;
  Clock clock_;
  uint64_t last_size_ = 0;
  int64_t last_time_ms_;
  bool requested_ = false;
};

}  // namespace moat::audit
