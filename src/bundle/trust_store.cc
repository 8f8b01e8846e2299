#include "bundle/trust_store.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "common/file.h"

namespace moat::bundle {

namespace {
constexpr size_t kMaxPublicKeyFileBytes = size_t{64} * 1024;
}  // namespace

StatusOr<TrustStore> TrustStore::LoadDirectory(const std::string& dir) {
  std::error_code error;
  std::filesystem::directory_iterator it(dir, error);
  if (error) return FailedPreconditionError("trust directory " + dir + ": cannot list: " + error.message());

  std::vector<std::string> paths;
  for (; it != std::filesystem::directory_iterator(); it.increment(error)) {
    if (it->path().extension() == ".pem") paths.push_back(it->path().string());
  }
  if (error) return FailedPreconditionError("trust directory " + dir + ": cannot list: " + error.message());
  std::sort(paths.begin(), paths.end());

  std::vector<PublicKey> keys;
  for (const std::string& path : paths) {
    StatusOr<std::string> pem = ReadFile(path, kMaxPublicKeyFileBytes);
    if (!pem.ok()) {
      return FailedPreconditionError("trust directory " + dir +
                                     ": cannot read key file: " + pem.status().message());
    }
    MOAT_ASSIGN_OR_RETURN(PublicKey key, PublicKey::FromPem(*pem, path));
    keys.push_back(std::move(key));
  }
  if (keys.empty()) {
    return FailedPreconditionError("trust directory " + dir +
                                   " contains no public keys. Add the publishers' *.pem files to it");
  }
  return FromKeys(keys);
}

TrustStore TrustStore::FromKeys(const std::vector<PublicKey>& keys) {
  TrustStore store;
  for (const PublicKey& key : keys) store.keys_.emplace(key.key_id(), key);
  return store;
}

const PublicKey* TrustStore::Find(std::string_view key_id) const {
  auto it = keys_.find(key_id);
  return it == keys_.end() ? nullptr : &it->second;
}

std::vector<std::string> TrustStore::KeyIds() const {
  std::vector<std::string> ids;
  for (const auto& [id, key] : keys_) ids.push_back(id);
  return ids;
}

}  // namespace moat::bundle
