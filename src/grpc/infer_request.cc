#include "grpc/infer_request.h"

#include <optional>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/tensor.h"
#include "grpc/infer_parameters.h"
#include "grpc/rpc_helpers.h"
#include "grpc/tensor_contents.h"
#include "server/json_tensor.h"

namespace moat::grpc_server {
namespace {

using inference::ModelInferRequest;

// The same limit as the REST front end, so both accept the same shapes.
constexpr size_t kMaxRank = server::kMaxTensorRank;

std::string InputName(const ModelInferRequest::InferInputTensor& input) {
  return "input " + Quote(input.name());
}

StatusOr<DataType> ParseInputDataType(const ModelInferRequest::InferInputTensor& input) {
  std::optional<DataType> datatype = ParseDataType(input.datatype());
  if (!datatype) {
    return InvalidArgumentError(InputName(input) + ": unknown datatype " + Quote(input.datatype()) +
                                "; use one of " + DataTypeNameList());
  }
  return *datatype;
}

StatusOr<std::vector<int64_t>> ParseInputShape(const ModelInferRequest::InferInputTensor& input) {
  if (static_cast<size_t>(input.shape_size()) > kMaxRank) {
    return InvalidArgumentError(InputName(input) + ": shape has " + std::to_string(input.shape_size()) +
                                " dimensions, above the maximum of " + std::to_string(kMaxRank));
  }
  std::vector<int64_t> shape(input.shape().begin(), input.shape().end());
  MOAT_RETURN_IF_ERROR(ElementCount(shape, InputName(input)).status());
  return shape;
}

class Parser {
 public:
  Parser(const ModelInferRequest& message, const shm::SharedMemoryManager& shared_memory,
         std::shared_ptr<const void> keep_alive)
      : message_(message), shared_memory_(shared_memory), keep_alive_(std::move(keep_alive)) {}

  StatusOr<ParsedModelInferRequest> Parse() {
    InferenceRequest& request = result_.request;
    request.id = message_.id();
    request.model_name = message_.model_name();
    if (request.model_name.empty()) return InvalidArgumentError("infer request: model_name is empty");
    MOAT_ASSIGN_OR_RETURN(request.model_version, ParseVersionField(message_.model_version()));
    MOAT_RETURN_IF_ERROR(ParseRequestParameters(message_.parameters(), request));
    MOAT_RETURN_IF_ERROR(ParseInputs());
    MOAT_RETURN_IF_ERROR(ParseOutputs());
    return std::move(result_);
  }

 private:
  Status ParseInputs() {
    const bool raw = message_.raw_input_contents_size() > 0;
    std::unordered_set<std::string> names;
    std::vector<std::optional<shm::SharedMemoryReference>> references;
    int inputs_without_region = 0;
    for (const auto& input : message_.inputs()) {
      if (!names.insert(input.name()).second) {
        return InvalidArgumentError("infer request: " + InputName(input) + " appears more than once");
      }
      if (raw && HasTypedContents(input.contents())) {
        return InvalidArgumentError("infer request: " + InputName(input) +
                                    " has typed contents but the request also has raw_input_contents; "
                                    "send all inputs in one of the two forms");
      }
      MOAT_ASSIGN_OR_RETURN(auto reference,
                            ParseSharedMemoryParameters(input.parameters(), InputName(input)));
      if (reference && HasTypedContents(input.contents())) {
        return InvalidArgumentError(InputName(input) + " names shared memory region " +
                                    Quote(reference->region) +
                                    " and also has typed contents; send its data in one place");
      }
      if (!reference) ++inputs_without_region;
      references.push_back(std::move(reference));
    }
    if (raw && inputs_without_region != message_.raw_input_contents_size()) {
      return InvalidArgumentError(
          "infer request has " + std::to_string(message_.raw_input_contents_size()) +
          " raw_input_contents entries but " + std::to_string(inputs_without_region) +
          " inputs without a shared memory region; each such input needs exactly one");
    }

    int next_raw = 0;
    for (int i = 0; i < message_.inputs_size(); ++i) {
      const auto& input = message_.inputs(i);
      const auto& reference = references[static_cast<size_t>(i)];
      const std::string* raw_bytes = nullptr;
      if (!reference && raw) raw_bytes = &message_.raw_input_contents(next_raw++);
      MOAT_ASSIGN_OR_RETURN(Tensor tensor, ParseInput(input, reference, raw_bytes));
      result_.request.inputs.push_back(std::move(tensor));
    }
    return OkStatus();
  }

  // Takes the input's data from shared memory, from `raw_bytes` when not
  // null, or else from its typed contents.
  StatusOr<Tensor> ParseInput(const ModelInferRequest::InferInputTensor& input,
                              const std::optional<shm::SharedMemoryReference>& reference,
                              const std::string* raw_bytes) {
    MOAT_ASSIGN_OR_RETURN(DataType datatype, ParseInputDataType(input));
    MOAT_ASSIGN_OR_RETURN(std::vector<int64_t> shape, ParseInputShape(input));
    if (reference) {
      return shm::InputFromSharedMemory(shared_memory_, input.name(), datatype, std::move(shape), *reference);
    }
    if (raw_bytes != nullptr) return RawInput(input, datatype, std::move(shape), *raw_bytes);
    return TypedInput(input, datatype, std::move(shape));
  }

  // Points the tensor at `bytes` inside the message, which keep_alive_ owns.
  StatusOr<Tensor> RawInput(const ModelInferRequest::InferInputTensor& input, DataType datatype,
                            std::vector<int64_t> shape, const std::string& bytes) {
    Tensor tensor;
    tensor.name = input.name();
    tensor.datatype = datatype;
    tensor.shape = std::move(shape);
    tensor.data = {reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()};
    tensor.owner = keep_alive_;
    Status size_check = CheckTensorByteSize(tensor);
    if (!size_check.ok()) {
      return InvalidArgumentError(size_check.message() + " in its raw_input_contents entry");
    }
    return tensor;
  }

  static StatusOr<Tensor> TypedInput(const ModelInferRequest::InferInputTensor& input, DataType datatype,
                                     std::vector<int64_t> shape) {
    MOAT_ASSIGN_OR_RETURN(int64_t count, ElementCount(shape, InputName(input)));
    MOAT_ASSIGN_OR_RETURN(std::string bytes,
                          EncodeTypedContents(input.contents(), datatype, count, input.name()));
    return MakeOwnedTensor(input.name(), datatype, std::move(shape), std::move(bytes));
  }

  Status ParseOutputs() {
    std::unordered_set<std::string> names;
    for (const auto& output : message_.outputs()) {
      const std::string where = "requested output " + Quote(output.name());
      if (!names.insert(output.name()).second) {
        return InvalidArgumentError("infer request: " + where + " appears more than once");
      }
      MOAT_RETURN_IF_ERROR(CheckOutputParameters(output.parameters(), where));
      MOAT_ASSIGN_OR_RETURN(auto reference, ParseSharedMemoryParameters(output.parameters(), where));
      if (reference) result_.shared_memory_outputs.emplace(output.name(), std::move(*reference));
      result_.request.requested_outputs.push_back(output.name());
    }
    return OkStatus();
  }

  const ModelInferRequest& message_;
  const shm::SharedMemoryManager& shared_memory_;
  std::shared_ptr<const void> keep_alive_;
  ParsedModelInferRequest result_;
};

}  // namespace

StatusOr<ParsedModelInferRequest> ParseModelInferRequest(const ModelInferRequest& message,
                                                         const shm::SharedMemoryManager& shared_memory,
                                                         std::shared_ptr<const void> keep_alive) {
  return Parser(message, shared_memory, std::move(keep_alive)).Parse();
}

}  // namespace moat::grpc_server
