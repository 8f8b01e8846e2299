#include "client/shared_memory_object.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <utility>

namespace moat::client {

namespace {

// NAME_MAX (255) bytes including the leading '/', as glibc's shm_open allows.
constexpr size_t kMaxKeyBytes = 255;
constexpr int kUniqueNameAttempts = 8;

Status CheckKey(const std::string& key) {
  bool valid = key.size() >= 2 && key.size() <= kMaxKeyBytes && key[0] == '/';
  for (size_t i = 1; valid && i < key.size(); ++i) {
    const auto c = static_cast<unsigned char>(key[i]);
    valid = c != '/' && c >= 0x20 && c != 0x7f;
  }
  if (!valid) {
    return InvalidArgumentError(
        "shared memory key '" + key +
        "' is invalid: expected '/' followed by 1 to 254 characters, none of them '/' "
        "or a control character");
  }
  return OkStatus();
}

std::string ErrnoText(int error) { return std::strerror(error); }

std::string RandomHex() {
  std::random_device device;
  const uint64_t value = (static_cast<uint64_t>(device()) << 32) | device();
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(16, '0');
  for (size_t i = 0; i < out.size(); ++i) out[i] = kHex[(value >> (60 - 4 * i)) & 0xf];
  return out;
}

}  // namespace

StatusOr<SharedMemoryObject> SharedMemoryObject::Create(std::string key, size_t byte_size) {
  MOAT_RETURN_IF_ERROR(CheckKey(key));
  if (byte_size == 0) {
    return InvalidArgumentError("shared memory object '" + key + "' needs a size of at least one byte");
  }
  const int fd = ::shm_open(key.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    const int error = errno;
    const Status status(error == EEXIST ? StatusCode::kAlreadyExists : StatusCode::kUnavailable,
                        "creating shared memory object '" + key + "' failed: " + ErrnoText(error));
    return status;
  }
  // From here on, every failure unlinks the name it created.
  if (::ftruncate(fd, static_cast<off_t>(byte_size)) != 0) {
    const int error = errno;
    ::close(fd);
    ::shm_unlink(key.c_str());
    return ResourceExhaustedError("sizing shared memory object '" + key + "' to " +
                                  std::to_string(byte_size) + " bytes failed: " + ErrnoText(error));
  }
  void* mapped = ::mmap(nullptr, byte_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  const int map_error = errno;
  ::close(fd);
  if (mapped == MAP_FAILED) {
    ::shm_unlink(key.c_str());
    return Status(map_error == ENOMEM ? StatusCode::kResourceExhausted : StatusCode::kInternal,
                  "mapping shared memory object '" + key + "' failed: " + ErrnoText(map_error));
  }
  return SharedMemoryObject(std::move(key), static_cast<uint8_t*>(mapped), byte_size);
}

StatusOr<SharedMemoryObject> SharedMemoryObject::CreateUnique(std::string_view prefix, size_t byte_size) {
  const std::string stem = "/" + std::string(prefix) + "-" + std::to_string(::getpid()) + "-";
  for (int attempt = 1;; ++attempt) {
    StatusOr<SharedMemoryObject> object = Create(stem + RandomHex(), byte_size);
    if (object.ok() || object.status().code() != StatusCode::kAlreadyExists ||
        attempt == kUniqueNameAttempts) {
      return object;
    }
  }
}

SharedMemoryObject::SharedMemoryObject(SharedMemoryObject&& other) noexcept
    : key_(std::move(other.key_)),
      data_(std::exchange(other.data_, nullptr)),
      byte_size_(std::exchange(other.byte_size_, 0)) {
  other.key_.clear();
}

SharedMemoryObject& SharedMemoryObject::operator=(SharedMemoryObject&& other) noexcept {
  if (this != &other) {
    Release();
    key_ = std::move(other.key_);
    other.key_.clear();
    data_ = std::exchange(other.data_, nullptr);
    byte_size_ = std::exchange(other.byte_size_, 0);
  }
  return *this;
}

SharedMemoryObject::~SharedMemoryObject() { Release(); }

void SharedMemoryObject::Release() {
  if (data_ != nullptr) ::munmap(data_, byte_size_);
  if (!key_.empty()) ::shm_unlink(key_.c_str());
  data_ = nullptr;
  byte_size_ = 0;
  key_.clear();
}

}  // namespace moat::client
