// Test helper: a POSIX shared memory object that the test creates, maps and
// unlinks, as a client that registers a region does.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <string>
#include <string_view>

namespace moat::grpc_server::testing {

class SharedMemoryObject {
 public:
  explicit SharedMemoryObject(size_t byte_size) : size_(byte_size) {
    static std::atomic<int> counter{0};
    key_ = "/moat-grpc-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
    int fd = ::shm_open(key_.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
    EXPECT_GE(fd, 0) << "shm_open " << key_ << ": " << std::strerror(errno);
    if (fd < 0) return;
    EXPECT_EQ(::ftruncate(fd, static_cast<off_t>(byte_size)), 0);
    void* address = ::mmap(nullptr, byte_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ::close(fd);
    EXPECT_NE(address, MAP_FAILED);
    if (address != MAP_FAILED) data_ = static_cast<char*>(address);
  }

  ~SharedMemoryObject() {
    if (data_ != nullptr) ::munmap(data_, size_);
    ::shm_unlink(key_.c_str());
  }

  SharedMemoryObject(const SharedMemoryObject&) = delete;
  SharedMemoryObject& operator=(const SharedMemoryObject&) = delete;

  const std::string& key() const { return key_; }
  char* data() { return data_; }

  void Write(size_t offset, std::string_view bytes) {
    std::memcpy(data_ + offset, bytes.data(), bytes.size());
  }
  std::string Read(size_t offset, size_t length) const { return std::string(data_ + offset, length); }

 private:
  std::string key_;
  size_t size_;
  char* data_ = nullptr;
};

}  // namespace moat::grpc_server::testing
