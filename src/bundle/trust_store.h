// The publisher keys a verifier trusts, loaded from a directory of PEM files.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "bundle/keys.h"
#include "common/status.h"

namespace moat::bundle {

// Immutable after loading, so concurrent lookups are safe.
class TrustStore {
 public:
  // Loads every "*.pem" entry directly in `dir` as an Ed25519 public key and
  // ignores other names. Fails naming the file when one cannot
  // be read or is not an Ed25519 public key, and fails when none is found.
  static StatusOr<TrustStore> LoadDirectory(const std::string& dir);
  // Builds a store from keys already loaded, keeping duplicates once.
  static TrustStore FromKeys(const std::vector<PublicKey>& keys);

  // Returns the key with this id, or nullptr when it is not trusted.
  const PublicKey* Find(std::string_view key_id) const;
  size_t size() const { return keys_.size(); }
  // Returns the key ids in ascending order.
  std::vector<std::string> KeyIds() const;

 private:
  std::map<std::string, PublicKey, std::less<>> keys_;
};

}  // namespace moat::bundle
