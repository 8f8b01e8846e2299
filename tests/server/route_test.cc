#include "server/route.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace moat::server {
namespace {

using ::testing::HasSubstr;

TEST(Route, MatchesEveryEndpoint) {
  struct Case {
    std::string target;
    Endpoint endpoint;
    std::string model;
    std::optional<std::string> version;
  };
  const Case cases[] = {
      {"/v2", Endpoint::kServerMetadata, "", std::nullopt},
      {"/v2?x=1", Endpoint::kServerMetadata, "", std::nullopt},
      {"/v2/health/live", Endpoint::kHealthLive, "", std::nullopt},
      {"/v2/health/ready", Endpoint::kHealthReady, "", std::nullopt},
      {"/v2/models/m", Endpoint::kModelMetadata, "m", std::nullopt},
      {"/v2/models/m/versions/3", Endpoint::kModelMetadata, "m", "3"},
      {"/v2/models/m/ready", Endpoint::kModelReady, "m", std::nullopt},
      {"/v2/models/m/versions/3/ready", Endpoint::kModelReady, "m", "3"},
      {"/v2/models/m%20n/infer", Endpoint::kInfer, "m%20n", std::nullopt},
      {"/v2/models/m/versions/12/infer", Endpoint::kInfer, "m", "12"},
      {"/v2/models/versions", Endpoint::kModelMetadata, "versions", std::nullopt},
      {"/v2/models/infer/infer", Endpoint::kInfer, "infer", std::nullopt},
  };
  for (const Case& test : cases) {
    SCOPED_TRACE(test.target);
    auto route = MatchRoute(test.target);
    ASSERT_TRUE(route.ok()) << route.status().ToString();
    EXPECT_EQ(route->endpoint, test.endpoint);
    EXPECT_EQ(route->model_segment, test.model);
    EXPECT_EQ(route->version_segment, test.version);
  }
}

TEST(Route, UnknownPaths) {
  for (std::string target :
       {"", "v2", "/", "/v2/", "/v1/models/m", "/v2/health", "/v2/models", "/v2/models/m/",
        "/v2/models/m/versions", "/v2/models/m/versions/1/infer/x", "/v2/models/m/stats"}) {
    SCOPED_TRACE(target);
    auto route = MatchRoute(target);
    ASSERT_FALSE(route.ok());
    EXPECT_EQ(route.status().code(), StatusCode::kNotFound);
    EXPECT_THAT(route.status().message(), HasSubstr("no endpoint at path"));
  }
}

TEST(Route, DecodesModelNames) {
  EXPECT_EQ(*DecodeModelName("plain"), "plain");
  EXPECT_EQ(*DecodeModelName("my%20model"), "my model");
  EXPECT_EQ(*DecodeModelName("caf%C3%a9"), "caf\xc3\xa9");
  EXPECT_EQ(*DecodeModelName("%25"), "%");
  EXPECT_EQ(*DecodeModelName("a+b"), "a+b");
}

TEST(Route, RejectsBadModelNames) {
  for (std::string segment : {"", "%", "%2", "%g0", "a%2fb", "a%2Fb", "%00", "%C3", "%ff"}) {
    SCOPED_TRACE(segment);
    auto name = DecodeModelName(segment);
    ASSERT_FALSE(name.ok());
    EXPECT_EQ(name.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(name.status().message(), HasSubstr("model name"));
  }
}

TEST(Route, ParsesVersions) {
  EXPECT_EQ(*ParseModelVersion(std::nullopt), std::nullopt);
  EXPECT_EQ(*ParseModelVersion("1"), 1);
  EXPECT_EQ(*ParseModelVersion("9223372036854775807"), INT64_MAX);
  for (std::string segment :
       {"", "0", "00", "01", "-1", "+1", "1.0", "1e3", " 1", "9223372036854775808", "99999999999999999999"}) {
    SCOPED_TRACE(segment);
    auto version = ParseModelVersion(segment);
    ASSERT_FALSE(version.ok());
    EXPECT_THAT(version.status().message(),
                HasSubstr("model version '" + segment + "' in the path is invalid"));
  }
}

}  // namespace
}  // namespace moat::server
