// The model repository extension over real sockets, against a real
// ModelService that allows model control.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <fstream>
#include <memory>

#include "repository/model_service.h"
#include "server/http_server.h"
#include "test_http_client.h"
#include "testing/model_service.h"
#include "testing/signed_repository.h"
#include "testing/start_http_server.h"

namespace moat::server {
namespace {

using ::testing::HasSubstr;
using testing::MakeRequest;
using testing::Response;
using testing::TestClient;
namespace http = boost::beast::http;

const std::string kIdentityRequest =
    R"({"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[1,2],"data":[3,4]}]})";

std::string ErrorOf(const Response& response) {
  rapidjson::Document document;
  document.Parse(response.body().data(), response.body().size());
  if (document.HasParseError() || !document.IsObject() || !document.HasMember("error"))
    return "<no error field>";
  return document["error"].GetString();
}

class RepositoryHttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    repository_ =
        std::make_unique<moat::testing::SignedRepository>(std::vector<moat::testing::RepositoryModel>{
            {"identity", 1, moat::testing::TestModelPath("identity_fp32.onnx")},
            {"identity", 2, moat::testing::TestModelPath("identity_fp32.onnx")},
            {"broken", 1, moat::testing::TestModelPath("identity_fp32.onnx")},
        });
    // A byte appended after signing makes the bundle fail verification.
    std::ofstream(repository_->BundleDir("broken", 1) + "/identity_fp32.onnx",
                  std::ios::binary | std::ios::app)
        << "x";

    service_ = moat::testing::CreateModelService(*repository_, /*allow_model_control=*/true);
    ASSERT_NE(service_, nullptr);
    server_ = moat::testing::StartHttpServer(*service_);
    ASSERT_NE(server_, nullptr);
  }

  void TearDown() override {
    if (server_) server_->Stop();
  }

  static Response Post(TestClient& client, const std::string& target, const std::string& body = "") {
    return client.RoundTrip(MakeRequest(http::verb::post, target, body));
  }

  std::unique_ptr<moat::testing::SignedRepository> repository_;
  std::unique_ptr<repository::ModelService> service_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(RepositoryHttpTest, IndexListsServedAndRejectedVersions) {
  TestClient client(server_->port());
  Response all = Post(client, "/v2/repository/index");
  ASSERT_EQ(all.result_int(), 200) << all.body();
  rapidjson::Document index;
  index.Parse(all.body().c_str());
  ASSERT_TRUE(index.IsArray());
  ASSERT_EQ(index.Size(), 3u);
  EXPECT_STREQ(index[0]["name"].GetString(), "broken");
  EXPECT_STREQ(index[0]["state"].GetString(), "UNAVAILABLE");
  EXPECT_THAT(index[0]["reason"].GetString(), HasSubstr("identity_fp32.onnx"));
  EXPECT_STREQ(index[1]["name"].GetString(), "identity");
  EXPECT_STREQ(index[1]["version"].GetString(), "1");
  EXPECT_STREQ(index[1]["state"].GetString(), "READY");
  EXPECT_STREQ(index[2]["version"].GetString(), "2");

  Response ready = Post(client, "/v2/repository/index", R"({"ready":true})");
  ASSERT_EQ(ready.result_int(), 200) << ready.body();
  EXPECT_EQ(ready.body(), R"([{"name":"identity","version":"1","state":"READY","reason":""},)"
                          R"({"name":"identity","version":"2","state":"READY","reason":""}])");
}

TEST_F(RepositoryHttpTest, UnloadThenLoad) {
  TestClient client(server_->port());
  Response unloaded =
      Post(client, "/v2/repository/models/identity/unload", R"({"parameters":{"unload_dependents":true}})");
  ASSERT_EQ(unloaded.result_int(), 200) << unloaded.body();
  EXPECT_EQ(unloaded.body(), "{}");
  EXPECT_EQ(client.RoundTrip(MakeRequest(http::verb::get, "/v2/models/identity/ready")).result_int(), 404);
  Response infer_after_unload = Post(client, "/v2/models/identity/infer", kIdentityRequest);
  EXPECT_EQ(infer_after_unload.result_int(), 404);
  EXPECT_THAT(ErrorOf(infer_after_unload), HasSubstr("model 'identity' not found"));
  EXPECT_EQ(Post(client, "/v2/repository/index", R"({"ready":true})").body(), "[]");

  Response loaded = Post(client, "/v2/repository/models/identity/load");
  ASSERT_EQ(loaded.result_int(), 200) << loaded.body();
  EXPECT_EQ(
      client.RoundTrip(MakeRequest(http::verb::get, "/v2/models/identity/versions/2/ready")).result_int(),
      200);
  Response served = Post(client, "/v2/models/identity/infer", kIdentityRequest);
  ASSERT_EQ(served.result_int(), 200) << served.body();
  EXPECT_THAT(served.body(), HasSubstr(R"("model_version":"2")"));
}

TEST_F(RepositoryHttpTest, ControlErrors) {
  TestClient client(server_->port());
  struct Case {
    std::string label;
    std::string target;
    std::string body;
    unsigned status;
    std::string fragment;
  };
  const Case cases[] = {
      {"load of a bundle that fails verification", "/v2/repository/models/broken/load", "", 400,
       "model 'broken' not loaded"},
      {"load of an unknown model", "/v2/repository/models/nope/load", "", 404, "nope"},
      {"unload of an unknown model", "/v2/repository/models/nope/unload", "", 404,
       "model 'nope' is not loaded"},
      {"load with a config override", "/v2/repository/models/identity/load",
       R"({"parameters":{"config":"{\"max_batch_size\":8}"}})", 501, "parameter 'config' is not supported"},
      {"malformed body", "/v2/repository/models/identity/unload", "{", 400,
       "malformed JSON in the request for model 'identity'"},
      {"bad model name", "/v2/repository/models/a%2Fb/load", "", 400, "decodes to a '/' or NUL"},
  };
  for (const Case& test : cases) {
    SCOPED_TRACE(test.label);
    Response response = Post(client, test.target, test.body);
    EXPECT_EQ(response.result_int(), test.status) << response.body();
    EXPECT_THAT(ErrorOf(response), HasSubstr(test.fragment));
    // The connection stays open and the model is still served.
    Response served = Post(client, "/v2/models/identity/infer", kIdentityRequest);
    EXPECT_EQ(served.result_int(), 200) << served.body();
  }
}

}  // namespace
}  // namespace moat::server
