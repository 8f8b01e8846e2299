#include "client/grpc_messages.h"

#include <limits>
#include <string>
#include <utility>

#include "core/model_version.h"

namespace moat::client {

namespace {

using InferParameterMap = google::protobuf::Map<std::string, inference::InferParameter>;

StatusOr<int64_t> ToInt64(uint64_t value, const std::string& tensor, const char* field) {
  if (value > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return InvalidArgumentError("shared memory " + std::string(field) + " " + std::to_string(value) +
                                " of tensor '" + tensor + "' does not fit the protocol's int64");
  }
  return static_cast<int64_t>(value);
}

Status SetSharedMemoryParameters(const SharedMemoryRange& range, const std::string& tensor,
                                 InferParameterMap& parameters) {
  MOAT_ASSIGN_OR_RETURN(int64_t offset, ToInt64(range.offset, tensor, "offset"));
  MOAT_ASSIGN_OR_RETURN(int64_t byte_size, ToInt64(range.byte_size, tensor, "byte size"));
  parameters["shared_memory_region"].set_string_param(range.region);
  parameters["shared_memory_offset"].set_int64_param(offset);
  parameters["shared_memory_byte_size"].set_int64_param(byte_size);
  return OkStatus();
}

StatusOr<int64_t> ParseResponseVersion(const std::string& text) {
  if (text.empty()) return 0;
  const std::optional<int64_t> version = ParseVersionNumber(text);
  if (!version.has_value()) {
    return InvalidArgumentError("response field model_version '" + text + "' is not a model version number");
  }
  return *version;
}

StatusOr<DataType> ParseDataTypeField(const std::string& name, const std::string& where) {
  const std::optional<DataType> datatype = ParseDataType(name);
  if (!datatype.has_value()) return InvalidArgumentError(where + ": datatype '" + name + "' is unknown");
  return *datatype;
}

// The byte count of a shared memory output, sent as int64 (or uint64 by
// some servers).
StatusOr<uint64_t> SharedMemoryByteSize(const InferParameterMap& parameters, const std::string& where) {
  const auto found = parameters.find("shared_memory_byte_size");
  if (found != parameters.end()) {
    const inference::InferParameter& parameter = found->second;
    if (parameter.has_int64_param() && parameter.int64_param() >= 0) {
      return static_cast<uint64_t>(parameter.int64_param());
    }
    if (parameter.has_uint64_param()) return parameter.uint64_param();
  }
  return InvalidArgumentError(where +
                              ": parameter shared_memory_byte_size is missing or not a non-negative integer");
}

// Reads output `index`; its bytes are raw_output_contents[index].
Status DecodeOutput(const std::shared_ptr<const inference::ModelInferResponse>& response, int index,
                    InferResult& result) {
  const inference::ModelInferResponse::InferOutputTensor& output = response->outputs(index);
  const std::string where = "output '" + output.name() + "'";
  Tensor tensor;
  tensor.name = output.name();
  MOAT_ASSIGN_OR_RETURN(tensor.datatype, ParseDataTypeField(output.datatype(), where));
  tensor.shape.assign(output.shape().begin(), output.shape().end());
  MOAT_RETURN_IF_ERROR(ElementCount(tensor.shape, where).status());

  const auto region = output.parameters().find("shared_memory_region");
  if (region != output.parameters().end()) {
    SharedMemoryOutput written;
    written.name = std::move(tensor.name);
    written.datatype = tensor.datatype;
    written.shape = std::move(tensor.shape);
    written.region = region->second.string_param();
    MOAT_ASSIGN_OR_RETURN(written.byte_size, SharedMemoryByteSize(output.parameters(), where));
    result.shared_memory_outputs.push_back(std::move(written));
    return OkStatus();
  }

  if (index >= response->raw_output_contents_size()) {
    return InvalidArgumentError(where + " has no raw_output_contents entry (the response has " +
                                std::to_string(response->raw_output_contents_size()) +
                                " entries); the client reads raw contents only");
  }
  const std::string& bytes = response->raw_output_contents(index);
  tensor.data = {reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()};
  tensor.owner = response;
  MOAT_RETURN_IF_ERROR(CheckTensorByteSize(tensor));
  result.outputs.push_back(std::move(tensor));
  return OkStatus();
}

StatusOr<TensorSpec> DecodeTensorMetadata(const inference::ModelMetadataResponse::TensorMetadata& metadata,
                                          const std::string& where) {
  TensorSpec spec;
  spec.name = metadata.name();
  MOAT_ASSIGN_OR_RETURN(spec.datatype, ParseDataTypeField(metadata.datatype(), where));
  for (int64_t dim : metadata.shape()) {
    if (dim < -1)
      return InvalidArgumentError(where + ": shape contains the invalid dimension " + std::to_string(dim));
    spec.shape.push_back(dim);
  }
  return spec;
}

}  // namespace

StatusOr<inference::ModelInferRequest> EncodeModelInferRequest(const InferenceRequest& request,
                                                               const InferOptions& options) {
  MOAT_RETURN_IF_ERROR(CheckSharedMemoryOptions(request, options));
  inference::ModelInferRequest message;
  message.set_model_name(request.model_name);
  if (request.model_version.has_value()) message.set_model_version(std::to_string(*request.model_version));
  message.set_id(request.id);

  for (const Tensor& input : request.inputs) {
    inference::ModelInferRequest::InferInputTensor* tensor = message.add_inputs();
    tensor->set_name(input.name);
    tensor->set_datatype(std::string(DataTypeName(input.datatype)));
    for (int64_t dim : input.shape) tensor->add_shape(dim);
    const auto shared_memory = options.shared_memory_inputs.find(input.name);
    if (shared_memory != options.shared_memory_inputs.end()) {
      MOAT_RETURN_IF_ERROR(
          SetSharedMemoryParameters(shared_memory->second, input.name, *tensor->mutable_parameters()));
      continue;
    }
    MOAT_RETURN_IF_ERROR(CheckTensorByteSize(input));
    message.add_raw_input_contents(reinterpret_cast<const char*>(input.data.data()), input.data.size());
  }

  for (const std::string& name : request.requested_outputs) {
    inference::ModelInferRequest::InferRequestedOutputTensor* output = message.add_outputs();
    output->set_name(name);
    const auto shared_memory = options.shared_memory_outputs.find(name);
    if (shared_memory != options.shared_memory_outputs.end()) {
      MOAT_RETURN_IF_ERROR(
          SetSharedMemoryParameters(shared_memory->second, name, *output->mutable_parameters()));
    }
  }
  return message;
}

StatusOr<InferResult> DecodeModelInferResponse(
    std::shared_ptr<const inference::ModelInferResponse> response) {
  InferResult result;
  result.id = response->id();
  result.model_name = response->model_name();
  MOAT_ASSIGN_OR_RETURN(result.model_version, ParseResponseVersion(response->model_version()));
  const auto& parameters = response->parameters();
  if (auto receipt = parameters.find(kAuditReceiptParameter); receipt != parameters.end()) {
    result.audit_receipt = receipt->second.string_param();
  }
  if (auto signature = parameters.find(kResponseSignatureParameter); signature != parameters.end()) {
    result.response_signature = signature->second.string_param();
  }
  for (int i = 0; i < response->outputs_size(); ++i) MOAT_RETURN_IF_ERROR(DecodeOutput(response, i, result));
  return result;
}

StatusOr<ModelMetadata> DecodeModelMetadataResponse(const inference::ModelMetadataResponse& response) {
  ModelMetadata metadata;
  metadata.name = response.name();
  metadata.platform = response.platform();
  for (const std::string& text : response.versions()) {
    const std::optional<int64_t> version = ParseVersionNumber(text);
    if (!version.has_value()) {
      return InvalidArgumentError("response field versions contains '" + text +
                                  "', not a model version number");
    }
    metadata.versions.push_back(*version);
  }
  for (int i = 0; i < response.inputs_size(); ++i) {
    MOAT_ASSIGN_OR_RETURN(TensorSpec spec,
                          DecodeTensorMetadata(response.inputs(i), "metadata input " + std::to_string(i)));
    metadata.inputs.push_back(std::move(spec));
  }
  for (int i = 0; i < response.outputs_size(); ++i) {
    MOAT_ASSIGN_OR_RETURN(TensorSpec spec,
                          DecodeTensorMetadata(response.outputs(i), "metadata output " + std::to_string(i)));
    metadata.outputs.push_back(std::move(spec));
  }
  return metadata;
}

}  // namespace moat::client
