#include "client/png_decode.h"

#include <gtest/gtest.h>
#include <png.h>

#include <string>

#include "common/file.h"

namespace moat::client {
namespace {

const std::string kPagePath = std::string(MOAT_DEPS_DIR) + "/page.png";

TEST(PngDecode, RealPage) {
  StatusOr<RgbImage> image = ReadPngFile(kPagePath);
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  EXPECT_EQ(image->width, 384);
  EXPECT_EQ(image->height, 191);
  ASSERT_EQ(image->pixels.size(), size_t{384} * 191 * 3);
  // The page is grayscale, so each decoded pixel has three equal channels.
  for (size_t i = 0; i < image->pixels.size(); i += 3) {
    ASSERT_EQ(image->pixels[i], image->pixels[i + 1]) << "pixel " << i / 3;
    ASSERT_EQ(image->pixels[i], image->pixels[i + 2]) << "pixel " << i / 3;
  }
}

TEST(PngDecode, MissingFile) {
  StatusOr<RgbImage> image = ReadPngFile("/nonexistent/page.png");
  ASSERT_FALSE(image.ok());
  EXPECT_EQ(image.status().code(), StatusCode::kNotFound);
  EXPECT_NE(image.status().message().find("/nonexistent/page.png"), std::string::npos);
}

TEST(PngDecode, NotPng) {
  StatusOr<RgbImage> image = DecodePng("GIF89a and more bytes", "fake.png");
  ASSERT_FALSE(image.ok());
  EXPECT_EQ(image.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(image.status().message().find("fake.png: not a PNG file"), std::string::npos)
      << image.status().message();
}

TEST(PngDecode, Truncated) {
  StatusOr<std::string> bytes = ReadFile(kPagePath);
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  for (size_t length : {size_t{8}, size_t{40}, bytes->size() / 2, bytes->size() - 20}) {
    StatusOr<RgbImage> image = DecodePng(std::string_view(*bytes).substr(0, length), "cut.png");
    ASSERT_FALSE(image.ok()) << "length " << length;
    EXPECT_EQ(image.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(image.status().message().find("cut.png"), std::string::npos) << image.status().message();
  }
}

TEST(PngDecode, PixelLimit) {
  StatusOr<std::string> bytes = ReadFile(kPagePath);
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  StatusOr<RgbImage> image = DecodePng(*bytes, "page.png", 384 * 190);
  ASSERT_FALSE(image.ok());
  EXPECT_NE(image.status().message().find("384x191"), std::string::npos) << image.status().message();
  EXPECT_TRUE(DecodePng(*bytes, "page.png", 384 * 191).ok());
}

TEST(PngDecode, AlphaOnWhite) {
  // Two RGBA pixels: opaque red, then fully transparent black.
  const uint8_t rgba[] = {255, 0, 0, 255, 0, 0, 0, 0};
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  image.width = 2;
  image.height = 1;
  image.format = PNG_FORMAT_RGBA;
  png_alloc_size_t size = 0;
  ASSERT_NE(png_image_write_to_memory(&image, nullptr, &size, 0, rgba, 0, nullptr), 0);
  std::string png(size, '\0');
  ASSERT_NE(png_image_write_to_memory(&image, png.data(), &size, 0, rgba, 0, nullptr), 0) << image.message;
  png.resize(size);

  StatusOr<RgbImage> decoded = DecodePng(png, "rgba.png");
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->pixels, (std::vector<uint8_t>{255, 0, 0, 255, 255, 255}));
}

}  // namespace
}  // namespace moat::client
