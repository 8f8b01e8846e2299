#include "server/response_json.h"

#include <string_view>

#include "server/json.h"
#include "server/json_tensor.h"
#include "server/utf8.h"

namespace moat::server {
namespace {

void WriteString(JsonWriter& writer, std::string_view text) {
  // Names and ids reach here from parsed JSON or from model files; replacing
  // bytes that are not UTF-8 keeps the response valid JSON either way.
  if (IsValidUtf8(text)) {
    writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
  } else {
    std::string sanitized = SanitizeUtf8(text);
    writer.String(sanitized.data(), static_cast<rapidjson::SizeType>(sanitized.size()));
  }
}

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
  WriteString(writer, name);
  writer.Key("datatype");
  WriteString(writer, DataTypeName(datatype));
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

std::string Finish(const rapidjson::StringBuffer& buffer) {
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace

StatusOr<EncodedInferResponse> EncodeInferResponse(const InferenceResponse& response,
                                                   const OutputFormat& format) {
  rapidjson::StringBuffer buffer;
  JsonWriter writer(buffer);
  std::vector<const Tensor*> binary_outputs;

  writer.StartObject();
  writer.Key("model_name");
  WriteString(writer, response.model_name);
  writer.Key("model_version");
  WriteString(writer, std::to_string(response.model_version));
  if (!response.id.empty()) {
    writer.Key("id");
    WriteString(writer, response.id);
  }
  writer.Key("outputs");
  writer.StartArray();
  for (const Tensor& output : response.outputs) {
    writer.StartObject();
    WriteTensorHeader(writer, output.name, output.datatype, output.shape);
    if (format.IsBinary(output.name)) {
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
    encoded.body = Finish(buffer);
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
  WriteString(writer, metadata.name);
  writer.Key("version");
  WriteString(writer, metadata.version);
  writer.Key("extensions");
  writer.StartArray();
  for (const std::string& extension : metadata.extensions) WriteString(writer, extension);
  writer.EndArray();
  writer.EndObject();
  return Finish(buffer);
}

std::string ModelMetadataJson(const ModelMetadata& metadata) {
  rapidjson::StringBuffer buffer;
  JsonWriter writer(buffer);
  writer.StartObject();
  writer.Key("name");
  WriteString(writer, metadata.name);
  writer.Key("versions");
  writer.StartArray();
  for (int64_t version : metadata.versions) WriteString(writer, std::to_string(version));
  writer.EndArray();
  writer.Key("platform");
  WriteString(writer, metadata.platform);
  writer.Key("inputs");
  WriteTensorSpecs(writer, metadata.inputs);
  writer.Key("outputs");
  WriteTensorSpecs(writer, metadata.outputs);
  writer.EndObject();
  return Finish(buffer);
}

}  // namespace moat::server
