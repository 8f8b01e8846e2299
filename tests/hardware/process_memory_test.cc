#include "hardware/process_memory.h"

#include <gtest/gtest.h>

namespace moat::hardware {
namespace {

TEST(ParseStatmResidentPages, ReadsSecondField) {
  auto pages = ParseStatmResidentPages("61234 2048 1024 300 0 5000 0\n");
  ASSERT_TRUE(pages.ok()) << pages.status().ToString();
  EXPECT_EQ(*pages, 2048u);
}

TEST(ParseStatmResidentPages, RejectsMalformed) {
  for (const char* text : {"", "61234", "61234 ", "61234 x 1", "61234 -5 1", "61234 12x 1"}) {
    EXPECT_EQ(ParseStatmResidentPages(text).status().code(), StatusCode::kInvalidArgument) << text;
  }
}

TEST(ReadResidentBytes, ReadsThisProcess) {
  std::optional<uint64_t> resident = ReadResidentBytes();
  ASSERT_TRUE(resident.has_value());
  EXPECT_GT(*resident, 0u);
}

}  // namespace
}  // namespace moat::hardware
