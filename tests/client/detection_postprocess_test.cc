#include "client/detection_postprocess.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

namespace moat::client {
namespace {

// A row-major probability map for hand-drawn test cases.
struct Map {
  int width;
  int height;
  std::vector<float> values;

  Map(int w, int h) : width(w), height(h), values(static_cast<size_t>(w) * static_cast<size_t>(h), 0.0f) {}

  void Fill(int x, int y, int w, int h, float value) {
    for (int row = y; row < y + h; ++row) {
      for (int column = x; column < x + w; ++column) Set(column, row, value);
    }
  }
  void Set(int x, int y, float value) {
    values[static_cast<size_t>(y) * static_cast<size_t>(width) + static_cast<size_t>(x)] = value;
  }
  std::vector<TextBox> Find(const DetectionPostprocessOptions& options = {}) const {
    return FindTextComponents(values, width, height, options);
  }
};

void ExpectBox(const TextBox& box, int x, int y, int width, int height) {
  EXPECT_EQ(box.x, x);
  EXPECT_EQ(box.y, y);
  EXPECT_EQ(box.width, width);
  EXPECT_EQ(box.height, height);
}

Tensor MapTensor(const Map& map, DataType datatype = DataType::kFp32) {
  std::string bytes(map.values.size() * sizeof(float), '\0');
  std::memcpy(bytes.data(), map.values.data(), bytes.size());
  return MakeOwnedTensor("sigmoid_0.tmp_0", datatype, {1, 1, map.height, map.width}, std::move(bytes));
}

TEST(TextComponents, TwoBlobs) {
  Map map(12, 8);
  map.Fill(1, 1, 4, 3, 0.9f);
  map.Fill(7, 4, 4, 3, 0.8f);
  const std::vector<TextBox> boxes = map.Find();
  ASSERT_EQ(boxes.size(), 2u);
  ExpectBox(boxes[0], 1, 1, 4, 3);
  EXPECT_FLOAT_EQ(boxes[0].score, 0.9f);
  ExpectBox(boxes[1], 7, 4, 4, 3);
  EXPECT_FLOAT_EQ(boxes[1].score, 0.8f);
}

TEST(TextComponents, DiagonalTouchJoins) {
  Map map(8, 8);
  map.Fill(0, 0, 3, 3, 0.9f);
  map.Fill(3, 3, 3, 3, 0.7f);
  const std::vector<TextBox> boxes = map.Find();
  ASSERT_EQ(boxes.size(), 1u);
  ExpectBox(boxes[0], 0, 0, 6, 6);
  EXPECT_NEAR(boxes[0].score, 0.8f, 1e-6);
}

TEST(TextComponents, GapSeparates) {
  Map map(10, 4);
  map.Fill(0, 0, 3, 3, 0.9f);
  map.Fill(4, 0, 3, 3, 0.9f);
  EXPECT_EQ(map.Find().size(), 2u);
}

TEST(TextComponents, ThresholdIsStrict) {
  Map map(8, 4);
  map.Fill(0, 0, 3, 3, 0.9f);
  map.Fill(3, 0, 1, 3, 0.3f);
  DetectionPostprocessOptions options;
  options.box_threshold = 0.0f;
  std::vector<TextBox> boxes = map.Find(options);
  ASSERT_EQ(boxes.size(), 1u);
  EXPECT_EQ(boxes[0].width, 3);

  map.Fill(3, 0, 1, 3, 0.3001f);
  boxes = map.Find(options);
  ASSERT_EQ(boxes.size(), 1u);
  EXPECT_EQ(boxes[0].width, 4);
}

TEST(TextComponents, BoxThreshold) {
  Map map(6, 6);
  map.Fill(0, 0, 3, 3, 0.5f);
  DetectionPostprocessOptions options;
  options.box_threshold = 0.6f;
  EXPECT_TRUE(map.Find(options).empty());
  // A mean equal to the box threshold is kept.
  options.box_threshold = 0.5f;
  EXPECT_EQ(map.Find(options).size(), 1u);
}

TEST(TextComponents, TinyDropped) {
  Map map(20, 20);
  map.Fill(0, 0, 2, 2, 0.9f);   // 2x2: a side under 3
  map.Fill(5, 0, 10, 1, 0.9f);  // 10x1 line
  map.Set(0, 10, 0.9f);         // a diagonal of three pixels: 3x3 box, 3 pixels
  map.Set(1, 11, 0.9f);
  map.Set(2, 12, 0.9f);
  map.Fill(10, 10, 3, 3, 0.9f);  // kept
  const std::vector<TextBox> boxes = map.Find();
  ASSERT_EQ(boxes.size(), 1u);
  ExpectBox(boxes[0], 10, 10, 3, 3);
}

TEST(TextComponents, SortedTopThenLeft) {
  Map map(20, 12);
  map.Fill(12, 1, 3, 3, 0.9f);
  map.Fill(1, 7, 3, 3, 0.9f);
  map.Fill(1, 1, 3, 3, 0.9f);
  const std::vector<TextBox> boxes = map.Find();
  ASSERT_EQ(boxes.size(), 3u);
  ExpectBox(boxes[0], 1, 1, 3, 3);
  ExpectBox(boxes[1], 12, 1, 3, 3);
  ExpectBox(boxes[2], 1, 7, 3, 3);
}

TEST(TextComponents, LargeComponent) {
  // One component of a million pixels must not exhaust the call stack.
  Map map(1000, 1000);
  map.Fill(0, 0, 1000, 1000, 0.9f);
  const std::vector<TextBox> boxes = map.Find();
  ASSERT_EQ(boxes.size(), 1u);
  ExpectBox(boxes[0], 0, 0, 1000, 1000);
}

TEST(TextBoxes, ScaledToImage) {
  Map map(12, 8);
  map.Fill(1, 1, 4, 3, 0.9f);
  DetectionPostprocessOptions options;
  options.unclip_ratio = 0.0f;
  StatusOr<std::vector<TextBox>> boxes = ExtractTextBoxes(MapTensor(map), {24, 16}, options);
  ASSERT_TRUE(boxes.ok()) << boxes.status().ToString();
  ASSERT_EQ(boxes->size(), 1u);
  ExpectBox((*boxes)[0], 2, 2, 8, 6);
  EXPECT_FLOAT_EQ((*boxes)[0].score, 0.9f);
}

TEST(TextBoxes, UnclipAndClamp) {
  Map map(12, 8);
  map.Fill(1, 1, 4, 3, 0.9f);
  // Offset 4 * 3 * 1.5 / 14 = 1.2857 map pixels on each side, then times 2:
  // left and top fall below 0 and clamp, right 12.57 and bottom 10.57 round up.
  StatusOr<std::vector<TextBox>> boxes = ExtractTextBoxes(MapTensor(map), {24, 16});
  ASSERT_TRUE(boxes.ok()) << boxes.status().ToString();
  ASSERT_EQ(boxes->size(), 1u);
  ExpectBox((*boxes)[0], 0, 0, 13, 11);
}

TEST(TextBoxes, RejectsWrongTensor) {
  Map map(12, 8);
  StatusOr<std::vector<TextBox>> boxes = ExtractTextBoxes(MapTensor(map, DataType::kFp16), {24, 16});
  ASSERT_FALSE(boxes.ok());
  EXPECT_NE(boxes.status().message().find("sigmoid_0.tmp_0"), std::string::npos) << boxes.status().message();

  Tensor two_channels = MapTensor(map);
  two_channels.shape = {1, 2, 4, 12};
  boxes = ExtractTextBoxes(two_channels, {24, 16});
  ASSERT_FALSE(boxes.ok());
  EXPECT_NE(boxes.status().message().find("[1,2,4,12]"), std::string::npos) << boxes.status().message();

  Tensor short_data = MapTensor(map);
  short_data.data = short_data.data.first(short_data.data.size() - 4);
  EXPECT_EQ(ExtractTextBoxes(short_data, {24, 16}).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace moat::client
