// The REST front end over real sockets against the real ModelService, serving
// a signed repository of the tiny test models through ONNX Runtime.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <cstring>
#include <memory>

#include "common/file.h"
#include "repository/model_service.h"
#include "server/http_server.h"
#include "test_http_client.h"
#include "testing/model_service.h"
#include "testing/signed_repository.h"
#include "testing/start_http_server.h"
#include "testing/tensor_bytes.h"
#include "testing/tiny_models.h"
#include "testing/audit_records.h"

namespace moat::server {
namespace {

using moat::testing::IdentityModelName;
using moat::testing::RawBytes;
using moat::testing::SampleBytes;

using ::testing::HasSubstr;
using testing::IsClosedByPeer;
using testing::MakeRequest;
using testing::Response;
using testing::TestClient;
namespace http = boost::beast::http;

rapidjson::Document ParseJson(std::string_view text) {
  rapidjson::Document document;
  document.Parse<rapidjson::kParseFullPrecisionFlag>(text.data(), text.size());
  return document;
}

class ModelServiceHttpTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::vector<moat::testing::RepositoryModel> models = moat::testing::TinyModels();
    repository_ = new moat::testing::SignedRepository(models);
    service_ = moat::testing::CreateModelService(*repository_).release();
    ASSERT_NE(service_, nullptr);
    ASSERT_EQ(service_->loaded_version_count(), models.size());

    HttpServerOptions server_options;
    server_options.worker_threads = 2;
    server_ = moat::testing::StartHttpServer(*service_, server_options).release();
    ASSERT_NE(server_, nullptr);
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
    Response response = Post(client, "/v2/models/" + IdentityModelName(type) + "/infer", json, binary);
    ASSERT_EQ(response.result_int(), 200) << response.body();
    std::string header_length(response["Inference-Header-Content-Length"]);
    ASSERT_FALSE(header_length.empty());
    size_t json_size = std::stoul(header_length);
    ASSERT_LE(json_size, response.body().size());

    rapidjson::Document header = ParseJson(std::string_view(response.body()).substr(0, json_size));
    ASSERT_FALSE(header.HasParseError());
    EXPECT_EQ(header["id"].GetString(), "round-" + name);
    EXPECT_EQ(header["model_name"].GetString(), IdentityModelName(type));
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
  auto log = moat::testing::ReadAuditLog(repository_->audit_dir());
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

TEST_F(ModelServiceHttpTest, JsonRoundTripOfEveryDatatype) {
  // Two rows of three values in each datatype's JSON form, and how the
  // response writes them back.
  struct Case {
    DataType type;
    std::string data;
    std::string expected;
  };
  const Case cases[] = {
      {DataType::kBool, "[true,false,true,false,false,true]", "[true,false,true,false,false,true]"},
      {DataType::kUint8, "[0,1,2,3,254,255]", "[0,1,2,3,254,255]"},
      {DataType::kUint16, "[0,1,2,3,4,65535]", "[0,1,2,3,4,65535]"},
      {DataType::kUint32, "[0,1,2,3,4,4294967295]", "[0,1,2,3,4,4294967295]"},
      {DataType::kUint64, "[0,1,2,3,4,18446744073709551615]", "[0,1,2,3,4,18446744073709551615]"},
      {DataType::kInt8, "[-128,-1,0,1,2,127]", "[-128,-1,0,1,2,127]"},
      {DataType::kInt16, "[-32768,-1,0,1,2,32767]", "[-32768,-1,0,1,2,32767]"},
      {DataType::kInt32, "[-2147483648,-1,0,1,2,2147483647]", "[-2147483648,-1,0,1,2,2147483647]"},
      {DataType::kInt64, "[-9223372036854775808,-1,0,1,2,9223372036854775807]",
       "[-9223372036854775808,-1,0,1,2,9223372036854775807]"},
      {DataType::kFp32, "[0.5,-1.25,0,1e10,-3,2]", "[0.5,-1.25,0.0,10000000000.0,-3.0,2.0]"},
      {DataType::kFp64, "[0.1,-1e300,0,1,2,3]", "[0.1,-1e300,0.0,1.0,2.0,3.0]"},
      {DataType::kBytes, R"(["a","","bé","c","d","e"])", "[\"a\",\"\",\"b\xc3\xa9\",\"c\",\"d\",\"e\"]"},
  };
  TestClient client(server_->port());
  for (const Case& test : cases) {
    std::string name(DataTypeName(test.type));
    SCOPED_TRACE(name);
    std::string json = R"({"inputs":[{"name":"INPUT0","datatype":")" + name + R"(","shape":[2,3],"data":)" +
                       test.data + "}]}";
    Response response = Post(client, "/v2/models/" + IdentityModelName(test.type) + "/infer", json);
    ASSERT_EQ(response.result_int(), 200) << response.body();
    EXPECT_THAT(response.body(),
                HasSubstr(R"("datatype":")" + name + R"(","shape":[2,3],"data":)" + test.expected));
  }

  // FP16 and BF16 have no JSON input form, but their outputs are written as
  // the numbers they represent.
  for (DataType type : {DataType::kFp16, DataType::kBf16}) {
    std::string name(DataTypeName(type));
    SCOPED_TRACE(name);
    std::string json =
        R"({"inputs":[{"name":"INPUT0","datatype":")" + name + R"(","shape":[1,2],"data":[1,2]}]})";
    Response rejected = Post(client, "/v2/models/" + IdentityModelName(type) + "/infer", json);
    EXPECT_EQ(rejected.result_int(), 400);
    EXPECT_THAT(ErrorOf(rejected),
                HasSubstr("input 'INPUT0' is " + name + ", which has no JSON form; send it as binary data"));

    // 1.5 and -2 in each format.
    std::string binary =
        type == DataType::kFp16 ? RawBytes<uint16_t>({0x3E00, 0xC000}) : RawBytes<uint16_t>({0x3FC0, 0xC000});
    json = R"({"inputs":[{"name":"INPUT0","datatype":")" + name +
           R"(","shape":[1,2],"parameters":{"binary_data_size":4}}]})";
    Response response = Post(client, "/v2/models/" + IdentityModelName(type) + "/infer", json, binary);
    ASSERT_EQ(response.result_int(), 200) << response.body();
    EXPECT_THAT(response.body(), HasSubstr(R"("data":[1.5,-2.0])"));
  }
}

TEST_F(ModelServiceHttpTest, ModelConfig) {
  TestClient client(server_->port());
  Response response = client.RoundTrip(MakeRequest(http::verb::get, "/v2/models/add_sub/config"));
  ASSERT_EQ(response.result_int(), 200) << response.body();
  EXPECT_EQ(response.body(), R"({"name":"add_sub","platform":"onnxruntime_onnx","backend":"onnxruntime",)"
                             R"("max_batch_size":0,"input":[)"
                             R"({"name":"INPUT0","data_type":"TYPE_FP32","dims":[-1,16]},)"
                             R"({"name":"INPUT1","data_type":"TYPE_FP32","dims":[-1,16]}],"output":[)"
                             R"({"name":"OUTPUT0","data_type":"TYPE_FP32","dims":[-1,16]},)"
                             R"({"name":"OUTPUT1","data_type":"TYPE_FP32","dims":[-1,16]}]})");

  const std::pair<DataType, std::string> types[] = {
      {DataType::kBool, "TYPE_BOOL"},   {DataType::kUint8, "TYPE_UINT8"},  {DataType::kUint64, "TYPE_UINT64"},
      {DataType::kInt16, "TYPE_INT16"}, {DataType::kFp16, "TYPE_FP16"},    {DataType::kBf16, "TYPE_BF16"},
      {DataType::kFp64, "TYPE_FP64"},   {DataType::kBytes, "TYPE_STRING"},
  };
  for (const auto& [type, config_name] : types) {
    SCOPED_TRACE(config_name);
    Response config = client.RoundTrip(
        MakeRequest(http::verb::get, "/v2/models/" + IdentityModelName(type) + "/versions/1/config"));
    ASSERT_EQ(config.result_int(), 200) << config.body();
    rapidjson::Document document = ParseJson(config.body());
    EXPECT_EQ(document["input"][0]["data_type"].GetString(), config_name);
    EXPECT_EQ(document["output"][0]["data_type"].GetString(), config_name);
  }
  EXPECT_EQ(
      client.RoundTrip(MakeRequest(http::verb::get, "/v2/models/add_sub/versions/2/config")).result_int(),
      404);
  EXPECT_EQ(client.RoundTrip(MakeRequest(http::verb::get, "/v2/models/nope/config")).result_int(), 404);
}

TEST_F(ModelServiceHttpTest, StatisticsCountInferences) {
  TestClient client(server_->port());
  auto stats_of = [&](const std::string& target) {
    Response response = client.RoundTrip(MakeRequest(http::verb::get, target));
    EXPECT_EQ(response.result_int(), 200) << response.body();
    return ParseJson(response.body());
  };
  rapidjson::Document before = stats_of("/v2/models/identity_int16/stats");
  ASSERT_EQ(before["model_stats"].Size(), 1u);
  uint64_t count_before = before["model_stats"][0]["inference_count"].GetUint64();
  uint64_t success_before = before["model_stats"][0]["inference_stats"]["success"]["count"].GetUint64();

  std::string json = R"({"inputs":[{"name":"INPUT0","datatype":"INT16","shape":[3,1],"data":[1,2,3]}]})";
  ASSERT_EQ(Post(client, "/v2/models/identity_int16/infer", json).result_int(), 200);

  rapidjson::Document after = stats_of("/v2/models/identity_int16/versions/1/stats");
  const auto& stats = after["model_stats"][0];
  EXPECT_STREQ(stats["name"].GetString(), "identity_int16");
  EXPECT_STREQ(stats["version"].GetString(), "1");
  // Three rows count as three inferences in one execution.
  EXPECT_EQ(stats["inference_count"].GetUint64(), count_before + 3);
  EXPECT_EQ(stats["inference_stats"]["success"]["count"].GetUint64(), success_before + 1);
  EXPECT_GT(stats["inference_stats"]["success"]["ns"].GetUint64(), 0u);
  EXPECT_GT(stats["last_inference"].GetUint64(), 0u);
  // Without dynamic batching every execution counts as batch size 1, as in
  // Triton for models that do not batch.
  ASSERT_TRUE(stats["batch_stats"].IsArray());
  ASSERT_EQ(stats["batch_stats"].Size(), 1u);
  EXPECT_EQ(stats["batch_stats"][0]["batch_size"].GetUint64(), 1u);
  EXPECT_EQ(stats["batch_stats"][0]["compute_infer"]["count"].GetUint64(), stats["execution_count"].GetUint64());

  rapidjson::Document all = stats_of("/v2/models/stats");
  EXPECT_EQ(all["model_stats"].Size(), service_->loaded_version_count());
  EXPECT_EQ(client.RoundTrip(MakeRequest(http::verb::get, "/v2/models/nope/stats")).result_int(), 404);
}

TEST_F(ModelServiceHttpTest, RepositoryIndexAndDisabledControl) {
  TestClient client(server_->port());
  Response index = Post(client, "/v2/repository/index", R"({"ready":true})");
  ASSERT_EQ(index.result_int(), 200) << index.body();
  rapidjson::Document document = ParseJson(index.body());
  ASSERT_TRUE(document.IsArray());
  EXPECT_EQ(document.Size(), service_->loaded_version_count());
  EXPECT_STREQ(document[0]["name"].GetString(), "add_sub");
  EXPECT_STREQ(document[0]["version"].GetString(), "1");
  EXPECT_STREQ(document[0]["state"].GetString(), "READY");
  EXPECT_STREQ(document[0]["reason"].GetString(), "");

  // This server runs without --allow-model-control.
  for (std::string action : {"load", "unload"}) {
    Response response = Post(client, "/v2/repository/models/add_sub/" + action, "");
    EXPECT_EQ(response.result_int(), 400);
    EXPECT_THAT(ErrorOf(response), HasSubstr("model control is disabled"));
  }
  EXPECT_EQ(client.RoundTrip(MakeRequest(http::verb::get, "/v2/models/add_sub/ready")).result_int(), 200);
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
