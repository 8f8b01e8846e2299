// Encryption at rest for audit record payloads: AES-256-GCM under data keys
// derived with HKDF-SHA-256 (RFC 5869) from operator-held master keys.
//
// Hash chains, Merkle trees and checkpoints cover the sealed bytes, so a
// holder of the node's public key can verify the log without any key here,
// and a holder of the master key file can also read the payloads.
//
// Data key derivation, for key id K, log id L and segment number S:
//   IKM  = the 32-byte master key named K
//   salt = the bytes of L (1 to 255 bytes)
//   info = ASCII "moat audit record v1" || 0x00 || uint8 len(K) || ASCII K
//          || uint64 big-endian S
//   data key = HKDF-SHA-256(IKM, salt, info, L = 32 bytes)
//
// Sealed payload, format 1 (all lengths in bytes):
//   offset 0       1      format, 0x01
//   offset 1       1      n = length of the key id, 1 to 64
//   offset 2       n      key id, ASCII [A-Za-z0-9._-]
//   offset 2+n     12     nonce, random per payload
//   offset 14+n    m      AES-256-GCM ciphertext, m = plaintext length
//   offset 14+n+m  16     GCM tag
// The GCM additional data is the 14+n header bytes followed by the caller's
// AAD, so the tag also covers the format, key id and nonce.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace moat::audit {

inline constexpr size_t kMasterKeyBytes = 32;
inline constexpr size_t kDataKeyBytes = 32;
inline constexpr size_t kGcmNonceBytes = 12;
inline constexpr size_t kGcmTagBytes = 16;
inline constexpr size_t kMaxKeyIdBytes = 64;
inline constexpr size_t kMaxLogIdBytes = 255;
inline constexpr uint8_t kSealedFormatV1 = 0x01;
inline constexpr std::string_view kRecordKeyLabel = "moat audit record v1";

// NIST SP 800-38D bounds one key to 2^32 encryptions with random 96-bit
// nonces. Seal() enforces it per data key, and per-segment keys keep real
// logs far below it.
// NOTE: the count lives in one PayloadCipher, so a segment that is sealed to
// again after a restart starts counting at zero.
inline constexpr uint64_t kMaxSealsPerDataKey = uint64_t{1} << 32;

// Returns true for a key id of 1 to 64 characters from [A-Za-z0-9._-].
bool IsValidKeyId(std::string_view key_id);

// A 32-byte secret that is wiped from memory when destroyed.
class DataKey {
 public:
  DataKey() = default;
  DataKey(const DataKey&) = default;
  DataKey& operator=(const DataKey&) = default;
  ~DataKey();

  std::span<const uint8_t, kDataKeyBytes> bytes() const { return bytes_; }
  std::span<uint8_t, kDataKeyBytes> mutable_bytes() { return bytes_; }

 private:
  std::array<uint8_t, kDataKeyBytes> bytes_{};
};

// Source of master keys. The master key never leaves the provider: callers
// receive only keys derived from it, so an HSM can implement this interface.
// Implementations must be safe to call from several threads at once.
class MasterKeyProvider {
 public:
  virtual ~MasterKeyProvider() = default;

  // Returns the id of the master key that new payloads are sealed under.
  virtual std::string CurrentKeyId() const = 0;

  // Derives a 32-byte key with HKDF-SHA-256 from master key `key_id` as the
  // input keying material. Fails with NOT_FOUND naming `key_id` when the
  // provider has no such key. Error messages never contain key material.
  virtual StatusOr<DataKey> DeriveKey(std::string_view key_id, std::span<const uint8_t> salt,
                                      std::span<const uint8_t> info) const = 0;
};

// Master keys read from a text file that only its owner may read.
//
// Format, one entry per line; fields are separated by spaces or tabs:
//   # comment               a line whose first non-blank character is '#'
//   key <id> <hex>          a master key: an id as for IsValidKeyId() and
//                           64 hexadecimal digits (32 bytes)
//   current <id>            the key for new payloads; exactly once, naming
//                           a key of the file
// Blank lines are ignored, and a trailing '\r' is removed from each line.
// Key ids must be unique. Immutable after loading, so thread-safe.
class KeyFileProvider final : public MasterKeyProvider {
 public:
  KeyFileProvider(KeyFileProvider&&) = default;
  KeyFileProvider& operator=(KeyFileProvider&&) = default;
  ~KeyFileProvider() override;

  // Reads `path`. Rejects a symbolic link, and a file whose mode grants any
  // access to group or others (FAILED_PRECONDITION, with the chmod to run).
  static StatusOr<KeyFileProvider> Load(const std::string& path);

  // Parses key file text. Errors are INVALID_ARGUMENT and read
  // "<source_name>:<line>: <reason>"; they never contain key material.
  static StatusOr<KeyFileProvider> Parse(std::string_view text, std::string_view source_name);

  std::string CurrentKeyId() const override { return current_key_id_; }
  StatusOr<DataKey> DeriveKey(std::string_view key_id, std::span<const uint8_t> salt,
                              std::span<const uint8_t> info) const override;

  // Ids of all keys in the file, sorted.
  std::vector<std::string> KeyIds() const;
  bool HasKey(std::string_view key_id) const { return keys_.contains(key_id); }

 private:
  KeyFileProvider() = default;

  std::map<std::string, std::array<uint8_t, kMasterKeyBytes>, std::less<>> keys_;
  std::string current_key_id_;
};

// Creates a key file at `path` with one random key named `key_id`, made
// current. The file is created with O_EXCL and mode 0600, so an existing file
// is never replaced (ALREADY_EXISTS).
Status GenerateKeyFile(const std::string& path, std::string_view key_id);

// Adds a random key named `new_key_id` to the key file at `path` and makes it
// current. Older keys and comments stay, so payloads sealed under them still
// open. The file is replaced atomically and keeps mode 0600.
// NOTE: rotations of one file are not serialised. Two at the same time can
// lose one of the new keys, so run them one at a time.
Status RotateKeyFile(const std::string& path, std::string_view new_key_id);

// HKDF-SHA-256 (RFC 5869) of `length` bytes. An empty salt means HashLen
// zero bytes, as the RFC specifies.
StatusOr<std::string> HkdfSha256(std::span<const uint8_t> ikm, std::span<const uint8_t> salt,
                                 std::span<const uint8_t> info, size_t length);

// AES-256-GCM with a 12-byte nonce. Encryption returns ciphertext || 16-byte
// tag. Decryption fails with DATA_LOSS when the tag does not match.
StatusOr<std::string> Aes256GcmEncrypt(std::span<const uint8_t, kDataKeyBytes> key,
                                       std::span<const uint8_t, kGcmNonceBytes> nonce,
                                       std::span<const uint8_t> aad, std::span<const uint8_t> plaintext);
StatusOr<std::string> Aes256GcmDecrypt(std::span<const uint8_t, kDataKeyBytes> key,
                                       std::span<const uint8_t, kGcmNonceBytes> nonce,
                                       std::span<const uint8_t> aad, std::span<const uint8_t> sealed);

// Returns the HKDF info for a data key, as described at the top of this file.
std::string RecordKeyInfo(std::string_view key_id, uint64_t segment);

// Returns the AAD that binds a payload to its record: segment number and
// record sequence number, each as uint64 big-endian (16 bytes).
std::string RecordAad(uint64_t segment, uint64_t sequence);

// Seals and opens the payloads of one log segment. Data keys are derived on
// first use and cached. Thread-safe. REQUIRES: `provider` outlives this object.
class PayloadCipher {
 public:
  // Fails with INVALID_ARGUMENT when `log_id` is empty or longer than 255 bytes.
  static StatusOr<std::unique_ptr<PayloadCipher>> Create(const MasterKeyProvider& provider,
                                                         std::string log_id, uint64_t segment);
  ~PayloadCipher();

  // Seals `plaintext` under the provider's current key with a fresh random
  // nonce. Fails with RESOURCE_EXHAUSTED once a data key has sealed
  // kMaxSealsPerDataKey payloads.
  StatusOr<std::string> Seal(std::string_view plaintext, std::string_view aad);

  // Opens a payload that Seal() returned. Fails with DATA_LOSS when the bytes
  // are malformed or the tag does not match (changed bytes or a different
  // AAD), and with NOT_FOUND naming the key id when the provider lacks it.
  StatusOr<std::string> Open(std::string_view sealed, std::string_view aad) const;

 private:
  struct CachedKey {
    DataKey key;
    uint64_t seal_count = 0;
  };

  PayloadCipher(const MasterKeyProvider& provider, std::string log_id, uint64_t segment);
  // Returns the cached entry for `key_id`, deriving it first if needed.
  // REQUIRES: mutex_ is held.
  StatusOr<CachedKey*> KeyFor(std::string_view key_id) const;

  const MasterKeyProvider& provider_;
  const std::string log_id_;
  const uint64_t segment_;
  mutable std::mutex mutex_;
  mutable std::map<std::string, CachedKey, std::less<>> keys_;
};

}  // namespace moat::audit
