#include "client/png_decode.h"

#include <png.h>

#include <string>

#include "common/file.h"

namespace moat::client {

namespace {

constexpr size_t kMaxPngFileBytes = size_t{256} << 20;
constexpr size_t kPngSignatureBytes = 8;

// Frees the libpng state on every return path; png_image_free is a no-op once
// png_image_finish_read has cleaned up.
class PngImageGuard {
 public:
  explicit PngImageGuard(png_image* image) : image_(image) {}
  ~PngImageGuard() { png_image_free(image_); }
  PngImageGuard(const PngImageGuard&) = delete;
  PngImageGuard& operator=(const PngImageGuard&) = delete;

 private:
  png_image* image_;
};

}  // namespace

StatusOr<RgbImage> DecodePng(std::string_view bytes, std::string_view source_name, int64_t max_pixels) {
  const std::string name(source_name);
  if (bytes.size() < kPngSignatureBytes ||
      png_sig_cmp(reinterpret_cast<png_const_bytep>(bytes.data()), 0, kPngSignatureBytes) != 0) {
    return InvalidArgumentError(name + ": not a PNG file (the 8-byte PNG signature is missing)");
  }

  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  PngImageGuard guard(&image);
  if (png_image_begin_read_from_memory(&image, bytes.data(), bytes.size()) == 0) {
    return InvalidArgumentError(name + ": invalid PNG header: " + image.message);
  }

  const int64_t pixels = int64_t{image.width} * int64_t{image.height};
  if (image.width == 0 || image.height == 0 || pixels > max_pixels) {
    return InvalidArgumentError(name + ": PNG size " + std::to_string(image.width) + "x" +
                                std::to_string(image.height) + " is empty or exceeds the limit of " +
                                std::to_string(max_pixels) + " pixels");
  }

  image.format = PNG_FORMAT_RGB;
  RgbImage out;
  out.width = static_cast<int>(image.width);
  out.height = static_cast<int>(image.height);
  // Sized here rather than with PNG_IMAGE_SIZE, whose 32-bit arithmetic can wrap.
  out.pixels.resize(static_cast<size_t>(pixels) * 3);
  const png_color white{255, 255, 255};
  if (png_image_finish_read(&image, &white, out.pixels.data(), 0, nullptr) == 0) {
    return InvalidArgumentError(name + ": truncated or corrupt PNG data: " + image.message);
  }
  return out;
}

StatusOr<RgbImage> ReadPngFile(const std::string& path, int64_t max_pixels) {
  MOAT_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path, kMaxPngFileBytes));
  return DecodePng(bytes, path, max_pixels);
}

}  // namespace moat::client
