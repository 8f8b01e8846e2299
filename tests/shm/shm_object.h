// A POSIX shared memory object that a test creates as a client would, mapped
// read-write in the test process and unlinked when the test ends.
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

#include <gtest/gtest.h>

namespace moat::testing {

// Returns a key no other test or process uses: "/moat-test-<pid>-<n>".
inline std::string UniqueShmKey() {
  static int counter = 0;
  return "/moat-test-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
}

class ShmObject {
 public:
  // Creates a new object of `size` bytes with permission bits `mode`. The
  // creator's descriptor is read-write even when `mode` grants nothing.
  explicit ShmObject(size_t size, mode_t mode = 0600, std::string key = UniqueShmKey())
      : key_(std::move(key)), size_(size) {
    int fd = shm_open(key_.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
      ADD_FAILURE() << "shm_open " << key_ << ": " << std::strerror(errno);
      return;
    }
    created_ = true;
    // shm_open applies the umask, so fchmod sets the exact bits afterwards.
    if (fchmod(fd, mode) != 0) ADD_FAILURE() << "fchmod " << key_ << ": " << std::strerror(errno);
    if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
      ADD_FAILURE() << "ftruncate " << key_ << ": " << std::strerror(errno);
    }
    void* mapping = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (mapping == MAP_FAILED) {
      ADD_FAILURE() << "mmap " << key_ << ": " << std::strerror(errno);
      return;
    }
    data_ = static_cast<uint8_t*>(mapping);
  }

  ShmObject(const ShmObject&) = delete;
  ShmObject& operator=(const ShmObject&) = delete;

  ~ShmObject() {
    if (data_ != nullptr) munmap(data_, size_);
    if (created_) shm_unlink(key_.c_str());
  }

  const std::string& key() const { return key_; }
  uint8_t* data() { return data_; }
  size_t size() const { return size_; }

  // Copies `bytes` into the object at `offset`, as a client fills an input.
  void Write(size_t offset, std::string_view bytes) {
    std::memcpy(data_ + offset, bytes.data(), bytes.size());
  }

  // Returns `length` bytes of the object from `offset`, as a client reads an output.
  std::string Read(size_t offset, size_t length) const {
    return std::string(reinterpret_cast<const char*>(data_ + offset), length);
  }

 private:
  std::string key_;
  size_t size_ = 0;
  bool created_ = false;
  uint8_t* data_ = nullptr;
};

}  // namespace moat::testing
