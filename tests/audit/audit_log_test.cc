#include "audit/audit_log.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>

#include "audit/audit_keys.h"
#include "audit/segment.h"
#include "audit_test_util.h"
#include "common/crypto.h"
#include "segment_test_util.h"
#include "testing/audit_records.h"

namespace moat::audit {
namespace {

using ::testing::HasSubstr;
using testing::TempFolder;

std::string LogFolder(const TempFolder& temp) { return temp.File("audit"); }

AuditLogOptions Options(const TempFolder& temp, AuditDurability durability = AuditDurability::kSync) {
  AuditLogOptions options = moat::testing::TestAuditOptions(LogFolder(temp), durability);
  options.host = "node-a";
  // Checkpoints only when a test requests one or the log closes, so counts are exact.
  options.checkpoint_every_records = 0;
  options.checkpoint_every = std::chrono::milliseconds(0);
  return options;
}

std::unique_ptr<AuditLog> OpenLog(AuditLogOptions options) {
  auto log = AuditLog::Open(std::move(options));
  EXPECT_TRUE(log.ok()) << log.status().ToString();
  return log.ok() ? std::move(log).value() : nullptr;
}

std::vector<Checkpoint> ReadCheckpoints(const std::string& folder) {
  std::vector<Checkpoint> checkpoints;
  std::string text = testing::ReadAll(folder + "/" + std::string(kAuditCheckpointsFile));
  for (size_t start = 0, end; (end = text.find('\n', start)) != std::string::npos; start = end + 1) {
    auto checkpoint = CheckpointFromLine(text.substr(start, end - start));
    EXPECT_TRUE(checkpoint.ok()) << checkpoint.status().ToString();
    if (checkpoint.ok()) checkpoints.push_back(*checkpoint);
  }
  return checkpoints;
}

TEST(AuditLog, ReceiptsNameSealedRecordsInOrder) {
  TempFolder temp;
  std::vector<AuditReceipt> receipts;
  {
    auto log = OpenLog(Options(temp));
    ASSERT_NE(log, nullptr);
    for (int i = 0; i < 3; ++i) {
      auto receipt = log->Append(testing::InferenceEvent(i));
      ASSERT_TRUE(receipt.ok()) << receipt.status().ToString();
      receipts.push_back(*receipt);
    }
  }
  std::vector<testing::StoredRecord> stored = testing::ReadSegmentLog(LogFolder(temp));
  ASSERT_EQ(stored.size(), 3u);
  std::vector<std::string> plain = moat::testing::ReadAuditRecords(LogFolder(temp));
  ASSERT_EQ(plain.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(receipts[i].sequence, i);
    EXPECT_EQ(receipts[i].record_hash, LeafHash(stored[i].bytes));
    // Stored bytes are sealed: no field of the record is readable in them.
    EXPECT_EQ(stored[i].bytes.find("req-"), std::string::npos);
    rapidjson::Document record;
    record.Parse(plain[i].data(), plain[i].size());
    ASSERT_FALSE(record.HasParseError()) << plain[i];
    EXPECT_EQ(record["seq"].GetUint64(), i);
    EXPECT_EQ(std::string(record["request_id"].GetString()), "req-" + std::to_string(i));
    EXPECT_STREQ(record["node"].GetString(), "node-a");
  }
  std::string text = FormatReceipt(receipts[2]);
  EXPECT_EQ(text, "moat-receipt-v1:" + HexEncode(receipts[2].log_id) + ":2:" + HexEncode(receipts[2].record_hash));
}

TEST(AuditLog, CloseSignsACheckpointOverEveryRecord) {
  TempFolder temp;
  AuditLogOptions options = Options(temp);
  auto public_key = options.signing_key->public_key();
  {
    auto log = OpenLog(options);
    ASSERT_NE(log, nullptr);
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(log->Append(testing::InferenceEvent(i)).ok());
    ASSERT_TRUE(log->CheckpointNow().ok());
    ASSERT_TRUE(log->Append(testing::InferenceEvent(5)).ok());
    EXPECT_EQ(log->stats().checkpoints, 1u);
    EXPECT_EQ(log->stats().checkpointed_records, 5u);
  }
  std::vector<Checkpoint> checkpoints = ReadCheckpoints(LogFolder(temp));
  ASSERT_EQ(checkpoints.size(), 2u);
  MerkleTree tree;
  for (const auto& record : testing::ReadSegmentLog(LogFolder(temp))) tree.Append(LeafHash(record.bytes));
  CheckpointChain chain;
  for (const Checkpoint& checkpoint : checkpoints) {
    EXPECT_TRUE(VerifyCheckpoint(checkpoint, public_key).ok());
    EXPECT_TRUE(chain.Append(checkpoint, tree).ok());
  }
  EXPECT_EQ(checkpoints[0].fields.tree_size, 5u);
  EXPECT_EQ(checkpoints[1].fields.tree_size, 6u);
  EXPECT_EQ(checkpoints[1].fields.root, tree.Root(6).value());
  // The folder names the key that signs.
  auto stored_key = bundle::PublicKey::FromPem(testing::ReadAll(LogFolder(temp) + "/node.pub"), "node.pub");
  ASSERT_TRUE(stored_key.ok());
  EXPECT_EQ(stored_key->raw(), public_key.raw());
}

TEST(AuditLog, CheckpointThreadFollowsTheRecordCount) {
  TempFolder temp;
  AuditLogOptions options = Options(temp, AuditDurability::kBatched);
  options.checkpoint_every_records = 4;
  auto log = OpenLog(options);
  ASSERT_NE(log, nullptr);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(log->Append(testing::InferenceEvent(i)).ok());
  // The thread signs on its own; wait for it with a generous bound.
  for (int i = 0; i < 1000 && log->stats().checkpoints == 0; ++i) ::usleep(10000);
  EXPECT_EQ(log->stats().checkpoints, 1u);
  EXPECT_EQ(log->stats().checkpointed_records, 4u);
}

TEST(AuditLog, ReopenContinuesSequenceAndChain) {
  TempFolder temp;
  AuditLogOptions options = Options(temp);
  {
    auto log = OpenLog(options);
    ASSERT_NE(log, nullptr);
    ASSERT_TRUE(log->Append(testing::InferenceEvent(0)).ok());
  }
  {
    auto log = OpenLog(options);
    ASSERT_NE(log, nullptr);
    auto receipt = log->Append(testing::InferenceEvent(1));
    ASSERT_TRUE(receipt.ok());
    EXPECT_EQ(receipt->sequence, 1u);
  }
  std::vector<Checkpoint> checkpoints = ReadCheckpoints(LogFolder(temp));
  ASSERT_EQ(checkpoints.size(), 2u);
  EXPECT_EQ(checkpoints[1].fields.previous_hash, CheckpointHash(checkpoints[0]));
  EXPECT_EQ(moat::testing::ReadAuditRecords(LogFolder(temp)).size(), 2u);
}

TEST(AuditLog, TornTailIsCutAndRecorded) {
  TempFolder temp;
  AuditLogOptions options = Options(temp);
  {
    auto log = OpenLog(options);
    ASSERT_NE(log, nullptr);
    ASSERT_TRUE(log->Append(testing::InferenceEvent(0)).ok());
    ASSERT_TRUE(log->CheckpointNow().ok());
    ASSERT_TRUE(log->Append(testing::InferenceEvent(1)).ok());
    // A crash now: no final checkpoint, and half a frame at the end.
    ASSERT_TRUE(log->Close().ok());
  }
  std::string segment = LogFolder(temp) + "/" + SegmentFileName(1);
  std::string contents = testing::ReadAll(segment);
  testing::WriteAll(segment, contents + std::string("\x40\x00\x00\x00\x01\x02", 6));
  {
    auto log = OpenLog(options);
    ASSERT_NE(log, nullptr);
  }
  std::vector<std::string> records = moat::testing::ReadAuditRecords(LogFolder(temp));
  ASSERT_EQ(records.size(), 3u);
  EXPECT_THAT(records[2], HasSubstr(R"("type":"log_recovered")"));
  EXPECT_THAT(records[2], HasSubstr(R"("cut_bytes":6)"));
  EXPECT_THAT(records[2], HasSubstr(SegmentFileName(1)));
}

TEST(AuditLog, RemovedRecordsStopTheStart) {
  TempFolder temp;
  AuditLogOptions options = Options(temp);
  {
    auto log = OpenLog(options);
    ASSERT_NE(log, nullptr);
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(log->Append(testing::InferenceEvent(i)).ok());
  }
  std::string segment = LogFolder(temp) + "/" + SegmentFileName(1);
  std::string contents = testing::ReadAll(segment);
  std::vector<size_t> frames = testing::FrameOffsets(contents);
  ASSERT_EQ(frames.size(), 3u);
  testing::WriteAll(segment, contents.substr(0, frames[2]));
  auto log = AuditLog::Open(options);
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(log.status().message(), HasSubstr("contains 2 valid records but checkpoint 0 (line 1 of checkpoints, the latest, 3 records)"));
  EXPECT_THAT(log.status().message(), HasSubstr("records were removed, cut or changed, or an older segment was restored"));
  // The rejected start changed nothing: no torn tail cut, no new segment.
  EXPECT_EQ(testing::ReadAll(segment).size(), frames[2]);
  EXPECT_FALSE(std::filesystem::exists(LogFolder(temp) + "/" + SegmentFileName(2)));
}

TEST(AuditLog, ChangedRecordStopsTheStart) {
  TempFolder temp;
  AuditLogOptions options = Options(temp);
  {
    auto log = OpenLog(options);
    ASSERT_NE(log, nullptr);
    ASSERT_TRUE(log->Append(testing::InferenceEvent(0)).ok());
    ASSERT_TRUE(log->Append(testing::InferenceEvent(1)).ok());
  }
  // Change one byte of the first record and fix its checksum, as an editor
  // would: only the signed root can tell.
  std::string segment = LogFolder(temp) + "/" + SegmentFileName(1);
  std::string changed = testing::ReadAll(segment);
  std::vector<size_t> frames = testing::FrameOffsets(changed);
  ASSERT_EQ(frames.size(), 2u);
  size_t at = frames[0] + kFrameHeaderBytes + 3;
  changed[at] = static_cast<char>(changed[at] ^ 1);
  uint32_t length = static_cast<uint32_t>(frames[1] - frames[0] - kFrameHeaderBytes);
  uint32_t crc = Crc32c(std::string_view(changed).substr(frames[0] + kFrameHeaderBytes, length));
  for (int i = 0; i < 4; ++i) changed[frames[0] + 4 + i] = static_cast<char>((crc >> (8 * i)) & 0xFF);
  testing::WriteAll(segment, changed);
  auto log = AuditLog::Open(options);
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(log.status().message(), HasSubstr("the first 2 records do not give the root of checkpoint 0 (line 1 of checkpoints"));
}

TEST(AuditLog, AnotherNodeKeyIsRefused) {
  TempFolder temp;
  AuditLogOptions options = Options(temp);
  {
    auto log = OpenLog(options);
    ASSERT_NE(log, nullptr);
  }
  auto other = bundle::PrivateKey::Generate();
  ASSERT_TRUE(other.ok());
  options.signing_key = std::make_shared<bundle::PrivateKey>(std::move(other).value());
  auto log = AuditLog::Open(options);
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(log.status().message(), HasSubstr("not by the configured node key"));
}

TEST(AuditLog, TornCheckpointLineIsCut) {
  TempFolder temp;
  AuditLogOptions options = Options(temp);
  {
    auto log = OpenLog(options);
    ASSERT_NE(log, nullptr);
    ASSERT_TRUE(log->Append(testing::InferenceEvent(0)).ok());
  }
  std::string path = LogFolder(temp) + "/" + std::string(kAuditCheckpointsFile);
  testing::WriteAll(path, testing::ReadAll(path) + "bW9hd");
  {
    auto log = OpenLog(options);
    ASSERT_NE(log, nullptr);
    ASSERT_TRUE(log->Append(testing::InferenceEvent(1)).ok());
  }
  EXPECT_EQ(ReadCheckpoints(LogFolder(temp)).size(), 2u);
}

TEST(AuditLog, WriteFailureThenResumeRecordsTheGap) {
  TempFolder temp;
  AuditLogOptions options = Options(temp);
  options.resume_interval = std::chrono::milliseconds(0);
  std::atomic<bool> failing{false};
  options.write_function = [&](int fd, const struct iovec* iov, int count) -> ssize_t {
    if (failing) {
      errno = ENOSPC;
      return -1;
    }
    return ::writev(fd, iov, count);
  };
  auto log = OpenLog(options);
  ASSERT_NE(log, nullptr);
  ASSERT_TRUE(log->Append(testing::InferenceEvent(0)).ok());

  failing = true;
  auto failed = log->Append(testing::InferenceEvent(1));
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), StatusCode::kUnavailable);
  EXPECT_FALSE(log->stats().writable);
  EXPECT_EQ(log->stats().failed_appends, 1u);

  failing = false;
  auto resumed = log->Append(testing::InferenceEvent(2));
  ASSERT_TRUE(resumed.ok()) << resumed.status().ToString();
  EXPECT_TRUE(log->stats().writable);
  log.reset();

  std::vector<std::string> records = moat::testing::ReadAuditRecords(LogFolder(temp));
  ASSERT_EQ(records.size(), 3u);
  EXPECT_THAT(records[1], HasSubstr(R"("type":"audit_failure")"));
  EXPECT_THAT(records[1], HasSubstr(R"("failed_appends":1)"));
  EXPECT_THAT(records[1], HasSubstr("No space left on device"));
  EXPECT_THAT(records[2], HasSubstr(R"("request_id":"req-2")"));
}

TEST(AuditLog, SignatureCoversReceiptAndDigest) {
  TempFolder temp;
  AuditLogOptions options = Options(temp);
  auto public_key = options.signing_key->public_key();
  auto log = OpenLog(options);
  ASSERT_NE(log, nullptr);
  auto receipt = log->Append(testing::InferenceEvent(0));
  ASSERT_TRUE(receipt.ok());
  auto signature = log->SignResponse(*receipt, "digest-a");
  ASSERT_TRUE(signature.ok());
  EXPECT_TRUE(VerifyResponseSignature(public_key, *receipt, "digest-a", *signature).ok());
  Status wrong = VerifyResponseSignature(public_key, *receipt, "digest-b", *signature);
  EXPECT_EQ(wrong.code(), StatusCode::kDataLoss);
  EXPECT_THAT(wrong.message(), HasSubstr("does not match"));
  AuditReceipt other = *receipt;
  other.sequence += 1;
  EXPECT_FALSE(VerifyResponseSignature(public_key, other, "digest-a", *signature).ok());
}

TEST(AuditLog, RetentionKeepsTheLogValid) {
  TempFolder temp;
  AuditLogOptions options = Options(temp);
  options.max_segment_bytes = 1;  // each group starts a new segment
  options.retention = std::chrono::seconds(3600);
  {
    auto log = OpenLog(options);
    ASSERT_NE(log, nullptr);
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(log->Append(testing::InferenceEvent(i)).ok());
    ASSERT_TRUE(log->CheckpointNow().ok());
  }
  // Age every segment but the newest by two hours.
  std::vector<std::filesystem::path> segments;
  for (const auto& entry : std::filesystem::directory_iterator(LogFolder(temp))) {
    if (SegmentIndexFromFileName(entry.path().filename().string())) segments.push_back(entry.path());
  }
  std::sort(segments.begin(), segments.end());
  ASSERT_GE(segments.size(), 4u);
  auto old = std::filesystem::file_time_type::clock::now() - std::chrono::hours(2);
  for (size_t i = 0; i + 1 < segments.size(); ++i) std::filesystem::last_write_time(segments[i], old);
  {
    auto log = OpenLog(options);
    ASSERT_NE(log, nullptr);
    ASSERT_TRUE(log->Append(testing::InferenceEvent(4)).ok());
    ASSERT_TRUE(log->CheckpointNow().ok());
  }
  EXPECT_FALSE(std::filesystem::exists(segments[0]));
  EXPECT_TRUE(std::filesystem::exists(LogFolder(temp) + "/base"));
  // The pruned folder still opens: the base frontier gives the signed roots.
  auto log = OpenLog(options);
  ASSERT_NE(log, nullptr);
  auto receipt = log->Append(testing::InferenceEvent(5));
  ASSERT_TRUE(receipt.ok()) << receipt.status().ToString();
  log.reset();
  auto scan = ScanSegmentFolder(LogFolder(temp));
  ASSERT_TRUE(scan.ok()) << scan.status().ToString();
  EXPECT_GT(scan->first_sequence, 0u);
  std::vector<Checkpoint> checkpoints = ReadCheckpoints(LogFolder(temp));
  EXPECT_EQ(scan->merkle.Root(), checkpoints.back().fields.root);
  EXPECT_EQ(scan->record_count, checkpoints.back().fields.tree_size);
}

TEST(AuditLog, EmptyTypeIsRejected) {
  TempFolder temp;
  auto log = OpenLog(Options(temp));
  ASSERT_NE(log, nullptr);
  AuditEvent event;
  auto result = log->Append(event);
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
}

TEST(AuditKeys, DefaultsLieBesideTheFolder) {
  AuditKeyPaths paths = DefaultAuditKeyPaths("/var/lib/moat/audit/");
  EXPECT_EQ(paths.master_key_file, "/var/lib/moat/audit.keys");
  EXPECT_EQ(paths.node_key_file, "/var/lib/moat/audit.node-key");
}

TEST(AuditKeys, MissingKeysAreCreatedOnlyWhenAsked) {
  TempFolder temp;
  AuditKeyPaths paths = DefaultAuditKeyPaths(temp.File("audit"));
  EXPECT_FALSE(LoadAuditKeys(paths, /*create_missing=*/false).ok());
  auto created = LoadAuditKeys(paths, /*create_missing=*/true);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_TRUE(created->created_master_key_file);
  EXPECT_TRUE(created->created_node_key);
  EXPECT_TRUE(std::filesystem::exists(paths.node_key_file + ".pub"));
  EXPECT_EQ(std::filesystem::status(paths.master_key_file).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  auto loaded = LoadAuditKeys(paths, /*create_missing=*/true);
  ASSERT_TRUE(loaded.ok());
  EXPECT_FALSE(loaded->created_master_key_file);
  EXPECT_EQ(loaded->node_key->key_id(), created->node_key->key_id());
}

TEST(AuditKeys, NoNewKeyForAFolderWithRecords) {
  TempFolder temp;
  {
    auto log = OpenLog(Options(temp));
    ASSERT_NE(log, nullptr);
    ASSERT_TRUE(log->Append(testing::InferenceEvent(0)).ok());
  }
  AuditKeyPaths paths = DefaultAuditKeyPaths(LogFolder(temp));
  AuditKeyPaths moved = paths;
  moved.node_key_file = temp.File("elsewhere.node-key");
  auto rejected = LoadAuditKeys(moved, /*create_missing=*/true);
  EXPECT_EQ(rejected.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(rejected.status().message(), HasSubstr("--node-key"));
  EXPECT_FALSE(std::filesystem::exists(moved.node_key_file));

  moved = paths;
  moved.master_key_file = temp.File("elsewhere.keys");
  rejected = LoadAuditKeys(moved, /*create_missing=*/true);
  EXPECT_EQ(rejected.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(rejected.status().message(), HasSubstr("--audit-key-file"));
  EXPECT_FALSE(std::filesystem::exists(moved.master_key_file));
}

}  // namespace
}  // namespace moat::audit
