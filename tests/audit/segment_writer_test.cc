// SegmentWriter: group commit, sync and batched durability, rotation by
// age, and the failed state after a write or sync error.
#include "audit/segment_writer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <condition_variable>
#include <filesystem>
#include <mutex>

#include "audit_test_util.h"
#include "segment_test_util.h"

namespace moat::audit {
namespace {

using ::testing::HasSubstr;
using testing::AppendAndWait;
using testing::ReadSegmentLog;
using testing::TempFolder;

// A sync function that counts its calls and, while closed, blocks them.
class SyncGate {
 public:
  std::function<int(int)> Function() {
    return [this](int fd) {
      std::unique_lock<std::mutex> lock(mutex_);
      ++calls_;
      changed_.notify_all();
      changed_.wait(lock, [&] { return open_; });
      return ::fdatasync(fd);
    };
  }
  void Close() {
    std::lock_guard<std::mutex> lock(mutex_);
    open_ = false;
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }
  int calls() {
    std::lock_guard<std::mutex> lock(mutex_);
    return calls_;
  }
  void ResetCalls() {
    std::lock_guard<std::mutex> lock(mutex_);
    calls_ = 0;
  }
  // Waits until the sync function has been called `count` times in all.
  void WaitForCalls(int count) {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return calls_ >= count; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool open_ = true;
  int calls_ = 0;
};

// Opens a writer whose syncs go through `gate`, counted from zero after Open.
std::unique_ptr<SegmentWriter> OpenGated(const std::string& folder, SyncGate& gate, SegmentWriterOptions options = {}) {
  options.sync_function = gate.Function();
  auto writer = SegmentWriter::Open(folder, options);
  EXPECT_TRUE(writer.ok()) << writer.status().ToString();
  gate.ResetCalls();
  return writer.ok() ? std::move(*writer) : nullptr;
}

// A clock that moves only when the test advances it.
struct FakeClock {
  std::atomic<int64_t> now_ms{0};
  std::function<std::chrono::steady_clock::time_point()> Function() {
    return [this] { return std::chrono::steady_clock::time_point(std::chrono::milliseconds(now_ms.load())); };
  }
};

TEST(SegmentWriter, GroupCommitSharesOneSync) {
  TempFolder temp;
  SyncGate gate;
  std::unique_ptr<SegmentWriter> writer = OpenGated(temp.File("log"), gate);
  ASSERT_NE(writer, nullptr);

  // The first record's sync blocks, so the next 50 queue behind it.
  gate.Close();
  auto first = writer->Append("first");
  gate.WaitForCalls(1);
  std::vector<std::future<StatusOr<AppendResult>>> queued;
  for (int i = 0; i < 50; ++i) queued.push_back(writer->Append("queued " + std::to_string(i)));
  gate.Open();

  ASSERT_TRUE(first.get().ok());
  for (size_t i = 0; i < queued.size(); ++i) {
    StatusOr<AppendResult> result = queued[i].get();
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    EXPECT_EQ(result->sequence, i + 1);
  }
  EXPECT_EQ(gate.calls(), 2);
  EXPECT_EQ(ReadSegmentLog(temp.File("log")).size(), 51u);
}

TEST(SegmentWriter, ConcurrentAppendsGetDistinctSequences) {
  TempFolder temp;
  auto writer = SegmentWriter::Open(temp.File("log"));
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  std::vector<std::thread> threads;
  std::vector<std::vector<uint64_t>> sequences(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        sequences[t].push_back(AppendAndWait(**writer, "thread " + std::to_string(t)).sequence);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  std::vector<bool> seen(100, false);
  for (const auto& list : sequences) {
    for (uint64_t sequence : list) {
      ASSERT_LT(sequence, 100u);
      EXPECT_FALSE(seen[sequence]) << "sequence " << sequence << " returned twice";
      seen[sequence] = true;
    }
  }
  EXPECT_EQ(ReadSegmentLog(temp.File("log")).size(), 100u);
}

TEST(SegmentWriter, SyncModeCompletesOnlyAfterSync) {
  TempFolder temp;
  SyncGate gate;
  SegmentWriterOptions options;
  std::unique_ptr<SegmentWriter> writer = OpenGated(temp.File("log"), gate, options);
  ASSERT_NE(writer, nullptr);

  gate.Close();
  auto result = writer->Append("record");
  gate.WaitForCalls(1);
  EXPECT_EQ(result.wait_for(std::chrono::seconds(0)), std::future_status::timeout);
  gate.Open();
  ASSERT_TRUE(result.get().ok());
}

TEST(SegmentWriter, BatchedSyncsEveryNRecords) {
  TempFolder temp;
  SyncGate gate;
  FakeClock clock;
  SegmentWriterOptions options;
  options.durability = SegmentDurability::kBatched;
  options.batch_max_records = 5;
  options.batch_max_delay = std::chrono::hours(1);
  options.clock = clock.Function();
  std::unique_ptr<SegmentWriter> writer = OpenGated(temp.File("log"), gate, options);
  ASSERT_NE(writer, nullptr);

  // Completes at once: no sync has run for these.
  gate.Close();
  for (int i = 0; i < 4; ++i) {
    auto result = writer->Append("record " + std::to_string(i));
    ASSERT_EQ(result.wait_for(std::chrono::seconds(0)), std::future_status::ready);
    EXPECT_EQ(result.get()->sequence, static_cast<uint64_t>(i));
  }
  EXPECT_EQ(gate.calls(), 0);

  // The fifth record fills the window of 5 and forces one sync.
  ASSERT_TRUE(writer->Append("record 4").get().ok());
  gate.WaitForCalls(1);
  gate.Open();
  EXPECT_EQ(gate.calls(), 1);
  EXPECT_EQ(ReadSegmentLog(temp.File("log")).size(), 5u);
}

TEST(SegmentWriter, BatchedSyncsAfterMaxDelay) {
  TempFolder temp;
  SyncGate gate;
  FakeClock clock;
  SegmentWriterOptions options;
  options.durability = SegmentDurability::kBatched;
  options.batch_max_records = 1000;
  options.batch_max_delay = std::chrono::milliseconds(50);
  options.clock = clock.Function();
  std::unique_ptr<SegmentWriter> writer = OpenGated(temp.File("log"), gate, options);
  ASSERT_NE(writer, nullptr);

  ASSERT_TRUE(writer->Append("early").get().ok());
  clock.now_ms += 50;
  ASSERT_TRUE(writer->Append("late").get().ok());
  gate.WaitForCalls(1);
  EXPECT_EQ(ReadSegmentLog(temp.File("log")).size(), 2u);
}

TEST(SegmentWriter, FlushSyncsBatchedRecords) {
  TempFolder temp;
  SyncGate gate;
  SegmentWriterOptions options;
  options.durability = SegmentDurability::kBatched;
  options.batch_max_delay = std::chrono::hours(1);
  std::unique_ptr<SegmentWriter> writer = OpenGated(temp.File("log"), gate, options);
  ASSERT_NE(writer, nullptr);

  for (int i = 0; i < 3; ++i) ASSERT_TRUE(writer->Append("record").get().ok());
  ASSERT_TRUE(writer->Flush().ok());
  EXPECT_EQ(gate.calls(), 1);
}

TEST(SegmentWriter, RotatesByAge) {
  TempFolder temp;
  FakeClock clock;
  SegmentWriterOptions options;
  options.max_segment_age = std::chrono::minutes(10);
  options.clock = clock.Function();
  std::string folder = temp.File("log");
  auto writer = SegmentWriter::Open(folder, options);
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();

  AppendAndWait(**writer, "one");
  AppendAndWait(**writer, "two");
  EXPECT_FALSE(std::filesystem::exists(folder + "/" + SegmentFileName(2)));
  clock.now_ms += 10 * 60 * 1000;
  AppendAndWait(**writer, "three");
  EXPECT_TRUE(std::filesystem::exists(folder + "/" + SegmentFileName(2)));
  EXPECT_EQ(ReadSegmentLog(folder).size(), 3u);
}

TEST(SegmentWriter, RejectsEmptyAndOversizedRecords) {
  TempFolder temp;
  SegmentWriterOptions options;
  options.max_record_bytes = 10;
  auto writer = SegmentWriter::Open(temp.File("log"), options);
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  EXPECT_EQ((*writer)->Append("").get().status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ((*writer)->Append(std::string(11, 'x')).get().status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(AppendAndWait(**writer, std::string(10, 'x')).sequence, 0u);
}

// Lowers the soft file size limit while it lives, with SIGXFSZ ignored, so a
// write past the limit fails with EFBIG.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    old_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    EXPECT_EQ(::getrlimit(RLIMIT_FSIZE, &saved_), 0);
    rlimit limit = saved_;
    limit.rlim_cur = bytes;
    EXPECT_EQ(::setrlimit(RLIMIT_FSIZE, &limit), 0);
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &saved_);
    std::signal(SIGXFSZ, old_handler_);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;

 private:
  rlimit saved_{};
  void (*old_handler_)(int) = SIG_DFL;
};

TEST(SegmentWriter, FileSizeLimitFailsThenRecovers) {
  TempFolder temp;
  std::string folder = temp.File("log");
  auto writer = SegmentWriter::Open(folder);
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  AppendAndWait(**writer, "kept");
  uint64_t size = std::filesystem::file_size(folder + "/" + SegmentFileName(1));

  {
    // Room for 20 of the next frame's 108 bytes: a torn frame stays behind.
    FileSizeLimit limit(size + 20);
    StatusOr<AppendResult> failed = (*writer)->Append(std::string(100, 'x')).get();
    ASSERT_FALSE(failed.ok());
    EXPECT_EQ(failed.status().code(), StatusCode::kUnavailable);
    EXPECT_THAT(failed.status().message(), HasSubstr("write failed"));
    EXPECT_FALSE((*writer)->status().ok());
    EXPECT_EQ((*writer)->Append("after").get().status().code(), StatusCode::kUnavailable);
  }

  RecoveryReport report;
  ASSERT_TRUE((*writer)->Recover(&report).ok());
  EXPECT_EQ(report.cut_bytes, 20u);
  EXPECT_EQ(report.records, 1u);
  EXPECT_EQ(AppendAndWait(**writer, "after recovery").sequence, 1u);
  writer->reset();

  std::vector<testing::StoredRecord> records = ReadSegmentLog(folder);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1].bytes, "after recovery");
}

TEST(SegmentWriter, SyncFailureFailsQueuedCallers) {
  TempFolder temp;
  std::string folder = temp.File("log");
  std::atomic<bool> failing{false};
  SegmentWriterOptions options;
  options.sync_function = [&](int fd) {
    if (failing) {
      errno = EIO;
      return -1;
    }
    return ::fdatasync(fd);
  };
  auto writer = SegmentWriter::Open(folder, options);
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();

  failing = true;
  StatusOr<AppendResult> failed = (*writer)->Append("lost").get();
  ASSERT_FALSE(failed.ok());
  EXPECT_THAT(failed.status().message(), HasSubstr("fdatasync failed"));
  EXPECT_FALSE((*writer)->Flush().ok());

  failing = false;
  ASSERT_TRUE((*writer)->Recover().ok());
  // The unsynced record reached the file, so it stays: the disk decides.
  AppendResult next = AppendAndWait(**writer, "next");
  EXPECT_EQ(next.sequence, 1u);
  EXPECT_EQ(ReadSegmentLog(folder).size(), 2u);
}

}  // namespace
}  // namespace moat::audit
