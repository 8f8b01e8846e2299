#include "client/detection_preprocess.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <vector>

namespace moat::client {

namespace {

static_assert(std::endian::native == std::endian::little,
              "tensor bytes are little-endian and written with memcpy");

constexpr int kSideMultiple = 32;
constexpr int kMaxSideLimit = 4096;
constexpr std::array<float, 3> kMean = {0.485f, 0.456f, 0.406f};
constexpr std::array<float, 3> kStdDev = {0.229f, 0.224f, 0.225f};

int RoundToMultiple(int side) {
  // std::nearbyint uses the current rounding mode, which is round-to-nearest,
  // ties to even, unless a program changes it.
  const int multiples = static_cast<int>(std::nearbyint(static_cast<double>(side) / kSideMultiple));
  return std::max(multiples * kSideMultiple, kSideMultiple);
}

// One axis of a bilinear resize: for each output index, the two source
// indices and the weight of the second.
struct AxisSample {
  int first = 0;
  int second = 0;
  float weight = 0.0f;
};

std::vector<AxisSample> SampleAxis(int source_size, int target_size) {
  std::vector<AxisSample> samples(static_cast<size_t>(target_size));
  const double scale = static_cast<double>(source_size) / target_size;
  for (int i = 0; i < target_size; ++i) {
    // Pixel centres line up: output centre i + 0.5 maps to source (i + 0.5) * scale.
    double position = (i + 0.5) * scale - 0.5;
    position = std::clamp(position, 0.0, static_cast<double>(source_size - 1));
    AxisSample& sample = samples[static_cast<size_t>(i)];
    sample.first = static_cast<int>(std::floor(position));
    sample.second = std::min(sample.first + 1, source_size - 1);
    sample.weight = static_cast<float>(position - sample.first);
  }
  return samples;
}

}  // namespace

ImageSize DetectionInputSize(ImageSize image, int max_side) {
  double ratio = 1.0;
  const int longer = std::max(image.width, image.height);
  if (longer > max_side) ratio = static_cast<double>(max_side) / longer;
  return {RoundToMultiple(static_cast<int>(image.width * ratio)),
          RoundToMultiple(static_cast<int>(image.height * ratio))};
}

StatusOr<DetectionInput> PreprocessForDetection(const RgbImage& image,
                                                const DetectionPreprocessOptions& options) {
  if (image.width <= 0 || image.height <= 0 ||
      image.pixels.size() != static_cast<size_t>(image.width) * static_cast<size_t>(image.height) * 3) {
    return InvalidArgumentError("image of size " + std::to_string(image.width) + "x" +
                                std::to_string(image.height) + " is empty or has " +
                                std::to_string(image.pixels.size()) + " bytes instead of 3 per pixel");
  }
  if (options.max_side < kSideMultiple || options.max_side > kMaxSideLimit) {
    return InvalidArgumentError("maximum side " + std::to_string(options.max_side) + " is outside " +
                                std::to_string(kSideMultiple) + ".." + std::to_string(kMaxSideLimit));
  }

  const ImageSize input = DetectionInputSize({image.width, image.height}, options.max_side);
  const std::vector<AxisSample> columns = SampleAxis(image.width, input.width);
  const std::vector<AxisSample> rows = SampleAxis(image.height, input.height);
  const size_t plane = static_cast<size_t>(input.width) * static_cast<size_t>(input.height);
  std::vector<float> values(plane * 3);

  const auto pixel = [&image](int x, int y, int channel) -> float {
    return image
        .pixels[(static_cast<size_t>(y) * static_cast<size_t>(image.width) + static_cast<size_t>(x)) * 3 +
                static_cast<size_t>(channel)];
  };
  for (int y = 0; y < input.height; ++y) {
    const AxisSample& row = rows[static_cast<size_t>(y)];
    for (int x = 0; x < input.width; ++x) {
      const AxisSample& column = columns[static_cast<size_t>(x)];
      for (int c = 0; c < 3; ++c) {
        const float top = pixel(column.first, row.first, c) * (1.0f - column.weight) +
                          pixel(column.second, row.first, c) * column.weight;
        const float bottom = pixel(column.first, row.second, c) * (1.0f - column.weight) +
                             pixel(column.second, row.second, c) * column.weight;
        const float value = top * (1.0f - row.weight) + bottom * row.weight;
        const size_t index = static_cast<size_t>(c) * plane +
                             static_cast<size_t>(y) * static_cast<size_t>(input.width) +
                             static_cast<size_t>(x);
        values[index] = (value / 255.0f - kMean[static_cast<size_t>(c)]) / kStdDev[static_cast<size_t>(c)];
      }
    }
  }

  std::string bytes(values.size() * sizeof(float), '\0');
  std::memcpy(bytes.data(), values.data(), bytes.size());
  DetectionInput out;
  out.tensor = MakeOwnedTensor(options.input_name, DataType::kFp32, {1, 3, input.height, input.width},
                               std::move(bytes));
  out.image_size = {image.width, image.height};
  out.input_size = input;
  out.scale_x = static_cast<double>(image.width) / input.width;
  out.scale_y = static_cast<double>(image.height) / input.height;
  return out;
}

}  // namespace moat::client
