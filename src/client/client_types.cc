#include "client/client_types.h"

#include <algorithm>

namespace moat::client {

Status CheckSharedMemoryOptions(const InferenceRequest& request, const InferOptions& options) {
  for (const auto& [name, range] : options.shared_memory_inputs) {
    const bool known = std::any_of(request.inputs.begin(), request.inputs.end(),
                                   [&name](const Tensor& input) { return input.name == name; });
    if (!known) {
      return InvalidArgumentError("shared memory input '" + name + "' is not an input of the request");
    }
    if (range.region.empty()) {
      return InvalidArgumentError("shared memory input '" + name + "' names no region");
    }
  }
  for (const auto& [name, range] : options.shared_memory_outputs) {
    const std::vector<std::string>& requested = request.requested_outputs;
    if (std::find(requested.begin(), requested.end(), name) == requested.end()) {
      return InvalidArgumentError("shared memory output '" + name +
                                  "' is not in the request's requested outputs; request it by name");
    }
    if (range.region.empty()) {
      return InvalidArgumentError("shared memory output '" + name + "' names no region");
    }
  }
  return OkStatus();
}

Status ResolveSharedMemoryOutputs(const InferOptions& options, InferResult& result) {
  for (SharedMemoryOutput& output : result.shared_memory_outputs) {
    const auto requested = options.shared_memory_outputs.find(output.name);
    if (requested == options.shared_memory_outputs.end()) {
      return InvalidArgumentError("the server wrote output '" + output.name + "' to shared memory region '" +
                                  output.region + "', which the request did not ask for");
    }
    const SharedMemoryRange& range = requested->second;
    if (output.region != range.region || output.byte_size > range.byte_size) {
      return InvalidArgumentError(
          "the server wrote " + std::to_string(output.byte_size) + " bytes of output '" + output.name +
          "' to shared memory region '" + output.region + "', but the request asked for at most " +
          std::to_string(range.byte_size) + " bytes in region '" + range.region + "'");
    }
    output.offset = range.offset;
  }
  for (const auto& [name, range] : options.shared_memory_outputs) {
    const bool written =
        std::any_of(result.shared_memory_outputs.begin(), result.shared_memory_outputs.end(),
                    [&name](const SharedMemoryOutput& output) { return output.name == name; });
    if (!written) {
      return InvalidArgumentError("output '" + name + "' was requested in shared memory region '" +
                                  range.region + "', but the response does not report it there");
    }
  }
  return OkStatus();
}

StatusOr<Tensor> TensorFromSharedMemory(const SharedMemoryOutput& output, std::span<const uint8_t> region) {
  if (output.offset > region.size() || output.byte_size > region.size() - output.offset) {
    return InvalidArgumentError("output '" + output.name + "': " + std::to_string(output.byte_size) +
                                " bytes at offset " + std::to_string(output.offset) +
                                " pass the end of the " + std::to_string(region.size()) + "-byte region '" +
                                output.region + "'");
  }
  Tensor tensor;
  tensor.name = output.name;
  tensor.datatype = output.datatype;
  tensor.shape = output.shape;
  tensor.data = region.subspan(static_cast<size_t>(output.offset), static_cast<size_t>(output.byte_size));
  MOAT_RETURN_IF_ERROR(CheckTensorByteSize(tensor));
  return tensor;
}

}  // namespace moat::client
