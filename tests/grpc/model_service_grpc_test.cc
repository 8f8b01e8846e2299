// The gRPC front end over a real channel against the real ModelService,
// serving a signed repository of the tiny test models through ONNX Runtime.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <type_traits>

#include "grpc/grpc_server.h"
#include "grpc/infer_parameters.h"
#include "grpc_test_util.h"
#include "repository/model_service.h"
#include "testing/model_service.h"
#include "testing/posix_shm_object.h"
#include "testing/signed_repository.h"
#include "testing/start_grpc_server.h"
#include "testing/tensor_bytes.h"
#include "testing/tiny_models.h"

namespace moat::grpc_server {
namespace {

using inference::ModelInferRequest;
using inference::ModelInferResponse;
using moat::testing::BytesElement;
using moat::testing::IdentityModelName;
using moat::testing::PosixShmObject;
using moat::testing::RawBytes;
using moat::testing::SampleBytes;
using testing::AddInput;
using ::testing::Contains;
using ::testing::HasSubstr;
using testing::Infer;
using testing::RawRequest;

// Adds six sample values of type T with `add` and returns their binary form.
template <typename T, typename Add>
std::string FillNumbers(Add add) {
  std::string bytes;
  for (int i = 0; i < 6; ++i) {
    T value;
    if constexpr (std::is_floating_point_v<T>) {
      value = static_cast<T>(i * 0.5 - 1.0);
    } else if constexpr (std::is_signed_v<T>) {
      value = static_cast<T>(i * 21 - 50);
    } else {
      value = static_cast<T>(i * 40 + 1);
    }
    add(value);
    bytes += RawBytes<T>({value});
  }
  return bytes;
}

// Fills `contents` with six values of `type` (not FP16 or BF16) and returns
// the binary form the model should echo.
std::string FillTypedSample(DataType type, inference::InferTensorContents& c) {
  switch (type) {
    case DataType::kBool:
      for (int i = 0; i < 6; ++i) c.add_bool_contents(i % 2 == 1);
      return std::string("\0\1\0\1\0\1", 6);
    case DataType::kInt8:
      return FillNumbers<int8_t>([&](int8_t v) { c.add_int_contents(v); });
    case DataType::kInt16:
      return FillNumbers<int16_t>([&](int16_t v) { c.add_int_contents(v); });
    case DataType::kInt32:
      return FillNumbers<int32_t>([&](int32_t v) { c.add_int_contents(v); });
    case DataType::kInt64:
      return FillNumbers<int64_t>([&](int64_t v) { c.add_int64_contents(v); });
    case DataType::kUint8:
      return FillNumbers<uint8_t>([&](uint8_t v) { c.add_uint_contents(v); });
    case DataType::kUint16:
      return FillNumbers<uint16_t>([&](uint16_t v) { c.add_uint_contents(v); });
    case DataType::kUint32:
      return FillNumbers<uint32_t>([&](uint32_t v) { c.add_uint_contents(v); });
    case DataType::kUint64:
      return FillNumbers<uint64_t>([&](uint64_t v) { c.add_uint64_contents(v); });
    case DataType::kFp32:
      return FillNumbers<float>([&](float v) { c.add_fp32_contents(v); });
    case DataType::kFp64:
      return FillNumbers<double>([&](double v) { c.add_fp64_contents(v); });
    case DataType::kBytes: {
      std::string bytes;
      const std::string elements[] = {"", "x", "\xff", std::string("\0\0", 2), "yz", "\xe2\x82"};
      for (const std::string& element : elements) {
        c.add_bytes_contents(element);
        bytes += BytesElement(element);
      }
      return bytes;
    }
    case DataType::kFp16:
    case DataType::kBf16:
      break;
  }
  ADD_FAILURE() << "no typed field for " << DataTypeName(type);
  return "";
}

void SetSharedMemory(ParameterMap& parameters, const std::string& region, int64_t offset, int64_t byte_size) {
  parameters["shared_memory_region"].set_string_param(region);
  parameters["shared_memory_offset"].set_int64_param(offset);
  parameters["shared_memory_byte_size"].set_int64_param(byte_size);
}

class ModelServiceGrpcTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::vector<moat::testing::RepositoryModel> models = moat::testing::TinyModels();
    repository_ = new moat::testing::SignedRepository(models);
    service_ = moat::testing::CreateModelService(*repository_).release();
    ASSERT_NE(service_, nullptr);
    ASSERT_EQ(service_->loaded_version_count(), models.size());

    shared_memory_ = new shm::SharedMemoryManager(true);
    server_ = moat::testing::StartGrpcServer(*service_, *shared_memory_).release();
    ASSERT_NE(server_, nullptr);
  }

  static void TearDownTestSuite() {
    delete server_;
    delete shared_memory_;
    delete service_;
    delete repository_;
    server_ = nullptr;
    shared_memory_ = nullptr;
    service_ = nullptr;
    repository_ = nullptr;
  }

  void SetUp() override { stub_ = testing::MakeStub(server_->port()); }

  // Checks that a valid request succeeds, as it must after any rejected one.
  void ExpectValidRequestSucceeds() {
    ModelInferResponse response;
    ::grpc::Status status =
        Infer(*stub_, RawRequest("identity_int32", "INT32", {1, 2}, RawBytes<int32_t>({4, 5})), &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_EQ(response.raw_output_contents_size(), 1);
    EXPECT_EQ(response.raw_output_contents(0), RawBytes<int32_t>({4, 5}));
  }

  static inline moat::testing::SignedRepository* repository_ = nullptr;
  static inline repository::ModelService* service_ = nullptr;
  static inline shm::SharedMemoryManager* shared_memory_ = nullptr;
  static inline GrpcServer* server_ = nullptr;
  std::unique_ptr<inference::GRPCInferenceService::Stub> stub_;
};

TEST_F(ModelServiceGrpcTest, ServerHealthAndMetadata) {
  ::grpc::ClientContext live_context;
  inference::ServerLiveResponse live;
  ASSERT_TRUE(stub_->ServerLive(&live_context, {}, &live).ok());
  EXPECT_TRUE(live.live());

  ::grpc::ClientContext ready_context;
  inference::ServerReadyResponse ready;
  ASSERT_TRUE(stub_->ServerReady(&ready_context, {}, &ready).ok());
  EXPECT_TRUE(ready.ready());

  ::grpc::ClientContext metadata_context;
  inference::ServerMetadataResponse metadata;
  ASSERT_TRUE(stub_->ServerMetadata(&metadata_context, {}, &metadata).ok());
  EXPECT_EQ(metadata.name(), "moat");
  EXPECT_FALSE(metadata.version().empty());
  EXPECT_THAT(metadata.extensions(), Contains("system_shared_memory"));

  EXPECT_EQ(testing::HealthStatus(server_->port(), ""), 1);
  EXPECT_EQ(testing::HealthStatus(server_->port(), "inference.GRPCInferenceService"), 1);
  ::grpc::StatusCode code = ::grpc::StatusCode::OK;
  EXPECT_EQ(testing::HealthStatus(server_->port(), "other.Service", &code), std::nullopt);
  EXPECT_EQ(code, ::grpc::StatusCode::NOT_FOUND);
}

TEST_F(ModelServiceGrpcTest, ModelMetadataAndConfig) {
  inference::ModelMetadataRequest request;
  request.set_name("add_sub");
  ::grpc::ClientContext context;
  inference::ModelMetadataResponse metadata;
  ASSERT_TRUE(stub_->ModelMetadata(&context, request, &metadata).ok());
  EXPECT_EQ(metadata.name(), "add_sub");
  ASSERT_EQ(metadata.versions_size(), 1);
  EXPECT_EQ(metadata.versions(0), "1");
  EXPECT_FALSE(metadata.platform().empty());
  ASSERT_EQ(metadata.inputs_size(), 2);
  EXPECT_EQ(metadata.inputs(1).name(), "INPUT1");
  EXPECT_EQ(metadata.inputs(1).datatype(), "FP32");
  EXPECT_THAT(metadata.inputs(1).shape(), ::testing::ElementsAre(-1, 16));
  ASSERT_EQ(metadata.outputs_size(), 2);
  EXPECT_EQ(metadata.outputs(0).name(), "OUTPUT0");

  inference::ModelConfigRequest config_request;
  config_request.set_name("identity_bytes");
  config_request.set_version("1");
  ::grpc::ClientContext config_context;
  inference::ModelConfigResponse config;
  ASSERT_TRUE(stub_->ModelConfig(&config_context, config_request, &config).ok());
  EXPECT_EQ(config.config().name(), "identity_bytes");
  EXPECT_EQ(config.config().platform(), "onnxruntime_onnx");
  EXPECT_EQ(config.config().backend(), "onnxruntime");
  EXPECT_EQ(config.config().max_batch_size(), 0);
  ASSERT_EQ(config.config().input_size(), 1);
  EXPECT_EQ(config.config().input(0).name(), "INPUT0");
  EXPECT_EQ(config.config().input(0).data_type(), inference::TYPE_STRING);
  EXPECT_THAT(config.config().input(0).dims(), ::testing::ElementsAre(-1, -1));
  ASSERT_EQ(config.config().output_size(), 1);
  EXPECT_EQ(config.config().output(0).data_type(), inference::TYPE_STRING);

  struct Case {
    std::string name;
    std::string version;
    ::grpc::StatusCode code;
    std::string fragment;
  };
  const std::vector<Case> cases = {
      {"add_sub", "2", ::grpc::StatusCode::NOT_FOUND, "2"},
      {"add_sub", "x", ::grpc::StatusCode::INVALID_ARGUMENT, "model version 'x' is invalid"},
      {"missing", "", ::grpc::StatusCode::NOT_FOUND, "missing"},
      {"..", "", ::grpc::StatusCode::NOT_FOUND, ".."},
      {"../add_sub", "", ::grpc::StatusCode::NOT_FOUND, "../add_sub"},
      {"\xe6\xa8\xa1\xe5\x9e\x8b", "", ::grpc::StatusCode::NOT_FOUND, "\xe6\xa8\xa1"},
  };
  for (const Case& test : cases) {
    SCOPED_TRACE(test.name + " " + test.version);
    inference::ModelConfigRequest bad_config;
    bad_config.set_name(test.name);
    bad_config.set_version(test.version);
    ::grpc::ClientContext bad_config_context;
    ::grpc::Status status = stub_->ModelConfig(&bad_config_context, bad_config, &config);
    EXPECT_EQ(status.error_code(), test.code);
    EXPECT_THAT(status.error_message(), HasSubstr(test.fragment));

    inference::ModelMetadataRequest bad_metadata;
    bad_metadata.set_name(test.name);
    bad_metadata.set_version(test.version);
    ::grpc::ClientContext bad_metadata_context;
    status = stub_->ModelMetadata(&bad_metadata_context, bad_metadata, &metadata);
    EXPECT_EQ(status.error_code(), test.code);
  }
}

TEST_F(ModelServiceGrpcTest, ModelReady) {
  inference::ModelReadyRequest request;
  request.set_name("identity_fp32");
  ::grpc::ClientContext context;
  inference::ModelReadyResponse response;
  ASSERT_TRUE(stub_->ModelReady(&context, request, &response).ok());
  EXPECT_TRUE(response.ready());

  request.set_version("0");
  ::grpc::ClientContext bad_version;
  ::grpc::Status status = stub_->ModelReady(&bad_version, request, &response);
  EXPECT_EQ(status.error_code(), ::grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("'0'"));

  request.set_name("missing");
  request.set_version("");
  ::grpc::ClientContext missing;
  EXPECT_EQ(stub_->ModelReady(&missing, request, &response).error_code(), ::grpc::StatusCode::NOT_FOUND);
}

TEST_F(ModelServiceGrpcTest, RawRoundTripOfEveryDatatype) {
  for (DataType type : kAllDataTypes) {
    std::string name(DataTypeName(type));
    SCOPED_TRACE(name);
    std::string bytes = SampleBytes(type);
    ModelInferRequest request = RawRequest(IdentityModelName(type), name, {2, 3}, bytes);
    request.set_id("round-" + name);
    ModelInferResponse response;
    ::grpc::Status status = Infer(*stub_, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.id(), "round-" + name);
    EXPECT_EQ(response.model_name(), IdentityModelName(type));
    EXPECT_EQ(response.model_version(), "1");
    ASSERT_EQ(response.outputs_size(), 1);
    EXPECT_EQ(response.outputs(0).name(), "OUTPUT0");
    EXPECT_EQ(response.outputs(0).datatype(), name);
    EXPECT_THAT(response.outputs(0).shape(), ::testing::ElementsAre(2, 3));
    ASSERT_EQ(response.raw_output_contents_size(), 1);
    EXPECT_EQ(response.raw_output_contents(0), bytes);
  }
}

TEST_F(ModelServiceGrpcTest, TypedRoundTripOfEveryDatatype) {
  for (DataType type : kAllDataTypes) {
    if (type == DataType::kFp16 || type == DataType::kBf16) continue;
    std::string name(DataTypeName(type));
    SCOPED_TRACE(name);
    ModelInferRequest request;
    request.set_model_name(IdentityModelName(type));
    auto* input = AddInput(request, "INPUT0", name, {3, 2});
    std::string expected = FillTypedSample(type, *input->mutable_contents());
    ModelInferResponse response;
    ::grpc::Status status = Infer(*stub_, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_EQ(response.outputs_size(), 1);
    EXPECT_EQ(response.outputs(0).datatype(), name);
    EXPECT_THAT(response.outputs(0).shape(), ::testing::ElementsAre(3, 2));
    ASSERT_EQ(response.raw_output_contents_size(), 1);
    EXPECT_EQ(response.raw_output_contents(0), expected);
  }
}

TEST_F(ModelServiceGrpcTest, HalfFloatTypedRejected) {
  ModelInferRequest request;
  request.set_model_name("identity_fp16");
  AddInput(request, "INPUT0", "FP16", {1, 1})->mutable_contents()->add_fp32_contents(1.0f);
  ::grpc::Status status = Infer(*stub_, request);
  EXPECT_EQ(status.error_code(), ::grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("raw_input_contents"));
  ExpectValidRequestSucceeds();
}

TEST_F(ModelServiceGrpcTest, BytesWithEmptyAndNonUtf8Elements) {
  std::string raw = BytesElement("") + BytesElement("\x80\x81") + BytesElement(std::string(3, '\0'));
  ModelInferResponse response;
  ::grpc::Status status = Infer(*stub_, RawRequest("identity_bytes", "BYTES", {1, 3}, raw), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.raw_output_contents(0), raw);

  ModelInferRequest typed;
  typed.set_model_name("identity_bytes");
  auto* contents = AddInput(typed, "INPUT0", "BYTES", {3, 1})->mutable_contents();
  contents->add_bytes_contents("\x80\x81");
  contents->add_bytes_contents("");
  contents->add_bytes_contents(std::string(3, '\0'));
  status = Infer(*stub_, typed, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.raw_output_contents(0),
            BytesElement("\x80\x81") + BytesElement("") + BytesElement(std::string(3, '\0')));
}

TEST_F(ModelServiceGrpcTest, AddSubWithRequestedOutputs) {
  std::vector<float> a(16), b(16);
  std::string a_bytes, b_bytes, sum, difference;
  for (int i = 0; i < 16; ++i) {
    a[i] = static_cast<float>(i);
    b[i] = static_cast<float>(i) * 0.5f;
    a_bytes += RawBytes<float>({a[i]});
    b_bytes += RawBytes<float>({b[i]});
    sum += RawBytes<float>({a[i] + b[i]});
    difference += RawBytes<float>({a[i] - b[i]});
  }
  ModelInferRequest request;
  request.set_model_name("add_sub");
  AddInput(request, "INPUT0", "FP32", {1, 16});
  AddInput(request, "INPUT1", "FP32", {1, 16});
  request.add_raw_input_contents(a_bytes);
  request.add_raw_input_contents(b_bytes);
  request.add_outputs()->set_name("OUTPUT1");
  request.add_outputs()->set_name("OUTPUT0");
  ModelInferResponse response;
  ::grpc::Status status = Infer(*stub_, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.outputs_size(), 2);
  EXPECT_EQ(response.outputs(0).name(), "OUTPUT1");
  EXPECT_EQ(response.outputs(1).name(), "OUTPUT0");
  ASSERT_EQ(response.raw_output_contents_size(), 2);
  EXPECT_EQ(response.raw_output_contents(0), difference);
  EXPECT_EQ(response.raw_output_contents(1), sum);

  request.clear_outputs();
  request.add_outputs()->set_name("OUTPUT1");
  status = Infer(*stub_, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.outputs_size(), 1);
  EXPECT_EQ(response.raw_output_contents(0), difference);
}

TEST_F(ModelServiceGrpcTest, ZeroSizeDimensions) {
  ModelInferResponse response;
  ::grpc::Status status = Infer(*stub_, RawRequest("identity_fp32", "FP32", {0, 3}, ""), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.outputs_size(), 1);
  EXPECT_THAT(response.outputs(0).shape(), ::testing::ElementsAre(0, 3));
  ASSERT_EQ(response.raw_output_contents_size(), 1);
  EXPECT_TRUE(response.raw_output_contents(0).empty());

  ModelInferRequest typed;
  typed.set_model_name("identity_int64");
  AddInput(typed, "INPUT0", "INT64", {2, 0});
  status = Infer(*stub_, typed, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(response.outputs(0).shape(), ::testing::ElementsAre(2, 0));
}

TEST_F(ModelServiceGrpcTest, BadRequestsThenValidOne) {
  struct Case {
    std::string label;
    std::function<void(ModelInferRequest&)> change;
    ::grpc::StatusCode code;
    std::string fragment;
  };
  const std::vector<Case> cases = {
      {"unknown model", [](auto& r) { r.set_model_name("missing"); }, ::grpc::StatusCode::NOT_FOUND,
       "missing"},
      {"dot", [](auto& r) { r.set_model_name("."); }, ::grpc::StatusCode::NOT_FOUND, "'.'"},
      {"dot dot", [](auto& r) { r.set_model_name(".."); }, ::grpc::StatusCode::NOT_FOUND, "'..'"},
      {"path", [](auto& r) { r.set_model_name("../identity_int32"); }, ::grpc::StatusCode::NOT_FOUND, "../"},
      {"slash", [](auto& r) { r.set_model_name("identity_int32/1"); }, ::grpc::StatusCode::NOT_FOUND, "/1"},
      {"unicode", [](auto& r) { r.set_model_name("mod\xc3\xa8le"); }, ::grpc::StatusCode::NOT_FOUND,
       "mod\xc3\xa8le"},
      {"bad version", [](auto& r) { r.set_model_version("v1"); }, ::grpc::StatusCode::INVALID_ARGUMENT,
       "'v1'"},
      {"missing version", [](auto& r) { r.set_model_version("7"); }, ::grpc::StatusCode::NOT_FOUND, "7"},
      {"wrong datatype", [](auto& r) { r.mutable_inputs(0)->set_datatype("FP32"); },
       ::grpc::StatusCode::INVALID_ARGUMENT, "INPUT0"},
      {"wrong input name", [](auto& r) { r.mutable_inputs(0)->set_name("X"); },
       ::grpc::StatusCode::INVALID_ARGUMENT, "X"},
      {"count mismatch", [](auto& r) { r.add_raw_input_contents("abcd"); },
       ::grpc::StatusCode::INVALID_ARGUMENT, "2 raw_input_contents entries but 1 inputs"},
      {"mixed", [](auto& r) { r.mutable_inputs(0)->mutable_contents()->add_int_contents(1); },
       ::grpc::StatusCode::INVALID_ARGUMENT, "raw_input_contents"},
      {"short data", [](auto& r) { r.set_raw_input_contents(0, "abc"); },
       ::grpc::StatusCode::INVALID_ARGUMENT, "INPUT0"},
      {"unknown output", [](auto& r) { r.add_outputs()->set_name("NOPE"); },
       ::grpc::StatusCode::INVALID_ARGUMENT, "NOPE"},
      {"negative priority", [](auto& r) { (*r.mutable_parameters())["priority"].set_int64_param(-1); },
       ::grpc::StatusCode::INVALID_ARGUMENT, "parameter 'priority' is negative (-1)"},
      {"sequence", [](auto& r) { (*r.mutable_parameters())["sequence_id"].set_int64_param(1); },
       ::grpc::StatusCode::UNIMPLEMENTED, "sequence_id"},
  };
  for (const Case& test : cases) {
    SCOPED_TRACE(test.label);
    ModelInferRequest request = RawRequest("identity_int32", "INT32", {1, 1}, RawBytes<int32_t>({9}));
    test.change(request);
    ::grpc::Status status = Infer(*stub_, request);
    EXPECT_EQ(status.error_code(), test.code) << status.error_message();
    EXPECT_THAT(status.error_message(), HasSubstr(test.fragment));
    ExpectValidRequestSucceeds();
  }
}

TEST_F(ModelServiceGrpcTest, StreamWithErrorInTheMiddle) {
  ::grpc::ClientContext context;
  auto stream = stub_->ModelStreamInfer(&context);
  ModelInferRequest first = RawRequest("identity_uint8", "UINT8", {1, 2}, "ab");
  first.set_id("first");
  ModelInferRequest second = RawRequest("missing", "UINT8", {1, 2}, "cd");
  second.set_id("second");
  ModelInferRequest third = RawRequest("identity_uint8", "UINT8", {1, 3}, "efg");
  third.set_id("third");
  ASSERT_TRUE(stream->Write(first));
  ASSERT_TRUE(stream->Write(second));
  ASSERT_TRUE(stream->Write(third));
  ASSERT_TRUE(stream->WritesDone());

  inference::ModelStreamInferResponse response;
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.error_message(), "");
  EXPECT_EQ(response.infer_response().id(), "first");
  ASSERT_EQ(response.infer_response().raw_output_contents_size(), 1);
  EXPECT_EQ(response.infer_response().raw_output_contents(0), "ab");

  ASSERT_TRUE(stream->Read(&response));
  EXPECT_THAT(response.error_message(), HasSubstr("missing"));
  EXPECT_EQ(response.infer_response().id(), "second");
  EXPECT_EQ(response.infer_response().model_name(), "missing");
  EXPECT_EQ(response.infer_response().outputs_size(), 0);

  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.error_message(), "");
  EXPECT_EQ(response.infer_response().id(), "third");
  EXPECT_EQ(response.infer_response().raw_output_contents(0), "efg");

  EXPECT_FALSE(stream->Read(&response));
  ::grpc::Status status = stream->Finish();
  EXPECT_TRUE(status.ok()) << status.error_message();
}

TEST_F(ModelServiceGrpcTest, StatisticsAndIndex) {
  ExpectValidRequestSucceeds();
  inference::ModelStatisticsRequest request;
  request.set_name("identity_int32");
  ::grpc::ClientContext context;
  inference::ModelStatisticsResponse statistics;
  ASSERT_TRUE(stub_->ModelStatistics(&context, request, &statistics).ok());
  ASSERT_EQ(statistics.model_stats_size(), 1);
  const inference::ModelStatistics& model = statistics.model_stats(0);
  EXPECT_EQ(model.name(), "identity_int32");
  EXPECT_EQ(model.version(), "1");
  EXPECT_GE(model.inference_count(), 1u);
  EXPECT_GE(model.execution_count(), 1u);
  EXPECT_GT(model.last_inference(), 0u);
  EXPECT_GE(model.inference_stats().success().count(), 1u);
  EXPECT_GT(model.inference_stats().success().ns(), 0u);

  inference::ModelStatisticsRequest all;
  ::grpc::ClientContext all_context;
  ASSERT_TRUE(stub_->ModelStatistics(&all_context, all, &statistics).ok());
  EXPECT_EQ(statistics.model_stats_size(), 15);

  request.set_name("missing");
  ::grpc::ClientContext missing_context;
  EXPECT_EQ(stub_->ModelStatistics(&missing_context, request, &statistics).error_code(),
            ::grpc::StatusCode::NOT_FOUND);
  all.set_version("1");
  ::grpc::ClientContext version_only;
  EXPECT_EQ(stub_->ModelStatistics(&version_only, all, &statistics).error_code(),
            ::grpc::StatusCode::INVALID_ARGUMENT);

  inference::RepositoryIndexRequest index_request;
  ::grpc::ClientContext index_context;
  inference::RepositoryIndexResponse index;
  ASSERT_TRUE(stub_->RepositoryIndex(&index_context, index_request, &index).ok());
  ASSERT_EQ(index.models_size(), 15);
  EXPECT_EQ(index.models(0).name(), "add_sub");
  EXPECT_EQ(index.models(0).version(), "1");
  EXPECT_EQ(index.models(0).state(), "READY");
  EXPECT_EQ(index.models(0).reason(), "");

  index_request.set_repository_name("other");
  ::grpc::ClientContext other_context;
  ::grpc::Status status = stub_->RepositoryIndex(&other_context, index_request, &index);
  EXPECT_EQ(status.error_code(), ::grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), HasSubstr("'other'"));
}

TEST_F(ModelServiceGrpcTest, ModelControlDisabled) {
  inference::RepositoryModelLoadRequest load;
  load.set_model_name("identity_fp32");
  ::grpc::ClientContext load_context;
  inference::RepositoryModelLoadResponse loaded;
  ::grpc::Status status = stub_->RepositoryModelLoad(&load_context, load, &loaded);
  EXPECT_EQ(status.error_code(), ::grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("model control is disabled"));

  inference::RepositoryModelUnloadRequest unload;
  unload.set_model_name("identity_fp32");
  ::grpc::ClientContext unload_context;
  inference::RepositoryModelUnloadResponse unloaded;
  status = stub_->RepositoryModelUnload(&unload_context, unload, &unloaded);
  EXPECT_EQ(status.error_code(), ::grpc::StatusCode::FAILED_PRECONDITION);
  ExpectValidRequestSucceeds();
}

TEST_F(ModelServiceGrpcTest, SharedMemoryInputAndOutput) {
  PosixShmObject object(128);
  inference::SystemSharedMemoryRegisterRequest register_request;
  register_request.set_name("tensors");
  register_request.set_key(object.key());
  register_request.set_offset(0);
  register_request.set_byte_size(128);
  ::grpc::ClientContext register_context;
  inference::SystemSharedMemoryRegisterResponse registered;
  ::grpc::Status status = stub_->SystemSharedMemoryRegister(&register_context, register_request, &registered);
  ASSERT_TRUE(status.ok()) << status.error_message();

  ::grpc::ClientContext again_context;
  status = stub_->SystemSharedMemoryRegister(&again_context, register_request, &registered);
  EXPECT_EQ(status.error_code(), ::grpc::StatusCode::ALREADY_EXISTS);

  inference::SystemSharedMemoryStatusRequest status_request;
  ::grpc::ClientContext status_context;
  inference::SystemSharedMemoryStatusResponse regions;
  ASSERT_TRUE(stub_->SystemSharedMemoryStatus(&status_context, status_request, &regions).ok());
  ASSERT_EQ(regions.regions().count("tensors"), 1u);
  EXPECT_EQ(regions.regions().at("tensors").name(), "tensors");
  EXPECT_EQ(regions.regions().at("tensors").key(), object.key());
  EXPECT_EQ(regions.regions().at("tensors").byte_size(), 128u);

  // Input at offset 0 and output at offset 64 of the same region.
  std::string input = RawBytes<float>({1.5f, 2.5f, -3.0f, 4.0f, 5.0f, 6.0f});
  object.Write(0, input);
  ModelInferRequest request;
  request.set_model_name("identity_fp32");
  SetSharedMemory(*AddInput(request, "INPUT0", "FP32", {2, 3})->mutable_parameters(), "tensors", 0, 24);
  auto* output = request.add_outputs();
  output->set_name("OUTPUT0");
  SetSharedMemory(*output->mutable_parameters(), "tensors", 64, 64);
  ModelInferResponse response;
  status = Infer(*stub_, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.outputs_size(), 1);
  EXPECT_EQ(response.outputs(0).datatype(), "FP32");
  EXPECT_THAT(response.outputs(0).shape(), ::testing::ElementsAre(2, 3));
  const auto& parameters = response.outputs(0).parameters();
  ASSERT_EQ(parameters.count("shared_memory_region"), 1u);
  EXPECT_EQ(parameters.at("shared_memory_region").string_param(), "tensors");
  ASSERT_EQ(parameters.count("shared_memory_byte_size"), 1u);
  EXPECT_EQ(parameters.at("shared_memory_byte_size").int64_param(), 24);
  ASSERT_EQ(response.raw_output_contents_size(), 1);
  EXPECT_TRUE(response.raw_output_contents(0).empty());
  EXPECT_EQ(object.Read(64, 24), input);

  // Raw inputs with one output in shared memory and one in the response.
  std::string ones, twos;
  for (int i = 0; i < 16; ++i) {
    ones += RawBytes<float>({1.0f});
    twos += RawBytes<float>({2.0f});
  }
  ModelInferRequest mixed;
  mixed.set_model_name("add_sub");
  AddInput(mixed, "INPUT0", "FP32", {1, 16});
  AddInput(mixed, "INPUT1", "FP32", {1, 16});
  mixed.add_raw_input_contents(ones);
  mixed.add_raw_input_contents(twos);
  auto* sum = mixed.add_outputs();
  sum->set_name("OUTPUT0");
  SetSharedMemory(*sum->mutable_parameters(), "tensors", 0, 64);
  mixed.add_outputs()->set_name("OUTPUT1");
  status = Infer(*stub_, mixed, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.raw_output_contents_size(), 2);
  EXPECT_TRUE(response.raw_output_contents(0).empty());
  std::string minus_ones;
  for (int i = 0; i < 16; ++i) minus_ones += RawBytes<float>({-1.0f});
  EXPECT_EQ(response.raw_output_contents(1), minus_ones);
  std::string threes;
  for (int i = 0; i < 16; ++i) threes += RawBytes<float>({3.0f});
  EXPECT_EQ(object.Read(0, 64), threes);

  // An output region that is too small.
  SetSharedMemory(*sum->mutable_parameters(), "tensors", 0, 8);
  status = Infer(*stub_, mixed, &response);
  EXPECT_EQ(status.error_code(), ::grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("OUTPUT0"));
  ExpectValidRequestSucceeds();

  inference::SystemSharedMemoryUnregisterRequest unregister;
  unregister.set_name("tensors");
  ::grpc::ClientContext unregister_context;
  inference::SystemSharedMemoryUnregisterResponse unregistered;
  ASSERT_TRUE(stub_->SystemSharedMemoryUnregister(&unregister_context, unregister, &unregistered).ok());

  status_request.set_name("tensors");
  ::grpc::ClientContext gone_context;
  EXPECT_EQ(stub_->SystemSharedMemoryStatus(&gone_context, status_request, &regions).error_code(),
            ::grpc::StatusCode::NOT_FOUND);
  status = Infer(*stub_, request, &response);
  EXPECT_EQ(status.error_code(), ::grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), HasSubstr("INPUT0"));
  ExpectValidRequestSucceeds();
}

TEST_F(ModelServiceGrpcTest, SharedMemoryRegisterErrors) {
  inference::SystemSharedMemoryRegisterRequest request;
  request.set_name("bad");
  request.set_key("no-slash");
  request.set_byte_size(16);
  ::grpc::ClientContext context;
  inference::SystemSharedMemoryRegisterResponse response;
  ::grpc::Status status = stub_->SystemSharedMemoryRegister(&context, request, &response);
  EXPECT_EQ(status.error_code(), ::grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("no-slash"));

  request.set_key("/moat-grpc-test-does-not-exist");
  ::grpc::ClientContext missing_context;
  status = stub_->SystemSharedMemoryRegister(&missing_context, request, &response);
  EXPECT_EQ(status.error_code(), ::grpc::StatusCode::NOT_FOUND);

  inference::SystemSharedMemoryUnregisterRequest unregister;
  unregister.set_name("never-registered");
  ::grpc::ClientContext unregister_context;
  inference::SystemSharedMemoryUnregisterResponse unregistered;
  EXPECT_EQ(stub_->SystemSharedMemoryUnregister(&unregister_context, unregister, &unregistered).error_code(),
            ::grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace moat::grpc_server
