#include "client/detection_preprocess.h"

#include <gtest/gtest.h>

#include <cstring>

namespace moat::client {
namespace {

RgbImage SolidImage(int width, int height, uint8_t r, uint8_t g, uint8_t b) {
  RgbImage image;
  image.width = width;
  image.height = height;
  for (int i = 0; i < width * height; ++i) image.pixels.insert(image.pixels.end(), {r, g, b});
  return image;
}

void SetPixel(RgbImage& image, int x, int y, uint8_t r, uint8_t g, uint8_t b) {
  const size_t index =
      (static_cast<size_t>(y) * static_cast<size_t>(image.width) + static_cast<size_t>(x)) * 3;
  image.pixels[index] = r;
  image.pixels[index + 1] = g;
  image.pixels[index + 2] = b;
}

// Reads channel `c` at (x, y) of an FP32 [1, 3, H, W] tensor.
float ValueAt(const Tensor& tensor, int c, int y, int x) {
  const int64_t height = tensor.shape[2];
  const int64_t width = tensor.shape[3];
  const size_t index = static_cast<size_t>((c * height + y) * width + x);
  float value = 0.0f;
  std::memcpy(&value, tensor.data.data() + index * sizeof(float), sizeof(float));
  return value;
}

TEST(DetectionPreprocess, InputSizeRounding) {
  struct Case {
    ImageSize image;
    int max_side;
    ImageSize expected;
  };
  const Case cases[] = {
      {{384, 191}, 960, {384, 192}},    // the demo page
      {{48, 80}, 960, {64, 64}},        // 1.5 and 2.5 multiples: ties go to even
      {{100, 50}, 960, {96, 64}},       // 3.125 down, 1.5625 up
      {{10, 10}, 960, {32, 32}},        // at least 32
      {{16, 16}, 960, {32, 32}},        // 0.5 rounds to 0, then the minimum
      {{2000, 1000}, 960, {960, 480}},  // the longer side is capped
      {{1000, 10}, 960, {960, 32}},     // 9.6 truncates to 9, then the minimum
      {{3000, 1000}, 1000, {992, 320}}  // 1000 is not a multiple: 31.25 rounds to 31
  };
  for (const Case& c : cases) {
    const ImageSize size = DetectionInputSize(c.image, c.max_side);
    EXPECT_EQ(size.width, c.expected.width) << c.image.width << "x" << c.image.height;
    EXPECT_EQ(size.height, c.expected.height) << c.image.width << "x" << c.image.height;
  }
}

TEST(DetectionPreprocess, NormalisesWithoutResize) {
  RgbImage image = SolidImage(64, 32, 255, 0, 128);
  SetPixel(image, 5, 7, 0, 255, 51);
  StatusOr<DetectionInput> input = PreprocessForDetection(image);
  ASSERT_TRUE(input.ok()) << input.status().ToString();
  EXPECT_EQ(input->tensor.name, "x");
  EXPECT_EQ(input->tensor.datatype, DataType::kFp32);
  EXPECT_EQ(input->tensor.shape, (std::vector<int64_t>{1, 3, 32, 64}));
  ASSERT_EQ(input->tensor.data.size(), size_t{3} * 32 * 64 * 4);
  EXPECT_DOUBLE_EQ(input->scale_x, 1.0);
  EXPECT_DOUBLE_EQ(input->scale_y, 1.0);

  // (value / 255 - mean) / std with mean (0.485, 0.456, 0.406), std (0.229, 0.224, 0.225).
  EXPECT_NEAR(ValueAt(input->tensor, 0, 0, 0), 2.248908, 1e-5);   // (1 - 0.485) / 0.229
  EXPECT_NEAR(ValueAt(input->tensor, 1, 0, 0), -2.035714, 1e-5);  // (0 - 0.456) / 0.224
  EXPECT_NEAR(ValueAt(input->tensor, 2, 0, 0), 0.426492, 1e-5);   // (128/255 - 0.406) / 0.225
  EXPECT_NEAR(ValueAt(input->tensor, 0, 7, 5), -2.117904, 1e-5);  // (0 - 0.485) / 0.229
  EXPECT_NEAR(ValueAt(input->tensor, 1, 7, 5), 2.428571, 1e-5);   // (1 - 0.456) / 0.224
  EXPECT_NEAR(ValueAt(input->tensor, 2, 7, 5), -0.915556, 1e-5);  // (0.2 - 0.406) / 0.225
  EXPECT_NEAR(ValueAt(input->tensor, 0, 31, 63), 2.248908, 1e-5);
}

TEST(DetectionPreprocess, BilinearUpscale) {
  // Red grows 16 per column and green 16 per row; a 16x16 image becomes 32x32.
  RgbImage image = SolidImage(16, 16, 0, 0, 0);
  for (int y = 0; y < 16; ++y) {
    for (int x = 0; x < 16; ++x)
      SetPixel(image, x, y, static_cast<uint8_t>(16 * x), static_cast<uint8_t>(16 * y), 0);
  }
  StatusOr<DetectionInput> input = PreprocessForDetection(image);
  ASSERT_TRUE(input.ok()) << input.status().ToString();
  EXPECT_EQ(input->tensor.shape, (std::vector<int64_t>{1, 3, 32, 32}));
  EXPECT_DOUBLE_EQ(input->scale_x, 0.5);

  const auto red = [](float value) { return (value / 255.0f - 0.485f) / 0.229f; };
  const auto green = [](float value) { return (value / 255.0f - 0.456f) / 0.224f; };
  // Output column x samples source column (x + 0.5) / 2 - 0.5, clamped to 0..15.
  EXPECT_NEAR(ValueAt(input->tensor, 0, 0, 0), red(0.0f), 1e-5);     // -0.25 clamps to 0
  EXPECT_NEAR(ValueAt(input->tensor, 0, 0, 1), red(4.0f), 1e-5);     // 0.25
  EXPECT_NEAR(ValueAt(input->tensor, 0, 0, 2), red(12.0f), 1e-5);    // 0.75
  EXPECT_NEAR(ValueAt(input->tensor, 0, 9, 20), red(156.0f), 1e-5);  // 9.75
  EXPECT_NEAR(ValueAt(input->tensor, 0, 0, 31), red(240.0f), 1e-5);  // 15.25 clamps to 15
  EXPECT_NEAR(ValueAt(input->tensor, 1, 3, 0), green(20.0f), 1e-5);  // row 1.25
}

TEST(DetectionPreprocess, RejectsBadInput) {
  RgbImage empty;
  EXPECT_EQ(PreprocessForDetection(empty).status().code(), StatusCode::kInvalidArgument);

  RgbImage short_pixels = SolidImage(4, 4, 1, 2, 3);
  short_pixels.pixels.pop_back();
  EXPECT_EQ(PreprocessForDetection(short_pixels).status().code(), StatusCode::kInvalidArgument);

  DetectionPreprocessOptions options;
  options.max_side = 16;
  StatusOr<DetectionInput> input = PreprocessForDetection(SolidImage(4, 4, 1, 2, 3), options);
  ASSERT_FALSE(input.ok());
  EXPECT_NE(input.status().message().find("16"), std::string::npos) << input.status().message();
}

}  // namespace
}  // namespace moat::client
