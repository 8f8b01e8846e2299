#include "client/detection_postprocess.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <tuple>

namespace moat::client {

namespace {

// Pixel count, bounding box and probability sum of one component.
struct Component {
  int64_t pixels = 0;
  int min_x = 0;
  int min_y = 0;
  int max_x = 0;
  int max_y = 0;
  double probability_sum = 0.0;
};

// Visits the component that contains `seed` with an explicit stack, so a
// large component cannot overflow the call stack, and marks it in `visited`.
Component FloodComponent(std::span<const float> probabilities, int width, int height, float threshold,
                         size_t seed, std::vector<uint8_t>& visited, std::vector<size_t>& stack) {
  Component component;
  component.min_x = component.max_x = static_cast<int>(seed % static_cast<size_t>(width));
  component.min_y = component.max_y = static_cast<int>(seed / static_cast<size_t>(width));
  visited[seed] = 1;
  stack.assign(1, seed);
  while (!stack.empty()) {
    const size_t index = stack.back();
    stack.pop_back();
    const int x = static_cast<int>(index % static_cast<size_t>(width));
    const int y = static_cast<int>(index / static_cast<size_t>(width));
    ++component.pixels;
    component.probability_sum += probabilities[index];
    component.min_x = std::min(component.min_x, x);
    component.max_x = std::max(component.max_x, x);
    component.min_y = std::min(component.min_y, y);
    component.max_y = std::max(component.max_y, y);
    for (int dy = -1; dy <= 1; ++dy) {
      for (int dx = -1; dx <= 1; ++dx) {
        const int nx = x + dx;
        const int ny = y + dy;
        if (nx < 0 || ny < 0 || nx >= width || ny >= height) continue;
        const size_t neighbour =
            static_cast<size_t>(ny) * static_cast<size_t>(width) + static_cast<size_t>(nx);
        if (visited[neighbour] != 0 || !(probabilities[neighbour] > threshold)) continue;
        visited[neighbour] = 1;
        stack.push_back(neighbour);
      }
    }
  }
  return component;
}

void SortBoxes(std::vector<TextBox>& boxes) {
  std::sort(boxes.begin(), boxes.end(), [](const TextBox& a, const TextBox& b) {
    return std::tie(a.y, a.x, a.height, a.width) < std::tie(b.y, b.x, b.height, b.width);
  });
}

// Grows a map-pixel box by the unclip offset and maps it to image pixels,
// clamped to the image.
TextBox MapToImage(const TextBox& box, double scale_x, double scale_y, ImageSize image, float unclip_ratio) {
  const double perimeter = 2.0 * (box.width + box.height);
  const double offset = static_cast<double>(box.width) * box.height * unclip_ratio / perimeter;
  const double left = std::floor((box.x - offset) * scale_x);
  const double top = std::floor((box.y - offset) * scale_y);
  const double right = std::ceil((box.x + box.width + offset) * scale_x);
  const double bottom = std::ceil((box.y + box.height + offset) * scale_y);
  TextBox out;
  out.x = static_cast<int>(std::clamp(left, 0.0, static_cast<double>(image.width)));
  out.y = static_cast<int>(std::clamp(top, 0.0, static_cast<double>(image.height)));
  out.width = static_cast<int>(std::clamp(right, 0.0, static_cast<double>(image.width))) - out.x;
  out.height = static_cast<int>(std::clamp(bottom, 0.0, static_cast<double>(image.height))) - out.y;
  out.score = box.score;
  return out;
}

}  // namespace

std::vector<TextBox> FindTextComponents(std::span<const float> probabilities, int width, int height,
                                        const DetectionPostprocessOptions& options) {
  std::vector<TextBox> boxes;
  std::vector<uint8_t> visited(probabilities.size(), 0);
  std::vector<size_t> stack;
  for (size_t seed = 0; seed < probabilities.size(); ++seed) {
    if (visited[seed] != 0 || !(probabilities[seed] > options.threshold)) continue;
    const Component c = FloodComponent(probabilities, width, height, options.threshold, seed, visited, stack);
    const int box_width = c.max_x - c.min_x + 1;
    const int box_height = c.max_y - c.min_y + 1;
    if (c.pixels < options.min_pixels || std::min(box_width, box_height) < options.min_side) continue;
    const double mean = c.probability_sum / static_cast<double>(c.pixels);
    if (mean < options.box_threshold) continue;
    boxes.push_back({c.min_x, c.min_y, box_width, box_height, static_cast<float>(mean)});
  }
  SortBoxes(boxes);
  return boxes;
}

StatusOr<std::vector<TextBox>> ExtractTextBoxes(const Tensor& probability_map, ImageSize image_size,
                                                const DetectionPostprocessOptions& options) {
  const std::string map_label = "probability map '" + probability_map.name + "'";
  const std::vector<int64_t>& shape = probability_map.shape;
  if (probability_map.datatype != DataType::kFp32) {
    return InvalidArgumentError(map_label + ": expected datatype FP32, got " +
                                std::string(DataTypeName(probability_map.datatype)));
  }
  if (shape.size() != 4 || shape[0] != 1 || shape[1] != 1 || shape[2] <= 0 || shape[3] <= 0 ||
      shape[2] > (int64_t{1} << 20) || shape[3] > (int64_t{1} << 20)) {
    return InvalidArgumentError(map_label + ": expected shape [1,1,H,W] with positive H and W, got " +
                                ShapeToString(shape));
  }
  MOAT_RETURN_IF_ERROR(CheckTensorByteSize(probability_map));
  if (image_size.width <= 0 || image_size.height <= 0) {
    return InvalidArgumentError("image size " + std::to_string(image_size.width) + "x" +
                                std::to_string(image_size.height) + " is not positive");
  }

  const int height = static_cast<int>(shape[2]);
  const int width = static_cast<int>(shape[3]);
  // Response bodies place tensor data at any byte offset, so copy rather than
  // reinterpret the bytes as floats.
  std::vector<float> probabilities(static_cast<size_t>(width) * static_cast<size_t>(height));
  std::memcpy(probabilities.data(), probability_map.data.data(), probabilities.size() * sizeof(float));

  std::vector<TextBox> boxes = FindTextComponents(probabilities, width, height, options);
  const double scale_x = static_cast<double>(image_size.width) / width;
  const double scale_y = static_cast<double>(image_size.height) / height;
  for (TextBox& box : boxes) box = MapToImage(box, scale_x, scale_y, image_size, options.unclip_ratio);
  SortBoxes(boxes);
  return boxes;
}

}  // namespace moat::client
