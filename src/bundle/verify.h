// Verification of a bundle directory against a trust store: signatures over
// the manifest, then every file's presence, size and digest.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bundle/manifest.h"
#include "bundle/trust_store.h"
#include "common/status.h"

namespace moat::bundle {

struct VerifyOptions {
  // Upper bound on the sum of the sizes the manifest lists, checked before
  // any model file is read.
  uint64_t max_bundle_bytes = uint64_t{8} << 30;
  // Distinct trusted keys whose valid signatures a bundle needs, at least 1.
  size_t min_signatures = 1;
};

// The bytes of every verified file, read once: the server hands these exact
// bytes to the runtime, so no file can be swapped between check and load.
struct VerifiedBundle {
  Manifest manifest;
  std::string manifest_bytes;
  std::string digest;                       // hex SHA-256 of manifest_bytes: the bundle digest
  std::vector<std::string> signer_key_ids;  // trusted keys whose signatures verified
  std::map<std::string, std::shared_ptr<const std::string>> files;  // path -> verified contents
};

// Verifies the bundle at `dir` as docs/formats/bundle.md describes and reads
// each listed file exactly once. On failure the message lists every problem
// found, one per line, each naming the file, and the status code is the first
// problem's. Thread-safe, because it only reads the filesystem.
StatusOr<VerifiedBundle> VerifyBundle(const std::string& dir, const TrustStore& trust,
                                      const VerifyOptions& options = {});

// Runs every check of VerifyBundle except those on signatures (nothing under
// signatures/ is read) and returns the checked manifest bytes. For signing.
StatusOr<std::string> CheckBundleContents(const std::string& dir, const VerifyOptions& options = {});

}  // namespace moat::bundle
