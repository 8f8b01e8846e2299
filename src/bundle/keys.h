// Ed25519 publisher keys over OpenSSL 3 EVP. A key id is the lower-case hex
// SHA-256 of the raw 32-byte public key.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <openssl/types.h>

#include "common/status.h"

namespace moat::bundle {

inline constexpr size_t kEd25519PublicKeyBytes = 32;
inline constexpr size_t kEd25519SignatureBytes = 64;

// A public key as a value: copyable and thread-safe to share.
class PublicKey {
 public:
  // Reads a PEM SubjectPublicKeyInfo and rejects other key types. `source_name` (a
  // file name) starts each error.
  static StatusOr<PublicKey> FromPem(std::string_view pem, std::string_view source_name);
  // Takes the raw 32-byte key.
  static StatusOr<PublicKey> FromRaw(std::string_view raw);

  const std::string& key_id() const { return key_id_; }
  const std::string& raw() const { return raw_; }
  // Returns the PEM SubjectPublicKeyInfo.
  StatusOr<std::string> ToPem() const;
  // True only when `signature` is a valid Ed25519 signature of `message`.
  bool Verify(std::string_view message, std::string_view signature) const;

 private:
  std::string raw_;
  std::string key_id_;
};

// A private key. Move-only. Sign is safe to call from several threads.
class PrivateKey {
 public:
  static StatusOr<PrivateKey> Generate();
  // Reads an unencrypted PEM PKCS#8 Ed25519 key. `source_name` starts each error.
  static StatusOr<PrivateKey> FromPem(std::string_view pem, std::string_view source_name);
  // Reads and parses the key file at `path` (symlinks rejected).
  static StatusOr<PrivateKey> LoadFile(const std::string& path);

  PrivateKey(PrivateKey&&) = default;
  PrivateKey& operator=(PrivateKey&&) = default;

  const PublicKey& public_key() const { return public_key_; }
  const std::string& key_id() const { return public_key_.key_id(); }
  // Returns the 64-byte Ed25519 signature of `message`.
  StatusOr<std::string> Sign(std::string_view message) const;
  // Returns the unencrypted PEM PKCS#8 form. The caller should wipe it after use.
  StatusOr<std::string> ToPem() const;

 private:
  struct PkeyDeleter {
    void operator()(EVP_PKEY* pkey) const;
  };
  PrivateKey(std::unique_ptr<EVP_PKEY, PkeyDeleter> pkey, PublicKey public_key)
      : pkey_(std::move(pkey)), public_key_(std::move(public_key)) {}

  std::unique_ptr<EVP_PKEY, PkeyDeleter> pkey_;
  PublicKey public_key_;
};

// Returns the key id of a raw 32-byte Ed25519 public key.
std::string KeyIdOf(std::string_view raw_public_key);

// Generates a key pair and writes the private key (mode 0600) and the public
// key (mode 0644) as PEM. Fails without writing if either file exists.
// Returns the key id.
StatusOr<std::string> GenerateKeyFiles(const std::string& private_path, const std::string& public_path);

}  // namespace moat::bundle
