#include "grpc/model_messages.h"

#include <string>

namespace moat::grpc_server {
namespace {

void FillDuration(const DurationStatistic& duration, inference::StatisticDuration& message) {
  message.set_count(duration.count);
  message.set_ns(duration.ns);
}

template <typename Message>
void FillDims(const std::vector<int64_t>& shape, Message& message) {
  for (int64_t dim : shape) message.add_dims(dim);
}

}  // namespace

void FillModelMetadata(const ModelMetadata& metadata, inference::ModelMetadataResponse& message) {
  message.set_name(metadata.name);
  for (int64_t version : metadata.versions) message.add_versions(std::to_string(version));
  message.set_platform(metadata.platform);
  for (const TensorSpec& spec : metadata.inputs) {
    auto* tensor = message.add_inputs();
    tensor->set_name(spec.name);
    tensor->set_datatype(std::string(DataTypeName(spec.datatype)));
    for (int64_t dim : spec.shape) tensor->add_shape(dim);
  }
  for (const TensorSpec& spec : metadata.outputs) {
    auto* tensor = message.add_outputs();
    tensor->set_name(spec.name);
    tensor->set_datatype(std::string(DataTypeName(spec.datatype)));
    for (int64_t dim : spec.shape) tensor->add_shape(dim);
  }
}

inference::DataType ConfigDataType(DataType datatype) {
  switch (datatype) {
    case DataType::kBool:
      return inference::TYPE_BOOL;
    case DataType::kUint8:
      return inference::TYPE_UINT8;
    case DataType::kUint16:
      return inference::TYPE_UINT16;
    case DataType::kUint32:
      return inference::TYPE_UINT32;
    case DataType::kUint64:
      return inference::TYPE_UINT64;
    case DataType::kInt8:
      return inference::TYPE_INT8;
    case DataType::kInt16:
      return inference::TYPE_INT16;
    case DataType::kInt32:
      return inference::TYPE_INT32;
    case DataType::kInt64:
      return inference::TYPE_INT64;
    case DataType::kFp16:
      return inference::TYPE_FP16;
    case DataType::kBf16:
      return inference::TYPE_BF16;
    case DataType::kFp32:
      return inference::TYPE_FP32;
    case DataType::kFp64:
      return inference::TYPE_FP64;
    case DataType::kBytes:
      return inference::TYPE_STRING;
  }
  return inference::TYPE_INVALID;
}

void FillModelConfig(const ModelMetadata& metadata, inference::ModelConfig& config) {
  config.set_name(metadata.name);
  config.set_platform("onnxruntime_onnx");
  config.set_backend("onnxruntime");
  config.set_max_batch_size(0);
  for (const TensorSpec& spec : metadata.inputs) {
    auto* input = config.add_input();
    input->set_name(spec.name);
    input->set_data_type(ConfigDataType(spec.datatype));
    FillDims(spec.shape, *input);
  }
  for (const TensorSpec& spec : metadata.outputs) {
    auto* output = config.add_output();
    output->set_name(spec.name);
    output->set_data_type(ConfigDataType(spec.datatype));
    FillDims(spec.shape, *output);
  }
}

void FillModelStatistics(const std::vector<ModelStatistics>& statistics,
                         inference::ModelStatisticsResponse& message) {
  for (const ModelStatistics& model : statistics) {
    auto* stats = message.add_model_stats();
    stats->set_name(model.name);
    stats->set_version(std::to_string(model.version));
    stats->set_last_inference(model.last_inference_ms);
    stats->set_inference_count(model.inference_count);
    stats->set_execution_count(model.execution_count);
    auto* inference_stats = stats->mutable_inference_stats();
    FillDuration(model.success, *inference_stats->mutable_success());
    FillDuration(model.fail, *inference_stats->mutable_fail());
    FillDuration(model.queue, *inference_stats->mutable_queue());
    FillDuration(model.compute_input, *inference_stats->mutable_compute_input());
    FillDuration(model.compute_infer, *inference_stats->mutable_compute_infer());
    FillDuration(model.compute_output, *inference_stats->mutable_compute_output());
    for (const BatchStatistic& batch : model.batch_stats) {
      auto* batch_stats = stats->add_batch_stats();
      batch_stats->set_batch_size(batch.batch_size);
      FillDuration(batch.compute_input, *batch_stats->mutable_compute_input());
      FillDuration(batch.compute_infer, *batch_stats->mutable_compute_infer());
      FillDuration(batch.compute_output, *batch_stats->mutable_compute_output());
    }
  }
}

void FillRepositoryIndex(const std::vector<ModelIndexEntry>& index,
                         inference::RepositoryIndexResponse& message) {
  for (const ModelIndexEntry& entry : index) {
    auto* model = message.add_models();
    model->set_name(entry.name);
    model->set_version(entry.version);
    model->set_state(entry.state);
    model->set_reason(entry.reason);
  }
}

}  // namespace moat::grpc_server
