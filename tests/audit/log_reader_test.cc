// VerifyAuditLog on folders built by AuditLogFixture: the report of a good
// log, and one test per kind of damage with the message it must produce.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "audit/log_reader.h"
#include "audit_log_fixture.h"

namespace moat::audit {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing::AuditLogFixture;
using testing::FrameOffsets;
using testing::MakeStandardLog;
using testing::ReadAll;
using testing::TempFolder;
using testing::VerifyFolder;
using testing::WriteAll;

// Lines of a text file, each with its '\n'.
std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    end = end == std::string::npos ? text.size() : end + 1;
    lines.push_back(text.substr(start, end - start));
    start = end;
  }
  return lines;
}

std::string Join(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& line : lines) out += line;
  return out;
}

void ExpectDataLoss(const StatusOr<AuditLogReport>& report, const std::string& message) {
  ASSERT_FALSE(report.ok()) << "the damaged log verified";
  EXPECT_EQ(report.status().code(), StatusCode::kDataLoss) << report.status().ToString();
  EXPECT_EQ(report.status().message(), message);
}

TEST(VerifyAuditLog, GoodLogReport) {
  TempFolder temp;
  auto log = MakeStandardLog(temp);
  StatusOr<AuditLogReport> report = VerifyFolder(*log);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->log_id, log->log_id());
  EXPECT_EQ(report->first_sequence, 0u);
  EXPECT_EQ(report->record_count, 10u);
  EXPECT_EQ(report->segment_indexes, (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ(report->checkpoint_count, 3u);
  EXPECT_EQ(report->checkpointed_size, 10u);
  EXPECT_EQ(report->uncovered_records, 0u);
  EXPECT_EQ(report->torn_segment_bytes, 0u);
  EXPECT_EQ(report->opened_records, 0u);
  EXPECT_TRUE(report->warnings.empty()) << report->warnings.front();
}

TEST(VerifyAuditLog, EmptyFolder) {
  TempFolder temp;
  AuditLogFixture log(temp.File("audit"));
  std::filesystem::create_directory(log.folder());
  log.WriteNodePublicKey();
  StatusOr<AuditLogReport> report = VerifyFolder(log);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->record_count, 0u);
  EXPECT_FALSE(report->log_id.has_value());
  EXPECT_THAT(report->warnings, ::testing::ElementsAre(HasSubstr("checkpoints: missing")));
}

TEST(VerifyAuditLog, RecordsAfterLastCheckpoint) {
  TempFolder temp;
  auto log = MakeStandardLog(temp);
  log->AppendSegment(2);
  StatusOr<AuditLogReport> report = VerifyFolder(*log);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->record_count, 12u);
  EXPECT_EQ(report->checkpointed_size, 10u);
  EXPECT_EQ(report->uncovered_records, 2u);
}

TEST(VerifyAuditLog, KeyFileOpensEveryRecord) {
  TempFolder temp;
  auto log = MakeStandardLog(temp);
  std::vector<uint64_t> sequences;
  StatusOr<AuditSource> source = AuditSource::Open(log->folder());
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  AuditVerifyOptions options;
  options.keys = &log->keys();
  options.on_opened = [&](const OpenedRecord& record) { sequences.push_back(record.summary.sequence); };
  StatusOr<AuditLogReport> report = VerifyAuditLog(*source, log->node_key().public_key(), options);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->opened_records, 10u);
  EXPECT_EQ(sequences, (std::vector<uint64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
}

TEST(VerifyAuditLog, WrongMasterKey) {
  TempFolder temp;
  auto log = MakeStandardLog(temp);
  auto other = KeyFileProvider::Parse(
      "key k1 ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\ncurrent k1\n", "other");
  ASSERT_TRUE(other.ok());
  StatusOr<AuditLogReport> report = VerifyFolder(*log, "", &*other);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(report.status().message(), StartsWith("record 0: cannot open the sealed payload: "));
}

TEST(VerifyAuditLog, TornCheckpointLineIsAWarning) {
  TempFolder temp;
  auto log = MakeStandardLog(temp);
  std::string text = ReadAll(log->checkpoints_path());
  WriteAll(log->checkpoints_path(), text + "bW9hdC1jaGVj");
  StatusOr<AuditLogReport> report = VerifyFolder(*log);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->checkpoint_count, 3u);
  EXPECT_EQ(report->torn_checkpoint_bytes, 12u);
  EXPECT_THAT(report->warnings, ::testing::ElementsAre(log->checkpoints_path() +
                                                       ": the last 12 bytes are a line without '\\n', a write cut "
                                                       "short by a crash; ignored"));
}

TEST(VerifyAuditLog, TornSegmentTailAfterCheckpointIsReported) {
  TempFolder temp;
  auto log = MakeStandardLog(temp);
  log->AppendSegment(1);
  std::string path = log->segment_path(4);
  std::string data = ReadAll(path);
  WriteAll(path, data.substr(0, data.size() - 3));
  StatusOr<AuditLogReport> report = VerifyFolder(*log);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->record_count, 10u);
  EXPECT_EQ(report->torn_segment, path);
  EXPECT_EQ(report->torn_segment_bytes, data.size() - 3 - kSegmentHeaderBytes);
}

TEST(VerifyAuditLog, NodePublicKeyDiffers) {
  TempFolder temp;
  auto log = MakeStandardLog(temp);
  auto other = bundle::PrivateKey::Generate();
  ASSERT_TRUE(other.ok());
  WriteAll(log->folder() + "/node.pub", other->public_key().ToPem().value());
  StatusOr<AuditLogReport> report = VerifyFolder(*log);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_THAT(report->warnings,
              ::testing::ElementsAre(log->folder() + "/node.pub: contains key " + other->key_id() +
                                     ", not the given public key " + log->node_key().key_id() +
                                     "; verified with the given public key"));
}

TEST(VerifyAuditLog, WrongPublicKey) {
  TempFolder temp;
  auto log = MakeStandardLog(temp);
  auto other = bundle::PrivateKey::Generate();
  ASSERT_TRUE(other.ok());
  StatusOr<AuditSource> source = AuditSource::Open(log->folder());
  ASSERT_TRUE(source.ok());
  StatusOr<AuditLogReport> report = VerifyAuditLog(*source, other->public_key());
  ExpectDataLoss(report, log->checkpoints_path() + ": line 1: checkpoint of size 3 is signed by key " +
                             log->node_key().key_id() + ", not by key " + other->key_id());
}

// Flips one bit at a time in bytes all over every segment, and checks that
// each flip is found and named where it happened.
TEST(VerifyAuditLog, BitFlipAnywhereInASegment) {
  TempFolder temp;
  auto log = MakeStandardLog(temp);
  const uint64_t first_sequence[] = {0, 3, 7};
  for (uint64_t index = 1; index <= 3; ++index) {
    std::string path = log->segment_path(index);
    const std::string original = ReadAll(path);
    std::vector<size_t> frames = FrameOffsets(original);
    // Every third byte keeps the test fast and still hits every field of every frame.
    for (size_t position = 0; position < original.size(); position += 3) {
      std::string damaged = original;
      damaged[position] = static_cast<char>(damaged[position] ^ (1 << (position % 8)));
      WriteAll(path, damaged);
      StatusOr<AuditLogReport> report = VerifyFolder(*log);
      ASSERT_FALSE(report.ok()) << path << ": flip at byte " << position << " was not found";
      ASSERT_EQ(report.status().code(), StatusCode::kDataLoss) << report.status().ToString();
      const std::string& message = report.status().message();
      if (position < 8) {
        EXPECT_EQ(message, path + ": not an audit segment: the magic bytes at offset 0 are wrong");
      } else if (position < kSegmentHeaderBytes) {
        EXPECT_EQ(message, path + ": segment header checksum mismatch (bytes 0 to 79)") << "byte " << position;
      } else if (index == 3 && position >= frames.back()) {
        // The last frame of the log reads as a torn tail, which the last checkpoint rules out.
        EXPECT_EQ(message, log->checkpoints_path() +
                               ": line 3: checkpoint 2 of size 10 covers more records than the log contains (9): "
                               "records were removed or cut after it was signed");
      } else {
        size_t frame = std::upper_bound(frames.begin(), frames.end(), position) - frames.begin() - 1;
        EXPECT_THAT(message, StartsWith(path + ": record " + std::to_string(first_sequence[index - 1] + frame) +
                                        " at byte offset " + std::to_string(frames[frame])))
            << "byte " << position;
      }
    }
    WriteAll(path, original);
  }
  ASSERT_TRUE(VerifyFolder(*log).ok());
}

TEST(VerifyAuditLog, DeletedRecord) {
  TempFolder temp;
  auto log = MakeStandardLog(temp);
  std::string path = log->segment_path(2);
  std::string data = ReadAll(path);
  std::vector<size_t> frames = FrameOffsets(data);
  WriteAll(path, data.substr(0, frames[1]) + data.substr(frames[2]));
  ExpectDataLoss(VerifyFolder(*log), log->segment_path(3) +
                                         ": segment header states that 7 records precede it, but the earlier "
                                         "segments contain 6 (records missing, added or cut)");
}

TEST(VerifyAuditLog, ReorderedRecordsInAMiddleSegment) {
  TempFolder temp;
  auto log = MakeStandardLog(temp);
  std::string path = log->segment_path(2);
  std::string data = ReadAll(path);
  std::vector<size_t> frames = FrameOffsets(data);
  std::string first = data.substr(frames[0], frames[1] - frames[0]);
  std::string second = data.substr(frames[1], frames[2] - frames[1]);
  WriteAll(path, data.substr(0, frames[0]) + second + first + data.substr(frames[2]));
  StatusOr<AuditLogReport> report = VerifyFolder(*log);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(report.status().message(), StartsWith(log->segment_path(3) + ": segment header continues chain hash "));
  EXPECT_THAT(report.status().message(), HasSubstr("(records changed, reordered or replaced)"));
}

TEST(VerifyAuditLog, ReorderedRecordsInTheLastSegment) {
  TempFolder temp;
  auto log = MakeStandardLog(temp);
  std::string path = log->segment_path(3);
  std::string data = ReadAll(path);
  std::vector<size_t> frames = FrameOffsets(data);
  std::string first = data.substr(frames[0], frames[1] - frames[0]);
  std::string second = data.substr(frames[1], frames[2] - frames[1]);
  WriteAll(path, data.substr(0, frames[0]) + second + first + data.substr(frames[2]));

  MerkleTree reordered;
  for (uint64_t s : {0, 1, 2, 3, 4, 5, 6, 8, 7, 9}) reordered.Append(LeafHash(log->stored()[s]));
  ExpectDataLoss(VerifyFolder(*log), log->checkpoints_path() + ": line 3: checkpoint 2 of size 10 has root " +
                                         HexEncode(log->tree().Root(10).value()) +
                                         ", but records 0 to 10 (exclusive) give root " +
                                         HexEncode(reordered.Root(10).value()));
}

TEST(VerifyAuditLog, TailCutBelowACheckpoint) {
  TempFolder temp;
  auto log = MakeStandardLog(temp);
  std::string path = log->segment_path(3);
  std::string data = ReadAll(path);
  for (size_t cut : {size_t{1}, size_t{20}, data.size() - FrameOffsets(data).back()}) {
    WriteAll(path, data.substr(0, data.size() - cut));
    ExpectDataLoss(VerifyFolder(*log), log->checkpoints_path() +
                                           ": line 3: checkpoint 2 of size 10 covers more records than the log "
                                           "contains (9): records were removed or cut after it was signed");
  }
}

TEST(VerifyAuditLog, OlderCopyOfASegment) {
  TempFolder temp;
  auto log = MakeStandardLog(temp);
  // A backup of segment 2 taken when it held its first two records.
  std::string path = log->segment_path(2);
  std::string data = ReadAll(path);
  WriteAll(path, data.substr(0, FrameOffsets(data)[2]));
  ExpectDataLoss(VerifyFolder(*log), log->segment_path(3) +
                                         ": segment header states that 7 records precede it, but the earlier "
                                         "segments contain 5 (records missing, added or cut)");
}

TEST(VerifyAuditLog, MissingFirstSegment) {
  TempFolder temp;
  auto log = MakeStandardLog(temp);
  std::filesystem::remove(log->segment_path(1));
  ExpectDataLoss(VerifyFolder(*log), log->segment_path(2) +
                                         " is the first segment present, but there is no base file, so "
                                         "segment-000000000001.log is expected");
}

TEST(VerifyAuditLog, MissingMiddleSegment) {
  TempFolder temp;
  auto log = MakeStandardLog(temp);
  std::filesystem::remove(log->segment_path(2));
  ExpectDataLoss(VerifyFolder(*log), log->segment_path(3) +
                                         ": expected segment-000000000002.log before it, which is missing");
}

TEST(VerifyAuditLog, TwoCheckpointsOfOneSizeWithDifferentRoots) {
  TempFolder temp;
  auto log = MakeStandardLog(temp);
  CheckpointFields fields = log->NextFields();
  fields.root = LeafHash(std::string_view("another history"));
  log->AppendCheckpoint(log->Sign(fields));
  ExpectDataLoss(VerifyFolder(*log),
                 log->checkpoints_path() + ": line 4: two checkpoints of size 10 with different roots");
}

TEST(VerifyAuditLog, CheckpointSignedByAnotherKey) {
  TempFolder temp;
  auto log = MakeStandardLog(temp);
  auto other = bundle::PrivateKey::Generate();
  ASSERT_TRUE(other.ok());
  std::vector<std::string> lines = Lines(ReadAll(log->checkpoints_path()));
  StatusOr<Checkpoint> original = CheckpointFromLine(lines[1]);
  ASSERT_TRUE(original.ok());
  lines[1] = CheckpointToLine(log->Sign(original->fields, &*other)) + "\n";
  WriteAll(log->checkpoints_path(), Join(lines));
  ExpectDataLoss(VerifyFolder(*log), log->checkpoints_path() + ": line 2: checkpoint of size 7 is signed by key " +
                                         other->key_id() + ", not by key " + log->node_key().key_id());
}

TEST(VerifyAuditLog, CheckpointWithBadSignature) {
  TempFolder temp;
  auto log = MakeStandardLog(temp);
  std::vector<std::string> lines = Lines(ReadAll(log->checkpoints_path()));
  StatusOr<Checkpoint> checkpoint = CheckpointFromLine(lines[1]);
  ASSERT_TRUE(checkpoint.ok());
  checkpoint->fields.time_ms += 1;
  lines[1] = CheckpointToLine(*checkpoint) + "\n";
  WriteAll(log->checkpoints_path(), Join(lines));
  ExpectDataLoss(VerifyFolder(*log), log->checkpoints_path() + ": line 2: checkpoint of size 7 has a bad signature "
                                                               "for key " + log->node_key().key_id());
}

TEST(VerifyAuditLog, DeletedCheckpointLine) {
  TempFolder temp;
  auto log = MakeStandardLog(temp);
  std::vector<std::string> lines = Lines(ReadAll(log->checkpoints_path()));
  StatusOr<Checkpoint> first = CheckpointFromLine(lines[0]);
  StatusOr<Checkpoint> third = CheckpointFromLine(lines[2]);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(third.ok());
  WriteAll(log->checkpoints_path(), lines[0] + lines[2]);
  ExpectDataLoss(VerifyFolder(*log), log->checkpoints_path() + ": line 2: checkpoint 1 has previous hash " +
                                         HexEncode(third->fields.previous_hash) +
                                         ", but the checkpoint before it hashes to " +
                                         HexEncode(CheckpointHash(*first)));
}

// NOTE: a verifier cannot tell a deleted last line from a checkpoint not yet
// written. Only a checkpoint kept elsewhere (a receipt's proof) shows that.
TEST(VerifyAuditLog, DeletedLastCheckpointLineLeavesRecordsUncovered) {
  TempFolder temp;
  auto log = MakeStandardLog(temp);
  std::vector<std::string> lines = Lines(ReadAll(log->checkpoints_path()));
  WriteAll(log->checkpoints_path(), lines[0] + lines[1]);
  StatusOr<AuditLogReport> report = VerifyFolder(*log);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->checkpointed_size, 7u);
  EXPECT_EQ(report->uncovered_records, 3u);
}

TEST(VerifyAuditLog, BadCheckpointLine) {
  TempFolder temp;
  auto log = MakeStandardLog(temp);
  std::vector<std::string> lines = Lines(ReadAll(log->checkpoints_path()));
  lines[1] = "not base64!\n";
  WriteAll(log->checkpoints_path(), Join(lines));
  StatusOr<AuditLogReport> report = VerifyFolder(*log);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(report.status().message(), StartsWith(log->checkpoints_path() + ": line 2: checkpoint line is not base64"));
}

// Copies segment 3 of the standard log, with the checkpoints and node.pub,
// into a folder whose base file starts it at record 7.
std::string MakeBasedFolder(const AuditLogFixture& log, const TempFolder& temp, const AuditBase& base) {
  std::string folder = temp.File("based");
  std::filesystem::create_directory(folder);
  std::filesystem::copy_file(log.segment_path(3), folder + "/" + SegmentFileName(3));
  std::filesystem::copy_file(log.checkpoints_path(), folder + "/checkpoints");
  std::filesystem::copy_file(log.folder() + "/node.pub", folder + "/node.pub");
  WriteAll(folder + "/base", EncodeAuditBase(base));
  return folder;
}

AuditBase BaseAtRecordSeven(const AuditLogFixture& log) {
  MerkleFrontier frontier;
  for (uint64_t s = 0; s < 7; ++s) frontier.Append(log.tree().leaf_hash(s));
  Sha256Digest chain{};
  for (uint64_t s = 0; s < 7; ++s) chain = NextChainHash(chain, log.stored()[s]);
  return AuditBase{3, 7, chain, frontier.subtree_roots()};
}

TEST(VerifyAuditLog, FolderWithBase) {
  TempFolder temp;
  auto log = MakeStandardLog(temp);
  std::string folder = MakeBasedFolder(*log, temp, BaseAtRecordSeven(*log));
  StatusOr<AuditLogReport> report = VerifyFolder(*log, folder, &log->keys());
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->first_sequence, 7u);
  EXPECT_EQ(report->record_count, 10u);
  EXPECT_EQ(report->segment_indexes, (std::vector<uint64_t>{3}));
  EXPECT_EQ(report->checkpoints_before_first_record, 1u);
  EXPECT_EQ(report->opened_records, 3u);
  EXPECT_EQ(report->uncovered_records, 0u);
}

TEST(VerifyAuditLog, WrongBaseFrontier) {
  TempFolder temp;
  auto log = MakeStandardLog(temp);
  AuditBase base = BaseAtRecordSeven(*log);
  base.frontier[1][0] ^= 1;
  std::string folder = MakeBasedFolder(*log, temp, base);
  MerkleFrontier forged = MerkleFrontier::Restore(7, base.frontier).value();
  ExpectDataLoss(VerifyFolder(*log, folder), folder + "/checkpoints: line 2: checkpoint 1 of size 7 has root " +
                                                 HexEncode(log->tree().Root(7).value()) +
                                                 ", but records 0 to 7 (exclusive) give root " +
                                                 HexEncode(forged.Root()));
}

TEST(VerifyAuditLog, WrongBaseChainHash) {
  TempFolder temp;
  auto log = MakeStandardLog(temp);
  AuditBase base = BaseAtRecordSeven(*log);
  Sha256Digest real = base.chain_hash;
  base.chain_hash[5] ^= 0x10;
  std::string folder = MakeBasedFolder(*log, temp, base);
  ExpectDataLoss(VerifyFolder(*log, folder), folder + "/segment-000000000003.log: segment header continues chain "
                                                      "hash " + HexEncode(real) + ", but the earlier segments end "
                                                      "with " + HexEncode(base.chain_hash) +
                                                      " (records changed, reordered or replaced)");
}

TEST(VerifyAuditLog, MalformedBaseFile) {
  TempFolder temp;
  auto log = MakeStandardLog(temp);
  std::string folder = MakeBasedFolder(*log, temp, BaseAtRecordSeven(*log));
  std::string text = ReadAll(folder + "/base");
  WriteAll(folder + "/base", text.substr(0, text.rfind("frontier")));
  ExpectDataLoss(VerifyFolder(*log, folder),
                 folder + "/base: has 2 frontier lines, but sequence 7 needs 3 (one per set bit)");
}

TEST(VerifyAuditLog, UnreadableFolder) {
  TempFolder temp;
  StatusOr<AuditSource> source = AuditSource::Open(temp.File("missing"));
  ASSERT_FALSE(source.ok());
  EXPECT_EQ(source.status().code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace moat::audit
