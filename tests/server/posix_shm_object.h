// A POSIX shared memory object that a test creates, maps and removes, the way
// a client of the system shared memory extension does.
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace moat::server::testing {

class PosixShmObject {
 public:
  // Creates a new object of `size` bytes under a name unique to this process
  // and maps it; ok() tells whether every step worked.
  explicit PosixShmObject(size_t size) : size_(size) {
    static std::atomic<int> counter{0};
    key_ = "/moat-http-test-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
    int fd = shm_open(key_.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
    if (fd < 0) return;
    created_ = true;
    if (ftruncate(fd, static_cast<off_t>(size)) == 0) {
      void* mapping = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      if (mapping != MAP_FAILED) bytes_ = static_cast<uint8_t*>(mapping);
    }
    close(fd);
  }

  ~PosixShmObject() {
    if (bytes_ != nullptr) munmap(bytes_, size_);
    if (created_) shm_unlink(key_.c_str());
  }

  PosixShmObject(const PosixShmObject&) = delete;
  PosixShmObject& operator=(const PosixShmObject&) = delete;

  bool ok() const { return bytes_ != nullptr; }
  const std::string& key() const { return key_; }
  size_t size() const { return size_; }

  void Write(size_t offset, std::string_view data) { std::memcpy(bytes_ + offset, data.data(), data.size()); }
  std::string Read(size_t offset, size_t length) const {
    return std::string(reinterpret_cast<const char*>(bytes_ + offset), length);
  }

 private:
  std::string key_;
  size_t size_;
  bool created_ = false;
  uint8_t* bytes_ = nullptr;
};

}  // namespace moat::server::testing
