#include "auth/api_token.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace moat::auth {
namespace {

// A well-formed token: 16 hex digits of id, 43 base64url characters of
// secret whose last character ('4', value 56) has its two unused bits clear.
const std::string kId = "0123456789abcdef";
const std::string kSecret = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ-_01234";
const std::string kToken = "moat_" + kId + "_" + kSecret;

void ExpectMalformed(const std::string& text, const std::string& why) {
  StatusOr<ApiTokenParts> parts = ParseApiToken(text);
  ASSERT_FALSE(parts.ok()) << why;
  EXPECT_EQ(parts.status().code(), StatusCode::kInvalidArgument) << why;
  EXPECT_NE(parts.status().message().find("malformed API token"), std::string::npos) << parts.status().message();
  // The message never repeats the text, which may hold a secret.
  if (text.size() > kApiTokenPrefix.size() + 8) {
    EXPECT_EQ(parts.status().message().find(text.substr(kApiTokenPrefix.size() + 1)), std::string::npos)
        << parts.status().message();
  }
}

TEST(ApiToken, ParsesWellFormedText) {
  ASSERT_EQ(kToken.size(), kApiTokenLength);
  StatusOr<ApiTokenParts> parts = ParseApiToken(kToken);
  ASSERT_TRUE(parts.ok()) << parts.status().ToString();
  EXPECT_EQ(parts->id, kId);
  EXPECT_EQ(parts->secret, kSecret);
  EXPECT_EQ(FormatApiToken(*parts), kToken);
}

TEST(ApiToken, GeneratedTokensParseAndDiffer) {
  std::set<std::string> ids;
  std::set<std::string> secrets;
  for (int i = 0; i < 64; ++i) {
    StatusOr<ApiTokenParts> generated = GenerateApiToken();
    ASSERT_TRUE(generated.ok()) << generated.status().ToString();
    std::string text = FormatApiToken(*generated);
    EXPECT_EQ(text.size(), kApiTokenLength);
    StatusOr<ApiTokenParts> parsed = ParseApiToken(text);
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    EXPECT_EQ(parsed->id, generated->id);
    EXPECT_EQ(parsed->secret, generated->secret);
    ids.insert(generated->id);
    secrets.insert(generated->secret);
  }
  EXPECT_EQ(ids.size(), 64u);
  EXPECT_EQ(secrets.size(), 64u);
}

TEST(ApiToken, RejectsWrongLength) {
  ExpectMalformed("", "empty");
  ExpectMalformed(kToken.substr(0, kToken.size() - 1), "one short");
  ExpectMalformed(kToken + "A", "one long");
  ExpectMalformed(kToken + "\n", "trailing newline");
  ExpectMalformed(" " + kToken.substr(1), "leading space in place of 'm'");
}

TEST(ApiToken, RejectsWrongPrefix) {
  ExpectMalformed("MOAT_" + kId + "_" + kSecret, "upper-case prefix");
  ExpectMalformed("mxat_" + kId + "_" + kSecret, "other prefix");
  ExpectMalformed("moat-" + kId + "_" + kSecret, "dash after prefix");
}

TEST(ApiToken, RejectsBadIdCharacters) {
  ExpectMalformed("moat_0123456789ABCDEF_" + kSecret, "upper-case hex");
  ExpectMalformed("moat_0123456789abcdeg_" + kSecret, "g in id");
  ExpectMalformed("moat_0123456789abcde_-" + kSecret, "short id");
  ExpectMalformed("moat_" + kId + "-" + kSecret, "dash separator");
}

TEST(ApiToken, RejectsBadSecretCharacters) {
  for (char bad : {'+', '/', '=', ' ', '.', '\0', '\x80'}) {
    std::string text = kToken;
    text[kToken.size() - 10] = bad;
    ExpectMalformed(text, std::string("character ") + std::to_string(static_cast<unsigned char>(bad)));
  }
}

TEST(ApiToken, RejectsNonCanonicalLastCharacter) {
  // 'B' (value 1) sets a bit beyond the 256-bit secret; 'E' (value 4) does not.
  std::string text = kToken;
  text.back() = 'B';
  ExpectMalformed(text, "last character B");
  text.back() = 'E';
  EXPECT_TRUE(ParseApiToken(text).ok());
}

TEST(ApiToken, DigestIsSha256OfSecretText) {
  EXPECT_EQ(ApiTokenSecretDigest(kSecret), Sha256Of(kSecret));
  EXPECT_NE(ApiTokenSecretDigest(kSecret), ApiTokenSecretDigest(kSecret.substr(1) + "A"));
}

}  // namespace
}  // namespace moat::auth
