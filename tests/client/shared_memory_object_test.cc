#include "client/shared_memory_object.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace moat::client {
namespace {

std::string TestKey(const std::string& suffix) {
  return "/moat-client-object-test-" + std::to_string(::getpid()) + "-" + suffix;
}

// Returns the size of the object `key` as another process would see it, or
// -1 with errno set when it cannot be opened.
off_t ObjectSize(const std::string& key) {
  const int fd = ::shm_open(key.c_str(), O_RDONLY, 0);
  if (fd < 0) return -1;
  struct stat info {};
  ::fstat(fd, &info);
  ::close(fd);
  return info.st_size;
}

TEST(SharedMemoryObject, CreateMapsAndUnlinks) {
  const std::string key = TestKey("create");
  {
    StatusOr<SharedMemoryObject> object = SharedMemoryObject::Create(key, 1000);
    ASSERT_TRUE(object.ok()) << object.status().ToString();
    EXPECT_EQ(object->key(), key);
    EXPECT_EQ(object->byte_size(), 1000u);
    EXPECT_EQ(ObjectSize(key), 1000);

    // A second mapping of the same object reads what this one writes.
    object->bytes()[999] = 0x5a;
    const int fd = ::shm_open(key.c_str(), O_RDONLY, 0);
    ASSERT_GE(fd, 0);
    struct stat info {};
    ASSERT_EQ(::fstat(fd, &info), 0);
    EXPECT_EQ(info.st_mode & 0777, 0600u);
    void* other = ::mmap(nullptr, 1000, PROT_READ, MAP_SHARED, fd, 0);
    ::close(fd);
    ASSERT_NE(other, MAP_FAILED);
    EXPECT_EQ(static_cast<const uint8_t*>(other)[999], 0x5a);
    ::munmap(other, 1000);
  }
  EXPECT_EQ(ObjectSize(key), -1);
  EXPECT_EQ(errno, ENOENT);
}

TEST(SharedMemoryObject, ExistingKey) {
  const std::string key = TestKey("existing");
  StatusOr<SharedMemoryObject> first = SharedMemoryObject::Create(key, 64);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  StatusOr<SharedMemoryObject> second = SharedMemoryObject::Create(key, 128);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kAlreadyExists);
  EXPECT_NE(second.status().message().find(key), std::string::npos) << second.status().message();
  // The failed attempt neither resized nor unlinked the first object.
  EXPECT_EQ(ObjectSize(key), 64);
}

TEST(SharedMemoryObject, InvalidArguments) {
  const std::string cases[] = {"", "/", "noslash", "/a/b", "/tab\there", "/" + std::string(255, 'k')};
  for (const std::string& key : cases) {
    StatusOr<SharedMemoryObject> object = SharedMemoryObject::Create(key, 64);
    ASSERT_FALSE(object.ok()) << key;
    EXPECT_EQ(object.status().code(), StatusCode::kInvalidArgument) << key;
  }
  StatusOr<SharedMemoryObject> longest = SharedMemoryObject::Create("/" + std::string(254, 'k'), 64);
  EXPECT_TRUE(longest.ok()) << longest.status().ToString();

  const std::string key = TestKey("empty");
  StatusOr<SharedMemoryObject> empty = SharedMemoryObject::Create(key, 0);
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ObjectSize(key), -1);
}

TEST(SharedMemoryObject, UniqueNames) {
  StatusOr<SharedMemoryObject> a = SharedMemoryObject::CreateUnique("moat-client-object-test", 16);
  StatusOr<SharedMemoryObject> b = SharedMemoryObject::CreateUnique("moat-client-object-test", 16);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_NE(a->key(), b->key());
  EXPECT_EQ(a->key().rfind("/moat-client-object-test-" + std::to_string(::getpid()) + "-", 0), 0u)
      << a->key();
}

TEST(SharedMemoryObject, MoveTransfersOwnership) {
  const std::string key = TestKey("move");
  StatusOr<SharedMemoryObject> created = SharedMemoryObject::Create(key, 32);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  SharedMemoryObject moved = std::move(created).value();
  {
    SharedMemoryObject other = std::move(moved);
    EXPECT_EQ(moved.byte_size(), 0u);
    EXPECT_TRUE(moved.key().empty());
    EXPECT_EQ(other.key(), key);
    EXPECT_EQ(ObjectSize(key), 32);
  }
  // `other` unlinked it; destroying the moved-from objects does nothing more.
  EXPECT_EQ(ObjectSize(key), -1);
}

}  // namespace
}  // namespace moat::client
