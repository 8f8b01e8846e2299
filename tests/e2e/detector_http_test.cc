// The real detector and the real page image through a real server on
// loopback must give exactly what in-process ONNX Runtime gives.
#include <gtest/gtest.h>

#include <cstring>

#include "audit/audit_log.h"
#include "client/detection_preprocess.h"
#include "client/kserve_client.h"
#include "client/png_decode.h"
#include "common/file.h"
#include "repository/model_service.h"
#include "runtime/onnx_runtime.h"
#include "server/http_server.h"
#include "testing/audit_records.h"
#include "testing/signed_repository.h"

namespace moat {
namespace {

using testing::DemoImagePath;
using testing::DetectorModelPath;
using testing::SignedRepository;

class DetectorHttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    repository::ModelServiceOptions service_options;
    service_options.repository_dir = repo_.repository_dir();
    service_options.trust_dir = repo_.trust_dir();
    service_options.audit = moat::testing::TestAuditOptions(repo_.audit_dir(), audit::AuditDurability::kSync);
    auto service = repository::ModelService::Create(service_options);
    ASSERT_TRUE(service.ok()) << service.status().ToString();
    service_ = std::move(service).value();
    server::HttpServerOptions options;
    options.port = 0;
    server_ = std::make_unique<server::HttpServer>(*service_, options);
    ASSERT_TRUE(server_->Start().ok());

    auto image = client::ReadPngFile(DemoImagePath());
    ASSERT_TRUE(image.ok()) << image.status().ToString();
    auto input = client::PreprocessForDetection(*image);
    ASSERT_TRUE(input.ok()) << input.status().ToString();
    input_ = std::move(input).value().tensor;
  }

  void TearDown() override {
    if (server_) server_->Stop();
    server_.reset();
    service_.reset();
  }

  std::vector<Tensor> RunInProcess() {
    auto bytes = ReadFile(DetectorModelPath());
    EXPECT_TRUE(bytes.ok());
    auto model = runtime::LoadOnnxModel(std::make_shared<const std::string>(*bytes), "in-process detector");
    EXPECT_TRUE(model.ok()) << model.status().ToString();
    std::vector<std::string> outputs;
    for (const TensorSpec& spec : (*model)->signature().outputs) outputs.push_back(spec.name);
    auto result = (*model)->Execute(std::span<const Tensor>(&input_, 1), outputs);
    EXPECT_TRUE(result.ok()) << result.status().ToString();
    return result.ok() ? std::move(result).value() : std::vector<Tensor>{};
  }

  InferenceResponse RunOverHttp(const client::InferOptions& options) {
    auto client = client::KServeClient::Create("http://127.0.0.1:" + std::to_string(server_->port()));
    EXPECT_TRUE(client.ok()) << client.status().ToString();
    InferenceRequest request;
    request.model_name = "detector";
    request.inputs = {input_};
    auto response = client->Infer(request, options);
    EXPECT_TRUE(response.ok()) << response.status().ToString();
    return response.ok() ? std::move(response).value() : InferenceResponse{};
  }

  SignedRepository repo_{{{"detector", 1, DetectorModelPath()}}};
  std::unique_ptr<repository::ModelService> service_;
  std::unique_ptr<server::HttpServer> server_;
  Tensor input_;
};

void ExpectBitIdentical(const std::vector<Tensor>& expected, const InferenceResponse& actual) {
  ASSERT_EQ(actual.outputs.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    SCOPED_TRACE(expected[i].name);
    EXPECT_EQ(actual.outputs[i].name, expected[i].name);
    EXPECT_EQ(actual.outputs[i].datatype, expected[i].datatype);
    EXPECT_EQ(actual.outputs[i].shape, expected[i].shape);
    ASSERT_EQ(actual.outputs[i].data.size(), expected[i].data.size());
    EXPECT_EQ(std::memcmp(actual.outputs[i].data.data(), expected[i].data.data(), expected[i].data.size()), 0);
  }
}

TEST_F(DetectorHttpTest, BinaryOutputIsBitIdenticalToInProcess) {
  std::vector<Tensor> expected = RunInProcess();
  InferenceResponse actual = RunOverHttp({});
  EXPECT_EQ(actual.model_version, 1);
  ExpectBitIdentical(expected, actual);
}

TEST_F(DetectorHttpTest, JsonOutputIsBitIdenticalToInProcess) {
  std::vector<Tensor> expected = RunInProcess();
  client::InferOptions options;
  options.binary_inputs = false;
  options.binary_outputs = false;
  ExpectBitIdentical(expected, RunOverHttp(options));
}

TEST_F(DetectorHttpTest, InferenceIsAuditedWithDigests) {
  std::vector<Tensor> expected = RunInProcess();
  RunOverHttp({});
  server_->Stop();
  service_.reset();
  auto log = moat::testing::ReadAuditLog(repo_.audit_dir());
  ASSERT_TRUE(log.ok());
  EXPECT_NE(log->find(audit::DigestTensors(std::span<const Tensor>(&input_, 1))), std::string::npos);
  EXPECT_NE(log->find(audit::DigestTensors(expected)), std::string::npos);
}

}  // namespace
}  // namespace moat
