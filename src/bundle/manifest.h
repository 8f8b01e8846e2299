// The bundle manifest: what a bundle contains and how its model is called.
// docs/formats/bundle.md defines the JSON form and its canonical serialization.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "core/tensor.h"

namespace moat::bundle {

inline constexpr std::string_view kManifestFormat = "moat-bundle/1";
inline constexpr std::string_view kOnnxRuntimeName = "onnxruntime";
inline constexpr size_t kMaxManifestBytes = size_t{1} << 20;

// One file of the bundle: its path relative to the bundle directory, its size
// in bytes and the lower-case hex SHA-256 of its contents.
struct FileEntry {
  std::string path;
  uint64_t size = 0;
  std::string sha256;
};

struct Manifest {
  std::string name;
  int64_t version = 0;
  std::string runtime;     // "onnxruntime"
  std::string model_file;  // the listed path the runtime loads
  std::vector<TensorSpec> inputs, outputs;
  std::vector<FileEntry> files;  // sorted by path in canonical form
};

// Parses and validates a manifest, then rejects it unless `bytes` equal
// SerializeManifest of the result, so every manifest has one byte form.
// Errors name the offending field and value.
StatusOr<Manifest> ParseManifest(std::string_view bytes);

// Returns the canonical bytes of `manifest`, with `files` sorted by path.
// Does not validate: pass the result through ParseManifest to check it.
std::string SerializeManifest(const Manifest& manifest);

}  // namespace moat::bundle
