#include "shm/shared_memory.h"

#include <grp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "testing/posix_shm_object.h"

namespace moat::shm {
namespace {

using ::moat::testing::PosixShmObject;
using ::moat::testing::UniqueShmKey;

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

std::string ViewBytes(const RegionView& view) {
  return std::string(reinterpret_cast<const char*>(view.bytes.data()), view.bytes.size());
}

TEST(SharedMemory, RegisterStatusUnregister) {
  SharedMemoryManager manager(true);
  PosixShmObject object(4096);
  ASSERT_TRUE(manager.Register("b", object.key(), 16, 32).ok());
  ASSERT_TRUE(manager.Register("a", object.key(), 0, 4096).ok());

  auto all = manager.GetStatus("");
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].name, "a");
  EXPECT_EQ((*all)[1].name, "b");

  auto region_b = manager.GetStatus("b");
  ASSERT_TRUE(region_b.ok()) << region_b.status().ToString();
  ASSERT_EQ(region_b->size(), 1u);
  EXPECT_EQ((*region_b)[0].name, "b");
  EXPECT_EQ((*region_b)[0].key, object.key());
  EXPECT_EQ((*region_b)[0].offset, 16u);
  EXPECT_EQ((*region_b)[0].byte_size, 32u);

  ASSERT_TRUE(manager.Unregister("a").ok());
  auto unregistered = manager.GetStatus("a");
  EXPECT_EQ(unregistered.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(unregistered.status().message(), "shared memory region 'a' is not registered");

  ASSERT_TRUE(manager.Unregister("").ok());
  auto none = manager.GetStatus("");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  EXPECT_TRUE(manager.Unregister("").ok());
}

TEST(SharedMemory, DuplicateNameAlreadyExists) {
  SharedMemoryManager manager(true);
  PosixShmObject object(64);
  ASSERT_TRUE(manager.Register("input", object.key(), 0, 64).ok());
  Status again = manager.Register("input", object.key(), 0, 32);
  EXPECT_EQ(again.code(), StatusCode::kAlreadyExists);
  EXPECT_NE(again.message().find("'input'"), std::string::npos) << again.message();

  auto status = manager.GetStatus("input");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ((*status)[0].byte_size, 64u);
}

TEST(SharedMemory, UnregisterUnknownName) {
  SharedMemoryManager manager(true);
  Status status = manager.Unregister("missing");
  EXPECT_EQ(status.code(), StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "shared memory region 'missing' is not registered");
}

TEST(SharedMemory, InvalidKeys) {
  SharedMemoryManager manager(true);
  const std::string keys[] = {
      "",       "noslash", "/a/b", "/", "//a", "/" + std::string(255, 'k'), "/a\nb", std::string("/a\0b", 4),
      "/a\x7f", "/.",      "/..",
  };
  for (const std::string& key : keys) {
    Status status = manager.Register("region", key, 0, 8);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << "key of " << key.size() << " bytes";
    EXPECT_NE(status.message().find("invalid shared memory key"), std::string::npos) << status.message();
  }
}

TEST(SharedMemory, LongestValidKey) {
  SharedMemoryManager manager(true);
  std::string key = UniqueShmKey();
  key.resize(255, 'k');
  PosixShmObject object(8, 0600, key);
  EXPECT_TRUE(manager.Register("region", object.key(), 0, 8).ok());
}

TEST(SharedMemory, InvalidNames) {
  SharedMemoryManager manager(true);
  PosixShmObject object(8);
  for (const std::string& name : {std::string(), std::string(257, 'n'), std::string("a\tb"),
                                  std::string("caf\xc3\xa9"), std::string("a\0b", 3)}) {
    Status status = manager.Register(name, object.key(), 0, 8);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << "name of " << name.size() << " bytes";
  }
  EXPECT_TRUE(manager.Register(std::string(256, 'n'), object.key(), 0, 8).ok());
  EXPECT_TRUE(manager.Register("with space", object.key(), 0, 8).ok());
}

TEST(SharedMemory, MessageEscapesControlCharacters) {
  SharedMemoryManager manager(true);
  Status status = manager.Unregister("bad\nname");
  EXPECT_EQ(status.code(), StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "shared memory region 'bad\\x0aname' is not registered");
}

TEST(SharedMemory, ZeroByteSize) {
  SharedMemoryManager manager(true);
  PosixShmObject object(8);
  Status status = manager.Register("region", object.key(), 0, 0);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("byte_size"), std::string::npos) << status.message();
}

TEST(SharedMemory, MissingKeyMessage) {
  SharedMemoryManager manager(true);
  PosixShmObject other(8);
  std::string key = UniqueShmKey();
  Status status = manager.Register("region", key, 0, 8);
  EXPECT_EQ(status.code(), StatusCode::kNotFound);
  EXPECT_NE(status.message().find("'" + key + "'"), std::string::npos) << status.message();
  EXPECT_EQ(status.message().find(other.key()), std::string::npos) << status.message();
}

// Registers `key` and returns the code and the message with the key replaced
// by "KEY", so that failures for different keys can be compared.
std::string RegisterOutcome(SharedMemoryManager& manager, const std::string& key) {
  Status status = manager.Register("region", key, 0, 8);
  std::string message = status.message();
  for (size_t at = message.find(key); at != std::string::npos; at = message.find(key)) {
    message.replace(at, key.size(), "KEY");
  }
  return std::string(StatusCodeName(status.code())) + ": " + message;
}

// Runs `body` in a child process that has dropped root to the user and group
// "nobody" (65534), and returns what it wrote to its output, or nullopt when
// the privileges could not be dropped.
std::optional<std::string> RunAsNobody(std::string (*body)(const std::string&, const std::string&),
                                       const std::string& missing_key, const std::string& denied_key) {
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) return std::nullopt;
  pid_t child = fork();
  if (child == 0) {
    close(pipe_fds[0]);
    if (setgroups(0, nullptr) != 0 || setgid(65534) != 0 || setuid(65534) != 0) _exit(77);
    std::string result = body(missing_key, denied_key);
    bool written = write(pipe_fds[1], result.data(), result.size()) == static_cast<ssize_t>(result.size());
    _exit(written ? 0 : 1);
  }
  close(pipe_fds[1]);
  std::string output;
  char buffer[4096];
  for (ssize_t n; (n = read(pipe_fds[0], buffer, sizeof(buffer))) > 0;)
    output.append(buffer, static_cast<size_t>(n));
  close(pipe_fds[0]);
  int wait_status = 0;
  waitpid(child, &wait_status, 0);
  if (!WIFEXITED(wait_status) || WEXITSTATUS(wait_status) != 0) return std::nullopt;
  return output;
}

std::string CompareMissingAndDenied(const std::string& missing_key, const std::string& denied_key) {
  SharedMemoryManager manager(true);
  return RegisterOutcome(manager, missing_key) + "\n" + RegisterOutcome(manager, denied_key);
}

TEST(SharedMemory, DeniedKeyReadsLikeMissingKey) {
  std::string missing_key = UniqueShmKey();
  std::string expected =
      "NOT_FOUND: failed to open shared memory key 'KEY': it does not exist or the server is not allowed "
      "to open it read-write; create it with shm_open and give the server's user read-write access";

  if (geteuid() != 0) {
    PosixShmObject denied(8, 0);
    SharedMemoryManager manager(true);
    EXPECT_EQ(RegisterOutcome(manager, missing_key), expected);
    EXPECT_EQ(RegisterOutcome(manager, denied.key()), expected);
    return;
  }

  // Root opens any object, so a child that drops to "nobody" makes the
  // permission-denied case happen.
  PosixShmObject denied(8, 0600);
  std::optional<std::string> outcomes = RunAsNobody(CompareMissingAndDenied, missing_key, denied.key());
  if (!outcomes) GTEST_SKIP() << "cannot drop root privileges in a child process here";
  EXPECT_EQ(*outcomes, expected + "\n" + expected);
}

TEST(SharedMemory, RegionPastObjectEnd) {
  SharedMemoryManager manager(true);
  PosixShmObject object(4096);
  struct Case {
    uint64_t offset;
    uint64_t byte_size;
  };
  for (Case c :
       {Case{0, 4097}, Case{4096, 1}, Case{1, 4096}, Case{kMax, 1}, Case{1, kMax}, Case{kMax, kMax}}) {
    Status status = manager.Register("region", object.key(), c.offset, c.byte_size);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << c.offset << " + " << c.byte_size;
    EXPECT_NE(status.message().find("4096 bytes"), std::string::npos) << status.message();
  }
  EXPECT_TRUE(manager.Register("last-byte", object.key(), 4095, 1).ok());
  EXPECT_TRUE(manager.Register("whole", object.key(), 0, 4096).ok());
}

TEST(SharedMemory, UnalignedRegistrationOffset) {
  SharedMemoryManager manager(true);
  PosixShmObject object(3 * 4096);
  object.Write(5000, "registered bytes");
  ASSERT_TRUE(manager.Register("region", object.key(), 5000, 16).ok());

  auto view = manager.Map({"region", 0, std::nullopt});
  ASSERT_TRUE(view.ok()) << view.status().ToString();
  EXPECT_EQ(ViewBytes(*view), "registered bytes");
}

TEST(SharedMemory, MapRangesInsideRegion) {
  SharedMemoryManager manager(true);
  PosixShmObject object(110);
  object.Write(10, "0123456789");
  // The region is object bytes [10, 110); reference offsets count from 10.
  ASSERT_TRUE(manager.Register("region", object.key(), 10, 100).ok());

  auto whole = manager.Map({"region", 0, std::nullopt});
  ASSERT_TRUE(whole.ok()) << whole.status().ToString();
  EXPECT_EQ(whole->bytes.size(), 100u);
  EXPECT_EQ(ViewBytes(*whole).substr(0, 10), "0123456789");

  auto exact = manager.Map({"region", 0, 100});
  ASSERT_TRUE(exact.ok()) << exact.status().ToString();
  EXPECT_EQ(exact->bytes.size(), 100u);

  auto middle = manager.Map({"region", 2, 3});
  ASSERT_TRUE(middle.ok()) << middle.status().ToString();
  EXPECT_EQ(ViewBytes(*middle), "234");

  auto tail = manager.Map({"region", 90, std::nullopt});
  ASSERT_TRUE(tail.ok()) << tail.status().ToString();
  EXPECT_EQ(tail->bytes.size(), 10u);

  auto at_end = manager.Map({"region", 100, 0});
  ASSERT_TRUE(at_end.ok()) << at_end.status().ToString();
  EXPECT_TRUE(at_end->bytes.empty());

  auto rest_at_end = manager.Map({"region", 100, std::nullopt});
  ASSERT_TRUE(rest_at_end.ok()) << rest_at_end.status().ToString();
  EXPECT_TRUE(rest_at_end->bytes.empty());
}

TEST(SharedMemory, MapRangesPastRegionEnd) {
  SharedMemoryManager manager(true);
  PosixShmObject object(110);
  ASSERT_TRUE(manager.Register("region", object.key(), 10, 100).ok());

  const SharedMemoryReference references[] = {
      {"region", 100, 1},  {"region", 101, std::nullopt}, {"region", 101, 0},  {"region", 90, 11},
      {"region", 0, 101},  {"region", kMax, 1},           {"region", 1, kMax}, {"region", kMax, std::nullopt},
      {"region", kMax, 0},
  };
  for (const SharedMemoryReference& reference : references) {
    auto view = manager.Map(reference);
    EXPECT_EQ(view.status().code(), StatusCode::kInvalidArgument)
        << reference.offset << " + " << reference.byte_size.value_or(0);
    EXPECT_NE(view.status().message().find("'region'"), std::string::npos) << view.status().message();
    EXPECT_NE(view.status().message().find("100 bytes"), std::string::npos) << view.status().message();
  }

  auto view = manager.Map({"region", 90, 11});
  EXPECT_EQ(view.status().message(),
            "shared memory region 'region': offset 90 + byte_size 11 passes the end of the region, which has "
            "100 bytes");
}

TEST(SharedMemory, MapUnknownRegion) {
  SharedMemoryManager manager(true);
  auto view = manager.Map({"nowhere", 0, 4});
  EXPECT_EQ(view.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(view.status().message(), "shared memory region 'nowhere' is not registered");
}

TEST(SharedMemory, ViewOutlivesUnregister) {
  PosixShmObject object(64);
  object.Write(0, "client");
  RegionView view;
  {
    SharedMemoryManager manager(true);
    ASSERT_TRUE(manager.Register("region", object.key(), 0, 64).ok());
    auto mapped = manager.Map({"region", 0, 6});
    ASSERT_TRUE(mapped.ok()) << mapped.status().ToString();
    view = std::move(*mapped);
    ASSERT_TRUE(manager.Unregister("region").ok());
    EXPECT_EQ(manager.GetStatus("region").status().code(), StatusCode::kNotFound);
  }

  // The manager is destroyed as well, so only the view keeps the mapping.
  EXPECT_EQ(ViewBytes(view), "client");
  std::memcpy(view.bytes.data(), "server", 6);
  EXPECT_EQ(object.Read(0, 6), "server");
  object.Write(0, "again!");
  EXPECT_EQ(ViewBytes(view), "again!");
}

TEST(SharedMemory, ViewOutlivesUnregisterAll) {
  SharedMemoryManager manager(true);
  PosixShmObject object(16);
  ASSERT_TRUE(manager.Register("region", object.key(), 0, 16).ok());
  auto view = manager.Map({"region", 0, std::nullopt});
  ASSERT_TRUE(view.ok());
  ASSERT_TRUE(manager.Unregister("").ok());
  std::memcpy(view->bytes.data(), "written", 7);
  EXPECT_EQ(object.Read(0, 7), "written");
}

TEST(SharedMemory, SameNameAfterUnregister) {
  SharedMemoryManager manager(true);
  PosixShmObject first(16);
  PosixShmObject second(16);
  first.Write(0, "first");
  second.Write(0, "second");
  ASSERT_TRUE(manager.Register("region", first.key(), 0, 16).ok());
  auto old_view = manager.Map({"region", 0, 5});
  ASSERT_TRUE(old_view.ok());
  ASSERT_TRUE(manager.Unregister("region").ok());
  ASSERT_TRUE(manager.Register("region", second.key(), 0, 16).ok());

  auto new_view = manager.Map({"region", 0, 6});
  ASSERT_TRUE(new_view.ok());
  EXPECT_EQ(ViewBytes(*new_view), "second");
  EXPECT_EQ(ViewBytes(*old_view), "first");
}

TEST(SharedMemory, DisabledManager) {
  SharedMemoryManager manager(false);
  PosixShmObject object(16);
  EXPECT_FALSE(manager.enabled());

  std::vector<Status> statuses = {
      manager.Register("region", object.key(), 0, 16),
      manager.Unregister("region"),
      manager.Unregister(""),
      manager.GetStatus("").status(),
      manager.GetStatus("region").status(),
      manager.Map({"region", 0, 16}).status(),
      InputFromSharedMemory(manager, "INPUT0", DataType::kUint8, {16}, {"region", 0, 16}).status(),
      WriteOutputToSharedMemory(manager, MakeOwnedTensor("OUTPUT0", DataType::kUint8, {1}, "x"),
                                {"region", 0, 16})
          .status(),
  };
  for (const Status& status : statuses) {
    EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition) << status.ToString();
    EXPECT_NE(status.message().find("--allow-shared-memory"), std::string::npos) << status.message();
  }
}

TEST(SharedMemory, ConcurrentRegisterMapUnregister) {
  SharedMemoryManager manager(true);
  PosixShmObject object(4096);
  constexpr int kThreads = 4;
  constexpr int kRounds = 200;
  std::vector<std::thread> threads;
  std::vector<int> failures(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::string name = "region-" + std::to_string(t);
      for (int round = 0; round < kRounds; ++round) {
        if (!manager.Register(name, object.key(), 0, 4096).ok()) ++failures[t];
        auto view = manager.Map({name, static_cast<uint64_t>(t), 1});
        if (!view.ok()) {
          ++failures[t];
          continue;
        }
        view->bytes[0] = static_cast<uint8_t>(t);
        if (!manager.Unregister(name).ok()) ++failures[t];
        if (!manager.GetStatus("").ok()) ++failures[t];
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(failures[t], 0) << "thread " << t;
    EXPECT_EQ(object.data()[t], t);
  }
}

}  // namespace
}  // namespace moat::shm
