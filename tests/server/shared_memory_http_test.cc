// The system shared memory extension over real sockets, against the real
// ModelService: regions are POSIX shared memory objects that the test creates
// as a client would.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <cstring>
#include <memory>
#include <span>

#include "repository/model_service.h"
#include "server/http_server.h"
#include "test_http_client.h"
#include "testing/model_service.h"
#include "testing/posix_shm_object.h"
#include "testing/signed_repository.h"
#include "testing/start_http_server.h"
#include "testing/tensor_bytes.h"

namespace moat::server {
namespace {

using moat::testing::BytesElement;
using moat::testing::PosixShmObject;
using moat::testing::RawBytes;
using ::testing::HasSubstr;
using testing::MakeRequest;
using testing::Response;
using testing::TestClient;
namespace http = boost::beast::http;

rapidjson::Document ParseJson(std::string_view text) {
  rapidjson::Document document;
  document.Parse(text.data(), text.size());
  return document;
}

std::string ErrorOf(const Response& response) {
  rapidjson::Document document = ParseJson(response.body());
  if (document.HasParseError() || !document.IsObject() || !document.HasMember("error"))
    return "<no error field>";
  return document["error"].GetString();
}

// 16 floats: start, start + 1, ...
std::string FloatRow(float start) {
  std::string bytes;
  for (int i = 0; i < 16; ++i) bytes += RawBytes<float>({start + static_cast<float>(i)});
  return bytes;
}

// The parameters object of a tensor in shared memory.
std::string ShmParameters(const std::string& region, uint64_t offset, uint64_t byte_size) {
  return R"({"shared_memory_region":")" + region + R"(","shared_memory_offset":)" + std::to_string(offset) +
         R"(,"shared_memory_byte_size":)" + std::to_string(byte_size) + "}";
}

// An identity_fp32 request whose [1,16] input lives in `input_parameters`
// and whose output has `output_parameters` (no outputs list when empty).
std::string IdentityRequest(const std::string& input_parameters, const std::string& output_parameters = "") {
  std::string json = R"({"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[1,16],"parameters":)" +
                     input_parameters + "}]";
  if (!output_parameters.empty()) {
    json += R"(,"outputs":[{"name":"OUTPUT0","parameters":)" + output_parameters + "}]";
  }
  return json + "}";
}

// An identity_fp32 request that the server rejects.
struct RejectedInfer {
  std::string label;
  std::string json;
  unsigned status;
  std::string fragment;  // a part of the expected error message
};

class SharedMemoryHttpTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::vector<moat::testing::RepositoryModel> models = {
        {"add_sub", 1, moat::testing::TestModelPath("add_sub.onnx")},
        {"identity_fp32", 1, moat::testing::TestModelPath("identity_fp32.onnx")},
        {"identity_bytes", 1, moat::testing::TestModelPath("identity_bytes.onnx")},
    };
    repository_ = new moat::testing::SignedRepository(models);
    service_ = moat::testing::CreateModelService(*repository_).release();
    ASSERT_NE(service_, nullptr);

    shared_memory_ = new shm::SharedMemoryManager(true);
    server_ = moat::testing::StartHttpServer(*service_, {}, shared_memory_).release();
    ASSERT_NE(server_, nullptr);
  }

  static void TearDownTestSuite() {
    delete server_;
    delete shared_memory_;
    delete service_;
    delete repository_;
  }

  void TearDown() override { EXPECT_TRUE(shared_memory_->Unregister("").ok()); }

  static Response Post(TestClient& client, const std::string& target, const std::string& body = "") {
    return client.RoundTrip(MakeRequest(http::verb::post, target, body));
  }

  static Response Register(TestClient& client, const std::string& region, const std::string& key,
                           uint64_t offset, uint64_t byte_size) {
    return Post(client, "/v2/systemsharedmemory/region/" + region + "/register",
                R"({"key":")" + key + R"(","offset":)" + std::to_string(offset) + R"(,"byte_size":)" +
                    std::to_string(byte_size) + "}");
  }

  // Checks that the connection still serves an identity_fp32 request from
  // region "valid", which the test has registered over `object`.
  static void ExpectValidRequestWorks(TestClient& client, PosixShmObject& object) {
    object.Write(0, FloatRow(100));
    Response response =
        Post(client, "/v2/models/identity_fp32/infer", IdentityRequest(ShmParameters("valid", 0, 64)));
    ASSERT_EQ(response.result_int(), 200) << response.body();
    EXPECT_THAT(response.body(), HasSubstr(R"("data":[100.0,101.0,)"));
  }

  // Checks the status and error of each of `cases`, and that the connection
  // still serves a valid request after each, as ExpectValidRequestWorks does.
  static void ExpectRejected(TestClient& client, PosixShmObject& valid,
                             std::span<const RejectedInfer> cases) {
    for (const RejectedInfer& test : cases) {
      SCOPED_TRACE(test.label);
      Response response = Post(client, "/v2/models/identity_fp32/infer", test.json);
      EXPECT_EQ(response.result_int(), test.status) << response.body();
      EXPECT_THAT(ErrorOf(response), HasSubstr(test.fragment));
      ExpectValidRequestWorks(client, valid);
    }
  }

  static inline moat::testing::SignedRepository* repository_ = nullptr;
  static inline repository::ModelService* service_ = nullptr;
  static inline shm::SharedMemoryManager* shared_memory_ = nullptr;
  static inline HttpServer* server_ = nullptr;
};

TEST_F(SharedMemoryHttpTest, RegisterStatusUnregister) {
  PosixShmObject object(8192);
  ASSERT_TRUE(object.ok());
  TestClient client(server_->port());

  Response registered = Register(client, "input%20a", object.key(), 100, 4000);
  ASSERT_EQ(registered.result_int(), 200) << registered.body();
  EXPECT_EQ(registered.body(), "{}");
  ASSERT_EQ(Register(client, "b", object.key(), 0, 8192).result_int(), 200);

  Response all = client.RoundTrip(MakeRequest(http::verb::get, "/v2/systemsharedmemory/status"));
  ASSERT_EQ(all.result_int(), 200) << all.body();
  EXPECT_EQ(all.body(), R"([{"name":"b","key":")" + object.key() + R"(","offset":0,"byte_size":8192},)" +
                            R"({"name":"input a","key":")" + object.key() +
                            R"(","offset":100,"byte_size":4000}])");

  Response region_status =
      client.RoundTrip(MakeRequest(http::verb::get, "/v2/systemsharedmemory/region/b/status"));
  ASSERT_EQ(region_status.result_int(), 200) << region_status.body();
  EXPECT_EQ(region_status.body(),
            R"([{"name":"b","key":")" + object.key() + R"(","offset":0,"byte_size":8192}])");

  Response again = Register(client, "b", object.key(), 0, 16);
  EXPECT_EQ(again.result_int(), 409);
  EXPECT_THAT(ErrorOf(again), HasSubstr("shared memory region 'b' is already registered"));

  Response unregistered = Post(client, "/v2/systemsharedmemory/region/b/unregister");
  EXPECT_EQ(unregistered.result_int(), 200) << unregistered.body();
  Response status_after_unregister =
      client.RoundTrip(MakeRequest(http::verb::get, "/v2/systemsharedmemory/region/b/status"));
  EXPECT_EQ(status_after_unregister.result_int(), 404);
  EXPECT_THAT(ErrorOf(status_after_unregister), HasSubstr("shared memory region 'b' is not registered"));
  EXPECT_EQ(Post(client, "/v2/systemsharedmemory/region/b/unregister").result_int(), 404);

  EXPECT_EQ(Post(client, "/v2/systemsharedmemory/unregister").result_int(), 200);
  Response empty = client.RoundTrip(MakeRequest(http::verb::get, "/v2/systemsharedmemory/status"));
  EXPECT_EQ(empty.body(), "[]");
}

TEST_F(SharedMemoryHttpTest, RegisterErrors) {
  PosixShmObject object(4096);
  ASSERT_TRUE(object.ok());
  TestClient client(server_->port());
  struct Case {
    std::string label;
    std::string body;
    unsigned status;
    std::string fragment;
  };
  const Case cases[] = {
      {"missing key", R"({"byte_size":16})", 400, "missing field 'key'"},
      {"negative size", R"({"key":")" + object.key() + R"(","byte_size":-16})", 400,
       "'byte_size' must be a non-negative integer, got -16"},
      {"zero size", R"({"key":")" + object.key() + R"(","byte_size":0})", 400,
       "byte_size must be greater than 0"},
      {"range past object end", R"({"key":")" + object.key() + R"(","offset":4000,"byte_size":97})", 400,
       "offset 4000 + byte_size 97 passes the end of key"},
      {"missing object", R"({"key":"/moat-no-such-object","byte_size":16})", 404,
       "shared memory key '/moat-no-such-object'"},
      {"key without slash", R"({"key":"name","byte_size":16})", 400, "it does not start with '/'"},
  };
  for (const Case& test : cases) {
    SCOPED_TRACE(test.label);
    Response response = Post(client, "/v2/systemsharedmemory/region/r/register", test.body);
    EXPECT_EQ(response.result_int(), test.status) << response.body();
    EXPECT_THAT(ErrorOf(response), HasSubstr(test.fragment));
    EXPECT_TRUE(response.keep_alive());
  }
  // The region ending exactly at the object's end is fine.
  EXPECT_EQ(Register(client, "r", object.key(), 4000, 96).result_int(), 200);
}

TEST_F(SharedMemoryHttpTest, InputsAndOutputsThroughSharedMemory) {
  PosixShmObject inputs(128);
  PosixShmObject outputs(4096);
  ASSERT_TRUE(inputs.ok());
  ASSERT_TRUE(outputs.ok());
  inputs.Write(0, FloatRow(0));
  inputs.Write(64, FloatRow(10));
  TestClient client(server_->port());
  ASSERT_EQ(Register(client, "inputs", inputs.key(), 0, 128).result_int(), 200);
  // Registered 1000 bytes into the object, so output offsets count from there.
  ASSERT_EQ(Register(client, "outputs", outputs.key(), 1000, 200).result_int(), 200);

  std::string json = R"({"inputs":[)"
                     R"({"name":"INPUT0","datatype":"FP32","shape":[1,16],"parameters":)" +
                     ShmParameters("inputs", 0, 64) +
                     R"(},{"name":"INPUT1","datatype":"FP32","shape":[1,16],"parameters":)" +
                     ShmParameters("inputs", 64, 64) + R"(}],"outputs":[{"name":"OUTPUT0","parameters":)" +
                     ShmParameters("outputs", 8, 64) + R"(},{"name":"OUTPUT1"}]})";
  Response response = Post(client, "/v2/models/add_sub/infer", json);
  ASSERT_EQ(response.result_int(), 200) << response.body();
  EXPECT_TRUE(response["Inference-Header-Content-Length"].empty());

  rapidjson::Document document = ParseJson(response.body());
  ASSERT_FALSE(document.HasParseError());
  const auto& sum = document["outputs"][0];
  EXPECT_STREQ(sum["name"].GetString(), "OUTPUT0");
  EXPECT_FALSE(sum.HasMember("data"));
  EXPECT_STREQ(sum["parameters"]["shared_memory_region"].GetString(), "outputs");
  EXPECT_EQ(sum["parameters"]["shared_memory_byte_size"].GetUint64(), 64u);
  const auto& difference = document["outputs"][1];
  ASSERT_EQ(difference["data"].Size(), 16u);
  EXPECT_EQ(difference["data"][3].GetDouble(), -10.0);

  std::string sums = outputs.Read(1008, 64);
  for (int i = 0; i < 16; ++i) {
    float value;
    std::memcpy(&value, sums.data() + 4 * i, sizeof(value));
    EXPECT_EQ(value, 2 * i + 10.0f) << i;
  }
  // Bytes outside the output's range stay as they were.
  EXPECT_EQ(outputs.Read(1000, 8), std::string(8, '\0'));
  EXPECT_EQ(outputs.Read(1072, 8), std::string(8, '\0'));
}

TEST_F(SharedMemoryHttpTest, BytesThroughSharedMemory) {
  std::string elements = BytesElement("hello") + BytesElement("") + BytesElement(std::string("\xff\0x", 3));
  PosixShmObject object(256);
  ASSERT_TRUE(object.ok());
  object.Write(0, elements);
  TestClient client(server_->port());
  ASSERT_EQ(Register(client, "data", object.key(), 0, 256).result_int(), 200);

  std::string json = R"({"inputs":[{"name":"INPUT0","datatype":"BYTES","shape":[1,3],"parameters":)" +
                     ShmParameters("data", 0, elements.size()) +
                     R"(}],"outputs":[{"name":"OUTPUT0","parameters":{"shared_memory_region":"data",)"
                     R"("shared_memory_offset":128}}]})";
  Response response = Post(client, "/v2/models/identity_bytes/infer", json);
  ASSERT_EQ(response.result_int(), 200) << response.body();
  rapidjson::Document document = ParseJson(response.body());
  EXPECT_EQ(document["outputs"][0]["parameters"]["shared_memory_byte_size"].GetUint64(), elements.size());
  EXPECT_EQ(object.Read(128, elements.size()), elements);
}

TEST_F(SharedMemoryHttpTest, OffsetsAtAndPastRegionEnd) {
  PosixShmObject object(256);
  PosixShmObject valid(64);
  ASSERT_TRUE(object.ok());
  ASSERT_TRUE(valid.ok());
  object.Write(192, FloatRow(7));
  TestClient client(server_->port());
  ASSERT_EQ(Register(client, "r", object.key(), 0, 256).result_int(), 200);
  ASSERT_EQ(Register(client, "valid", valid.key(), 0, 64).result_int(), 200);

  // An input that ends exactly at the region's end, read with and without
  // an explicit byte size.
  Response at_end =
      Post(client, "/v2/models/identity_fp32/infer", IdentityRequest(ShmParameters("r", 192, 64)));
  ASSERT_EQ(at_end.result_int(), 200) << at_end.body();
  EXPECT_THAT(at_end.body(), HasSubstr(R"("data":[7.0,8.0,)"));
  Response to_end = Post(client, "/v2/models/identity_fp32/infer",
                         IdentityRequest(R"({"shared_memory_region":"r","shared_memory_offset":192})"));
  ASSERT_EQ(to_end.result_int(), 200) << to_end.body();

  // An output that fills the region's last 64 bytes.
  Response output_at_end = Post(client, "/v2/models/identity_fp32/infer",
                                IdentityRequest(ShmParameters("r", 192, 64), ShmParameters("r", 192, 64)));
  ASSERT_EQ(output_at_end.result_int(), 200) << output_at_end.body();
  EXPECT_EQ(object.Read(192, 64), FloatRow(7));

  const RejectedInfer cases[] = {
      {"input one byte past the end", IdentityRequest(ShmParameters("r", 193, 64)), 400,
       "offset 193 + byte_size 64 passes the end of the region, which has 256 bytes"},
      {"input offset past the end", IdentityRequest(ShmParameters("r", 257, 0)), 400,
       "offset 257 is past the end of the region, which has 256 bytes"},
      {"input shorter than its shape", IdentityRequest(ShmParameters("r", 0, 60)), 400,
       "needs 64 bytes, got 60"},
      {"input to the end, too long for its shape",
       IdentityRequest(R"({"shared_memory_region":"r","shared_memory_offset":128})"), 400,
       "needs 64 bytes, got 128"},
      {"output one byte past the end",
       IdentityRequest(ShmParameters("r", 0, 64), ShmParameters("r", 193, 64)), 400,
       "requested output 'OUTPUT0': shared memory region 'r': offset 193 + byte_size 64 passes the end"},
      {"output at the end with no room",
       IdentityRequest(ShmParameters("r", 0, 64),
                       R"({"shared_memory_region":"r","shared_memory_offset":256})"),
       400, "output 'OUTPUT0' has 64 bytes, more than the 0 bytes referenced"},
      {"output larger than its range", IdentityRequest(ShmParameters("r", 0, 64), ShmParameters("r", 0, 32)),
       400, "output 'OUTPUT0' has 64 bytes, more than the 32 bytes referenced"},
  };
  ExpectRejected(client, valid, cases);
}

TEST_F(SharedMemoryHttpTest, BadParametersAndUnregisteredRegions) {
  PosixShmObject valid(64);
  ASSERT_TRUE(valid.ok());
  TestClient client(server_->port());
  ASSERT_EQ(Register(client, "valid", valid.key(), 0, 64).result_int(), 200);
  const RejectedInfer cases[] = {
      {"unregistered input region", IdentityRequest(ShmParameters("nope", 0, 64)), 404,
       "input 'INPUT0': shared memory region 'nope' is not registered"},
      {"unregistered output region",
       IdentityRequest(ShmParameters("valid", 0, 64), ShmParameters("nope", 0, 64)), 404,
       "requested output 'OUTPUT0': shared memory region 'nope' is not registered"},
      {"negative offset",
       IdentityRequest(
           R"({"shared_memory_region":"valid","shared_memory_offset":-1,"shared_memory_byte_size":64})"),
       400, "parameter 'shared_memory_offset' must be a non-negative integer, got -1"},
      {"fractional size",
       IdentityRequest(R"({"shared_memory_region":"valid","shared_memory_byte_size":64.0})"), 400,
       "parameter 'shared_memory_byte_size' must be a non-negative integer, got 64"},
      {"size as string",
       IdentityRequest(R"({"shared_memory_region":"valid","shared_memory_byte_size":"64"})"), 400,
       "must be a non-negative integer, got \"64\""},
      {"region not a string", IdentityRequest(R"({"shared_memory_region":5,"shared_memory_byte_size":64})"),
       400, "parameter 'shared_memory_region' must be a non-empty string, got 5"},
      {"offset without region", IdentityRequest(R"({"shared_memory_offset":0})"), 400,
       "parameter 'shared_memory_offset' needs the parameter 'shared_memory_region'"},
      {"shared memory and binary data",
       IdentityRequest(
           R"({"shared_memory_region":"valid","shared_memory_byte_size":64,"binary_data_size":64})"),
       400, "input 'INPUT0' has more than one data source"},
      {"shared memory and data",
       R"({"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[1,1],"data":[1],)"
       R"("parameters":{"shared_memory_region":"valid","shared_memory_byte_size":4}}]})",
       400, "input 'INPUT0' has more than one data source"},
      {"output in shared memory and as binary",
       IdentityRequest(ShmParameters("valid", 0, 64),
                       R"({"binary_data":true,"shared_memory_region":"valid","shared_memory_byte_size":64})"),
       400, "has both \"binary_data\": true and the 'shared_memory_region' parameter"},
  };
  ExpectRejected(client, valid, cases);
}

TEST_F(SharedMemoryHttpTest, UnregisterAllowsReregisterWithNewContents) {
  PosixShmObject first(64);
  PosixShmObject second(64);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(second.ok());
  first.Write(0, FloatRow(1));
  second.Write(0, FloatRow(50));
  TestClient client(server_->port());
  ASSERT_EQ(Register(client, "x", first.key(), 0, 64).result_int(), 200);
  Response from_first =
      Post(client, "/v2/models/identity_fp32/infer", IdentityRequest(ShmParameters("x", 0, 64)));
  EXPECT_THAT(from_first.body(), HasSubstr(R"("data":[1.0,2.0,)"));

  ASSERT_EQ(Post(client, "/v2/systemsharedmemory/region/x/unregister").result_int(), 200);
  Response unregistered =
      Post(client, "/v2/models/identity_fp32/infer", IdentityRequest(ShmParameters("x", 0, 64)));
  EXPECT_EQ(unregistered.result_int(), 404);

  ASSERT_EQ(Register(client, "x", second.key(), 0, 64).result_int(), 200);
  Response from_second =
      Post(client, "/v2/models/identity_fp32/infer", IdentityRequest(ShmParameters("x", 0, 64)));
  EXPECT_THAT(from_second.body(), HasSubstr(R"("data":[50.0,51.0,)"));
}

TEST_F(SharedMemoryHttpTest, DisabledServerRejectsSharedMemory) {
  shm::SharedMemoryManager disabled(false);
  HttpServerOptions options;
  options.port = 0;
  HttpServer server(*service_, disabled, options);
  ASSERT_TRUE(server.Start().ok());
  PosixShmObject object(64);
  ASSERT_TRUE(object.ok());
  TestClient client(server.port());

  const std::pair<http::verb, std::string> endpoints[] = {
      {http::verb::get, "/v2/systemsharedmemory/status"},
      {http::verb::get, "/v2/systemsharedmemory/region/r/status"},
      {http::verb::post, "/v2/systemsharedmemory/region/r/unregister"},
      {http::verb::post, "/v2/systemsharedmemory/unregister"},
  };
  for (const auto& [method, target] : endpoints) {
    SCOPED_TRACE(target);
    Response response = client.RoundTrip(MakeRequest(method, target));
    EXPECT_EQ(response.result_int(), 400);
    EXPECT_THAT(ErrorOf(response),
                HasSubstr("shared memory is disabled on this server; start the server with "
                          "--allow-shared-memory to use it"));
  }
  Response registered = Register(client, "r", object.key(), 0, 64);
  EXPECT_EQ(registered.result_int(), 400);
  EXPECT_THAT(ErrorOf(registered), HasSubstr("shared memory is disabled"));
  Response infer = Post(client, "/v2/models/identity_fp32/infer", IdentityRequest(ShmParameters("r", 0, 64)));
  EXPECT_EQ(infer.result_int(), 400);
  EXPECT_THAT(ErrorOf(infer), HasSubstr("input 'INPUT0': shared memory is disabled"));

  Response metadata = client.RoundTrip(MakeRequest(http::verb::get, "/v2"));
  EXPECT_THAT(metadata.body(), ::testing::Not(HasSubstr("system_shared_memory")));
  server.Stop();
}

}  // namespace
}  // namespace moat::server
