// The REST front end over real sockets against the real ModelService, serving
// a signed repository of the tiny test models through ONNX Runtime.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <cstring>
#include <memory>

#include "common/file.h"
#include "repository/model_service.h"
#include "testing/tensor_bytes.h"
#include "server/http_server.h"
#include "test_http_client.h"
#include "testing/signed_repository.h"

namespace moat::server {
namespace {

using moat::testing::RawBytes;

using ::testing::HasSubstr;
using testing::IsClosedByPeer;
using testing::MakeRequest;
using testing::Response;
using testing::TestClient;
namespace http = boost::beast::http;

std::string LowerCase(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string IdentityModel(DataType type) { return "identity_" + LowerCase(DataTypeName(type)); }

// Two rows of three elements of `type` in binary form.
std::string SampleBytes(DataType type) {
  if (type == DataType::kBytes) {
    std::string bytes;
    const std::string elements[] = {"", "a", "bc", std::string("n\0l", 3), "\xff\xfe", "last"};
    for (const std::string& element : elements) {
      bytes += RawBytes<uint32_t>({static_cast<uint32_t>(element.size())}) + element;
    }
    return bytes;
  }
  std::string bytes;
  for (size_t i = 0; i < 6 * DataTypeSize(type); ++i) bytes.push_back(static_cast<char>(0x31 + i % 13));
  if (type == DataType::kBool) {
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i % 2);
  }
  return bytes;
}

rapidjson::Document ParseJson(std::string_view text) {
  rapidjson::Document document;
  document.Parse<rapidjson::kParseFullPrecisionFlag>(text.data(), text.size());
  return document;
}

class ModelServiceHttpTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::vector<moat::testing::RepositoryModel> models;
    for (DataType type : kAllDataTypes) {
      models.push_back({IdentityModel(type), 1, moat::testing::TestModelPath(IdentityModel(type) + ".onnx")});
    }
    models.push_back({"add_sub", 1, moat::testing::TestModelPath("add_sub.onnx")});
    repository_ = new moat::testing::SignedRepository(models);

    repository::ModelServiceOptions options;
    options.repository_dir = repository_->repository_dir();
    options.trust_dir = repository_->trust_dir();
    options.audit_log_path = repository_->audit_log_path();
    options.audit_sync = false;
    auto service = repository::ModelService::Create(options);
    ASSERT_TRUE(service.ok()) << service.status().ToString();
    service_ = service->release();
    ASSERT_EQ(service_->loaded_version_count(), models.size());

    HttpServerOptions server_options;
    server_options.port = 0;
    server_options.worker_threads = 2;
    server_ = new HttpServer(*service_, server_options);
    Status started = server_->Start();
    ASSERT_TRUE(started.ok()) << started.ToString();
  }

  static void TearDownTestSuite() {
    delete server_;
    delete service_;
    delete repository_;
    server_ = nullptr;
    service_ = nullptr;
    repository_ = nullptr;
  }

  static Response Post(TestClient& client, const std::string& target, const std::string& json,
                       const std::string& binary = "") {
    auto request = MakeRequest(http::verb::post, target, json + binary);
    if (!binary.empty()) request.set("Inference-Header-Content-Length", std::to_string(json.size()));
    return client.RoundTrip(request);
  }

  static std::string ErrorOf(const Response& response) {
    rapidjson::Document document = ParseJson(response.body());
    if (document.HasParseError() || !document.IsObject() || !document.HasMember("error")) {
      return "<no error field>";
    }
    return document["error"].GetString();
  }

  static inline moat::testing::SignedRepository* repository_ = nullptr;
  static inline repository::ModelService* service_ = nullptr;
  static inline HttpServer* server_ = nullptr;
};

TEST_F(ModelServiceHttpTest, HealthAndMetadata) {
  TestClient client(server_->port());
  EXPECT_EQ(client.RoundTrip(MakeRequest(http::verb::get, "/v2/health/live")).result_int(), 200);
  EXPECT_EQ(client.RoundTrip(MakeRequest(http::verb::get, "/v2/health/ready")).result_int(), 200);

  Response server = client.RoundTrip(MakeRequest(http::verb::get, "/v2"));
  ASSERT_EQ(server.result_int(), 200);
  rapidjson::Document server_metadata = ParseJson(server.body());
  EXPECT_STREQ(server_metadata["name"].GetString(), "moat");
  EXPECT_THAT(server.body(), HasSubstr("binary_tensor_data"));

  Response model = client.RoundTrip(MakeRequest(http::verb::get, "/v2/models/add_sub"));
  ASSERT_EQ(model.result_int(), 200) << model.body();
  rapidjson::Document metadata = ParseJson(model.body());
  EXPECT_STREQ(metadata["name"].GetString(), "add_sub");
  EXPECT_STREQ(metadata["versions"][0].GetString(), "1");
  EXPECT_STREQ(metadata["platform"].GetString(), "onnxruntime_onnx");
  ASSERT_EQ(metadata["inputs"].Size(), 2u);
  EXPECT_STREQ(metadata["inputs"][0]["name"].GetString(), "INPUT0");
  EXPECT_STREQ(metadata["inputs"][0]["datatype"].GetString(), "FP32");
  EXPECT_EQ(metadata["inputs"][0]["shape"][0].GetInt(), -1);
  EXPECT_EQ(metadata["inputs"][0]["shape"][1].GetInt(), 16);
  EXPECT_STREQ(metadata["outputs"][1]["name"].GetString(), "OUTPUT1");

  EXPECT_EQ(client.RoundTrip(MakeRequest(http::verb::get, "/v2/models/add_sub/versions/1")).result_int(),
            200);
  EXPECT_EQ(client.RoundTrip(MakeRequest(http::verb::get, "/v2/models/add_sub/ready")).result_int(), 200);
  EXPECT_EQ(
      client.RoundTrip(MakeRequest(http::verb::get, "/v2/models/add_sub/versions/1/ready")).result_int(),
      200);
  EXPECT_EQ(
      client.RoundTrip(MakeRequest(http::verb::get, "/v2/models/add_sub/versions/9/ready")).result_int(),
      404);
  EXPECT_EQ(client.RoundTrip(MakeRequest(http::verb::get, "/v2/models/nope")).result_int(), 404);
}

TEST_F(ModelServiceHttpTest, MalformedRequests) {
  struct Case {
    std::string label;
    std::string target;
    std::string json;
    unsigned status;
    std::string fragment;
  };
  const std::string add_sub = "/v2/models/add_sub/infer";
  const std::string row = "[" + std::string("1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1") + "]";
  auto input = [](std::string_view name, std::string_view datatype, std::string_view shape,
                  std::string_view data) {
    return R"({"name":")" + std::string(name) + R"(","datatype":")" + std::string(datatype) +
           R"(","shape":)" + std::string(shape) + R"(,"data":)" + std::string(data) + "}";
  };
  const std::string good0 = input("INPUT0", "FP32", "[1,16]", row);
  const std::string good1 = input("INPUT1", "FP32", "[1,16]", row);
  const Case cases[] = {
      {"malformed JSON", add_sub, R"({"inputs":[)", 400, "malformed JSON in the infer request at offset 11"},
      {"unknown datatype", add_sub, R"({"inputs":[)" + input("INPUT0", "FLOAT", "[1,16]", row) + "]}", 400,
       "input 'INPUT0': unknown datatype \"FLOAT\""},
      {"data not matching shape", add_sub, R"({"inputs":[)" + input("INPUT0", "FP32", "[2,16]", row) + "]}",
       400, "input 'INPUT0': 'data' has 16 elements but shape [2,16] needs 32"},
      {"negative dimension", add_sub, R"({"inputs":[)" + input("INPUT0", "FP32", "[-1,16]", row) + "]}", 400,
       "negative dimension -1"},
      {"overflowing shape", add_sub,
       R"({"inputs":[)" + input("INPUT0", "FP32", "[9223372036854775807,16]", row) + "]}", 400, "overflows"},
      {"wrong input name", add_sub,
       R"({"inputs":[)" + good0 + "," + input("INPUT9", "FP32", "[1,16]", row) + "]}", 400,
       "unknown input 'INPUT9'"},
      {"missing input", add_sub, R"({"inputs":[)" + good0 + "]}", 400, "missing input 'INPUT1'"},
      {"wrong datatype for model", add_sub,
       R"({"inputs":[)" + good0 + "," + input("INPUT1", "FP64", "[1,16]", row) + "]}", 400, "input 'INPUT1'"},
      {"shape not matching model", add_sub,
       R"({"inputs":[)" + good0 + "," + input("INPUT1", "FP32", "[2,8]", row) + "]}", 400,
       "does not match the model's shape"},
      {"unknown output", add_sub,
       R"({"inputs":[)" + good0 + "," + good1 + R"(],"outputs":[{"name":"OUTPUT7"}]})", 400,
       "unknown output 'OUTPUT7'"},
      {"FP16 as JSON", "/v2/models/identity_fp16/infer",
       R"({"inputs":[)" + input("INPUT0", "FP16", "[1,1]", "[1]") + "]}", 400, "send it as binary data"},
      {"bad version", "/v2/models/add_sub/versions/x/infer", R"({"inputs":[]})", 400, "model version 'x'"},
      {"unknown model", "/v2/models/nope/infer", R"({"inputs":[]})", 404, "model 'nope' not found"},
      {"unknown version", "/v2/models/add_sub/versions/4/infer",
       R"({"inputs":[)" + good0 + "," + good1 + "]}", 404, "model 'add_sub' version 4 not found"},
  };
  TestClient client(server_->port());
  for (const Case& test : cases) {
    SCOPED_TRACE(test.label);
    Response response = Post(client, test.target, test.json);
    EXPECT_EQ(response.result_int(), test.status) << response.body();
    EXPECT_THAT(ErrorOf(response), HasSubstr(test.fragment));
  }
}

TEST_F(ModelServiceHttpTest, BinaryRoundTripOfEveryDatatype) {
  TestClient client(server_->port());
  for (DataType type : kAllDataTypes) {
    std::string name(DataTypeName(type));
    SCOPED_TRACE(name);
    std::string binary = SampleBytes(type);
    std::string json = R"({"id":"round-)" + name + R"(","inputs":[{"name":"INPUT0","datatype":")" + name +
                       R"(","shape":[2,3],"parameters":{"binary_data_size":)" +
                       std::to_string(binary.size()) + R"(}}],"parameters":{"binary_data_output":true}})";
    Response response = Post(client, "/v2/models/" + IdentityModel(type) + "/infer", json, binary);
    ASSERT_EQ(response.result_int(), 200) << response.body();
    std::string header_length(response["Inference-Header-Content-Length"]);
    ASSERT_FALSE(header_length.empty());
    size_t json_size = std::stoul(header_length);
    ASSERT_LE(json_size, response.body().size());

    rapidjson::Document header = ParseJson(std::string_view(response.body()).substr(0, json_size));
    ASSERT_FALSE(header.HasParseError());
    EXPECT_EQ(header["id"].GetString(), "round-" + name);
    EXPECT_EQ(header["model_name"].GetString(), IdentityModel(type));
    EXPECT_STREQ(header["model_version"].GetString(), "1");
    const auto& output = header["outputs"][0];
    EXPECT_STREQ(output["name"].GetString(), "OUTPUT0");
    EXPECT_EQ(output["datatype"].GetString(), name);
    EXPECT_EQ(output["shape"][0].GetInt(), 2);
    EXPECT_EQ(output["shape"][1].GetInt(), 3);
    EXPECT_EQ(output["parameters"]["binary_data_size"].GetUint64(), binary.size());
    EXPECT_EQ(response.body().substr(json_size), binary);
  }
}

TEST_F(ModelServiceHttpTest, UnencodableJsonOutputIsAudited) {
  TestClient client(server_->port());
  std::string element = "\xff\xfe";
  std::string binary = RawBytes<uint32_t>({static_cast<uint32_t>(element.size())}) + element;
  std::string json = R"({"id":"not-utf8","inputs":[{"name":"INPUT0","datatype":"BYTES","shape":[1,1],)"
                     R"("parameters":{"binary_data_size":)" +
                     std::to_string(binary.size()) + "}}]}";
  Response response = Post(client, "/v2/models/identity_bytes/infer", json, binary);
  EXPECT_EQ(response.result_int(), 400u);
  EXPECT_THAT(ErrorOf(response), HasSubstr("UTF-8"));

  // The inference succeeded and is recorded. A second record states that its
  // result was rejected on the way out.
  auto log = ReadFile(repository_->audit_log_path());
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  std::vector<std::string> records;
  for (size_t start = 0, end; (end = log->find('\n', start)) != std::string::npos; start = end + 1) {
    std::string line = log->substr(start, end - start);
    if (line.find(R"("request_id":"not-utf8")") != std::string::npos) records.push_back(line);
  }
  ASSERT_EQ(records.size(), 2u) << *log;
  EXPECT_THAT(records[0], HasSubstr(R"("type":"inference")"));
  EXPECT_THAT(records[1], HasSubstr(R"("type":"rejected")"));
  EXPECT_THAT(records[1], HasSubstr("UTF-8"));
}

TEST_F(ModelServiceHttpTest, JsonRoundTrip) {
  TestClient client(server_->port());
  std::string json = R"({"inputs":[{"name":"INPUT0","datatype":"INT64","shape":[2,2],)"
                     R"("data":[[-9223372036854775808,2],[3,9223372036854775807]]}]})";
  Response response = Post(client, "/v2/models/identity_int64/infer", json);
  ASSERT_EQ(response.result_int(), 200) << response.body();
  EXPECT_TRUE(response["Inference-Header-Content-Length"].empty());
  EXPECT_THAT(response.body(),
              HasSubstr(R"("shape":[2,2],"data":[-9223372036854775808,2,3,9223372036854775807])"));

  json = R"({"inputs":[{"name":"INPUT0","datatype":"BYTES","shape":[1,2],"data":["h\u00e9llo",""]}]})";
  response = Post(client, "/v2/models/identity_bytes/infer", json);
  ASSERT_EQ(response.result_int(), 200) << response.body();
  EXPECT_THAT(response.body(), HasSubstr("\"data\":[\"h\xc3\xa9llo\",\"\"]"));
}

TEST_F(ModelServiceHttpTest, AddSubWithRequestedOutputs) {
  std::string a, b;
  std::string a_json = "[", b_json = "[";
  for (int i = 0; i < 16; ++i) {
    a += RawBytes<float>({static_cast<float>(i)});
    b += RawBytes<float>({0.5f});
    a_json += (i ? "," : "") + std::to_string(i);
    b_json += std::string(i ? "," : "") + "0.5";
  }
  a_json += "]";
  b_json += "]";
  TestClient client(server_->port());

  // Only OUTPUT1, as JSON.
  std::string json = R"({"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[1,16],"data":)" + a_json +
                     R"(},{"name":"INPUT1","datatype":"FP32","shape":[1,16],"data":)" + b_json +
                     R"(}],"outputs":[{"name":"OUTPUT1"}]})";
  Response response = Post(client, "/v2/models/add_sub/infer", json);
  ASSERT_EQ(response.result_int(), 200) << response.body();
  rapidjson::Document document = ParseJson(response.body());
  const auto& outputs = document["outputs"];
  ASSERT_EQ(outputs.Size(), 1u);
  EXPECT_STREQ(outputs[0]["name"].GetString(), "OUTPUT1");
  ASSERT_EQ(outputs[0]["data"].Size(), 16u);
  for (int i = 0; i < 16; ++i) EXPECT_EQ(outputs[0]["data"][i].GetDouble(), i - 0.5) << i;

  // Both, in the requested order: OUTPUT1 as JSON, OUTPUT0 as binary data,
  // with binary inputs.
  json =
      R"({"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[1,16],"parameters":{"binary_data_size":64}},)"
      R"({"name":"INPUT1","datatype":"FP32","shape":[1,16],"parameters":{"binary_data_size":64}}],)"
      R"("outputs":[{"name":"OUTPUT1","parameters":{"binary_data":false}},)"
      R"({"name":"OUTPUT0","parameters":{"binary_data":true}}]})";
  response = Post(client, "/v2/models/add_sub/versions/1/infer", json, a + b);
  ASSERT_EQ(response.result_int(), 200) << response.body();
  size_t json_size = std::stoul(std::string(response["Inference-Header-Content-Length"]));
  document = ParseJson(std::string_view(response.body()).substr(0, json_size));
  EXPECT_STREQ(document["outputs"][0]["name"].GetString(), "OUTPUT1");
  EXPECT_EQ(document["outputs"][0]["data"][3].GetDouble(), 2.5);
  EXPECT_STREQ(document["outputs"][1]["name"].GetString(), "OUTPUT0");
  EXPECT_EQ(document["outputs"][1]["parameters"]["binary_data_size"].GetInt(), 64);
  std::string sums = response.body().substr(json_size);
  ASSERT_EQ(sums.size(), 64u);
  for (int i = 0; i < 16; ++i) {
    float sum;
    std::memcpy(&sum, sums.data() + 4 * i, sizeof(sum));
    EXPECT_EQ(sum, i + 0.5f) << i;
  }
}

TEST_F(ModelServiceHttpTest, KeepAliveConnection) {
  TestClient client(server_->port());
  std::string json = R"({"inputs":[{"name":"INPUT0","datatype":"INT32","shape":[1,2],"data":[7,8]}]})";
  for (int i = 0; i < 10; ++i) {
    SCOPED_TRACE(i);
    Response response = Post(client, "/v2/models/identity_int32/infer", json);
    ASSERT_EQ(response.result_int(), 200) << response.body();
    EXPECT_TRUE(response.keep_alive());
    EXPECT_THAT(response.body(), HasSubstr(R"("data":[7,8])"));
  }
}

TEST_F(ModelServiceHttpTest, LimitsOnSecondServer) {
  HttpServerOptions options;
  options.port = 0;
  options.max_body_bytes = 4096;
  options.idle_timeout = std::chrono::milliseconds(250);
  HttpServer small(*service_, options);
  ASSERT_TRUE(small.Start().ok());

  TestClient big(small.port());
  Response too_large = Post(big, "/v2/models/add_sub/infer", std::string(8192, ' '));
  EXPECT_EQ(too_large.result_int(), 413);
  EXPECT_THAT(ErrorOf(too_large), HasSubstr("larger than the limit of 4096 bytes"));

  TestClient idle(small.port());
  EXPECT_EQ(idle.RoundTrip(MakeRequest(http::verb::get, "/v2/health/ready")).result_int(), 200);
  EXPECT_TRUE(IsClosedByPeer(idle.ReadUntilClosed()));
  small.Stop();
}

}  // namespace
}  // namespace moat::server
