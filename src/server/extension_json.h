// The response bodies of the model repository, model configuration,
// statistics and system shared memory extensions.
#pragma once

#include <string>
#include <vector>

#include "core/inference.h"
#include "shm/shared_memory.h"

namespace moat::server {

// [{"name", "version", "state", "reason"}, ...]
std::string RepositoryIndexJson(const std::vector<ModelIndexEntry>& index);

// The Triton model configuration of `metadata`'s version: name, platform
// (ModelService reports "onnxruntime_onnx"), backend, max_batch_size 0 and
// the inputs and outputs with their full shapes as dims. Clients always send
// full shapes, so 0 stays right when the server batches requests itself.
std::string ModelConfigJson(const ModelMetadata& metadata);

// {"model_stats": [...]} in Triton's statistics extension form.
std::string ModelStatisticsJson(const std::vector<ModelStatistics>& statistics);

// [{"name", "key", "offset", "byte_size"}, ...]
std::string SharedMemoryStatusJson(const std::vector<shm::RegionInfo>& regions);

}  // namespace moat::server
