// System shared memory regions that clients register by name, so that
// tensors can travel through POSIX shared memory instead of the socket.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"
#include "core/tensor.h"

namespace moat::shm {

// A registered region as the status endpoints report it.
struct RegionInfo {
  std::string name;
  std::string key;  // the POSIX shared memory object name, such as "/input0"
  uint64_t offset = 0;
  uint64_t byte_size = 0;
};

// Bytes inside a registered region. `owner` keeps the mapping alive, so a
// region unregistered while a request uses a view stays mapped until the
// last view is gone.
struct RegionView {
  std::span<uint8_t> bytes;
  std::shared_ptr<const void> owner;
};

// The location of a tensor in shared memory, as a request names it.
struct SharedMemoryReference {
  std::string region;
  uint64_t offset = 0;                // from the start of the registered region
  std::optional<uint64_t> byte_size;  // empty: up to the end of the region
};

// Thread-safe. Every offset and size is checked with overflow-safe
// arithmetic; the registration offset counts once. Error messages name only
// what the caller sent, never other regions or keys.
class SharedMemoryManager {
 public:
  // With `enabled` false every call returns FAILED_PRECONDITION with a message
  // that explains how to turn shared memory on.
  explicit SharedMemoryManager(bool enabled) : enabled_(enabled) {}
  ~SharedMemoryManager();

  bool enabled() const { return enabled_; }

  // Opens `key` read-write and maps [offset, offset + byte_size) of it.
  // INVALID_ARGUMENT for a name that is empty, longer than 256 bytes or not
  // printable ASCII. INVALID_ARGUMENT also for a key that is not a valid POSIX
  // shared memory name ("/" followed by 1 to 254 characters, none of them '/'
  // or a control character), a zero size, or a range past the object's end.
  // NOT_FOUND when the key cannot be opened, with the same message whether it
  // is missing or not permitted. ALREADY_EXISTS for a name already registered.
  // RESOURCE_EXHAUSTED when the server is out of file descriptors or memory.
  // NOTE: a client that shrinks the object after registering it makes the
  // server's next access to the lost pages raise SIGBUS.
  Status Register(const std::string& name, const std::string& key, uint64_t offset, uint64_t byte_size);

  // Unregisters `name`, or every region when `name` is empty. Views already
  // handed out stay valid. NOT_FOUND for a name that is not registered.
  Status Unregister(const std::string& name);

  // The region `name`, or every region sorted by name when `name` is empty.
  // NOT_FOUND for a name that is not registered.
  StatusOr<std::vector<RegionInfo>> GetStatus(const std::string& name) const;

  // A view of `reference` inside its region. NOT_FOUND for a region that is
  // not registered; INVALID_ARGUMENT when offset + byte_size passes the
  // region's end. An empty range at the region's end is valid.
  StatusOr<RegionView> Map(const SharedMemoryReference& reference) const;

 private:
  struct Region;

  bool enabled_;
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<Region>> regions_;
};

// Makes an input tensor whose data points into shared memory without a copy,
// and whose owner keeps the region mapped. The referenced bytes (the rest of
// the region when byte_size is empty) must be exactly the tensor's size, and
// for BYTES the length-prefixed elements must fill them. INVALID_ARGUMENT
// naming the tensor otherwise.
// NOTE: the client can still change the bytes after this check, so readers of
// BYTES data must bounds-check the length prefixes again (SplitBytesElements
// does).
StatusOr<Tensor> InputFromSharedMemory(const SharedMemoryManager& manager, std::string name,
                                       DataType datatype, std::vector<int64_t> shape,
                                       const SharedMemoryReference& reference);

// Copies `output` into the referenced region. INVALID_ARGUMENT naming the
// output when its data is larger than the reference's byte_size (or the rest
// of the region). Returns the number of bytes written.
StatusOr<uint64_t> WriteOutputToSharedMemory(const SharedMemoryManager& manager, const Tensor& output,
                                             const SharedMemoryReference& reference);

}  // namespace moat::shm
