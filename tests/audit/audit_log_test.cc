#include "audit/audit_log.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <csignal>

#include <set>
#include <thread>

#include "audit/record.h"
#include "audit/verify.h"
#include "audit_test_util.h"
#include "common/crypto.h"

namespace moat::audit {
namespace {

using ::testing::HasSubstr;
using testing::InferenceEvent;
using testing::ReadAll;
using testing::SplitLines;
using ::testing::StartsWith;
using testing::TempFolder;
using testing::TestNode;
using testing::WriteAll;

TEST(AuditLog, AppendedChainVerifies) {
  TempFolder folder;
  std::string path = folder.File("audit.log");
  auto log = AuditLog::Open(path, TestNode());
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  for (int i = 0; i < 4; ++i) ASSERT_TRUE((*log)->Append(InferenceEvent(i)).ok());
  EXPECT_EQ((*log)->record_count(), 4u);

  StatusOr<VerifyReport> report = VerifyAuditLogFile(path);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->records, 4u);
}

TEST(AuditLog, RecordHoldsEventFields) {
  TempFolder folder;
  std::string path = folder.File("audit.log");
  auto log = AuditLog::Open(path, TestNode(), AuditOptions{.sync = false});
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  AuditEvent event = InferenceEvent(7);
  event.type = record_type::kRejected;
  event.outcome = "INVALID_ARGUMENT";
  event.error = "tensor 'INPUT0': shape [2] does not match the model's shape [-1,16]";
  ASSERT_TRUE((*log)->Append(event).ok());

  std::string line = ReadAll(path);
  rapidjson::Document record;
  record.Parse(line.data(), line.size());
  ASSERT_FALSE(record.HasParseError()) << line;
  EXPECT_EQ(record["format"].GetInt64(), 1);
  EXPECT_EQ(record["seq"].GetUint64(), 0u);
  EXPECT_STREQ(record["type"].GetString(), "rejected");
  EXPECT_EQ(std::string(record["time"].GetString()).size(), 27u);
  EXPECT_STREQ(record["request_id"].GetString(), "req-7");
  EXPECT_STREQ(record["model"].GetString(), "add_sub");
  EXPECT_EQ(record["version"].GetInt64(), 1);
  EXPECT_EQ(record["bundle_digest"].GetString(), std::string(64, 'b'));
  EXPECT_EQ(record["input_digest"].GetString(), std::string(64, 'c'));
  EXPECT_EQ(record["output_digest"].GetString(), std::string(64, 'd'));
  EXPECT_STREQ(record["node"]["host"].GetString(), "node-a");
  EXPECT_STREQ(record["node"]["onnxruntime_version"].GetString(), "1.29.0");
  EXPECT_STREQ(record["node"]["cpu_model"].GetString(), "Test CPU @ 1.00GHz");
  EXPECT_STREQ(record["outcome"].GetString(), "INVALID_ARGUMENT");
  EXPECT_EQ(record["error"].GetString(), event.error);
  EXPECT_EQ(record["latency_us"].GetInt64(), 107);
  EXPECT_STREQ(record["protocol"].GetString(), "http");
  EXPECT_STREQ(record["peer"].GetString(), "127.0.0.1:40000");
  EXPECT_EQ(record["prev_sha256"].GetString(), kZeroHash);
}

TEST(AuditLog, ReopenContinuesChain) {
  TempFolder folder;
  std::string path = folder.File("audit.log");
  testing::WriteTestLog(path, 3);

  auto log = AuditLog::Open(path, TestNode(), AuditOptions{.sync = false});
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  EXPECT_EQ((*log)->record_count(), 3u);
  ASSERT_TRUE((*log)->Append(InferenceEvent(3)).ok());
  ASSERT_TRUE((*log)->Append(InferenceEvent(4)).ok());
  log->reset();

  std::vector<std::string> lines = SplitLines(ReadAll(path));
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_THAT(lines[3], HasSubstr("\"seq\":3,"));
  EXPECT_THAT(lines[3], HasSubstr("\"prev_sha256\":\"" + Sha256Hex(lines[2]) + "\""));
  StatusOr<VerifyReport> report = VerifyAuditLogFile(path);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->records, 5u);
}

TEST(AuditLog, OpensEmptyExistingFile) {
  TempFolder folder;
  std::string path = folder.File("audit.log");
  WriteAll(path, "");
  auto log = AuditLog::Open(path, TestNode());
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  EXPECT_EQ((*log)->record_count(), 0u);
}

TEST(AuditLog, ConcurrentAppendsAllRecorded) {
  TempFolder folder;
  std::string path = folder.File("audit.log");
  auto log = AuditLog::Open(path, TestNode());
  ASSERT_TRUE(log.ok()) << log.status().ToString();

  constexpr int kThreads = 6;
  constexpr int kPerThread = 40;
  std::vector<std::thread> threads;
  std::vector<int> failures(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        if (!(*log)->Append(InferenceEvent(t * kPerThread + i)).ok()) ++failures[t];
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(failures[t], 0) << "thread " << t;

  StatusOr<VerifyReport> report = VerifyAuditLogFile(path);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->records, uint64_t{kThreads * kPerThread});

  std::set<std::string> ids;
  for (const std::string& line : SplitLines(ReadAll(path))) {
    rapidjson::Document record;
    record.Parse(line.data(), line.size());
    ASSERT_FALSE(record.HasParseError());
    ids.insert(record["request_id"].GetString());
  }
  EXPECT_EQ(ids.size(), size_t{kThreads * kPerThread});
  for (int i = 0; i < kThreads * kPerThread; ++i) EXPECT_EQ(ids.count("req-" + std::to_string(i)), 1u) << i;
}

TEST(AuditLog, NewFileHasMode0600) {
  TempFolder folder;
  std::string path = folder.File("audit.log");
  // Without fchmod this umask would leave the file read-only (0400).
  mode_t previous = ::umask(0277);
  auto log = AuditLog::Open(path, TestNode());
  ::umask(previous);
  ASSERT_TRUE(log.ok()) << log.status().ToString();

  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_TRUE((*log)->Append(InferenceEvent(0)).ok());
}

TEST(AuditLog, OpenRejectsTornLastLine) {
  TempFolder folder;
  std::string path = folder.File("audit.log");
  std::string contents = testing::WriteTestLog(path, 3);
  WriteAll(path, contents.substr(0, contents.size() - 20));

  auto log = AuditLog::Open(path, TestNode());
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(log.status().message(),
              StartsWith("audit log " + path + ": record 2 (line 3): torn last line"));
  EXPECT_THAT(log.status().message(), HasSubstr(". A damaged log cannot be continued"));
}

TEST(AuditLog, OpenRejectsBrokenChain) {
  TempFolder folder;
  std::string path = folder.File("audit.log");
  std::string contents = testing::WriteTestLog(path, 3);
  contents.replace(contents.find("req-0"), 5, "req-X");
  WriteAll(path, contents);

  auto log = AuditLog::Open(path, TestNode());
  ASSERT_FALSE(log.ok());
  EXPECT_THAT(log.status().message(),
              StartsWith("audit log " + path + ": record 1 (line 2): previous-hash mismatch"));
}

TEST(AuditLog, OpenRejectsSecondWriter) {
  TempFolder folder;
  std::string path = folder.File("audit.log");
  auto first = AuditLog::Open(path, TestNode());
  ASSERT_TRUE(first.ok()) << first.status().ToString();

  auto second = AuditLog::Open(path, TestNode());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(second.status().message(),
            "audit log " + path + ": already open for writing by another audit log");

  first->reset();
  EXPECT_TRUE(AuditLog::Open(path, TestNode()).ok());
}

TEST(AuditLog, OpenRejectsSymlink) {
  TempFolder folder;
  std::string target = folder.File("target.log");
  WriteAll(target, "");
  std::string link = folder.File("audit.log");
  std::filesystem::create_symlink(target, link);

  auto log = AuditLog::Open(link, TestNode());
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().message(), "audit log " + link + ": is a symbolic link");
}

TEST(AuditLog, AppendRejectsEmptyType) {
  TempFolder folder;
  auto log = AuditLog::Open(folder.File("audit.log"), TestNode());
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  AuditEvent event = InferenceEvent(0);
  event.type.clear();
  Status status = (*log)->Append(event);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ((*log)->record_count(), 0u);
}

TEST(AuditLog, AppendRejectsOverlongRecord) {
  TempFolder folder;
  std::string path = folder.File("audit.log");
  auto log = AuditLog::Open(path, TestNode(), AuditOptions{.sync = false});
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  ASSERT_TRUE((*log)->Append(InferenceEvent(0)).ok());

  AuditEvent big = InferenceEvent(1);
  big.error = std::string(kMaxRecordBytes, 'e');
  Status status = (*log)->Append(big);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("over the maximum of " + std::to_string(kMaxRecordBytes)));
  EXPECT_EQ((*log)->record_count(), 1u);

  ASSERT_TRUE((*log)->Append(InferenceEvent(2)).ok());
  StatusOr<VerifyReport> report = VerifyAuditLogFile(path);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->records, 2u);
}

// Lowers the soft file size limit for its lifetime. SIGXFSZ is ignored, so a
// write past the limit fails with EFBIG instead of ending the test process.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    previous_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    EXPECT_EQ(::getrlimit(RLIMIT_FSIZE, &previous_), 0);
    rlimit lowered = previous_;
    lowered.rlim_cur = bytes;
    EXPECT_EQ(::setrlimit(RLIMIT_FSIZE, &lowered), 0);
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &previous_);
    std::signal(SIGXFSZ, previous_handler_);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;

 private:
  rlimit previous_{};
  void (*previous_handler_)(int) = SIG_DFL;
};

TEST(AuditLog, FailedWriteStopsLaterAppends) {
  TempFolder folder;
  std::string path = folder.File("audit.log");
  auto log = AuditLog::Open(path, TestNode());
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  ASSERT_TRUE((*log)->Append(InferenceEvent(0)).ok());
  size_t size = ReadAll(path).size();

  {
    // Room for part of the next record only, so its write is cut short.
    FileSizeLimit limit(size + 100);
    Status failed = (*log)->Append(InferenceEvent(1));
    EXPECT_EQ(failed.code(), StatusCode::kFailedPrecondition);
    EXPECT_THAT(failed.message(), StartsWith("audit log " + path + ": write failed: "));
  }

  Status later = (*log)->Append(InferenceEvent(2));
  EXPECT_EQ(later.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(later.message(), HasSubstr("no longer writable after an earlier failure"));
  EXPECT_EQ((*log)->record_count(), 1u);
  log->reset();

  EXPECT_EQ(ReadAll(path).size(), size + 100);
  auto reopened = AuditLog::Open(path, TestNode());
  ASSERT_FALSE(reopened.ok());
  EXPECT_THAT(reopened.status().message(),
              StartsWith("audit log " + path + ": record 1 (line 2): torn last line"));
}

TEST(AuditLog, StoresInvalidUtf8AsReplacement) {
  TempFolder folder;
  std::string path = folder.File("audit.log");
  auto log = AuditLog::Open(path, TestNode(), AuditOptions{.sync = false});
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  AuditEvent event = InferenceEvent(0);
  event.request_id = "id-\xFF\xFE";
  event.error = std::string("quote \" backslash \\ newline \n nul \0 end", 40);
  ASSERT_TRUE((*log)->Append(event).ok());

  std::string line = ReadAll(path);
  EXPECT_EQ(SplitLines(line).size(), 1u);
  rapidjson::Document record;
  record.Parse(line.data(), line.size());
  ASSERT_FALSE(record.HasParseError());
  EXPECT_STREQ(record["request_id"].GetString(), "id-\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(std::string(record["error"].GetString(), record["error"].GetStringLength()), event.error);
  EXPECT_TRUE(VerifyAuditLogFile(path).ok());
}

}  // namespace
}  // namespace moat::audit
