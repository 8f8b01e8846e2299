// Text boxes from the probability map of a DB text detector (PaddleOCR's
// detection models): threshold, 8-connected components, filters, boxes.
#pragma once

#include <span>
#include <vector>

#include "client/detection_preprocess.h"
#include "common/status.h"
#include "core/tensor.h"

namespace moat::client {

struct DetectionPostprocessOptions {
  // A map pixel is text when its probability is strictly above this.
  float threshold = 0.3f;
  // Components whose mean probability is below this are dropped.
  float box_threshold = 0.6f;
  // Components with fewer pixels, or a bounding box side shorter than
  // min_side map pixels, are dropped as noise.
  int min_pixels = 4;
  int min_side = 3;
  // DB detectors predict shrunken text kernels. Each box grows on every side
  // by area * unclip_ratio / perimeter (the DB paper's offset); 0 keeps it.
  float unclip_ratio = 1.5f;
};

// An axis-aligned box; `score` is the mean probability of its pixels.
struct TextBox {
  int x = 0;
  int y = 0;
  int width = 0;
  int height = 0;
  float score = 0.0f;
};

// Finds the text components of a row-major `width` x `height` probability map
// and returns their bounding boxes in map pixels, before the unclip offset,
// sorted by y, then x. REQUIRES: probabilities.size() == width * height.
std::vector<TextBox> FindTextComponents(std::span<const float> probabilities, int width, int height,
                                        const DetectionPostprocessOptions& options);

// Returns the boxes of `probability_map` (FP32 [1, 1, H, W]) in the pixels of
// an image of `image_size`. Each box is grown by the unclip offset, clamped
// to the image, and the boxes are sorted top to bottom, then left to right. Errors: INVALID_ARGUMENT naming
// the tensor when its datatype, shape or byte size is wrong.
StatusOr<std::vector<TextBox>> ExtractTextBoxes(const Tensor& probability_map, ImageSize image_size,
                                                const DetectionPostprocessOptions& options = {});

}  // namespace moat::client
