#include "hardware/memory_estimate.h"

#include <gtest/gtest.h>

namespace moat::hardware {
namespace {

constexpr uint64_t kMiB = uint64_t{1} << 20;

TEST(EstimateModelMemory, MultiplierAndOverhead) {
  EXPECT_EQ(EstimateModelMemory(0), kMemoryOverheadBytes);
  EXPECT_EQ(EstimateModelMemory(100 * kMiB), 100 * kMiB * kMemoryMultiplier + kMemoryOverheadBytes);
}

TEST(EstimateModelMemory, Saturates) { EXPECT_EQ(EstimateModelMemory(UINT64_MAX), UINT64_MAX); }

TEST(CheckFits, Fits) {
  EXPECT_TRUE(CheckFits("m", 1, 100 * kMiB, 1000 * kMiB, 0).ok());
  EXPECT_TRUE(CheckFits("m", 1, 100 * kMiB, 1000 * kMiB, 900 * kMiB).ok());
}

TEST(CheckFits, MessageNamesNumbers) {
  Status status = CheckFits("ocr-det", 3, 300 * kMiB, 1000 * kMiB, 800 * kMiB);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(status.message(),
            "model ocr-det version 3 needs about 300 MiB, 200 MiB of 1000 MiB are available");
}

TEST(CheckFits, PlannedAboveAvailable) {
  Status status = CheckFits("a", 1, 1, 10 * kMiB, 20 * kMiB);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.message(), "model a version 1 needs about 1 MiB, 0 MiB of 10 MiB are available");
}

TEST(ToMiB, RoundsUp) {
  EXPECT_EQ(ToMiB(0), 0u);
  EXPECT_EQ(ToMiB(1), 1u);
  EXPECT_EQ(ToMiB(kMiB), 1u);
  EXPECT_EQ(ToMiB(kMiB + 1), 2u);
}

}  // namespace
}  // namespace moat::hardware
