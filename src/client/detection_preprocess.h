// Input preparation for PaddleOCR's text detection models (the DB detector,
// for example ch_PP-OCRv4_det): resize, normalise and lay out as NCHW float32.
#pragma once

#include <string>

#include "client/png_decode.h"
#include "common/status.h"
#include "core/tensor.h"

namespace moat::client {

struct DetectionPreprocessOptions {
  // Name given to the input tensor; PaddleOCR's exported models call it "x".
  std::string input_name = "x";
  // Maximum length in pixels of the longer side before it is rounded to a
  // multiple of 32. Accepted range: 32 to 4096.
  int max_side = 960;
};

struct ImageSize {
  int width = 0;
  int height = 0;
};

// The model input and the sizes that map results back to the image.
struct DetectionInput {
  Tensor tensor;         // FP32 [1, 3, input height, input width], owning its bytes
  ImageSize image_size;  // of the original image
  ImageSize input_size;  // of the resized image inside `tensor`
  // Image pixels per input pixel along each axis: multiply an input (or
  // probability map) coordinate by it to get an image coordinate.
  double scale_x = 1.0;
  double scale_y = 1.0;
};

// Returns the model input size for an image of size `image`. A longer side
// above `max_side` is first scaled down to it, keeping the aspect ratio and
// truncating. Then each side is rounded to the nearest multiple of 32, at
// least 32. Ties go to even, as with Python's round() in PaddleOCR's code.
// REQUIRES: positive sizes and max_side >= 32.
ImageSize DetectionInputSize(ImageSize image, int max_side);

// Resizes `image` bilinearly to DetectionInputSize (sampling at pixel centres,
// as OpenCV's INTER_LINEAR does), scales it to [0, 1] and normalises each RGB
// channel with the ImageNet mean (0.485, 0.456, 0.406) and standard deviation
// (0.229, 0.224, 0.225). Errors: INVALID_ARGUMENT for an empty or inconsistent
// image or a max_side outside 32..4096.
StatusOr<DetectionInput> PreprocessForDetection(const RgbImage& image,
                                                const DetectionPreprocessOptions& options = {});

}  // namespace moat::client
