#include "audit/audit_keys.h"

#include <sys/stat.h>

#include <ctime>

namespace moat::audit {

namespace {

bool Exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

// A key id that names the day the key was made, such as "k20261205".
std::string NewKeyId() {
  std::time_t now = std::time(nullptr);
  std::tm utc{};
  ::gmtime_r(&now, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof(buffer), "k%Y%m%d", &utc);
  return buffer;
}

}  // namespace

AuditKeyPaths DefaultAuditKeyPaths(const std::string& audit_folder) {
  std::string base = audit_folder;
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  return {base + ".keys", base + ".node-key"};
}

StatusOr<AuditKeys> LoadAuditKeys(const AuditKeyPaths& paths, bool create_missing) {
  AuditKeys keys;
  if (create_missing && !Exists(paths.master_key_file)) {
    MOAT_RETURN_IF_ERROR(GenerateKeyFile(paths.master_key_file, NewKeyId()));
    keys.created_master_key_file = true;
  }
  MOAT_ASSIGN_OR_RETURN(KeyFileProvider master, KeyFileProvider::Load(paths.master_key_file));
  keys.master_keys = std::make_shared<KeyFileProvider>(std::move(master));

  if (create_missing && !Exists(paths.node_key_file)) {
    MOAT_RETURN_IF_ERROR(bundle::GenerateKeyFiles(paths.node_key_file, paths.node_key_file + ".pub").status());
    keys.created_node_key = true;
  }
  MOAT_ASSIGN_OR_RETURN(bundle::PrivateKey node_key, bundle::PrivateKey::LoadFile(paths.node_key_file));
  keys.node_key = std::make_shared<bundle::PrivateKey>(std::move(node_key));
  return keys;
}

StatusOr<AuditLogOptions> AuditLogOptionsWithDefaultKeys(const std::string& folder, AuditDurability durability) {
  MOAT_ASSIGN_OR_RETURN(AuditKeys keys, LoadAuditKeys(DefaultAuditKeyPaths(folder), /*create_missing=*/true));
  AuditLogOptions options;
  options.folder = folder;
  options.durability = durability;
  options.keys = std::move(keys.master_keys);
  options.signing_key = std::move(keys.node_key);
  return options;
}

}  // namespace moat::audit
