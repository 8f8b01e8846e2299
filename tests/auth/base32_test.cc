#include "auth/base32.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/crypto.h"

namespace moat::auth {
namespace {

struct Vector {
  std::string plain;
  std::string padded;  // as RFC 4648, section 10 prints it
};

// RFC 4648, section 10 (BASE32 test vectors).
const std::vector<Vector> kRfc4648Vectors = {
    {"", ""},
    {"f", "MY======"},
    {"fo", "MZXQ===="},
    {"foo", "MZXW6==="},
    {"foob", "MZXW6YQ="},
    {"fooba", "MZXW6YTB"},
    {"foobar", "MZXW6YTBOI======"},
};

std::string WithoutPadding(const std::string& text) { return text.substr(0, text.find('=')); }

std::string Lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

TEST(Base32, EncodesRfc4648VectorsWithoutPadding) {
  for (const Vector& vector : kRfc4648Vectors) {
    EXPECT_EQ(Base32Encode(AsBytes(vector.plain)), WithoutPadding(vector.padded)) << vector.plain;
  }
}

TEST(Base32, DecodesRfc4648VectorsPadded) {
  for (const Vector& vector : kRfc4648Vectors) {
    StatusOr<std::string> decoded = Base32Decode(vector.padded);
    ASSERT_TRUE(decoded.ok()) << vector.padded << ": " << decoded.status().ToString();
    EXPECT_EQ(*decoded, vector.plain);
  }
}

TEST(Base32, DecodesWithoutPaddingAndInLowerCase) {
  for (const Vector& vector : kRfc4648Vectors) {
    StatusOr<std::string> unpadded = Base32Decode(WithoutPadding(vector.padded));
    ASSERT_TRUE(unpadded.ok()) << vector.padded << ": " << unpadded.status().ToString();
    EXPECT_EQ(*unpadded, vector.plain);
    StatusOr<std::string> lower = Base32Decode(Lower(vector.padded));
    ASSERT_TRUE(lower.ok()) << vector.padded << ": " << lower.status().ToString();
    EXPECT_EQ(*lower, vector.plain);
  }
}

TEST(Base32, RoundTripsEveryByteValue) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  for (size_t length = 0; length <= bytes.size(); length += 7) {
    std::string plain = bytes.substr(0, length);
    StatusOr<std::string> decoded = Base32Decode(Base32Encode(AsBytes(plain)));
    ASSERT_TRUE(decoded.ok()) << length << ": " << decoded.status().ToString();
    EXPECT_EQ(*decoded, plain) << length;
  }
}

TEST(Base32, RejectsCharacterOutsideAlphabet) {
  for (const std::string text : {"MZXW1YTB", "MZXW8YTB", "MZX 6YTB", "MZXW6YT!"}) {
    StatusOr<std::string> decoded = Base32Decode(text);
    ASSERT_FALSE(decoded.ok()) << text;
    EXPECT_EQ(decoded.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(decoded.status().message().find("offset"), std::string::npos) << decoded.status().message();
  }
}

TEST(Base32, RejectsLengthsWithPartialBytes) {
  // 1, 3 and 6 characters in the last group leave a partial byte.
  for (const std::string text : {"M", "MZX", "MZXW6Y", "MZXW6YTBO"}) {
    StatusOr<std::string> decoded = Base32Decode(text);
    ASSERT_FALSE(decoded.ok()) << text;
    EXPECT_EQ(decoded.status().code(), StatusCode::kInvalidArgument);
  }
}

TEST(Base32, RejectsNonzeroUnusedBits) {
  // "MZ" encodes 'f' with two zero bits at the end; "M3" sets them.
  StatusOr<std::string> decoded = Base32Decode("M3");
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(decoded.status().message().find("unused bits"), std::string::npos) << decoded.status().message();
}

TEST(Base32, RejectsMisplacedPadding) {
  for (const std::string text : {"MY=", "MY=====", "MY=======", "MY==A===", "========", "MZXW6YTB========"}) {
    StatusOr<std::string> decoded = Base32Decode(text);
    ASSERT_FALSE(decoded.ok()) << text;
    EXPECT_EQ(decoded.status().code(), StatusCode::kInvalidArgument) << text;
  }
}

}  // namespace
}  // namespace moat::auth
