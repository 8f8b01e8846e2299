// The small conversions of the gRPC front end: peers, versions, log text,
// status codes, model messages and the response builder.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/status_mapping.h"
#include "grpc/infer_response.h"
#include "grpc/model_messages.h"
#include "grpc/rpc_helpers.h"
#include "testing/posix_shm_object.h"
#include "testing/tensor_bytes.h"

namespace moat::grpc_server {
namespace {

using moat::testing::RawBytes;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(PeerAddress, StripsTransportPrefix) {
  EXPECT_EQ(PeerAddress("ipv4:127.0.0.1:5000"), "127.0.0.1:5000");
  EXPECT_EQ(PeerAddress("ipv6:[::1]:5000"), "[::1]:5000");
  EXPECT_EQ(PeerAddress("ipv6:%5B::1%5D:5000"), "[::1]:5000");
  EXPECT_EQ(PeerAddress("unix:/tmp/socket"), "unix:/tmp/socket");
  EXPECT_EQ(PeerAddress("ipv4:%zz"), "%zz");
  EXPECT_EQ(PeerAddress(""), "");
}

TEST(ParseVersionField, EmptyAndNumbers) {
  auto latest = ParseVersionField("");
  ASSERT_TRUE(latest.ok());
  EXPECT_FALSE(latest->has_value());
  auto seven = ParseVersionField("7");
  ASSERT_TRUE(seven.ok());
  EXPECT_EQ(*seven, 7);
  auto invalid = ParseVersionField("07");
  ASSERT_FALSE(invalid.ok());
  EXPECT_EQ(invalid.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(invalid.status().message(), HasSubstr("'07'"));
  EXPECT_THAT(ParseVersionField("\xff").status().message(), HasSubstr("'?'"));
}

TEST(LogSafe, EscapesAndCuts) {
  EXPECT_EQ(LogSafe("plain"), "plain");
  EXPECT_EQ(LogSafe("a\nb\\c"), "a\\x0ab\\x5cc");
  EXPECT_EQ(LogSafe(std::string(200, 'x')), std::string(128, 'x') + "...");
  EXPECT_EQ(LogSafe("abcdef", 3), "abc...");
}

TEST(ToGrpcStatus, UsesTheMappingTable) {
  EXPECT_TRUE(ToGrpcStatus(OkStatus()).ok());
  for (int code = 1; code <= 16; ++code) {
    auto status_code = static_cast<StatusCode>(code);
    ::grpc::Status status = ToGrpcStatus(Status(status_code, "message"));
    EXPECT_EQ(static_cast<int>(status.error_code()), GrpcStatusFor(status_code));
    EXPECT_EQ(status.error_message(), "message");
  }
}

TEST(ModelMessages, ConfigDataTypes) {
  EXPECT_EQ(ConfigDataType(DataType::kBool), inference::TYPE_BOOL);
  EXPECT_EQ(ConfigDataType(DataType::kUint8), inference::TYPE_UINT8);
  EXPECT_EQ(ConfigDataType(DataType::kUint16), inference::TYPE_UINT16);
  EXPECT_EQ(ConfigDataType(DataType::kUint32), inference::TYPE_UINT32);
  EXPECT_EQ(ConfigDataType(DataType::kUint64), inference::TYPE_UINT64);
  EXPECT_EQ(ConfigDataType(DataType::kInt8), inference::TYPE_INT8);
  EXPECT_EQ(ConfigDataType(DataType::kInt16), inference::TYPE_INT16);
  EXPECT_EQ(ConfigDataType(DataType::kInt32), inference::TYPE_INT32);
  EXPECT_EQ(ConfigDataType(DataType::kInt64), inference::TYPE_INT64);
  EXPECT_EQ(ConfigDataType(DataType::kFp16), inference::TYPE_FP16);
  EXPECT_EQ(ConfigDataType(DataType::kBf16), inference::TYPE_BF16);
  EXPECT_EQ(ConfigDataType(DataType::kFp32), inference::TYPE_FP32);
  EXPECT_EQ(ConfigDataType(DataType::kFp64), inference::TYPE_FP64);
  EXPECT_EQ(ConfigDataType(DataType::kBytes), inference::TYPE_STRING);
}

TEST(ModelMessages, StatisticsAndIndex) {
  ModelStatistics statistics;
  statistics.name = "m";
  statistics.version = 3;
  statistics.last_inference_ms = 1700000000000;
  statistics.inference_count = 8;
  statistics.execution_count = 4;
  statistics.success = {4, 4000};
  statistics.fail = {1, 100};
  statistics.compute_infer = {4, 2000};
  statistics.batch_stats.resize(2);
  statistics.batch_stats[0].batch_size = 2;
  statistics.batch_stats[0].compute_infer = {3, 1500};
  statistics.batch_stats[1].batch_size = 5;
  statistics.batch_stats[1].compute_infer = {1, 500};
  inference::ModelStatisticsResponse message;
  FillModelStatistics({statistics}, message);
  ASSERT_EQ(message.model_stats_size(), 1);
  const auto& stats = message.model_stats(0);
  EXPECT_EQ(stats.name(), "m");
  EXPECT_EQ(stats.version(), "3");
  EXPECT_EQ(stats.last_inference(), 1700000000000u);
  EXPECT_EQ(stats.inference_count(), 8u);
  EXPECT_EQ(stats.execution_count(), 4u);
  EXPECT_EQ(stats.inference_stats().success().ns(), 4000u);
  EXPECT_EQ(stats.inference_stats().fail().count(), 1u);
  EXPECT_EQ(stats.inference_stats().compute_infer().ns(), 2000u);
  ASSERT_EQ(stats.batch_stats_size(), 2);
  EXPECT_EQ(stats.batch_stats(0).batch_size(), 2u);
  EXPECT_EQ(stats.batch_stats(0).compute_infer().count(), 3u);
  EXPECT_EQ(stats.batch_stats(1).batch_size(), 5u);
  EXPECT_EQ(stats.batch_stats(1).compute_infer().ns(), 500u);

  inference::RepositoryIndexResponse index;
  FillRepositoryIndex({{"m", "3", "UNAVAILABLE", "signature invalid"}}, index);
  ASSERT_EQ(index.models_size(), 1);
  EXPECT_EQ(index.models(0).state(), "UNAVAILABLE");
  EXPECT_EQ(index.models(0).reason(), "signature invalid");
}

TEST(BuildModelInferResponse, RawAndSharedMemoryOutputs) {
  moat::testing::PosixShmObject object(32);
  shm::SharedMemoryManager shared_memory(true);
  ASSERT_TRUE(shared_memory.Register("out", object.key(), 0, 32).ok());

  InferenceResponse response;
  response.id = "id-1";
  response.model_name = "m";
  response.model_version = 2;
  response.outputs.push_back(MakeOwnedTensor("A", DataType::kInt16, {2}, RawBytes<int16_t>({1, -1})));
  response.outputs.push_back(MakeOwnedTensor("B", DataType::kFp64, {1, 1}, RawBytes<double>({0.25})));
  std::map<std::string, shm::SharedMemoryReference> in_shared_memory = {{"A", {"out", 4, 8}}};

  inference::ModelInferResponse message;
  Status built = BuildModelInferResponse(response, in_shared_memory, shared_memory, message);
  ASSERT_TRUE(built.ok()) << built.ToString();
  EXPECT_EQ(message.id(), "id-1");
  EXPECT_EQ(message.model_name(), "m");
  EXPECT_EQ(message.model_version(), "2");
  ASSERT_EQ(message.outputs_size(), 2);
  EXPECT_EQ(message.outputs(0).datatype(), "INT16");
  EXPECT_THAT(message.outputs(0).shape(), ElementsAre(2));
  EXPECT_EQ(message.outputs(0).parameters().at("shared_memory_region").string_param(), "out");
  EXPECT_EQ(message.outputs(0).parameters().at("shared_memory_byte_size").int64_param(), 4);
  EXPECT_EQ(message.outputs(1).datatype(), "FP64");
  EXPECT_TRUE(message.outputs(1).parameters().empty());
  ASSERT_EQ(message.raw_output_contents_size(), 2);
  EXPECT_EQ(message.raw_output_contents(0), "");
  EXPECT_EQ(message.raw_output_contents(1), RawBytes<double>({0.25}));
  EXPECT_EQ(object.Read(4, 4), RawBytes<int16_t>({1, -1}));

  std::map<std::string, shm::SharedMemoryReference> too_small = {{"B", {"out", 0, 4}}};
  inference::ModelInferResponse failed;
  built = BuildModelInferResponse(response, too_small, shared_memory, failed);
  EXPECT_EQ(built.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(built.message(), HasSubstr("output 'B'"));
}

}  // namespace
}  // namespace moat::grpc_server
