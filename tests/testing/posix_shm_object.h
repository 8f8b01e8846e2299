// Test helper: a POSIX shared memory object that a test creates, maps
// read-write and unlinks, the way a client of the system shared memory
// extension does.
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

namespace moat::testing {

// Returns a key that no other object of this process uses and that no other
// process picks: "/moat-test-<pid>-<n>".
inline std::string UniqueShmKey() {
  static std::atomic<int> counter{0};
  return "/moat-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

class PosixShmObject {
 public:
  // Creates a new object of `size` bytes under `key` with permission bits
  // `mode`, and maps it. A step that fails adds a test failure and leaves
  // ok() false. The creator's mapping is read-write even when `mode` grants
  // nothing.
  explicit PosixShmObject(size_t size, mode_t mode = 0600, std::string key = UniqueShmKey())
      : key_(std::move(key)), size_(size) {
    int fd = ::shm_open(key_.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
      ADD_FAILURE() << "shm_open " << key_ << ": " << std::strerror(errno);
      return;
    }
    created_ = true;
    // shm_open applies the umask, so fchmod sets the exact bits afterwards.
    if (::fchmod(fd, mode) != 0) ADD_FAILURE() << "fchmod " << key_ << ": " << std::strerror(errno);
    if (::ftruncate(fd, static_cast<off_t>(size)) != 0) {
      ADD_FAILURE() << "ftruncate " << key_ << ": " << std::strerror(errno);
      ::close(fd);
      return;
    }
    void* mapping = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ::close(fd);
    if (mapping == MAP_FAILED) {
      ADD_FAILURE() << "mmap " << key_ << ": " << std::strerror(errno);
      return;
    }
    data_ = static_cast<uint8_t*>(mapping);
  }

  ~PosixShmObject() {
    if (data_ != nullptr) ::munmap(data_, size_);
    if (created_) ::shm_unlink(key_.c_str());
  }

  PosixShmObject(const PosixShmObject&) = delete;
  PosixShmObject& operator=(const PosixShmObject&) = delete;

  // Whether the object was created and mapped.
  bool ok() const { return data_ != nullptr; }
  const std::string& key() const { return key_; }
  size_t size() const { return size_; }
  uint8_t* data() { return data_; }

  // Copies `bytes` into the object at `offset`, as a client fills an input.
  // A write past the end adds a test failure and writes nothing.
  void Write(size_t offset, std::string_view bytes) {
    if (!InRange(offset, bytes.size())) {
      ADD_FAILURE() << "write of " << bytes.size() << " bytes at offset " << offset << " is outside " << key_
                    << " (" << size_ << " bytes)";
      return;
    }
    std::memcpy(data_ + offset, bytes.data(), bytes.size());
  }

  // Returns `length` bytes of the object from `offset`, as a client reads an
  // output, or "<out of the object>" when they are not all inside it.
  std::string Read(size_t offset, size_t length) const {
    if (!InRange(offset, length)) return "<out of the object>";
    return std::string(reinterpret_cast<const char*>(data_ + offset), length);
  }

 private:
  bool InRange(size_t offset, size_t length) const {
    return ok() && offset <= size_ && length <= size_ - offset;
  }

  std::string key_;
  size_t size_ = 0;
  bool created_ = false;
  uint8_t* data_ = nullptr;
};

}  // namespace moat::testing
