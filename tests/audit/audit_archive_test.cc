// The ustar archive, the base file, export round trips through verify, and
// the record plaintext parsing and filters that queries use.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "audit/audit_archive.h"
#include "audit/audit_base.h"
#include "audit/audit_export.h"
#include "audit/log_reader.h"
#include "audit_log_fixture.h"

namespace moat::audit {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing::FixtureRecord;
using testing::kFixtureStartMicros;
using testing::MakeStandardLog;
using testing::ReadAll;
using testing::TempFolder;
using testing::VerifyFolder;
using testing::WriteAll;

TEST(UstarArchive, RoundTrip) {
  std::vector<ArchiveMember> members = {{"a", ""}, {"b.log", std::string(513, 'x')}, {"c", "hello\n"}};
  StatusOr<std::string> archive = EncodeUstarArchive(members, 1'796'445'000);
  ASSERT_TRUE(archive.ok()) << archive.status().ToString();
  EXPECT_EQ(archive->size() % kUstarBlockBytes, 0u);
  EXPECT_EQ(archive->size(), 512u * (1 + 1 + 2 + 1 + 1 + 2));
  StatusOr<std::vector<ArchiveMember>> parsed = ParseUstarArchive(*archive, "test.tar");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  ASSERT_EQ(parsed->size(), 3u);
  for (size_t i = 0; i < members.size(); ++i) {
    EXPECT_EQ((*parsed)[i].name, members[i].name);
    EXPECT_EQ((*parsed)[i].data, members[i].data);
  }
}

TEST(UstarArchive, RejectsBadNames) {
  EXPECT_FALSE(EncodeUstarArchive({{"dir/file", "x"}}, 0).ok());
  EXPECT_FALSE(EncodeUstarArchive({{"", "x"}}, 0).ok());
  EXPECT_FALSE(EncodeUstarArchive({{std::string(101, 'n'), "x"}}, 0).ok());
}

TEST(UstarArchive, DamageIsDataLoss) {
  std::string archive = EncodeUstarArchive({{"a", "contents"}, {"b", "more"}}, 0).value();
  std::string flipped = archive;
  flipped[1024 + 3] ^= 1;  // the second member's name
  EXPECT_EQ(ParseUstarArchive(flipped, "t").status().message(),
            "t: archive header at byte offset 1024: header checksum mismatch");
  EXPECT_EQ(ParseUstarArchive(archive.substr(0, 1024), "t").status().message(),
            "t: archive ends at byte offset 1024 without the zero blocks that end an archive (file cut short?)");
  std::string trailing = archive + std::string(511, '\0') + "x";
  EXPECT_THAT(ParseUstarArchive(trailing, "t").status().message(), HasSubstr("after the end of the archive"));
  std::string duplicate = EncodeUstarArchive({{"a", "1"}, {"a", "2"}}, 0).value();
  EXPECT_EQ(ParseUstarArchive(duplicate, "t").status().message(),
            "t: archive header at byte offset 1024: member a appears twice");
}

TEST(AuditBaseFile, RoundTripAndErrors) {
  AuditBase base{4, 5, LeafHash(std::string_view("chain")),
                 {LeafHash(std::string_view("four")), LeafHash(std::string_view("one"))}};
  std::string text = EncodeAuditBase(base);
  EXPECT_THAT(text, StartsWith("moat-audit-base-v1\nsegment 4\nsequence 5\nchain "));
  StatusOr<AuditBase> parsed = ParseAuditBase(text, "base");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->segment_index, 4u);
  EXPECT_EQ(parsed->sequence, 5u);
  EXPECT_EQ(parsed->chain_hash, base.chain_hash);
  EXPECT_EQ(parsed->frontier, base.frontier);
  EXPECT_TRUE(ParseAuditBase(text.substr(0, text.size() - 1), "base").ok()) << "final newline is optional";

  EXPECT_EQ(ParseAuditBase("moat-audit-base-v2\nsegment 1\nsequence 0\nchain " + std::string(64, '0'), "base")
                .status()
                .message(),
            "base: line 1: expected \"moat-audit-base-v1\"");
  EXPECT_EQ(ParseAuditBase("moat-audit-base-v1\nsegment 0\nsequence 0\nchain " + std::string(64, '0'), "base")
                .status()
                .message(),
            "base: line 2: segment index \"0\" is not a decimal number of at least 1");
  EXPECT_EQ(ParseAuditBase("moat-audit-base-v1\nsegment 2\nsequence 0\nchain " + std::string(64, 'A'), "base")
                .status()
                .message(),
            "base: line 4: chain hash is not 64 lower-case hex digits");
  EXPECT_EQ(ParseAuditBase("moat-audit-base-v1\nsegment 2\nsequence 1\nchain " + std::string(64, '0'), "base")
                .status()
                .message(),
            "base: has 0 frontier lines, but sequence 1 needs 1 (one per set bit)");
}

TEST(ExportAuditLog, WholeLogVerifies) {
  TempFolder temp;
  auto log = MakeStandardLog(temp);
  StatusOr<AuditSource> source = AuditSource::Open(log->folder());
  ASSERT_TRUE(source.ok());
  StatusOr<ExportSummary> summary = ExportAuditLog(*source, 0, 9, temp.File("all.tar"));
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(summary->first_segment, 1u);
  EXPECT_EQ(summary->last_segment, 3u);
  EXPECT_FALSE(summary->has_base);
  StatusOr<AuditLogReport> report = VerifyFolder(*log, temp.File("all.tar"), &log->keys());
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->record_count, 10u);
  EXPECT_EQ(report->checkpoint_count, 3u);
  EXPECT_EQ(report->opened_records, 10u);
  EXPECT_TRUE(report->warnings.empty());
}

TEST(ExportAuditLog, RangeNotStartingAtOne) {
  TempFolder temp;
  auto log = MakeStandardLog(temp);
  log->AppendSegment(2);  // records 10 and 11, not yet checkpointed
  StatusOr<AuditSource> source = AuditSource::Open(log->folder());
  ASSERT_TRUE(source.ok());
  StatusOr<ExportSummary> summary = ExportAuditLog(*source, 4, 5, temp.File("part.tar"));
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(summary->first_segment, 2u);
  EXPECT_EQ(summary->last_segment, 2u);
  EXPECT_EQ(summary->first_sequence, 3u);
  EXPECT_EQ(summary->record_count, 7u);
  EXPECT_EQ(summary->checkpoint_count, 2u) << "cut after the first checkpoint that covers record 5";
  EXPECT_TRUE(summary->has_base);

  StatusOr<AuditLogReport> report = VerifyFolder(*log, temp.File("part.tar"), &log->keys());
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->first_sequence, 3u);
  EXPECT_EQ(report->record_count, 7u);
  EXPECT_EQ(report->segment_indexes, (std::vector<uint64_t>{2}));
  EXPECT_EQ(report->checkpointed_size, 7u);
  EXPECT_EQ(report->checkpoints_before_first_record, 0u) << "size 3 is checked against the base frontier";
  EXPECT_EQ(report->uncovered_records, 0u);
  EXPECT_EQ(report->opened_records, 4u);

  // Uncovered records at the end: the archive reaches the end of the log.
  StatusOr<ExportSummary> tail = ExportAuditLog(*source, 8, 11, temp.File("tail.tar"));
  ASSERT_TRUE(tail.ok()) << tail.status().ToString();
  EXPECT_EQ(tail->first_segment, 3u);
  EXPECT_EQ(tail->last_segment, 4u);
  StatusOr<AuditLogReport> tail_report = VerifyFolder(*log, temp.File("tail.tar"));
  ASSERT_TRUE(tail_report.ok()) << tail_report.status().ToString();
  EXPECT_EQ(tail_report->uncovered_records, 2u);

  // An export of an export: the base is carried over.
  StatusOr<AuditSource> archive = AuditSource::Open(temp.File("tail.tar"));
  ASSERT_TRUE(archive.ok());
  StatusOr<ExportSummary> again = ExportAuditLog(*archive, 10, 11, temp.File("again.tar"));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE(VerifyFolder(*log, temp.File("again.tar")).ok());
}

TEST(ExportAuditLog, RangeErrors) {
  TempFolder temp;
  auto log = MakeStandardLog(temp);
  StatusOr<AuditSource> source = AuditSource::Open(log->folder());
  ASSERT_TRUE(source.ok());
  StatusOr<ExportSummary> reversed = ExportAuditLog(*source, 5, 4, temp.File("x.tar"));
  EXPECT_EQ(reversed.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(reversed.status().message(), "the range starts at record 5, after its end at record 4");
  StatusOr<ExportSummary> beyond = ExportAuditLog(*source, 5, 10, temp.File("x.tar"));
  EXPECT_EQ(beyond.status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ(beyond.status().message(), "records 5 to 10 are not all in " + log->folder() +
                                           ", which contains records 0 to 10 (exclusive)");
  ASSERT_TRUE(ExportAuditLog(*source, 0, 0, temp.File("x.tar")).ok());
  EXPECT_EQ(ExportAuditLog(*source, 0, 0, temp.File("x.tar")).status().code(), StatusCode::kAlreadyExists);
}

TEST(ExportAuditLog, DamagedArchiveFailsVerify) {
  TempFolder temp;
  auto log = MakeStandardLog(temp);
  StatusOr<AuditSource> source = AuditSource::Open(log->folder());
  ASSERT_TRUE(source.ok());
  ASSERT_TRUE(ExportAuditLog(*source, 4, 9, temp.File("part.tar")).ok());
  std::string archive = ReadAll(temp.File("part.tar"));
  // The base member comes first; change one frontier digit in its data.
  size_t frontier = archive.find("frontier ");
  ASSERT_NE(frontier, std::string::npos);
  archive[frontier + 9] = archive[frontier + 9] == '0' ? '1' : '0';
  WriteAll(temp.File("part.tar"), archive);
  StatusOr<AuditLogReport> report = VerifyFolder(*log, temp.File("part.tar"));
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(report.status().message(), StartsWith(temp.File("part.tar") + ":checkpoints: line 1: checkpoint 0 of "
                                                                            "size 3 has root "));
}

TEST(AuditSourceArchive, RejectsForeignMembers) {
  TempFolder temp;
  std::string path = temp.File("foreign.tar");
  WriteAll(path, EncodeUstarArchive({{"checkpoints", ""}, {"notes.txt", "hello"}}, 0).value());
  StatusOr<AuditSource> source = AuditSource::Open(path);
  ASSERT_FALSE(source.ok());
  EXPECT_EQ(source.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(source.status().message(), path + ": archive member notes.txt is not a file of an audit log");
}

TEST(AuditSourceArchive, QueryReadsAnArchive) {
  TempFolder temp;
  auto log = MakeStandardLog(temp);
  StatusOr<AuditSource> folder = AuditSource::Open(log->folder());
  ASSERT_TRUE(folder.ok());
  ASSERT_TRUE(ExportAuditLog(*folder, 7, 8, temp.File("part.tar")).ok());
  StatusOr<AuditSource> archive = AuditSource::Open(temp.File("part.tar"));
  ASSERT_TRUE(archive.ok()) << archive.status().ToString();
  EXPECT_TRUE(archive->is_archive());
  std::vector<uint64_t> sequences;
  Status read = ReadAuditRecords(*archive, log->keys(), [&](const OpenedRecord& record) {
    sequences.push_back(record.summary.sequence);
    return OkStatus();
  });
  ASSERT_TRUE(read.ok()) << read.ToString();
  EXPECT_EQ(sequences, (std::vector<uint64_t>{7, 8, 9}));
}

TEST(RecordPlaintext, ParsesTheDocumentedFields) {
  FixtureRecord record;
  record.model = "resnet";
  record.version = 3;
  StatusOr<RecordSummary> summary = ParseRecordSummary(testing::FixturePlaintext(42, record));
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(summary->sequence, 42u);
  EXPECT_EQ(summary->type, "inference");
  EXPECT_EQ(summary->time, "2026-12-05T04:30:42.000000Z");
  EXPECT_EQ(summary->time_micros, kFixtureStartMicros + 42'000'000);
  EXPECT_EQ(summary->model, "resnet");
  EXPECT_EQ(summary->version, 3);
  EXPECT_EQ(summary->principal, "anonymous");
  EXPECT_EQ(summary->outcome, "ok");
  EXPECT_EQ(summary->request_id, "req-42");

  EXPECT_EQ(ParseRecordSummary("{\"format\":1}").status().message(), "field \"format\" is not 2");
  EXPECT_EQ(ParseRecordSummary("{\"format\":2,\"seq\":1,\"type\":\"x\",\"time\":\"yesterday\"}").status().message(),
            "field \"time\" is missing or not an RFC 3339 time");
  EXPECT_TRUE(ParseRecordSummary("{\"format\":2,\"seq\":1,\"type\":\"future_type\",\"time\":\"2026-01-01T00:00:00Z\","
                                 "\"new_field\":[1]}")
                  .ok())
      << "unknown types and fields are accepted";
}

TEST(Rfc3339, ParsesOffsetsAndFractions) {
  EXPECT_EQ(ParseRfc3339Micros("1970-01-01T00:00:00Z").value(), 0);
  EXPECT_EQ(ParseRfc3339Micros("2026-12-05T04:30:00Z").value(), kFixtureStartMicros);
  EXPECT_EQ(ParseRfc3339Micros("2026-12-05T05:30:00.25+01:00").value(), kFixtureStartMicros + 250'000);
  EXPECT_EQ(ParseRfc3339Micros("2026-12-05t04:30:00.123456789z").value(), kFixtureStartMicros + 123'456);
  EXPECT_EQ(ParseRfc3339Micros("2024-02-29T00:00:00Z").value(), 1'709'164'800'000'000);
  for (const char* bad : {"2026-12-05", "2026-12-05T04:30:00", "2026-02-30T00:00:00Z", "2026-12-05T24:00:00Z",
                          "2026-12-05T04:30:00.Z", "2026-12-05T04:30:00+0100", "12345"}) {
    EXPECT_EQ(ParseRfc3339Micros(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(QueryFilters, MatchAndTimeRange) {
  TempFolder temp;
  testing::AuditLogFixture log(temp.File("audit"));
  std::vector<FixtureRecord> records(6);
  records[1].model = "other";
  records[2].outcome = "NOT_FOUND";
  records[3].type = "server_stop";
  records[4].principal = "alice";
  records[5].version = 2;
  log.AppendSegment(records);
  StatusOr<AuditSource> source = AuditSource::Open(log.folder());
  ASSERT_TRUE(source.ok());

  auto matching = [&](const RecordFilter& filter) {
    std::vector<uint64_t> found;
    Status read = ReadAuditRecords(*source, log.keys(), [&](const OpenedRecord& record) {
      if (MatchesFilter(record.summary, filter)) found.push_back(record.summary.sequence);
      return OkStatus();
    });
    EXPECT_TRUE(read.ok()) << read.ToString();
    return found;
  };
  EXPECT_EQ(matching({}), (std::vector<uint64_t>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(matching({.model = "other"}), (std::vector<uint64_t>{1}));
  EXPECT_EQ(matching({.outcome = "NOT_FOUND"}), (std::vector<uint64_t>{2}));
  EXPECT_EQ(matching({.type = "server_stop"}), (std::vector<uint64_t>{3}));
  EXPECT_EQ(matching({.principal = "alice"}), (std::vector<uint64_t>{4}));
  EXPECT_EQ(matching({.version = 2}), (std::vector<uint64_t>{5}));
  EXPECT_EQ(matching({.model = "add_sub", .version = 1, .outcome = "ok"}), (std::vector<uint64_t>{0, 3, 4}));
  EXPECT_EQ(matching({.since_micros = kFixtureStartMicros + 2'000'000, .until_micros = kFixtureStartMicros + 4'000'000}),
            (std::vector<uint64_t>{2, 3, 4}));

  StatusOr<SequenceRange> range =
      FindTimeRange(*source, log.keys(), kFixtureStartMicros + 1'500'000, kFixtureStartMicros + 3'000'000);
  ASSERT_TRUE(range.ok()) << range.status().ToString();
  EXPECT_EQ(range->first, 2u);
  EXPECT_EQ(range->last, 3u);
  EXPECT_EQ(FindTimeRange(*source, log.keys(), kFixtureStartMicros + 60'000'000, std::nullopt).status().code(),
            StatusCode::kNotFound);
}

}  // namespace
}  // namespace moat::audit
