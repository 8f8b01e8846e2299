#include "client/kserve_messages.h"

#include <charconv>
#include <map>
#include <memory>
#include <utility>

#include <rapidjson/error/en.h>

#include "client/tensor_json.h"

namespace moat::client {

namespace {

constexpr size_t kMaxErrorTextBytes = 2000;
constexpr unsigned kParseFlags = rapidjson::kParseFullPrecisionFlag | rapidjson::kParseIterativeFlag;

Status FieldError(std::string_view field, std::string_view problem) {
  return InvalidArgumentError("response field " + std::string(field) + " " + std::string(problem));
}

StatusOr<rapidjson::Document> ParseJsonObject(std::string_view json, std::string_view message_label) {
  rapidjson::Document document;
  document.Parse<kParseFlags>(json.data(), json.size());
  if (document.HasParseError()) {
    return InvalidArgumentError(std::string(message_label) + " is not valid JSON: " +
                                rapidjson::GetParseError_En(document.GetParseError()) + " at offset " +
                                std::to_string(document.GetErrorOffset()));
  }
  if (!document.IsObject()) return InvalidArgumentError(std::string(message_label) + " is not a JSON object");
  return document;
}

StatusOr<std::string> GetString(const rapidjson::Value& object, const char* key, std::string_view where) {
  const auto member = object.FindMember(key);
  if (member == object.MemberEnd() || !member->value.IsString()) {
    return FieldError(std::string(where) + "." + key, "is missing or not a string");
  }
  return std::string(member->value.GetString(), member->value.GetStringLength());
}

// Versions are strings in the protocol; a number is accepted too.
StatusOr<int64_t> ParseVersion(const rapidjson::Value& value, std::string_view where) {
  if (value.IsInt64()) return value.GetInt64();
  if (value.IsString()) {
    const std::string_view text(value.GetString(), value.GetStringLength());
    int64_t version = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), version);
    if (error == std::errc() && end == text.data() + text.size() && !text.empty()) return version;
  }
  return FieldError(where, "is not a model version number");
}

StatusOr<std::vector<int64_t>> ParseShape(const rapidjson::Value& object, std::string_view where,
                                          bool allow_variable) {
  const auto member = object.FindMember("shape");
  if (member == object.MemberEnd() || !member->value.IsArray()) {
    return FieldError(std::string(where) + ".shape", "is missing or not an array");
  }
  std::vector<int64_t> shape;
  for (const rapidjson::Value& dim : member->value.GetArray()) {
    if (!dim.IsInt64() || dim.GetInt64() < (allow_variable ? -1 : 0)) {
      return FieldError(std::string(where) + ".shape", "contains an invalid dimension");
    }
    shape.push_back(dim.GetInt64());
  }
  return shape;
}

StatusOr<DataType> ParseDataTypeField(const rapidjson::Value& object, std::string_view where) {
  MOAT_ASSIGN_OR_RETURN(std::string name, GetString(object, "datatype", where));
  const std::optional<DataType> datatype = ParseDataType(name);
  if (!datatype.has_value()) return FieldError(std::string(where) + ".datatype", "'" + name + "' is unknown");
  return *datatype;
}

void WriteString(std::string_view text, JsonWriter& writer) {
  writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

// Writes the three shared memory parameters, inside a "parameters" object.
void WriteSharedMemoryParameters(const SharedMemoryRange& range, JsonWriter& writer) {
  writer.Key("shared_memory_region");
  WriteString(range.region, writer);
  writer.Key("shared_memory_offset");
  writer.Uint64(range.offset);
  writer.Key("shared_memory_byte_size");
  writer.Uint64(range.byte_size);
}

// Writes one input. Its data goes into JSON "data" or binary data after the
// JSON, or is not sent when `shared_memory` names where the server reads it.
Status WriteInput(const Tensor& input, const InferOptions& options, const SharedMemoryRange* shared_memory,
                  JsonWriter& writer) {
  writer.StartObject();
  writer.Key("name");
  WriteString(input.name, writer);
  writer.Key("shape");
  writer.StartArray();
  for (int64_t dim : input.shape) writer.Int64(dim);
  writer.EndArray();
  writer.Key("datatype");
  WriteString(DataTypeName(input.datatype), writer);
  if (shared_memory != nullptr) {
    writer.Key("parameters");
    writer.StartObject();
    WriteSharedMemoryParameters(*shared_memory, writer);
    writer.EndObject();
  } else if (options.binary_inputs) {
    writer.Key("parameters");
    writer.StartObject();
    writer.Key("binary_data_size");
    writer.Uint64(input.data.size());
    writer.EndObject();
  } else {
    writer.Key("data");
    MOAT_RETURN_IF_ERROR(WriteTensorDataJson(input, writer));
  }
  writer.EndObject();
  return OkStatus();
}

void WriteRequestedOutput(const std::string& name, const InferOptions& options, JsonWriter& writer) {
  writer.StartObject();
  writer.Key("name");
  WriteString(name, writer);
  writer.Key("parameters");
  writer.StartObject();
  const auto shared_memory = options.shared_memory_outputs.find(name);
  if (shared_memory != options.shared_memory_outputs.end()) {
    WriteSharedMemoryParameters(shared_memory->second, writer);
  } else {
    writer.Key("binary_data");
    writer.Bool(options.binary_outputs);
  }
  writer.EndObject();
  writer.EndObject();
}

const SharedMemoryRange* FindRange(const std::map<std::string, SharedMemoryRange>& ranges,
                                   const std::string& name) {
  const auto found = ranges.find(name);
  return found == ranges.end() ? nullptr : &found->second;
}

StatusOr<uint64_t> GetUint64(const rapidjson::Value& object, const char* key, std::string_view where) {
  const auto member = object.FindMember(key);
  if (member == object.MemberEnd() || !member->value.IsUint64()) {
    return FieldError(std::string(where) + "." + key, "is missing or not a non-negative integer");
  }
  return member->value.GetUint64();
}

// Reads an output that the server wrote to shared memory: its parameters name
// the region and the bytes written.
StatusOr<SharedMemoryOutput> DecodeSharedMemoryOutput(const rapidjson::Value& parameters, Tensor tensor,
                                                      const std::string& where) {
  SharedMemoryOutput output;
  output.name = std::move(tensor.name);
  output.datatype = tensor.datatype;
  output.shape = std::move(tensor.shape);
  MOAT_ASSIGN_OR_RETURN(output.region, GetString(parameters, "shared_memory_region", where + ".parameters"));
  MOAT_ASSIGN_OR_RETURN(output.byte_size,
                        GetUint64(parameters, "shared_memory_byte_size", where + ".parameters"));
  return output;
}

// Reads one output into `result`; binary data is taken from `body` at
// `offset`, which advances.
Status DecodeOutput(const rapidjson::Value& output, size_t index,
                    const std::shared_ptr<const std::string>& body, size_t& offset, InferResult& result) {
  const std::string where = "outputs[" + std::to_string(index) + "]";
  if (!output.IsObject()) return FieldError(where, "is not an object");
  Tensor tensor;
  MOAT_ASSIGN_OR_RETURN(tensor.name, GetString(output, "name", where));
  const std::string output_label = "output '" + tensor.name + "'";
  MOAT_ASSIGN_OR_RETURN(tensor.datatype, ParseDataTypeField(output, where));
  MOAT_ASSIGN_OR_RETURN(tensor.shape, ParseShape(output, where, false));
  MOAT_ASSIGN_OR_RETURN(int64_t count, ElementCount(tensor.shape, output_label));

  const auto parameters = output.FindMember("parameters");
  const rapidjson::Value* binary_size = nullptr;
  if (parameters != output.MemberEnd() && parameters->value.IsObject()) {
    if (parameters->value.HasMember("shared_memory_region")) {
      MOAT_ASSIGN_OR_RETURN(SharedMemoryOutput written,
                            DecodeSharedMemoryOutput(parameters->value, std::move(tensor), where));
      result.shared_memory_outputs.push_back(std::move(written));
      return OkStatus();
    }
    const auto member = parameters->value.FindMember("binary_data_size");
    if (member != parameters->value.MemberEnd()) binary_size = &member->value;
  }
  if (binary_size != nullptr) {
    if (!binary_size->IsUint64() || binary_size->GetUint64() > body->size() - offset) {
      return InvalidArgumentError(output_label + ": binary_data_size is not a size within the " +
                                  std::to_string(body->size() - offset) + " bytes of binary data left");
    }
    const auto size = static_cast<size_t>(binary_size->GetUint64());
    tensor.data = {reinterpret_cast<const uint8_t*>(body->data()) + offset, size};
    tensor.owner = body;
    offset += size;
  } else {
    const auto data = output.FindMember("data");
    if (data == output.MemberEnd())
      return InvalidArgumentError(output_label + " has neither \"data\" nor binary data");
    MOAT_ASSIGN_OR_RETURN(std::string bytes,
                          TensorBytesFromJson(data->value, tensor.datatype, count, output_label));
    tensor =
        MakeOwnedTensor(std::move(tensor.name), tensor.datatype, std::move(tensor.shape), std::move(bytes));
  }
  MOAT_RETURN_IF_ERROR(CheckTensorByteSize(tensor));
  result.outputs.push_back(std::move(tensor));
  return OkStatus();
}

StatusOr<TensorSpec> DecodeTensorSpec(const rapidjson::Value& value, const std::string& where) {
  if (!value.IsObject()) return FieldError(where, "is not an object");
  TensorSpec spec;
  MOAT_ASSIGN_OR_RETURN(spec.name, GetString(value, "name", where));
  MOAT_ASSIGN_OR_RETURN(spec.datatype, ParseDataTypeField(value, where));
  MOAT_ASSIGN_OR_RETURN(spec.shape, ParseShape(value, where, true));
  return spec;
}

StatusOr<std::vector<TensorSpec>> DecodeTensorSpecs(const rapidjson::Value& object, const char* key) {
  std::vector<TensorSpec> specs;
  const auto member = object.FindMember(key);
  if (member == object.MemberEnd()) return specs;
  if (!member->value.IsArray()) return FieldError(key, "is not an array");
  for (rapidjson::SizeType i = 0; i < member->value.Size(); ++i) {
    MOAT_ASSIGN_OR_RETURN(TensorSpec spec, DecodeTensorSpec(member->value[i], std::string(key) + "[" +
                                                                                  std::to_string(i) + "]"));
    specs.push_back(std::move(spec));
  }
  return specs;
}

}  // namespace

StatusOr<EncodedRequest> EncodeInferRequest(const InferenceRequest& request, const InferOptions& options) {
  MOAT_RETURN_IF_ERROR(CheckSharedMemoryOptions(request, options));
  rapidjson::StringBuffer buffer;
  JsonWriter writer(buffer);
  writer.StartObject();
  if (!request.id.empty()) {
    writer.Key("id");
    WriteString(request.id, writer);
  }
  writer.Key("inputs");
  writer.StartArray();
  bool binary_data_follows = false;
  for (const Tensor& input : request.inputs) {
    const SharedMemoryRange* shared_memory = FindRange(options.shared_memory_inputs, input.name);
    if (shared_memory == nullptr) {
      MOAT_RETURN_IF_ERROR(CheckTensorByteSize(input));
      binary_data_follows = binary_data_follows || options.binary_inputs;
    }
    MOAT_RETURN_IF_ERROR(WriteInput(input, options, shared_memory, writer));
  }
  writer.EndArray();
  if (!request.requested_outputs.empty()) {
    writer.Key("outputs");
    writer.StartArray();
    for (const std::string& name : request.requested_outputs) WriteRequestedOutput(name, options, writer);
    writer.EndArray();
  }
  writer.Key("parameters");
  writer.StartObject();
  writer.Key("binary_data_output");
  writer.Bool(options.binary_outputs);
  writer.EndObject();
  writer.EndObject();

  EncodedRequest encoded;
  encoded.body.assign(buffer.GetString(), buffer.GetSize());
  if (binary_data_follows) {
    encoded.json_length = encoded.body.size();
    for (const Tensor& input : request.inputs) {
      if (FindRange(options.shared_memory_inputs, input.name) != nullptr) continue;
      encoded.body.append(reinterpret_cast<const char*>(input.data.data()), input.data.size());
    }
  }
  return encoded;
}

StatusOr<InferResult> DecodeInferResponse(std::string body, std::optional<size_t> json_length) {
  const size_t header_length = json_length.value_or(body.size());
  if (header_length > body.size()) {
    return InvalidArgumentError("Inference-Header-Content-Length " + std::to_string(header_length) +
                                " exceeds the response body of " + std::to_string(body.size()) + " bytes");
  }
  auto shared_body = std::make_shared<const std::string>(std::move(body));
  MOAT_ASSIGN_OR_RETURN(
      rapidjson::Document document,
      ParseJsonObject(std::string_view(*shared_body).substr(0, header_length), "the inference response"));
  InferResult response;
  MOAT_ASSIGN_OR_RETURN(response.model_name, GetString(document, "model_name", "response"));
  const auto version = document.FindMember("model_version");
  if (version != document.MemberEnd()) {
    MOAT_ASSIGN_OR_RETURN(response.model_version, ParseVersion(version->value, "model_version"));
  }
  const auto id = document.FindMember("id");
  if (id != document.MemberEnd() && id->value.IsString()) response.id = id->value.GetString();
  const auto parameters = document.FindMember("parameters");
  if (parameters != document.MemberEnd() && parameters->value.IsObject()) {
    const auto receipt = parameters->value.FindMember(kAuditReceiptParameter);
    if (receipt != parameters->value.MemberEnd() && receipt->value.IsString()) {
      response.audit_receipt = receipt->value.GetString();
    }
    const auto signature = parameters->value.FindMember(kResponseSignatureParameter);
    if (signature != parameters->value.MemberEnd() && signature->value.IsString()) {
      response.response_signature = signature->value.GetString();
    }
  }

  const auto outputs = document.FindMember("outputs");
  if (outputs == document.MemberEnd() || !outputs->value.IsArray()) {
    return FieldError("outputs", "is missing or not an array");
  }
  size_t offset = header_length;
  for (rapidjson::SizeType i = 0; i < outputs->value.Size(); ++i) {
    MOAT_RETURN_IF_ERROR(DecodeOutput(outputs->value[i], i, shared_body, offset, response));
  }
  if (offset != shared_body->size()) {
    return InvalidArgumentError("the inference response has " + std::to_string(shared_body->size() - offset) +
                                " bytes of binary data that no output claims");
  }
  return response;
}

StatusOr<ModelMetadata> DecodeModelMetadata(std::string_view json) {
  MOAT_ASSIGN_OR_RETURN(rapidjson::Document document, ParseJsonObject(json, "the model metadata"));
  ModelMetadata metadata;
  MOAT_ASSIGN_OR_RETURN(metadata.name, GetString(document, "name", "metadata"));
  const auto platform = document.FindMember("platform");
  if (platform != document.MemberEnd() && platform->value.IsString()) {
    metadata.platform = platform->value.GetString();
  }
  const auto versions = document.FindMember("versions");
  if (versions != document.MemberEnd()) {
    if (!versions->value.IsArray()) return FieldError("versions", "is not an array");
    for (const rapidjson::Value& version : versions->value.GetArray()) {
      MOAT_ASSIGN_OR_RETURN(int64_t number, ParseVersion(version, "versions"));
      metadata.versions.push_back(number);
    }
  }
  MOAT_ASSIGN_OR_RETURN(metadata.inputs, DecodeTensorSpecs(document, "inputs"));
  MOAT_ASSIGN_OR_RETURN(metadata.outputs, DecodeTensorSpecs(document, "outputs"));
  return metadata;
}

std::string EncodeSharedMemoryRegister(const std::string& key, uint64_t offset, uint64_t byte_size) {
  rapidjson::StringBuffer buffer;
  JsonWriter writer(buffer);
  writer.StartObject();
  writer.Key("key");
  WriteString(key, writer);
  writer.Key("offset");
  writer.Uint64(offset);
  writer.Key("byte_size");
  writer.Uint64(byte_size);
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

StatusOr<std::vector<SharedMemoryRegionStatus>> DecodeSharedMemoryStatus(std::string_view json) {
  rapidjson::Document document;
  document.Parse<kParseFlags>(json.data(), json.size());
  if (document.HasParseError() || !document.IsArray()) {
    return InvalidArgumentError("the shared memory status is not a JSON array");
  }
  std::vector<SharedMemoryRegionStatus> regions;
  for (rapidjson::SizeType i = 0; i < document.Size(); ++i) {
    const std::string where = "regions[" + std::to_string(i) + "]";
    const rapidjson::Value& entry = document[i];
    if (!entry.IsObject()) return FieldError(where, "is not an object");
    SharedMemoryRegionStatus region;
    MOAT_ASSIGN_OR_RETURN(region.name, GetString(entry, "name", where));
    MOAT_ASSIGN_OR_RETURN(region.key, GetString(entry, "key", where));
    MOAT_ASSIGN_OR_RETURN(region.offset, GetUint64(entry, "offset", where));
    MOAT_ASSIGN_OR_RETURN(region.byte_size, GetUint64(entry, "byte_size", where));
    regions.push_back(std::move(region));
  }
  return regions;
}

std::string ErrorMessageFromBody(std::string_view body) {
  rapidjson::Document document;
  document.Parse<kParseFlags>(body.data(), body.size());
  if (!document.HasParseError() && document.IsObject()) {
    const auto error = document.FindMember("error");
    if (error != document.MemberEnd() && error->value.IsString()) {
      return std::string(error->value.GetString(), error->value.GetStringLength());
    }
  }
  if (body.size() <= kMaxErrorTextBytes) return std::string(body);
  return std::string(body.substr(0, kMaxErrorTextBytes)) + "...";
}

}  // namespace moat::client
