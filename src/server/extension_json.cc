#include "server/extension_json.h"

#include "server/json.h"

namespace moat::server {
namespace {

void WriteConfigTensors(JsonWriter& writer, const std::vector<TensorSpec>& specs) {
  writer.StartArray();
  for (const TensorSpec& spec : specs) {
    writer.StartObject();
    writer.Key("name");
    WriteJsonString(writer, spec.name);
    writer.Key("data_type");
    WriteJsonString(writer, ConfigDataTypeName(spec.datatype));
    writer.Key("dims");
    writer.StartArray();
    for (int64_t dim : spec.shape) writer.Int64(dim);
    writer.EndArray();
    writer.EndObject();
  }
  writer.EndArray();
}

void WriteDuration(JsonWriter& writer, std::string_view key, const DurationStatistic& statistic) {
  writer.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
  writer.StartObject();
  writer.Key("count");
  writer.Uint64(statistic.count);
  writer.Key("ns");
  writer.Uint64(statistic.ns);
  writer.EndObject();
}

void WriteStatistics(JsonWriter& writer, const ModelStatistics& statistics) {
  writer.StartObject();
  writer.Key("name");
  WriteJsonString(writer, statistics.name);
  writer.Key("version");
  WriteJsonString(writer, std::to_string(statistics.version));
  writer.Key("last_inference");
  writer.Uint64(statistics.last_inference_ms);
  writer.Key("inference_count");
  writer.Uint64(statistics.inference_count);
  writer.Key("execution_count");
  writer.Uint64(statistics.execution_count);
  writer.Key("inference_stats");
  writer.StartObject();
  WriteDuration(writer, "success", statistics.success);
  WriteDuration(writer, "fail", statistics.fail);
  WriteDuration(writer, "queue", statistics.queue);
  WriteDuration(writer, "compute_input", statistics.compute_input);
  WriteDuration(writer, "compute_infer", statistics.compute_infer);
  WriteDuration(writer, "compute_output", statistics.compute_output);
  writer.EndObject();
  // Moat runs every request as its own batch, so there are no batch sizes to
  // report.
  writer.Key("batch_stats");
  writer.StartArray();
  writer.EndArray();
  writer.EndObject();
}

}  // namespace

std::string RepositoryIndexJson(const std::vector<ModelIndexEntry>& index) {
  rapidjson::StringBuffer buffer;
  JsonWriter writer(buffer);
  writer.StartArray();
  for (const ModelIndexEntry& entry : index) {
    writer.StartObject();
    writer.Key("name");
    WriteJsonString(writer, entry.name);
    writer.Key("version");
    WriteJsonString(writer, entry.version);
    writer.Key("state");
    WriteJsonString(writer, entry.state);
    writer.Key("reason");
    WriteJsonString(writer, entry.reason);
    writer.EndObject();
  }
  writer.EndArray();
  return FinishJson(buffer);
}

std::string ConfigDataTypeName(DataType datatype) {
  if (datatype == DataType::kBytes) return "TYPE_STRING";
  return "TYPE_" + std::string(DataTypeName(datatype));
}

std::string ModelConfigJson(const ModelMetadata& metadata) {
  rapidjson::StringBuffer buffer;
  JsonWriter writer(buffer);
  writer.StartObject();
  writer.Key("name");
  WriteJsonString(writer, metadata.name);
  writer.Key("platform");
  WriteJsonString(writer, metadata.platform);
  // Triton names the backend apart from the platform: "onnxruntime" runs
  // the "onnxruntime_onnx" platform.
  writer.Key("backend");
  WriteJsonString(writer, metadata.platform == "onnxruntime_onnx" ? "onnxruntime" : metadata.platform);
  writer.Key("max_batch_size");
  writer.Int(0);
  writer.Key("input");
  WriteConfigTensors(writer, metadata.inputs);
  writer.Key("output");
  WriteConfigTensors(writer, metadata.outputs);
  writer.EndObject();
  return FinishJson(buffer);
}

std::string ModelStatisticsJson(const std::vector<ModelStatistics>& statistics) {
  rapidjson::StringBuffer buffer;
  JsonWriter writer(buffer);
  writer.StartObject();
  writer.Key("model_stats");
  writer.StartArray();
  for (const ModelStatistics& entry : statistics) WriteStatistics(writer, entry);
  writer.EndArray();
  writer.EndObject();
  return FinishJson(buffer);
}

std::string SharedMemoryStatusJson(const std::vector<shm::RegionInfo>& regions) {
  rapidjson::StringBuffer buffer;
  JsonWriter writer(buffer);
  writer.StartArray();
  for (const shm::RegionInfo& region : regions) {
    writer.StartObject();
    writer.Key("name");
    WriteJsonString(writer, region.name);
    writer.Key("key");
    WriteJsonString(writer, region.key);
    writer.Key("offset");
    writer.Uint64(region.offset);
    writer.Key("byte_size");
    writer.Uint64(region.byte_size);
    writer.EndObject();
  }
  writer.EndArray();
  return FinishJson(buffer);
}

}  // namespace moat::server
