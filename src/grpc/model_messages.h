// Conversion of the core API's model descriptions into protocol messages.
#pragma once

#include <vector>

#include "core/inference.h"
#include "inference.pb.h"

namespace moat::grpc_server {

void FillModelMetadata(const ModelMetadata& metadata, inference::ModelMetadataResponse& message);

// Describes the model as the model configuration schema does: platform
// "onnxruntime_onnx", backend "onnxruntime", max_batch_size 0 (the shapes
// carry any batch dimension) and the tensors with their full shapes.
void FillModelConfig(const ModelMetadata& metadata, inference::ModelConfig& config);

// Returns the configuration enum for `datatype` (BYTES is TYPE_STRING).
inference::DataType ConfigDataType(DataType datatype);

void FillModelStatistics(const std::vector<ModelStatistics>& statistics,
                         inference::ModelStatisticsResponse& message);

void FillRepositoryIndex(const std::vector<ModelIndexEntry>& index,
                         inference::RepositoryIndexResponse& message);

}  // namespace moat::grpc_server
