// Creating bundles and adding signatures to them: the publisher's side.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bundle/keys.h"
#include "bundle/manifest.h"
#include "common/status.h"
#include "core/tensor.h"

namespace moat::bundle {

struct PackRequest {
  std::string model_path;                // becomes model_file, under its base name
  std::vector<std::string> extra_paths;  // copied beside it, under their base names
  std::string name;
  int64_t version = 0;
  std::vector<TensorSpec> inputs, outputs;
};

// Copies the model and extra files into `out_dir` and writes the canonical
// manifest.json. `out_dir` must not exist or must be an empty directory, and
// missing parents are created. Every input is validated before anything is written.
// Source paths may be symbolic links, but the bundle gets regular files.
StatusOr<Manifest> PackBundle(const PackRequest& request, const std::string& out_dir);

// Checks the bundle at `dir` against its manifest (signatures aside), then
// writes signatures/<key id>.json with `key`'s signature over manifest.json,
// replacing an earlier signature by the same key. Returns the path written.
StatusOr<std::string> SignBundle(const std::string& dir, const PrivateKey& key);

}  // namespace moat::bundle
