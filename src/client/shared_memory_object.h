// A POSIX shared memory object that the client creates and maps, so that
// tensors can reach a Moat server on the same host without the socket.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "common/status.h"

namespace moat::client {

// Owns a shared memory object and its read-write mapping. The destructor
// unmaps it and unlinks the name; a server that mapped the object keeps its
// own mapping until it unregisters the region. Move-only. Moving is not
// thread-safe, but the bytes may be shared between threads as the caller
// arranges.
class SharedMemoryObject {
 public:
  // Creates `key` with shm_open(O_CREAT | O_EXCL, 0600), sizes it to
  // `byte_size` with ftruncate and maps it. INVALID_ARGUMENT for a key that is
  // not "/" followed by 1 to 254 characters other than '/' and control
  // characters, or a zero size; ALREADY_EXISTS when an object of that name
  // exists; RESOURCE_EXHAUSTED or INTERNAL when sizing or mapping fails. On
  // error nothing is left behind.
  static StatusOr<SharedMemoryObject> Create(std::string key, size_t byte_size);

  // Creates an object named "/<prefix>-<pid>-<16 random hex digits>", trying
  // again with another name if that one exists. `prefix` follows the key
  // rules above.
  static StatusOr<SharedMemoryObject> CreateUnique(std::string_view prefix, size_t byte_size);

  SharedMemoryObject(SharedMemoryObject&& other) noexcept;
  SharedMemoryObject& operator=(SharedMemoryObject&& other) noexcept;
  SharedMemoryObject(const SharedMemoryObject&) = delete;
  SharedMemoryObject& operator=(const SharedMemoryObject&) = delete;
  ~SharedMemoryObject();

  // The object's name, the key to register with the server.
  const std::string& key() const { return key_; }
  size_t byte_size() const { return byte_size_; }

  std::span<uint8_t> bytes() { return {data_, byte_size_}; }
  std::span<const uint8_t> bytes() const { return {data_, byte_size_}; }

 private:
  SharedMemoryObject(std::string key, uint8_t* data, size_t byte_size)
      : key_(std::move(key)), data_(data), byte_size_(byte_size) {}

  // Unmaps and unlinks; leaves the object empty.
  void Release();

  std::string key_;
  uint8_t* data_ = nullptr;
  size_t byte_size_ = 0;
};

}  // namespace moat::client
