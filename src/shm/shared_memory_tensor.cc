#include <cstring>

#include "shm/message_text.h"
#include "shm/shared_memory.h"

namespace moat::shm {

namespace {

// Prefixes the error of Map with the tensor it was for, keeping the code.
Status ForTensor(const Status& status, const std::string& kind, const std::string& name) {
  return Status(status.code(), kind + " '" + name + "': " + status.message());
}

std::string DescribeReference(const SharedMemoryReference& reference) {
  return "shared memory region " + QuoteForMessage(reference.region) + " at offset " +
         std::to_string(reference.offset);
}

}  // namespace

StatusOr<Tensor> InputFromSharedMemory(const SharedMemoryManager& manager, std::string name,
                                       DataType datatype, std::vector<int64_t> shape,
                                       const SharedMemoryReference& reference) {
  StatusOr<RegionView> view = manager.Map(reference);
  if (!view.ok()) return ForTensor(view.status(), "input", name);

  Tensor tensor;
  tensor.name = std::move(name);
  tensor.datatype = datatype;
  tensor.shape = std::move(shape);
  tensor.data = view->bytes;
  tensor.owner = std::move(view->owner);

  Status size_check = CheckTensorByteSize(tensor);
  if (!size_check.ok()) {
    return InvalidArgumentError(size_check.message() + " in " + DescribeReference(reference));
  }
  return tensor;
}

StatusOr<uint64_t> WriteOutputToSharedMemory(const SharedMemoryManager& manager, const Tensor& output,
                                             const SharedMemoryReference& reference) {
  StatusOr<RegionView> view = manager.Map(reference);
  if (!view.ok()) return ForTensor(view.status(), "output", output.name);

  if (output.data.size() > view->bytes.size()) {
    return InvalidArgumentError("output '" + output.name + "' has " + std::to_string(output.data.size()) +
                                " bytes, more than the " + std::to_string(view->bytes.size()) +
                                " bytes referenced in " + DescribeReference(reference));
  }
  // memmove, not memcpy: an output that passes an input through may itself
  // lie in the same region and overlap the destination.
  if (!output.data.empty()) std::memmove(view->bytes.data(), output.data.data(), output.data.size());
  return static_cast<uint64_t>(output.data.size());
}

}  // namespace moat::shm
