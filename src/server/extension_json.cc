#include "server/extension_json.h"

#include "server/json.h"
#include "server/tensor_spec_json.h"

namespace moat::server {
namespace {

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
  WriteStringMember(writer, "name", statistics.name);
  WriteStringMember(writer, "version", std::to_string(statistics.version));
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
  writer.Key("batch_stats");
  writer.StartArray();
  for (const BatchStatistic& batch : statistics.batch_stats) {
    writer.StartObject();
    writer.Key("batch_size");
    writer.Uint64(batch.batch_size);
    WriteDuration(writer, "compute_input", batch.compute_input);
    WriteDuration(writer, "compute_infer", batch.compute_infer);
    WriteDuration(writer, "compute_output", batch.compute_output);
    writer.EndObject();
  }
  writer.EndArray();
  writer.EndObject();
}

}  // namespace

std::string RepositoryIndexJson(const std::vector<ModelIndexEntry>& index) {
  return JsonText([&](JsonWriter& writer) {
    writer.StartArray();
    for (const ModelIndexEntry& entry : index) {
      writer.StartObject();
      WriteStringMember(writer, "name", entry.name);
      WriteStringMember(writer, "version", entry.version);
      WriteStringMember(writer, "state", entry.state);
      WriteStringMember(writer, "reason", entry.reason);
      writer.EndObject();
    }
    writer.EndArray();
  });
}

std::string ModelConfigJson(const ModelMetadata& metadata) {
  return JsonText([&](JsonWriter& writer) {
    writer.StartObject();
    WriteStringMember(writer, "name", metadata.name);
    WriteStringMember(writer, "platform", metadata.platform);
    // Triton names the backend apart from the platform: "onnxruntime" runs
    // the "onnxruntime_onnx" platform.
    WriteStringMember(writer, "backend",
                      metadata.platform == "onnxruntime_onnx" ? "onnxruntime" : metadata.platform);
    writer.Key("max_batch_size");
    writer.Int(0);
    writer.Key("input");
    WriteTensorSpecs(writer, metadata.inputs, TensorSpecForm::kTritonConfig);
    writer.Key("output");
    WriteTensorSpecs(writer, metadata.outputs, TensorSpecForm::kTritonConfig);
    writer.EndObject();
  });
}

std::string ModelStatisticsJson(const std::vector<ModelStatistics>& statistics) {
  return JsonText([&](JsonWriter& writer) {
    writer.StartObject();
    writer.Key("model_stats");
    writer.StartArray();
    for (const ModelStatistics& entry : statistics) WriteStatistics(writer, entry);
    writer.EndArray();
    writer.EndObject();
  });
}

std::string SharedMemoryStatusJson(const std::vector<shm::RegionInfo>& regions) {
  return JsonText([&](JsonWriter& writer) {
    writer.StartArray();
    for (const shm::RegionInfo& region : regions) {
      writer.StartObject();
      WriteStringMember(writer, "name", region.name);
      WriteStringMember(writer, "key", region.key);
      writer.Key("offset");
      writer.Uint64(region.offset);
      writer.Key("byte_size");
      writer.Uint64(region.byte_size);
      writer.EndObject();
    }
    writer.EndArray();
  });
}

}  // namespace moat::server
