#include "core/model_version.h"

#include <gtest/gtest.h>

namespace moat {
namespace {

TEST(ParseVersionNumber, AcceptsCanonicalNumbers) {
  EXPECT_EQ(ParseVersionNumber("1"), 1);
  EXPECT_EQ(ParseVersionNumber("42"), 42);
  EXPECT_EQ(ParseVersionNumber("9223372036854775807"), INT64_MAX);
}

TEST(ParseVersionNumber, RejectsOtherSpellings) {
  for (const char* text : {"", "0", "01", "-1", "+1", " 1", "1 ", "1a", "0x10", "9223372036854775808"}) {
    EXPECT_EQ(ParseVersionNumber(text), std::nullopt) << "'" << text << "'";
  }
}

}  // namespace
}  // namespace moat
