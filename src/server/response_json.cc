#include "server/response_json.h"

#include <string_view>

#include "server/json.h"
#include "server/json_tensor.h"
#include "server/tensor_spec_json.h"
#include "server/utf8.h"

namespace moat::server {

StatusOr<EncodedInferResponse> EncodeInferResponse(const InferenceResponse& response,
                                                   const OutputFormat& format,
                                                   const SharedMemoryWrites& shared_memory_writes) {
  rapidjson::StringBuffer buffer;
  JsonWriter writer(buffer);
  std::vector<const Tensor*> binary_outputs;

  writer.StartObject();
  WriteStringMember(writer, "model_name", response.model_name);
  WriteStringMember(writer, "model_version", std::to_string(response.model_version));
  if (!response.id.empty()) WriteStringMember(writer, "id", response.id);
  if (!response.audit_receipt.empty()) {
    writer.Key("parameters");
    writer.StartObject();
    WriteStringMember(writer, kAuditReceiptParameter, response.audit_receipt);
    if (!response.response_signature.empty()) {
      WriteStringMember(writer, kResponseSignatureParameter, response.response_signature);
    }
    writer.EndObject();
  }
  writer.Key("outputs");
  writer.StartArray();
  for (const Tensor& output : response.outputs) {
    writer.StartObject();
    WriteTensorSpecMembers(writer, output.name, output.datatype, output.shape, TensorSpecForm::kKServe);
    auto region = format.shared_memory_by_name.find(output.name);
    auto written = shared_memory_writes.find(output.name);
    if (region != format.shared_memory_by_name.end() && written != shared_memory_writes.end()) {
      writer.Key("parameters");
      writer.StartObject();
      WriteStringMember(writer, "shared_memory_region", region->second.region);
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
  return JsonText([&](JsonWriter& writer) {
    writer.StartObject();
    WriteStringMember(writer, "name", metadata.name);
    WriteStringMember(writer, "version", metadata.version);
    writer.Key("extensions");
    writer.StartArray();
    for (const std::string& extension : metadata.extensions) WriteJsonString(writer, extension);
    writer.EndArray();
    writer.EndObject();
  });
}

std::string ModelMetadataJson(const ModelMetadata& metadata) {
  return JsonText([&](JsonWriter& writer) {
    writer.StartObject();
    WriteStringMember(writer, "name", metadata.name);
    writer.Key("versions");
    writer.StartArray();
    for (int64_t version : metadata.versions) WriteJsonString(writer, std::to_string(version));
    writer.EndArray();
    WriteStringMember(writer, "platform", metadata.platform);
    writer.Key("inputs");
    WriteTensorSpecs(writer, metadata.inputs, TensorSpecForm::kKServe);
    writer.Key("outputs");
    WriteTensorSpecs(writer, metadata.outputs, TensorSpecForm::kKServe);
    writer.EndObject();
  });
}

}  // namespace moat::server
