#include "server/control_requests.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace moat::server {
namespace {

using ::testing::HasSubstr;

TEST(RepositoryIndexRequest, ReadsReady) {
  EXPECT_FALSE(*ParseRepositoryIndexRequest(""));
  EXPECT_FALSE(*ParseRepositoryIndexRequest(" \r\n"));
  EXPECT_FALSE(*ParseRepositoryIndexRequest("{}"));
  EXPECT_TRUE(*ParseRepositoryIndexRequest(R"({"ready": true})"));
  EXPECT_FALSE(*ParseRepositoryIndexRequest(R"({"ready": false})"));
}

TEST(RepositoryIndexRequest, RejectsBadBodies) {
  const std::pair<std::string, std::string> cases[] = {
      {"{", "malformed JSON in the repository index request at offset 1"},
      {"[]", "repository index request: expected a JSON object, got an array"},
      {R"({"ready":1})", "'ready' must be true or false, got 1"},
      {R"({"ready":true,"all":true})", "unknown field 'all'"},
  };
  for (const auto& [body, fragment] : cases) {
    SCOPED_TRACE(body);
    auto parsed = ParseRepositoryIndexRequest(body);
    ASSERT_FALSE(parsed.ok());
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(parsed.status().message(), HasSubstr(fragment));
  }
}

TEST(ModelControlRequest, IgnoresUnknownParameters) {
  EXPECT_TRUE(CheckModelControlRequest("", "m").ok());
  EXPECT_TRUE(CheckModelControlRequest("{}", "m").ok());
  EXPECT_TRUE(CheckModelControlRequest(R"({"parameters":{}})", "m").ok());
  EXPECT_TRUE(CheckModelControlRequest(R"({"parameters":{"unload_dependents":true,"x":[1]}})", "m").ok());
}

TEST(ModelControlRequest, RejectsBadBodies) {
  struct Case {
    std::string body;
    StatusCode code;
    std::string fragment;
  };
  const Case cases[] = {
      {"{x", StatusCode::kInvalidArgument, "malformed JSON in the request for model 'm' at offset 1"},
      {R"({"parameters":[]})", StatusCode::kInvalidArgument, "'parameters' must be an object, got an array"},
      {R"({"params":{}})", StatusCode::kInvalidArgument, "unknown field 'params'"},
      {R"({"parameters":{"config":"{}"}})", StatusCode::kUnimplemented,
       "parameter 'config' is not supported, because Moat serves only the signed bundles of its repository"},
      {R"({"parameters":{"file:1/model.onnx":"AAAA"}})", StatusCode::kUnimplemented,
       "parameter 'file:1/model.onnx' is not supported"},
  };
  for (const Case& test : cases) {
    SCOPED_TRACE(test.body);
    Status status = CheckModelControlRequest(test.body, "m");
    EXPECT_EQ(status.code(), test.code);
    EXPECT_THAT(status.message(), HasSubstr(test.fragment));
  }
}

TEST(RegisterRequest, ReadsFields) {
  auto parsed = ParseRegisterRequest(R"({"key":"/input","offset":64,"byte_size":128})", "r");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->key, "/input");
  EXPECT_EQ(parsed->offset, 64u);
  EXPECT_EQ(parsed->byte_size, 128u);

  auto no_offset = ParseRegisterRequest(R"({"key":"/input","byte_size":18446744073709551615})", "r");
  ASSERT_TRUE(no_offset.ok()) << no_offset.status().ToString();
  EXPECT_EQ(no_offset->offset, 0u);
  EXPECT_EQ(no_offset->byte_size, UINT64_MAX);
}

TEST(RegisterRequest, RejectsBadBodies) {
  const std::pair<std::string, std::string> cases[] = {
      {"", "malformed JSON in the register request for shared memory region 'r' at offset 0"},
      {R"({"byte_size":4})", "missing field 'key'"},
      {R"({"key":"/k"})", "missing field 'byte_size'"},
      {R"({"key":7,"byte_size":4})", "'key' must be a string, got 7"},
      {R"({"key":"/k","byte_size":-4})", "'byte_size' must be a non-negative integer, got -4"},
      {R"({"key":"/k","byte_size":4.5})", "'byte_size' must be a non-negative integer, got 4.5"},
      {R"({"key":"/k","offset":-1,"byte_size":4})", "'offset' must be a non-negative integer, got -1"},
      {R"({"key":"/k","offset":"0","byte_size":4})", "'offset' must be a non-negative integer, got \"0\""},
      {R"({"key":"/k","byte_size":4,"device_id":0})", "unknown field 'device_id'"},
  };
  for (const auto& [body, fragment] : cases) {
    SCOPED_TRACE(body);
    auto parsed = ParseRegisterRequest(body, "r");
    ASSERT_FALSE(parsed.ok());
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(parsed.status().message(), HasSubstr(fragment));
  }
}

}  // namespace
}  // namespace moat::server
