// Segment format, reader and recovery: round trips over rotated segments,
// torn tails cut at every byte, and damage in the middle reported precisely.
#include "audit/segment.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "audit/segment_writer.h"
#include "audit_test_util.h"
#include "segment_test_util.h"

namespace moat::audit {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using testing::AppendAndWait;
using testing::FrameOffsets;
using testing::ReadAll;
using testing::ReadSegmentLog;
using testing::StoredRecord;
using testing::TempFolder;
using testing::WriteAll;

std::string RecordText(int index) { return "record " + std::to_string(index) + std::string(index % 7, '.'); }

// Writes `count` records with segments rotated after about `segment_bytes`.
void WriteLog(const std::string& folder, int first, int count, uint64_t segment_bytes = 200) {
  SegmentWriterOptions options;
  options.max_segment_bytes = segment_bytes;
  auto writer = SegmentWriter::Open(folder, options);
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  for (int i = first; i < first + count; ++i) AppendAndWait(**writer, RecordText(i));
}

std::string SegmentPath(const std::string& folder, uint64_t index) {
  return folder + "/" + SegmentFileName(index);
}

// Chain hashes and Merkle root computed here from the record texts alone.
LogHead ExpectedHead(int count) {
  LogHead head;
  MerkleFrontier merkle;
  for (int i = 0; i < count; ++i) {
    head.chain_hash = NextChainHash(head.chain_hash, RecordText(i));
    merkle.Append(LeafHash(RecordText(i)));
  }
  head.record_count = static_cast<uint64_t>(count);
  head.merkle_root = merkle.Root();
  return head;
}

TEST(Crc32c, MatchesCheckValue) { EXPECT_EQ(Crc32c("123456789"), 0xE3069283u); }

// The iSCSI vectors (RFC 3720, B.4): 32 bytes of 0x00 and of 0xFF.
TEST(Crc32c, MatchesIscsiVectors) {
  EXPECT_EQ(Crc32c(std::string(32, '\x00')), 0x8A9136AAu);
  EXPECT_EQ(Crc32c(std::string(32, '\xFF')), 0x62A8AB43u);
}

TEST(SegmentFileName, SortsByIndex) {
  EXPECT_EQ(SegmentFileName(1), "segment-000000000001.log");
  EXPECT_LT(SegmentFileName(9), SegmentFileName(10));
}

TEST(SegmentLog, RoundTripAcrossRotatedSegments) {
  TempFolder temp;
  std::string folder = temp.File("log");
  WriteLog(folder, 0, 40);

  std::vector<StoredRecord> records = ReadSegmentLog(folder);
  ASSERT_EQ(records.size(), 40u);
  for (int i = 0; i < 40; ++i) {
    EXPECT_EQ(records[i].sequence, static_cast<uint64_t>(i));
    EXPECT_EQ(records[i].bytes, RecordText(i));
  }
  StatusOr<SegmentLogScan> scan = ScanSegmentFolder(folder);
  ASSERT_TRUE(scan.ok()) << scan.status().ToString();
  EXPECT_GT(scan->segment_indexes.size(), 3u);
  EXPECT_EQ(scan->chain_hash, ExpectedHead(40).chain_hash);
  EXPECT_EQ(scan->merkle.Root(), ExpectedHead(40).merkle_root);
  EXPECT_EQ(std::filesystem::status(SegmentPath(folder, 1)).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

TEST(SegmentLog, ChainAndMerkleContinueAcrossReopen) {
  TempFolder temp;
  std::string folder = temp.File("log");
  WriteLog(folder, 0, 9);
  WriteLog(folder, 9, 12);

  auto writer = SegmentWriter::Open(folder);
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  LogHead head = (*writer)->Head();
  EXPECT_EQ(head.record_count, 21u);
  EXPECT_EQ(head.chain_hash, ExpectedHead(21).chain_hash);
  EXPECT_EQ(head.merkle_root, ExpectedHead(21).merkle_root);

  AppendResult next = AppendAndWait(**writer, RecordText(21));
  EXPECT_EQ(next.sequence, 21u);
  EXPECT_EQ(next.chain_hash, ExpectedHead(22).chain_hash);
  EXPECT_EQ((*writer)->Head().merkle_root, ExpectedHead(22).merkle_root);
}

TEST(SegmentLog, SecondWriterRejected) {
  TempFolder temp;
  std::string folder = temp.File("log");
  auto first = SegmentWriter::Open(folder);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto second = SegmentWriter::Open(folder);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(second.status().message(), HasSubstr("already open by another segment writer"));
}

// Cuts the last segment at every byte inside its last frame: each cut is a
// torn tail that Open removes, keeping the records before it.
TEST(SegmentRecovery, TornTailAtEveryByteIsCut) {
  TempFolder temp;
  std::string folder = temp.File("log");
  WriteLog(folder, 0, 3, 1 << 20);
  std::string path = SegmentPath(folder, 1);
  std::string whole = ReadAll(path);
  size_t last_frame = FrameOffsets(whole).back();

  for (size_t cut = last_frame + 1; cut < whole.size(); ++cut) {
    SCOPED_TRACE("file cut to " + std::to_string(cut) + " bytes");
    std::filesystem::remove_all(folder);
    std::filesystem::create_directory(folder);
    WriteAll(path, whole.substr(0, cut));

    RecoveryReport report;
    auto writer = SegmentWriter::Open(folder, {}, &report);
    ASSERT_TRUE(writer.ok()) << writer.status().ToString();
    EXPECT_EQ(report.path, path);
    EXPECT_EQ(report.cut_bytes, cut - last_frame);
    EXPECT_EQ(report.cut_records, 1u);
    EXPECT_EQ(report.records, 2u);
    EXPECT_EQ(ReadAll(path).size(), last_frame);
    EXPECT_EQ(AppendAndWait(**writer, RecordText(2)).chain_hash, ExpectedHead(3).chain_hash);
  }
}

TEST(SegmentRecovery, DamagedLastFrameIsCut) {
  TempFolder temp;
  std::string folder = temp.File("log");
  WriteLog(folder, 0, 3, 1 << 20);
  std::string path = SegmentPath(folder, 1);
  std::string contents = ReadAll(path);
  contents.back() ^= 0x01;
  WriteAll(path, contents);

  RecoveryReport report;
  auto writer = SegmentWriter::Open(folder, {}, &report);
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  EXPECT_EQ(report.records, 2u);
  EXPECT_EQ(report.cut_bytes, contents.size() - FrameOffsets(contents).back());
}

TEST(SegmentRecovery, ZeroFilledTailIsCut) {
  TempFolder temp;
  std::string folder = temp.File("log");
  WriteLog(folder, 0, 2, 1 << 20);
  std::string path = SegmentPath(folder, 1);
  WriteAll(path, ReadAll(path) + std::string(4096, '\0'));

  RecoveryReport report;
  auto writer = SegmentWriter::Open(folder, {}, &report);
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  EXPECT_EQ(report.cut_bytes, 4096u);
  EXPECT_EQ(report.records, 2u);
}

TEST(SegmentRecovery, IncompleteHeaderOfLastSegmentIsRemoved) {
  TempFolder temp;
  std::string folder = temp.File("log");
  WriteLog(folder, 0, 2, 1 << 20);
  WriteLog(folder, 2, 0);  // an empty segment 2
  std::string header = ReadAll(SegmentPath(folder, 2)).substr(0, kSegmentHeaderBytes);

  for (size_t cut = 0; cut < kSegmentHeaderBytes; ++cut) {
    SCOPED_TRACE("header cut to " + std::to_string(cut) + " bytes");
    WriteAll(SegmentPath(folder, 2), header.substr(0, cut));
    RecoveryReport report;
    auto writer = SegmentWriter::Open(folder, {}, &report);
    ASSERT_TRUE(writer.ok()) << writer.status().ToString();
    EXPECT_EQ(report.cut_bytes, cut);
    EXPECT_EQ(report.cut_records, 0u);
    EXPECT_EQ(report.records, 2u);
  }
}

// A log of three segments with 4 records each. With these record texts a
// 150-byte limit rotates after exactly 4 records (80 + 4 frames of 16 to 22 bytes).
class SegmentDamage : public ::testing::Test {
 protected:
  void SetUp() override {
    folder_ = temp_.File("log");
    WriteLog(folder_, 0, 12, 150);
    first_ = SegmentPath(folder_, 1);
    contents_ = ReadAll(first_);
    offsets_ = FrameOffsets(contents_);
  }

  std::string OpenError() {
    auto writer = SegmentWriter::Open(folder_);
    if (writer.ok()) return "opened";
    EXPECT_EQ(writer.status().code(), StatusCode::kDataLoss);
    StatusOr<SegmentLogScan> scan = ScanSegmentFolder(folder_);
    EXPECT_FALSE(scan.ok());
    return writer.status().message();
  }

  TempFolder temp_;
  std::string folder_;
  std::string first_;
  std::string contents_;
  std::vector<size_t> offsets_;
};

TEST_F(SegmentDamage, LayoutAsExpected) {
  ASSERT_EQ(offsets_.size(), 4u);
  EXPECT_EQ(ReadSegmentLog(folder_).size(), 12u);
  EXPECT_EQ(FrameOffsets(ReadAll(SegmentPath(folder_, 3))).size(), 4u);
}

TEST_F(SegmentDamage, BitFlipInMiddleNamesOffsetAndRecord) {
  contents_[offsets_[1] + kFrameHeaderBytes] ^= 0x10;
  WriteAll(first_, contents_);
  EXPECT_THAT(OpenError(), AllOf(HasSubstr(first_), HasSubstr("record 1 at byte offset " + std::to_string(offsets_[1])),
                                 HasSubstr("checksum mismatch"),
                                 HasSubstr("valid frame follows at byte offset " + std::to_string(offsets_[2]))));
}

TEST_F(SegmentDamage, OversizedLengthInMiddleRejected) {
  for (int i = 0; i < 4; ++i) contents_[offsets_[1] + i] = '\xFF';
  WriteAll(first_, contents_);
  EXPECT_THAT(OpenError(), AllOf(HasSubstr("record 1 at byte offset"), HasSubstr("record length 4294967295 over the maximum")));
}

TEST_F(SegmentDamage, DeletedRecordDetected) {
  WriteAll(first_, contents_.substr(0, offsets_[1]) + contents_.substr(offsets_[2]));
  EXPECT_THAT(OpenError(), AllOf(HasSubstr(SegmentPath(folder_, 2)), HasSubstr("states that 4 records precede it"),
                                 HasSubstr("contain 3")));
}

TEST_F(SegmentDamage, SwappedRecordsDetected) {
  std::string first = contents_.substr(offsets_[1], offsets_[2] - offsets_[1]);
  std::string second = contents_.substr(offsets_[2], offsets_[3] - offsets_[2]);
  WriteAll(first_, contents_.substr(0, offsets_[1]) + second + first + contents_.substr(offsets_[3]));
  EXPECT_THAT(OpenError(), AllOf(HasSubstr(SegmentPath(folder_, 2)), HasSubstr("continues chain hash"),
                                 HasSubstr("reordered")));
}

TEST_F(SegmentDamage, TruncatedMiddleSegmentDetected) {
  WriteAll(first_, contents_.substr(0, offsets_[3] + 5));
  EXPECT_THAT(OpenError(), AllOf(HasSubstr(first_), HasSubstr("record 3 at byte offset " + std::to_string(offsets_[3])),
                                 HasSubstr("later segments follow")));

  WriteAll(first_, contents_.substr(0, offsets_[3]));
  EXPECT_THAT(OpenError(), AllOf(HasSubstr(SegmentPath(folder_, 2)), HasSubstr("states that 4 records precede it")));
}

TEST_F(SegmentDamage, MissingSegmentDetected) {
  std::filesystem::remove(SegmentPath(folder_, 2));
  EXPECT_THAT(OpenError(), AllOf(HasSubstr(SegmentPath(folder_, 3)), HasSubstr("segment-000000000002.log")));
}

TEST_F(SegmentDamage, SegmentFromOtherLogDetected) {
  TempFolder other;
  WriteLog(other.File("log"), 0, 12, 150);
  std::filesystem::copy_file(SegmentPath(other.File("log"), 2), SegmentPath(folder_, 2),
                             std::filesystem::copy_options::overwrite_existing);
  EXPECT_THAT(OpenError(), HasSubstr("but the log's id is"));
}

TEST_F(SegmentDamage, BitFlipInLastSegmentMiddleDetected) {
  std::string last = SegmentPath(folder_, 3);
  std::string contents = ReadAll(last);
  std::vector<size_t> offsets = FrameOffsets(contents);
  contents[offsets[0] + kFrameHeaderBytes + 1] ^= 0x01;
  WriteAll(last, contents);
  EXPECT_THAT(OpenError(), AllOf(HasSubstr(last), HasSubstr("record 8 at byte offset")));
}

TEST_F(SegmentDamage, HeaderBitFlipDetected) {
  contents_[40] ^= 0x01;
  WriteAll(first_, contents_);
  EXPECT_THAT(OpenError(), AllOf(HasSubstr(first_), HasSubstr("header checksum mismatch")));
}

// An older copy of a segment, saved after its first group, is restored once
// the segment contains more: the next segment's header no longer matches.
TEST(SegmentLog, RestoredOlderSegmentDetected) {
  TempFolder temp;
  std::string folder = temp.File("log");
  std::string older;
  {
    SegmentWriterOptions options;
    options.max_segment_bytes = 300;
    auto writer = SegmentWriter::Open(folder, options);
    ASSERT_TRUE(writer.ok()) << writer.status().ToString();
    AppendAndWait(**writer, RecordText(0));
    older = ReadAll(SegmentPath(folder, 1));
    for (int i = 1; i < 30; ++i) AppendAndWait(**writer, RecordText(i));
  }
  ASSERT_TRUE(std::filesystem::exists(SegmentPath(folder, 2)));
  WriteAll(SegmentPath(folder, 1), older);

  auto writer = SegmentWriter::Open(folder);
  ASSERT_FALSE(writer.ok());
  EXPECT_EQ(writer.status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(writer.status().message(), AllOf(HasSubstr(SegmentPath(folder, 2)), HasSubstr("contain 1")));
}

TEST(SegmentReader, RejectsHugeLengthWithoutReading) {
  SegmentHeader header;
  std::string data = EncodeSegmentHeader(header);
  data += std::string("\xFF\xFF\xFF\xFF\0\0\0\0", 8);
  AppendFrame("after", data);
  StatusOr<SegmentScan> scan = ScanSegment("test", data, SegmentExpectation{header.log_id});
  ASSERT_FALSE(scan.ok());
  EXPECT_THAT(scan.status().message(), HasSubstr("record length 4294967295 over the maximum of 16777216"));
}

TEST(SegmentReader, ShortFileIsDataLoss) {
  StatusOr<SegmentScan> scan = ScanSegment("short", "MOAT", SegmentExpectation{});
  ASSERT_FALSE(scan.ok());
  EXPECT_EQ(scan.status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(scan.status().message(), HasSubstr("shorter than the 80-byte segment header"));
}

}  // namespace
}  // namespace moat::audit
