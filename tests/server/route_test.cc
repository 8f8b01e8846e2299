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
      {"/v2/models/m/config", Endpoint::kModelConfig, "m", std::nullopt},
      {"/v2/models/m/versions/2/config", Endpoint::kModelConfig, "m", "2"},
      {"/v2/models/m/stats", Endpoint::kModelStatistics, "m", std::nullopt},
      {"/v2/models/m/versions/2/stats", Endpoint::kModelStatistics, "m", "2"},
      {"/v2/models/stats", Endpoint::kAllModelStatistics, "", std::nullopt},
      {"/v2/models/stats/versions/1", Endpoint::kModelMetadata, "stats", "1"},
      {"/v2/repository/index", Endpoint::kRepositoryIndex, "", std::nullopt},
      {"/v2/repository/models/m/load", Endpoint::kModelLoad, "m", std::nullopt},
      {"/v2/repository/models/m%2e/unload", Endpoint::kModelUnload, "m%2e", std::nullopt},
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
  for (std::string target : {"",
                             "v2",
                             "/",
                             "/v2/",
                             "/v1/models/m",
                             "/v2/health",
                             "/v2/models",
                             "/v2/models/m/",
                             "/v2/models/m/versions",
                             "/v2/models/m/versions/1/infer/x",
                             "/v2/models/m/statistics",
                             "/v2/repository",
                             "/v2/repository/index/x",
                             "/v2/repository/models/m",
                             "/v2/repository/models/m/reload",
                             "/v2/repository/m/load",
                             "/v2/systemsharedmemory",
                             "/v2/systemsharedmemory/region/r",
                             "/v2/systemsharedmemory/region/r/map",
                             "/v2/systemsharedmemory/regions/r/status",
                             "/v2/cudasharedmemory/status"}) {
    SCOPED_TRACE(target);
    auto route = MatchRoute(target);
    ASSERT_FALSE(route.ok());
    EXPECT_EQ(route.status().code(), StatusCode::kNotFound);
    EXPECT_THAT(route.status().message(), HasSubstr("no endpoint at path"));
  }
}

TEST(Route, MatchesSharedMemoryEndpoints) {
  const std::pair<std::string, Endpoint> cases[] = {
      {"/v2/systemsharedmemory/status", Endpoint::kAllSharedMemoryStatus},
      {"/v2/systemsharedmemory/unregister", Endpoint::kAllSharedMemoryUnregister},
      {"/v2/systemsharedmemory/region/in%20put/status", Endpoint::kSharedMemoryStatus},
      {"/v2/systemsharedmemory/region/in%20put/register", Endpoint::kSharedMemoryRegister},
      {"/v2/systemsharedmemory/region/in%20put/unregister", Endpoint::kSharedMemoryUnregister},
  };
  for (const auto& [target, endpoint] : cases) {
    SCOPED_TRACE(target);
    auto route = MatchRoute(target);
    ASSERT_TRUE(route.ok()) << route.status().ToString();
    EXPECT_EQ(route->endpoint, endpoint);
    EXPECT_TRUE(route->model_segment.empty());
    bool names_region = target.find("/region/") != std::string::npos;
    EXPECT_EQ(route->region_segment, names_region ? "in%20put" : "");
  }
}

TEST(Route, EndpointMethods) {
  EXPECT_EQ(EndpointMethod(Endpoint::kRepositoryIndex), "POST");
  EXPECT_EQ(EndpointMethod(Endpoint::kModelLoad), "POST");
  EXPECT_EQ(EndpointMethod(Endpoint::kModelUnload), "POST");
  EXPECT_EQ(EndpointMethod(Endpoint::kSharedMemoryRegister), "POST");
  EXPECT_EQ(EndpointMethod(Endpoint::kSharedMemoryUnregister), "POST");
  EXPECT_EQ(EndpointMethod(Endpoint::kAllSharedMemoryUnregister), "POST");
  EXPECT_EQ(EndpointMethod(Endpoint::kModelConfig), "GET");
  EXPECT_EQ(EndpointMethod(Endpoint::kModelStatistics), "GET");
  EXPECT_EQ(EndpointMethod(Endpoint::kAllModelStatistics), "GET");
  EXPECT_EQ(EndpointMethod(Endpoint::kSharedMemoryStatus), "GET");
  EXPECT_EQ(EndpointMethod(Endpoint::kAllSharedMemoryStatus), "GET");
}

TEST(Route, DecodesRegionNames) {
  EXPECT_EQ(*DecodeRegionName("input%200"), "input 0");
  auto slash = DecodeRegionName("a%2Fb");
  ASSERT_FALSE(slash.ok());
  EXPECT_THAT(slash.status().message(),
              HasSubstr("shared memory region name 'a%2Fb' decodes to a '/' or NUL character at offset 1"));
  auto empty = DecodeRegionName("");
  ASSERT_FALSE(empty.ok());
  EXPECT_THAT(empty.status().message(), HasSubstr("shared memory region name in the path is empty"));
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
