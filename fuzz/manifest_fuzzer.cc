// Feeds arbitrary bytes to ParseManifest. Whatever it accepts must serialize
// back to exactly the same bytes and parse again: one manifest, one byte form.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "bundle/manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  moat::StatusOr<moat::bundle::Manifest> manifest = moat::bundle::ParseManifest(bytes);
  if (!manifest.ok()) return 0;
  std::string serialized = moat::bundle::SerializeManifest(*manifest);
  if (serialized != bytes) std::abort();
  if (!moat::bundle::ParseManifest(serialized).ok()) std::abort();
  return 0;
}
