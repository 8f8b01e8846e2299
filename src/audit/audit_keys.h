// The two keys an audit log needs: the operator's master key file, which
// seals the records, and the node's Ed25519 key, which signs checkpoints.
#pragma once

#include <memory>
#include <string>

#include "audit/audit_log.h"
#include "audit/payload_crypto.h"
#include "bundle/keys.h"
#include "common/status.h"

namespace moat::audit {

struct AuditKeyPaths {
  std::string master_key_file;  // key file of payload_crypto.h
  std::string node_key_file;    // PEM PKCS#8 Ed25519 private key
  // The audit folder the keys belong to; empty when unknown. LoadAuditKeys
  // creates no key for a folder that already has records.
  std::string audit_folder;
};

// The default paths beside an audit folder DIR: DIR.keys and DIR.node-key.
AuditKeyPaths DefaultAuditKeyPaths(const std::string& audit_folder);

struct AuditKeys {
  std::shared_ptr<const KeyFileProvider> master_keys;
  std::shared_ptr<const bundle::PrivateKey> node_key;
  // What Load created because it was missing, for the server log.
  bool created_master_key_file = false;
  bool created_node_key = false;
};

// Loads both keys. A missing file is created when `create_missing` is set:
// a master key file with one random key, or a node key pair (the private
// key with mode 0600, the public key beside it as NODE_KEY.pub). Errors
// name the file: a key file with group or other access, a malformed key,
// or FAILED_PRECONDITION when a key is missing for an audit folder that
// already has records, because a new key could neither read nor continue it.
StatusOr<AuditKeys> LoadAuditKeys(const AuditKeyPaths& paths, bool create_missing);

// Returns the options of an audit log in `folder` with the keys at the
// default paths beside it, created if missing, and default settings otherwise.
StatusOr<AuditLogOptions> AuditLogOptionsWithDefaultKeys(const std::string& folder, AuditDurability durability);

}  // namespace moat::audit
