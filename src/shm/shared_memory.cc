#include "shm/shared_memory.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "shm/message_text.h"

namespace moat::shm {

// Offsets and sizes arrive as uint64 and are used as mmap lengths and pointer
// offsets, so size_t must hold every uint64 value.
static_assert(sizeof(size_t) >= sizeof(uint64_t), "shared memory needs a 64-bit size_t");

namespace {

constexpr size_t kMaxNameBytes = 256;
// glibc's shm_open rejects names whose part after the leading '/' has
// NAME_MAX (255) bytes or more, so the longest key is '/' and 254 bytes.
constexpr size_t kMaxKeyBytes = 255;

Status DisabledError() {
  return FailedPreconditionError(
      "shared memory is disabled on this server; start the server with --allow-shared-memory to use it");
}

Status ValidateName(const std::string& name) {
  if (name.empty()) return InvalidArgumentError("shared memory region name is empty");
  if (name.size() > kMaxNameBytes) {
    return InvalidArgumentError("shared memory region name " + QuoteForMessage(name) + " is longer than " +
                                std::to_string(kMaxNameBytes) + " bytes");
  }
  for (size_t i = 0; i < name.size(); ++i) {
    auto byte = static_cast<uint8_t>(name[i]);
    if (byte < 0x20 || byte >= 0x7f) {
      return InvalidArgumentError("shared memory region name " + QuoteForMessage(name) +
                                  " contains a byte that is not printable ASCII at position " +
                                  std::to_string(i));
    }
  }
  return OkStatus();
}

Status InvalidKeyError(const std::string& key, const std::string& reason) {
  return InvalidArgumentError("invalid shared memory key " + QuoteForMessage(key) + ": " + reason +
                              "; a key is '/' followed by 1 to 254 characters other than '/'");
}

// Checks that `key` is a POSIX shared memory object name that shm_open takes
// as one object directly under the shared memory directory.
Status ValidateKey(const std::string& key) {
  if (key.empty() || key[0] != '/') return InvalidKeyError(key, "it does not start with '/'");
  if (key.size() == 1) return InvalidKeyError(key, "no name follows the '/'");
  if (key.size() > kMaxKeyBytes) {
    return InvalidKeyError(key, "it is longer than " + std::to_string(kMaxKeyBytes) + " bytes");
  }
  for (size_t i = 1; i < key.size(); ++i) {
    auto byte = static_cast<uint8_t>(key[i]);
    if (byte == '/') return InvalidKeyError(key, "it contains '/' at position " + std::to_string(i));
    if (byte < 0x20 || byte == 0x7f) {
      return InvalidKeyError(key, "it contains a control character at position " + std::to_string(i));
    }
  }
  if (key == "/." || key == "/..") return InvalidKeyError(key, "'.' and '..' name directories");
  return OkStatus();
}

std::string ErrnoText(int error) { return std::strerror(error); }

// Closes a file descriptor when the scope ends.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() { close(fd_); }
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

// One registered region and its mapping. Views share ownership of it, so the
// munmap in the destructor waits for the last request that uses the region.
struct SharedMemoryManager::Region {
  RegionInfo info;
  void* mapping = nullptr;  // page-aligned start returned by mmap
  size_t mapping_length = 0;
  uint8_t* bytes = nullptr;  // `info.offset` inside the object, `info.byte_size` bytes long

  Region() = default;
  Region(const Region&) = delete;
  Region& operator=(const Region&) = delete;
  ~Region() {
    if (mapping != nullptr) munmap(mapping, mapping_length);
  }

  // Opens `key` and maps [offset, offset + byte_size) of it read-write. The
  // name and key must already be valid and byte_size greater than 0.
  static StatusOr<std::shared_ptr<Region>> Open(const std::string& name, const std::string& key,
                                                uint64_t offset, uint64_t byte_size);
};

StatusOr<std::shared_ptr<SharedMemoryManager::Region>> SharedMemoryManager::Region::Open(
    const std::string& name, const std::string& key, uint64_t offset, uint64_t byte_size) {
  int fd = shm_open(key.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW, 0);
  if (fd < 0) {
    int error = errno;
    if (error == EMFILE || error == ENFILE) {
      return ResourceExhaustedError("failed to open shared memory key " + QuoteForMessage(key) +
                                    ": the server has too many open files (" + ErrnoText(error) + ")");
    }
    // One message for every other failure, so that the reply does not tell
    // whether an object the client cannot use exists.
    return NotFoundError("failed to open shared memory key " + QuoteForMessage(key) +
                         ": it does not exist or the server is not allowed to open it read-write; "
                         "create it with shm_open and give the server's user read-write access");
  }
  FileDescriptor file(fd);

  struct stat object_stat {};
  if (fstat(file.get(), &object_stat) != 0) {
    return InternalError("fstat of shared memory key " + QuoteForMessage(key) +
                         " failed: " + ErrnoText(errno));
  }
  if (!S_ISREG(object_stat.st_mode)) {
    return InvalidArgumentError("shared memory key " + QuoteForMessage(key) +
                                " is not a shared memory object");
  }
  auto object_size = static_cast<uint64_t>(object_stat.st_size);
  if (byte_size > object_size || offset > object_size - byte_size) {
    return InvalidArgumentError("shared memory region " + QuoteForMessage(name) + ": offset " +
                                std::to_string(offset) + " + byte_size " + std::to_string(byte_size) +
                                " passes the end of key " + QuoteForMessage(key) + ", which has " +
                                std::to_string(object_size) + " bytes");
  }

  // mmap takes only page-aligned offsets, so the mapping starts at the page
  // that contains `offset`. Its offset and length are at most st_size, so
  // they fit in off_t and size_t.
  auto page_size = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  uint64_t mapping_offset = offset - offset % page_size;
  size_t offset_in_mapping = offset - mapping_offset;
  size_t length = offset_in_mapping + byte_size;
  void* mapping = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_SHARED, file.get(),
                       static_cast<off_t>(mapping_offset));
  if (mapping == MAP_FAILED) {
    int error = errno;
    std::string message = "failed to map shared memory region " + QuoteForMessage(name) + " of key " +
                          QuoteForMessage(key) + ": ";
    if (error == ENOMEM) return ResourceExhaustedError(message + ErrnoText(error));
    return InternalError(message + ErrnoText(error));
  }

  auto region = std::make_shared<Region>();
  region->info = RegionInfo{name, key, offset, byte_size};
  region->mapping = mapping;
  region->mapping_length = length;
  region->bytes = static_cast<uint8_t*>(mapping) + offset_in_mapping;
  return region;
}

SharedMemoryManager::~SharedMemoryManager() = default;

Status SharedMemoryManager::Register(const std::string& name, const std::string& key, uint64_t offset,
                                     uint64_t byte_size) {
  if (!enabled_) return DisabledError();
  MOAT_RETURN_IF_ERROR(ValidateName(name));
  MOAT_RETURN_IF_ERROR(ValidateKey(key));
  if (byte_size == 0) {
    return InvalidArgumentError("shared memory region " + QuoteForMessage(name) +
                                ": byte_size must be greater than 0");
  }
  auto already_exists = [&name] {
    return AlreadyExistsError("shared memory region " + QuoteForMessage(name) +
                              " is already registered; unregister it first to register it again");
  };
  {
    std::lock_guard lock(mutex_);
    if (regions_.contains(name)) return already_exists();
  }

  // Opening and mapping happen outside the lock. A concurrent registration of
  // the same name is caught when inserting, and the losing mapping is unmapped.
  MOAT_ASSIGN_OR_RETURN(std::shared_ptr<Region> region, Region::Open(name, key, offset, byte_size));
  std::lock_guard lock(mutex_);
  if (!regions_.emplace(name, std::move(region)).second) return already_exists();
  return OkStatus();
}

Status SharedMemoryManager::Unregister(const std::string& name) {
  if (!enabled_) return DisabledError();
  std::lock_guard lock(mutex_);
  if (name.empty()) {
    regions_.clear();
    return OkStatus();
  }
  if (regions_.erase(name) == 0) {
    return NotFoundError("shared memory region " + QuoteForMessage(name) + " is not registered");
  }
  return OkStatus();
}

StatusOr<std::vector<RegionInfo>> SharedMemoryManager::GetStatus(const std::string& name) const {
  if (!enabled_) return DisabledError();
  std::lock_guard lock(mutex_);
  std::vector<RegionInfo> out;
  if (name.empty()) {
    out.reserve(regions_.size());
    for (const auto& [region_name, region] : regions_) out.push_back(region->info);
    return out;
  }
  auto it = regions_.find(name);
  if (it == regions_.end()) {
    return NotFoundError("shared memory region " + QuoteForMessage(name) + " is not registered");
  }
  out.push_back(it->second->info);
  return out;
}

StatusOr<RegionView> SharedMemoryManager::Map(const SharedMemoryReference& reference) const {
  if (!enabled_) return DisabledError();
  std::shared_ptr<Region> region;
  {
    std::lock_guard lock(mutex_);
    auto it = regions_.find(reference.region);
    if (it == regions_.end()) {
      return NotFoundError("shared memory region " + QuoteForMessage(reference.region) +
                           " is not registered");
    }
    region = it->second;
  }

  uint64_t region_size = region->info.byte_size;
  std::string where = "shared memory region " + QuoteForMessage(reference.region) + ": offset " +
                      std::to_string(reference.offset);
  if (reference.offset > region_size) {
    return InvalidArgumentError(where + " is past the end of the region, which has " +
                                std::to_string(region_size) + " bytes");
  }
  uint64_t available = region_size - reference.offset;
  uint64_t size = reference.byte_size.value_or(available);
  if (size > available) {
    return InvalidArgumentError(where + " + byte_size " + std::to_string(size) +
                                " passes the end of the region, which has " + std::to_string(region_size) +
                                " bytes");
  }

  // An empty range at the region's end is valid because a tensor with zero
  // elements has no bytes.
  RegionView view;
  view.bytes = {region->bytes + reference.offset, static_cast<size_t>(size)};
  view.owner = std::move(region);
  return view;
}

}  // namespace moat::shm
