#include "server/infer_request_parser.h"

#include <array>
#include <chrono>
#include <cstdint>
#include <limits>
#include <unordered_set>
#include <utility>

#include "core/tensor.h"
#include "server/json.h"
#include "server/json_tensor.h"
#include "server/shared_memory_parameters.h"
#include "server/utf8.h"

namespace moat::server {
namespace {

using rapidjson::Value;

// Names an input or requested output in errors: by its "name" when it has a
// string one, else by its index.
std::string DescribeElement(std::string_view kind, const Value& element, size_t index) {
  if (element.IsObject()) {
    auto name = element.FindMember("name");
    if (name != element.MemberEnd() && name->value.IsString()) {
      return std::string(kind) + " " + Quote(StringOf(name->value));
    }
  }
  return std::string(kind) + " " + std::to_string(index);
}

Status RejectUnimplemented(const Value* member, std::string_view name, const std::string& where,
                           std::string_view feature) {
  if (member == nullptr) return OkStatus();
  return UnimplementedError(where + ": parameter " + Quote(name) +
                            " is not supported, because Moat does not serve " + std::string(feature) +
                            " over HTTP");
}

// Reads a JSON integer that is not negative; 5.0 and "5" are rejected.
StatusOr<uint64_t> ParseUnsignedParameter(const Value& value, std::string_view name,
                                          const std::string& where) {
  if (value.IsUint64()) return value.GetUint64();
  if (value.IsInt64()) {
    return InvalidArgumentError(where + ": parameter " + Quote(name) + " is negative (" +
                                std::to_string(value.GetInt64()) + ")");
  }
  return InvalidArgumentError(where + ": parameter " + Quote(name) + " must be a non-negative integer, got " +
                              DescribeJsonValue(value));
}

StatusOr<size_t> ParseHeaderLength(std::string_view text, size_t body_size) {
  auto invalid = [&] {
    return InvalidArgumentError("Inference-Header-Content-Length " + Quote(text) +
                                " is not a decimal byte count");
  };
  if (text.empty() || text.size() > 19) return invalid();
  size_t length = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return invalid();
    length = length * 10 + static_cast<size_t>(c - '0');
  }
  if (length > body_size) {
    return InvalidArgumentError("Inference-Header-Content-Length " + std::to_string(length) +
                                " is larger than the request body of " + std::to_string(body_size) +
                                " bytes");
  }
  return length;
}

class InferRequestParser {
 public:
  InferRequestParser(std::shared_ptr<const std::string> body, size_t json_size, bool has_binary_section,
                     const shm::SharedMemoryManager& shared_memory)
      : body_(std::move(body)),
        shared_memory_(shared_memory),
        json_size_(json_size),
        has_binary_section_(has_binary_section),
        binary_offset_(json_size) {}

  StatusOr<ParsedInferRequest> Parse() {
    rapidjson::Document document;
    MOAT_RETURN_IF_ERROR(
        ParseJsonDocument(std::string_view(*body_).substr(0, json_size_), "infer request", document));

    static constexpr std::array<std::string_view, 4> kFields = {"id", "parameters", "inputs", "outputs"};
    MOAT_ASSIGN_OR_RETURN(auto fields, CollectMembers(document, kFields, "field", "infer request"));
    auto [id, parameters, inputs, outputs] = fields;

    if (id != nullptr) {
      if (!id->IsString()) {
        return InvalidArgumentError("infer request: 'id' must be a string, got " + DescribeJsonValue(*id));
      }
      result_.request.id = std::string(StringOf(*id));
    }
    if (parameters != nullptr) MOAT_RETURN_IF_ERROR(ParseRequestParameters(*parameters));
    if (inputs == nullptr) return InvalidArgumentError("infer request: missing field 'inputs'");
    MOAT_RETURN_IF_ERROR(ParseInputs(*inputs));
    if (outputs != nullptr) MOAT_RETURN_IF_ERROR(ParseOutputs(*outputs));
    return std::move(result_);
  }

 private:
  Status ParseRequestParameters(const Value& parameters) {
    static constexpr std::array<std::string_view, 6> kParameters = {
        "binary_data_output", "sequence_id", "sequence_start", "sequence_end", "priority", "timeout"};
    const std::string where = "infer request";
    MOAT_ASSIGN_OR_RETURN(auto members, CollectMembers(parameters, kParameters, "parameter", where));
    for (size_t i = 1; i < 4; ++i) {
      MOAT_RETURN_IF_ERROR(RejectUnimplemented(members[i], kParameters[i], where, "sequence batching"));
    }
    if (const Value* priority = members[4]) {
      MOAT_ASSIGN_OR_RETURN(uint64_t level, ParseUnsignedParameter(*priority, "priority", where));
      if (level > std::numeric_limits<uint32_t>::max()) {
        return InvalidArgumentError(where + ": parameter 'priority' is " + std::to_string(level) +
                                    ", above the maximum " +
                                    std::to_string(std::numeric_limits<uint32_t>::max()));
      }
      result_.request.priority = static_cast<uint32_t>(level);
    }
    if (const Value* timeout = members[5]) {
      MOAT_ASSIGN_OR_RETURN(uint64_t microseconds, ParseUnsignedParameter(*timeout, "timeout", where));
      if (microseconds > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return InvalidArgumentError(where + ": parameter 'timeout' is " + std::to_string(microseconds) +
                                    " microseconds, above the maximum " +
                                    std::to_string(std::numeric_limits<int64_t>::max()));
      }
      // 0 means no per-request timeout, as in Triton, so the model's default applies.
      if (microseconds > 0) {
        result_.request.timeout = std::chrono::microseconds(static_cast<int64_t>(microseconds));
      }
    }
    if (const Value* binary = members[0]) {
      if (!binary->IsBool()) {
        return InvalidArgumentError(where + ": parameter 'binary_data_output' must be true or false, got " +
                                    DescribeJsonValue(*binary));
      }
      result_.output_format.binary_by_default = binary->GetBool();
    }
    return OkStatus();
  }

  Status ParseInputs(const Value& inputs) {
    if (!inputs.IsArray()) {
      return InvalidArgumentError("infer request: 'inputs' must be an array, got " +
                                  DescribeJsonValue(inputs));
    }
    std::unordered_set<std::string> names;
    for (rapidjson::SizeType i = 0; i < inputs.Size(); ++i) {
      MOAT_ASSIGN_OR_RETURN(Tensor tensor, ParseInput(inputs[i], i));
      if (!names.insert(tensor.name).second) {
        return InvalidArgumentError("infer request: input " + Quote(tensor.name) + " appears more than once");
      }
      result_.request.inputs.push_back(std::move(tensor));
    }
    if (has_binary_section_ && binary_offset_ != body_->size()) {
      return InvalidArgumentError("infer request: " + std::to_string(body_->size() - binary_offset_) +
                                  " bytes of the body follow the binary data of the last input");
    }
    return OkStatus();
  }

  StatusOr<Tensor> ParseInput(const Value& input, size_t index) {
    static constexpr std::array<std::string_view, 5> kFields = {"name", "shape", "datatype", "data",
                                                                "parameters"};
    const std::string where = DescribeElement("input", input, index);
    MOAT_ASSIGN_OR_RETURN(auto fields, CollectMembers(input, kFields, "field", where));
    auto [name, shape, datatype, data, parameters] = fields;

    if (name == nullptr) return InvalidArgumentError(where + ": missing field 'name'");
    if (!name->IsString()) {
      return InvalidArgumentError(where + ": 'name' must be a string, got " + DescribeJsonValue(*name));
    }
    Tensor tensor;
    tensor.name = std::string(StringOf(*name));

    if (datatype == nullptr) return InvalidArgumentError(where + ": missing field 'datatype'");
    std::optional<DataType> parsed_type;
    if (datatype->IsString()) parsed_type = ParseDataType(StringOf(*datatype));
    if (!parsed_type) {
      return InvalidArgumentError(where + ": unknown datatype " + DescribeJsonValue(*datatype) +
                                  "; use one of " + DataTypeNameList());
    }
    tensor.datatype = *parsed_type;

    if (shape == nullptr) return InvalidArgumentError(where + ": missing field 'shape'");
    MOAT_ASSIGN_OR_RETURN(tensor.shape, ParseShape(*shape, where));

    InputSource source;
    if (parameters != nullptr) {
      MOAT_ASSIGN_OR_RETURN(source, ParseInputParameters(*parameters, where));
    }
    int sources = (data != nullptr) + source.binary_size.has_value() + source.shared_memory.has_value();
    if (sources > 1) {
      return InvalidArgumentError(where +
                                  " has more than one data source; send exactly one of 'data', the "
                                  "'binary_data_size' parameter and the 'shared_memory_region' parameter");
    }
    if (source.binary_size) {
      MOAT_RETURN_IF_ERROR(TakeBinaryData(*source.binary_size, tensor, where));
      return tensor;
    }
    if (source.shared_memory) {
      return shm::InputFromSharedMemory(shared_memory_, std::move(tensor.name), tensor.datatype,
                                        std::move(tensor.shape), *source.shared_memory);
    }
    if (data == nullptr) {
      return InvalidArgumentError(
          where +
          " has no data; send one of 'data', the 'binary_data_size' parameter and the "
          "'shared_memory_region' parameter");
    }
    MOAT_ASSIGN_OR_RETURN(std::string bytes,
                          DecodeJsonTensorData(*data, tensor.datatype, tensor.shape, tensor.name));
    return MakeOwnedTensor(std::move(tensor.name), tensor.datatype, std::move(tensor.shape),
                           std::move(bytes));
  }

  static StatusOr<std::vector<int64_t>> ParseShape(const Value& shape, const std::string& where) {
    if (!shape.IsArray()) {
      return InvalidArgumentError(where + ": 'shape' must be an array, got " + DescribeJsonValue(shape));
    }
    if (shape.Size() > kMaxTensorRank) {
      return InvalidArgumentError(where + ": 'shape' has " + std::to_string(shape.Size()) +
                                  " dimensions, above the maximum of " + std::to_string(kMaxTensorRank));
    }
    std::vector<int64_t> dims;
    dims.reserve(shape.Size());
    for (rapidjson::SizeType i = 0; i < shape.Size(); ++i) {
      if (!shape[i].IsInt64()) {
        return InvalidArgumentError(where + ": shape dimension " + std::to_string(i) + " (" +
                                    DescribeJsonValue(shape[i]) + ") is not an integer that fits int64");
      }
      dims.push_back(shape[i].GetInt64());
    }
    MOAT_RETURN_IF_ERROR(ElementCount(dims, where).status());
    return dims;
  }

  // The data source of one input. At most one member is set when the request
  // is valid.
  struct InputSource {
    std::optional<uint64_t> binary_size;
    std::optional<shm::SharedMemoryReference> shared_memory;
  };

  StatusOr<InputSource> ParseInputParameters(const Value& parameters, const std::string& where) const {
    static constexpr std::array<std::string_view, 4> kParameters = {
        "binary_data_size", "shared_memory_region", "shared_memory_offset", "shared_memory_byte_size"};
    MOAT_ASSIGN_OR_RETURN(auto members, CollectMembers(parameters, kParameters, "parameter", where));
    InputSource source;
    MOAT_ASSIGN_OR_RETURN(
        source.shared_memory,
        ParseSharedMemoryReference({members[1], members[2], members[3]}, shared_memory_, where));
    const Value* size = members[0];
    if (size == nullptr) return source;
    if (!size->IsUint64()) {
      return InvalidArgumentError(where +
                                  ": parameter 'binary_data_size' must be a non-negative integer, got " +
                                  DescribeJsonValue(*size));
    }
    source.binary_size = size->GetUint64();
    return source;
  }

  // Points `tensor` at the next `size` bytes after the JSON header.
  Status TakeBinaryData(uint64_t size, Tensor& tensor, const std::string& where) {
    if (!has_binary_section_) {
      return InvalidArgumentError(
          where +
          " has the 'binary_data_size' parameter but the request has no "
          "Inference-Header-Content-Length header to say where the binary data starts");
    }
    size_t remaining = body_->size() - binary_offset_;
    if (size > remaining) {
      return InvalidArgumentError(where + ": binary_data_size " + std::to_string(size) +
                                  " runs past the end of the body, where only " + std::to_string(remaining) +
                                  " bytes remain");
    }
    tensor.data = {reinterpret_cast<const uint8_t*>(body_->data()) + binary_offset_,
                   static_cast<size_t>(size)};
    tensor.owner = body_;
    binary_offset_ += static_cast<size_t>(size);
    return CheckTensorByteSize(tensor);
  }

  Status ParseOutputs(const Value& outputs) {
    if (!outputs.IsArray()) {
      return InvalidArgumentError("infer request: 'outputs' must be an array, got " +
                                  DescribeJsonValue(outputs));
    }
    std::unordered_set<std::string> names;
    for (rapidjson::SizeType i = 0; i < outputs.Size(); ++i) {
      MOAT_ASSIGN_OR_RETURN(std::string name, ParseOutput(outputs[i], i));
      if (!names.insert(name).second) {
        return InvalidArgumentError("infer request: output " + Quote(name) + " is requested more than once");
      }
      result_.request.requested_outputs.push_back(std::move(name));
    }
    return OkStatus();
  }

  StatusOr<std::string> ParseOutput(const Value& output, size_t index) {
    static constexpr std::array<std::string_view, 2> kFields = {"name", "parameters"};
    const std::string where = DescribeElement("requested output", output, index);
    MOAT_ASSIGN_OR_RETURN(auto fields, CollectMembers(output, kFields, "field", where));
    auto [name, parameters] = fields;
    if (name == nullptr) return InvalidArgumentError(where + ": missing field 'name'");
    if (!name->IsString()) {
      return InvalidArgumentError(where + ": 'name' must be a string, got " + DescribeJsonValue(*name));
    }
    std::string output_name(StringOf(*name));
    if (parameters == nullptr) return output_name;

    static constexpr std::array<std::string_view, 5> kParameters = {
        "binary_data", "classification", "shared_memory_region", "shared_memory_offset",
        "shared_memory_byte_size"};
    MOAT_ASSIGN_OR_RETURN(auto members, CollectMembers(*parameters, kParameters, "parameter", where));
    MOAT_RETURN_IF_ERROR(
        RejectUnimplemented(members[1], kParameters[1], where, "the classification extension"));
    const Value* binary = members[0];
    if (binary != nullptr && !binary->IsBool()) {
      return InvalidArgumentError(where + ": parameter 'binary_data' must be true or false, got " +
                                  DescribeJsonValue(*binary));
    }
    MOAT_ASSIGN_OR_RETURN(
        std::optional<shm::SharedMemoryReference> reference,
        ParseSharedMemoryReference({members[2], members[3], members[4]}, shared_memory_, where));
    if (reference) {
      if (binary != nullptr && binary->GetBool()) {
        return InvalidArgumentError(
            where +
            " has both \"binary_data\": true and the 'shared_memory_region' parameter, "
            "but an output goes either to shared memory or into the response");
      }
      // Checked now, so that a bad region fails the request before the model runs.
      StatusOr<shm::RegionView> view = shared_memory_.Map(*reference);
      if (!view.ok()) return Status(view.status().code(), where + ": " + view.status().message());
      result_.output_format.shared_memory_by_name[output_name] = std::move(*reference);
      return output_name;
    }
    if (binary != nullptr) result_.output_format.binary_by_name[output_name] = binary->GetBool();
    return output_name;
  }

  std::shared_ptr<const std::string> body_;
  const shm::SharedMemoryManager& shared_memory_;
  size_t json_size_;
  bool has_binary_section_;
  size_t binary_offset_;  // the first body byte not yet taken by a binary input
  ParsedInferRequest result_;
};

}  // namespace

bool OutputFormat::IsBinary(std::string_view output) const {
  auto it = binary_by_name.find(output);
  return it != binary_by_name.end() ? it->second : binary_by_default;
}

StatusOr<ParsedInferRequest> ParseInferRequest(std::shared_ptr<const std::string> body,
                                               std::optional<std::string_view> header_length,
                                               const shm::SharedMemoryManager& shared_memory) {
  size_t json_size = body->size();
  if (header_length) {
    MOAT_ASSIGN_OR_RETURN(json_size, ParseHeaderLength(*header_length, body->size()));
  }
  return InferRequestParser(std::move(body), json_size, header_length.has_value(), shared_memory).Parse();
}

}  // namespace moat::server
