#include "server/shared_memory_parameters.h"

namespace moat::server {
namespace {

StatusOr<uint64_t> ParseByteCount(const rapidjson::Value& value, std::string_view name,
                                  const std::string& where) {
  if (!value.IsUint64()) {
    return InvalidArgumentError(where + ": parameter '" + std::string(name) +
                                "' must be a non-negative integer, got " + DescribeJsonValue(value));
  }
  return value.GetUint64();
}

}  // namespace

StatusOr<std::optional<shm::SharedMemoryReference>> ParseSharedMemoryReference(
    const SharedMemoryParameters& parameters, const shm::SharedMemoryManager& manager,
    const std::string& where) {
  if (!parameters.any()) return std::optional<shm::SharedMemoryReference>();
  if (!manager.enabled()) {
    // A disabled manager returns from every call the FAILED_PRECONDITION that
    // explains how to turn shared memory on.
    Status disabled = manager.GetStatus("").status();
    return Status(disabled.code(), where + ": " + disabled.message());
  }
  if (parameters.region == nullptr) {
    std::string_view given =
        parameters.offset != nullptr ? "shared_memory_offset" : "shared_memory_byte_size";
    return InvalidArgumentError(where + ": parameter '" + std::string(given) +
                                "' needs the parameter 'shared_memory_region'");
  }
  if (!parameters.region->IsString() || parameters.region->GetStringLength() == 0) {
    return InvalidArgumentError(where +
                                ": parameter 'shared_memory_region' must be a non-empty string, got " +
                                DescribeJsonValue(*parameters.region));
  }

  shm::SharedMemoryReference reference;
  reference.region = std::string(StringOf(*parameters.region));
  if (parameters.offset != nullptr) {
    MOAT_ASSIGN_OR_RETURN(reference.offset,
                          ParseByteCount(*parameters.offset, "shared_memory_offset", where));
  }
  if (parameters.byte_size != nullptr) {
    MOAT_ASSIGN_OR_RETURN(reference.byte_size,
                          ParseByteCount(*parameters.byte_size, "shared_memory_byte_size", where));
  }
  return std::optional<shm::SharedMemoryReference>(std::move(reference));
}

StatusOr<SharedMemoryWrites> WriteSharedMemoryOutputs(
    const shm::SharedMemoryManager& manager, const InferenceResponse& response,
    const std::map<std::string, shm::SharedMemoryReference, std::less<>>& references) {
  SharedMemoryWrites writes;
  if (references.empty()) return writes;
  for (const Tensor& output : response.outputs) {
    auto reference = references.find(output.name);
    if (reference == references.end()) continue;
    MOAT_ASSIGN_OR_RETURN(uint64_t written,
                          shm::WriteOutputToSharedMemory(manager, output, reference->second));
    writes[output.name] = written;
  }
  return writes;
}

}  // namespace moat::server
