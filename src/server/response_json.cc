#include "server/response_json.h"

#include <string_view>

#include "server/json.h"
#include "server/json_tensor.h"
#include "server/utf8.h"

namespace moat::server {
namespace {

void WriteShape(JsonWriter& writer, std::span<const int64_t> shape) {
  writer.StartArray();
  for (int64_t dim : shape) writer.Int64(dim);
  writer.EndArray();
}

// Writes the "name", "datatype" and "shape" members that tensor metadata and
// output tensors share, inside an object the caller opened.
void WriteTensorHeader(JsonWriter& writer, std::string_view name, DataType datatype,
                       const std::vector<int64_t>& shape) {
  writer.Key("name");
  WriteJsonString(writer, name);
  writer.Key("datatype");
  WriteJsonString(writer, DataTypeName(datatype));
  writer.Key("shape");
  WriteShape(writer, shape);
}

void WriteTensorSpecs(JsonWriter& writer, const std::vector<TensorSpec>& specs) {
  writer.StartArray();
  for (const TensorSpec& spec : specs) {
    writer.StartObject();
    WriteTensorHeader(writer, spec.name, spec.datatype, spec.shape);
    writer.EndObject();
  }
  writer.EndArray();
}

}  // namespace

StatusOr<EncodedInferResponse> EncodeInferResponse(const InferenceResponse& response,
                                                   const OutputFormat& format,
                                                   const SharedMemoryWrites& shared_memory_writes) {
  rapidjson::StringBuffer buffer;
  JsonWriter writer(buffer);
  std::vector<const Tensor*> binary_outputs;

  writer.StartObject();
  writer.Key("model_name");
  WriteJsonString(writer, response.model_name);
  writer.Key("model_version");
  WriteJsonString(writer, std::to_string(response.model_version));
  if (!response.id.empty()) {
    writer.Key("id");
    WriteJsonString(writer, response.id);
  }
  writer.Key("outputs");
  writer.StartArray();
  for (const Tensor& output : response.outputs) {
    writer.StartObject();
    WriteTensorHeader(writer, output.name, output.datatype, output.shape);
    auto region = format.shared_memory_by_name.find(output.name);
    auto written = shared_memory_writes.find(output.name);
    if (region != format.shared_memory_by_name.end() && written != shared_memory_writes.end()) {
      writer.Key("parameters");
      writer.StartObject();
      writer.Key("shared_memory_region");
      WriteJsonString(writer, region->second.region);
      writer.Key("shared_memory_byte_size");
      writer.Uint64(written->second);
      writer.EndObject();
    } else if (format.IsBinary(output.name)) {
      Status size_status = CheckTensorByteSize(output);
      if (!size_status.ok()) {
        return InternalError("output does not match its shape: " + size_status.message());
      }
      writer.Key("parameters");
      writer.StartObject();
      writer.Key("binary_data_size");
      writer.Uint64(output.data.size());
      writer.EndObject();
      binary_outputs.push_back(&output);
    } else {
      writer.Key("data");
      MOAT_RETURN_IF_ERROR(WriteJsonTensorData(output, writer));
    }
    writer.EndObject();
  }
  writer.EndArray();
  writer.EndObject();

  EncodedInferResponse encoded;
  if (binary_outputs.empty()) {
    encoded.body = FinishJson(buffer);
    return encoded;
  }
  size_t total = buffer.GetSize();
  for (const Tensor* output : binary_outputs) total += output->data.size();
  encoded.body.reserve(total);
  encoded.body.append(buffer.GetString(), buffer.GetSize());
  encoded.header_length = buffer.GetSize();
  for (const Tensor* output : binary_outputs) {
    encoded.body.append(reinterpret_cast<const char*>(output->data.data()), output->data.size());
  }
  return encoded;
}

std::string ServerMetadataJson(const ServerMetadata& metadata) {
  rapidjson::StringBuffer buffer;
  JsonWriter writer(buffer);
  writer.StartObject();
  writer.Key("name");
  WriteJsonString(writer, metadata.name);
  writer.Key("version");
  WriteJsonString(writer, metadata.version);
  writer.Key("extensions");
  writer.StartArray();
  for (const std::string& extension : metadata.extensions) WriteJsonString(writer, extension);
  writer.EndArray();
  writer.EndObject();
  return FinishJson(buffer);
}

std::string ModelMetadataJson(const ModelMetadata& metadata) {
  rapidjson::StringBuffer buffer;
  JsonWriter writer(buffer);
  writer.StartObject();
  writer.Key("name");
  WriteJsonString(writer, metadata.name);
  writer.Key("versions");
  writer.StartArray();
  for (int64_t version : metadata.versions) WriteJsonString(writer, std::to_string(version));
  writer.EndArray();
  writer.Key("platform");
  WriteJsonString(writer, metadata.platform);
  writer.Key("inputs");
  WriteTensorSpecs(writer, metadata.inputs);
  writer.Key("outputs");
  WriteTensorSpecs(writer, metadata.outputs);
  writer.EndObject();
  return FinishJson(buffer);
}

}  // namespace moat::server
