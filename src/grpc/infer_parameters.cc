#include "grpc/infer_parameters.h"

#include <array>
#include <chrono>
#include <cstdint>
#include <limits>
#include <string_view>
#include <utility>

#include "grpc/rpc_helpers.h"

namespace moat::grpc_server {
namespace {

using inference::InferParameter;

constexpr std::string_view kRegion = "shared_memory_region";
constexpr std::string_view kOffset = "shared_memory_offset";
constexpr std::string_view kByteSize = "shared_memory_byte_size";

const InferParameter* Find(const ParameterMap& parameters, std::string_view key) {
  auto it = parameters.find(std::string(key));
  return it == parameters.end() ? nullptr : &it->second;
}

std::string_view KindName(const InferParameter& parameter) {
  switch (parameter.parameter_choice_case()) {
    case InferParameter::kBoolParam:
      return "bool_param";
    case InferParameter::kInt64Param:
      return "int64_param";
    case InferParameter::kStringParam:
      return "string_param";
    case InferParameter::kDoubleParam:
      return "double_param";
    case InferParameter::kUint64Param:
      return "uint64_param";
    case InferParameter::PARAMETER_CHOICE_NOT_SET:
      break;
  }
  return "no value";
}

bool IsDefault(const InferParameter& parameter) {
  switch (parameter.parameter_choice_case()) {
    case InferParameter::kBoolParam:
      return !parameter.bool_param();
    case InferParameter::kInt64Param:
      return parameter.int64_param() == 0;
    case InferParameter::kStringParam:
      return parameter.string_param().empty();
    case InferParameter::kDoubleParam:
      return parameter.double_param() == 0.0;
    case InferParameter::kUint64Param:
      return parameter.uint64_param() == 0;
    case InferParameter::PARAMETER_CHOICE_NOT_SET:
      break;
  }
  return true;
}

Status RejectIfSet(const ParameterMap& parameters, std::string_view key, const std::string& where,
                   std::string_view feature) {
  const InferParameter* parameter = Find(parameters, key);
  if (parameter == nullptr || IsDefault(*parameter)) return OkStatus();
  return UnimplementedError(where + ": parameter '" + std::string(key) +
                            "' is not supported, because Moat does not serve " + std::string(feature));
}

// Reads a byte offset or size given as int64_param (not negative) or uint64_param.
StatusOr<uint64_t> ParseByteCount(const InferParameter& parameter, std::string_view key,
                                  const std::string& where) {
  if (parameter.parameter_choice_case() == InferParameter::kUint64Param) return parameter.uint64_param();
  if (parameter.parameter_choice_case() != InferParameter::kInt64Param) {
    return InvalidArgumentError(where + ": parameter '" + std::string(key) +
                                "' must be an int64_param, got " + std::string(KindName(parameter)));
  }
  if (parameter.int64_param() < 0) {
    return InvalidArgumentError(where + ": parameter '" + std::string(key) + "' is negative (" +
                                std::to_string(parameter.int64_param()) + ")");
  }
  return static_cast<uint64_t>(parameter.int64_param());
}

// Reads a non-negative integer given as int64_param or uint64_param.
StatusOr<uint64_t> ParseUnsigned(const InferParameter& parameter, std::string_view key,
                                 const std::string& where) {
  switch (parameter.parameter_choice_case()) {
    case InferParameter::kUint64Param:
      return parameter.uint64_param();
    case InferParameter::kInt64Param:
      if (parameter.int64_param() < 0) {
        return InvalidArgumentError(where + ": parameter '" + std::string(key) + "' is negative (" +
                                    std::to_string(parameter.int64_param()) + ")");
      }
      return static_cast<uint64_t>(parameter.int64_param());
    default:
      return InvalidArgumentError(where + ": parameter '" + std::string(key) +
                                  "' must be an int64_param or uint64_param, got " +
                                  std::string(KindName(parameter)));
  }
}

}  // namespace

Status ParseRequestParameters(const ParameterMap& parameters, InferenceRequest& request) {
  const std::string where = "infer request";
  for (std::string_view key : {"sequence_id", "sequence_start", "sequence_end"}) {
    MOAT_RETURN_IF_ERROR(RejectIfSet(parameters, key, where, "sequence batching"));
  }
  if (const InferParameter* priority = Find(parameters, "priority")) {
    MOAT_ASSIGN_OR_RETURN(uint64_t level, ParseUnsigned(*priority, "priority", where));
    if (level > std::numeric_limits<uint32_t>::max()) {
      return InvalidArgumentError(where + ": parameter 'priority' is " + std::to_string(level) +
                                  ", above the maximum " +
                                  std::to_string(std::numeric_limits<uint32_t>::max()));
    }
    request.priority = static_cast<uint32_t>(level);
  }
  if (const InferParameter* timeout = Find(parameters, "timeout")) {
    MOAT_ASSIGN_OR_RETURN(uint64_t microseconds, ParseUnsigned(*timeout, "timeout", where));
    if (microseconds > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return InvalidArgumentError(where + ": parameter 'timeout' is " + std::to_string(microseconds) +
                                  " microseconds, above the maximum " +
                                  std::to_string(std::numeric_limits<int64_t>::max()));
    }
    // 0 means no per-request timeout, as in Triton, so the model's default applies.
    request.timeout.reset();
    if (microseconds > 0) request.timeout = std::chrono::microseconds(static_cast<int64_t>(microseconds));
  }
  return OkStatus();
}

Status CheckOutputParameters(const ParameterMap& parameters, const std::string& where) {
  return RejectIfSet(parameters, "classification", where, "the classification extension");
}

StatusOr<std::optional<shm::SharedMemoryReference>> ParseSharedMemoryParameters(
    const ParameterMap& parameters, const std::string& where) {
  const InferParameter* region = Find(parameters, kRegion);
  const InferParameter* offset = Find(parameters, kOffset);
  const InferParameter* byte_size = Find(parameters, kByteSize);
  if (region == nullptr) {
    if (offset != nullptr || byte_size != nullptr) {
      std::string_view key = offset != nullptr ? kOffset : kByteSize;
      return InvalidArgumentError(where + " has the parameter '" + std::string(key) + "' but no '" +
                                  std::string(kRegion) + "'");
    }
    return std::optional<shm::SharedMemoryReference>();
  }

  if (region->parameter_choice_case() != InferParameter::kStringParam) {
    return InvalidArgumentError(where + ": parameter '" + std::string(kRegion) +
                                "' must be a string_param, got " + std::string(KindName(*region)));
  }
  if (region->string_param().empty()) {
    return InvalidArgumentError(where + ": parameter '" + std::string(kRegion) + "' is empty");
  }
  if (byte_size == nullptr) {
    return InvalidArgumentError(where + " names shared memory region " + Quote(region->string_param()) +
                                " but has no '" + std::string(kByteSize) + "' parameter");
  }
  shm::SharedMemoryReference reference;
  reference.region = region->string_param();
  if (offset != nullptr) {
    MOAT_ASSIGN_OR_RETURN(reference.offset, ParseByteCount(*offset, kOffset, where));
  }
  MOAT_ASSIGN_OR_RETURN(reference.byte_size, ParseByteCount(*byte_size, kByteSize, where));
  return std::optional<shm::SharedMemoryReference>(std::move(reference));
}

}  // namespace moat::grpc_server
