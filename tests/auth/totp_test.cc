#include "auth/totp.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/crypto.h"

namespace moat::auth {
namespace {

// RFC 6238, Appendix B: the seeds as the RFC's reference code gives them,
// the ASCII digits "1234567890" repeated to the digest's size.
const std::string kSeedSha1 = "12345678901234567890";
const std::string kSeedSha256 = "12345678901234567890123456789012";
const std::string kSeedSha512 = "1234567890123456789012345678901234567890123456789012345678901234";

struct TotpVector {
  int64_t time;
  const char* sha1;
  const char* sha256;
  const char* sha512;
};

// RFC 6238, Appendix B: 8 digits, X = 30, T0 = 0.
const std::vector<TotpVector> kRfc6238Vectors = {
    {59, "94287082", "46119246", "90693936"},
    {1111111109, "07081804", "68084774", "25091201"},
    {1111111111, "14050471", "67062674", "99943326"},
    {1234567890, "89005924", "91819424", "93441116"},
    {2000000000, "69279037", "90698825", "38618901"},
    {20000000000, "65353130", "77737706", "47863826"},
};

TotpParameters EightDigits(TotpAlgorithm algorithm) {
  TotpParameters parameters;
  parameters.algorithm = algorithm;
  parameters.digits = 8;
  return parameters;
}

TEST(Totp, Rfc6238VectorsSha1) {
  for (const TotpVector& vector : kRfc6238Vectors) {
    EXPECT_EQ(TotpCode(AsBytes(kSeedSha1), vector.time, EightDigits(TotpAlgorithm::kSha1)), vector.sha1)
        << vector.time;
  }
}

TEST(Totp, Rfc6238VectorsSha256) {
  for (const TotpVector& vector : kRfc6238Vectors) {
    EXPECT_EQ(TotpCode(AsBytes(kSeedSha256), vector.time, EightDigits(TotpAlgorithm::kSha256)), vector.sha256)
        << vector.time;
  }
}

TEST(Totp, Rfc6238VectorsSha512) {
  for (const TotpVector& vector : kRfc6238Vectors) {
    EXPECT_EQ(TotpCode(AsBytes(kSeedSha512), vector.time, EightDigits(TotpAlgorithm::kSha512)), vector.sha512)
        << vector.time;
  }
}

TEST(Totp, Rfc4226HotpValues) {
  // RFC 4226, Appendix D: HMAC-SHA-1, 6 digits, counters 0 to 9.
  const std::vector<std::string> expected = {"755224", "287082", "359152", "969429", "338314",
                                             "254676", "287922", "162583", "399871", "520489"};
  for (uint64_t counter = 0; counter < expected.size(); ++counter) {
    EXPECT_EQ(HotpCode(AsBytes(kSeedSha1), counter, TotpAlgorithm::kSha1, 6), expected[counter]) << counter;
  }
}

TEST(Totp, ShorterCodeIsSuffixOfLonger) {
  TotpParameters six;
  TotpParameters seven = six;
  seven.digits = 7;
  for (const TotpVector& vector : kRfc6238Vectors) {
    std::string eight = vector.sha1;
    EXPECT_EQ(TotpCode(AsBytes(kSeedSha1), vector.time, six), eight.substr(2)) << vector.time;
    EXPECT_EQ(TotpCode(AsBytes(kSeedSha1), vector.time, seven), eight.substr(1)) << vector.time;
  }
}

TEST(Totp, DefaultsAreSha1SixDigitsThirtySeconds) {
  TotpParameters parameters;
  EXPECT_EQ(parameters.algorithm, TotpAlgorithm::kSha1);
  EXPECT_EQ(parameters.digits, 6);
  EXPECT_EQ(parameters.step_seconds, 30);
  EXPECT_EQ(parameters.t0, 0);
  EXPECT_EQ(TotpAlgorithmName(TotpAlgorithm::kSha1), "SHA1");
  EXPECT_EQ(TotpAlgorithmName(TotpAlgorithm::kSha256), "SHA256");
  EXPECT_EQ(TotpAlgorithmName(TotpAlgorithm::kSha512), "SHA512");
}

TEST(Totp, StepBoundaries) {
  TotpParameters parameters;
  EXPECT_EQ(TotpStep(0, parameters), 0);
  EXPECT_EQ(TotpStep(29, parameters), 0);
  EXPECT_EQ(TotpStep(30, parameters), 1);
  EXPECT_EQ(TotpStep(-1, parameters), -1);
  EXPECT_EQ(TotpStep(-30, parameters), -1);
  EXPECT_EQ(TotpStep(-31, parameters), -2);
  parameters.t0 = 100;
  EXPECT_EQ(TotpStep(129, parameters), 0);
  EXPECT_EQ(TotpStep(130, parameters), 1);
  // The same code within one step, a different one at the next.
  TotpParameters defaults;
  EXPECT_EQ(TotpCode(AsBytes(kSeedSha1), 60, defaults), TotpCode(AsBytes(kSeedSha1), 89, defaults));
  EXPECT_NE(TotpCode(AsBytes(kSeedSha1), 89, defaults), TotpCode(AsBytes(kSeedSha1), 90, defaults));
}

TEST(Totp, InvalidParametersGiveNoCode) {
  TotpParameters five_digits;
  five_digits.digits = 5;
  Status status = ValidateTotpParameters(five_digits);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("5"), std::string::npos) << status.message();
  EXPECT_EQ(TotpCode(AsBytes(kSeedSha1), 59, five_digits), "");

  TotpParameters nine_digits;
  nine_digits.digits = 9;
  EXPECT_EQ(ValidateTotpParameters(nine_digits).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(TotpCode(AsBytes(kSeedSha1), 59, nine_digits), "");

  TotpParameters zero_step;
  zero_step.step_seconds = 0;
  EXPECT_EQ(ValidateTotpParameters(zero_step).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(TotpCode(AsBytes(kSeedSha1), 59, zero_step), "");
  EXPECT_EQ(TotpStep(59, zero_step), -1);

  EXPECT_TRUE(ValidateTotpParameters(TotpParameters{}).ok());
}

TEST(Totp, EmptyKeyOrEarlyTimeGivesNoCode) {
  TotpParameters parameters;
  EXPECT_EQ(TotpCode({}, 59, parameters), "");
  EXPECT_EQ(TotpCode(AsBytes(kSeedSha1), -1, parameters), "");
  EXPECT_EQ(TotpCodeAtStep(AsBytes(kSeedSha1), -1, parameters), "");
  EXPECT_EQ(TotpStep(INT64_MIN, TotpParameters{.t0 = 1}), -1);
}

}  // namespace
}  // namespace moat::auth
