#include "audit/audit_keys.h"

#include <sys/stat.h>

#include <ctime>

#include "audit/audit_base.h"
#include "audit/audit_source.h"
#include "audit/segment.h"

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
  return {base + ".keys", base + ".node-key", audit_folder};
}

StatusOr<AuditKeys> LoadAuditKeys(const AuditKeyPaths& paths, bool create_missing) {
  AuditKeys keys;
  // Both checks come before either key is created, so a refused start leaves no stray key file.
  const std::string& folder = paths.audit_folder;
  if (create_missing && !folder.empty()) {
    if (!Exists(paths.node_key_file) && Exists(folder + "/" + std::string(kAuditNodeKeyFile))) {
      return FailedPreconditionError("audit folder " + folder + " is signed by the node key whose public key is " +
                                     folder + "/" + std::string(kAuditNodeKeyFile) + ", but the node key file " + paths.node_key_file +
                                     " does not exist; pass that private key (moat serve --node-key), or start a "
                                     "new audit folder");
    }
    if (!Exists(paths.master_key_file) && (Exists(folder + "/" + SegmentFileName(1)) ||
                                                 Exists(folder + "/" + std::string(kAuditBaseFile)))) {
      return FailedPreconditionError("audit folder " + folder + " has records, but the master key file " +
                                     paths.master_key_file +
                                     " does not exist; pass the key file that sealed them (moat serve "
                                     "--audit-key-file), or start a new audit folder");
    }
  }
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
