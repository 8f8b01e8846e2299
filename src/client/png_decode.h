// PNG decoding to 8-bit RGB for the client's image inputs.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace moat::client {

// An 8-bit sRGB image. `pixels` contains width * height * 3 bytes, rows top
// to bottom, each pixel R, G, B.
struct RgbImage {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> pixels;
};

// Default maximum of width * height accepted by the decoders (64 megapixels,
// 192 MiB of RGB).
inline constexpr int64_t kDefaultMaxPngPixels = int64_t{1} << 26;

// Decodes a PNG of any colour type and bit depth to RGB. Gray is replicated,
// 16-bit samples are reduced to 8 bits, and transparency is composited onto
// white (a blank page). `source_name` names the image in errors. Errors:
// INVALID_ARGUMENT for data that is not a PNG, is truncated or corrupt, or
// has more than `max_pixels` pixels.
StatusOr<RgbImage> DecodePng(std::string_view bytes, std::string_view source_name,
                             int64_t max_pixels = kDefaultMaxPngPixels);

// Reads the file at `path` (no symbolic links, at most 256 MiB) and decodes it
// with DecodePng. Errors: those of moat::ReadFile, then those of DecodePng.
StatusOr<RgbImage> ReadPngFile(const std::string& path, int64_t max_pixels = kDefaultMaxPngPixels);

}  // namespace moat::client
