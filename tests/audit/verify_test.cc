#include "audit/verify.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <functional>

#include "audit/record.h"
#include "audit_test_util.h"
#include "common/crypto.h"

namespace moat::audit {
namespace {

using testing::InferenceEvent;
using testing::JoinLines;
using testing::SplitLines;
using testing::TempFolder;
using testing::TestNode;

using Lines = std::vector<std::string>;

// A five-record log written by AuditLog, shared by the tamper cases.
class VerifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    contents_ = testing::WriteTestLog(folder_.File("audit.log"), 5);
    lines_ = SplitLines(contents_);
    ASSERT_EQ(lines_.size(), 5u);
  }

  // A record that a forger writes with the real encoder.
  std::string Forged(uint64_t seq, std::string_view prev) const {
    AuditEvent event = InferenceEvent(99);
    event.model = "forged";
    return EncodeRecord(event, TestNode(), seq, "2025-01-01T00:00:00.000000Z", prev);
  }

  TempFolder folder_;
  std::string contents_;
  Lines lines_;
};

void ReplaceOnce(std::string& text, std::string_view from, std::string_view to) {
  size_t at = text.find(from);
  ASSERT_NE(at, std::string::npos) << "'" << from << "' not in " << text;
  text.replace(at, from.size(), to);
}

TEST_F(VerifyTest, IntactLogVerifies) {
  StatusOr<VerifyReport> report = VerifyAuditLog(contents_);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->records, 5u);
  EXPECT_EQ(report->head_sha256, Sha256Hex(lines_[4]));
}

TEST_F(VerifyTest, EachRecordLinksToPrevious) {
  for (size_t i = 1; i < lines_.size(); ++i) {
    EXPECT_NE(lines_[i].find("\"prev_sha256\":\"" + Sha256Hex(lines_[i - 1]) + "\""), std::string::npos)
        << "line " << i + 1;
  }
  EXPECT_NE(lines_[0].find("\"prev_sha256\":\"" + std::string(kZeroHash) + "\""), std::string::npos);
}

struct TamperCase {
  std::string name;
  std::function<void(Lines&)> tamper;
  std::string expected_prefix;  // "record K (line L): reason"
};

TEST_F(VerifyTest, TamperingNamesFirstBadRecord) {
  const std::string seq2 = "\"seq\":2,";
  const std::vector<TamperCase> cases = {
      {"edit one byte of a value", [](Lines& l) { ReplaceOnce(l[2], "add_sub", "add_sup"); },
       "record 3 (line 4): previous-hash mismatch: prev_sha256 is " + Sha256Hex(lines_[2]) +
           ", but record 2 hashes to"},
      {"edit one byte of seq", [&](Lines& l) { ReplaceOnce(l[2], seq2, "\"seq\":7,"); },
       "record 2 (line 3): wrong sequence number: expected 2, found 7"},
      {"edit one byte of syntax", [](Lines& l) { l[2][0] = '['; },
       "record 2 (line 3): invalid JSON at offset"},
      {"edit the last record's newline", [](Lines& l) { l[4].back() = ' '; },
       "record 4 (line 5): torn last line"},
      {"add a carriage return", [](Lines& l) { l[1].insert(l[1].size() - 1, "\r"); },
       "record 2 (line 3): previous-hash mismatch"},
      {"delete a middle record", [](Lines& l) { l.erase(l.begin() + 2); },
       "record 2 (line 3): wrong sequence number: expected 2, found 3"},
      {"delete the first record", [](Lines& l) { l.erase(l.begin()); },
       "record 0 (line 1): wrong sequence number: expected 0, found 1"},
      {"reorder two records", [](Lines& l) { std::swap(l[1], l[2]); },
       "record 1 (line 2): wrong sequence number: expected 1, found 2"},
      {"insert a forged record with its hash",
       [&](Lines& l) { l.insert(l.begin() + 2, Forged(2, Sha256Hex(l[1]))); },
       "record 3 (line 4): wrong sequence number: expected 3, found 2"},
      {"insert a forged record without its hash",
       [&](Lines& l) { l.insert(l.begin() + 2, Forged(2, kZeroHash)); },
       "record 2 (line 3): previous-hash mismatch: prev_sha256 is " + std::string(kZeroHash)},
      {"replace the first record", [&](Lines& l) { l[0] = Forged(0, kZeroHash); },
       "record 1 (line 2): previous-hash mismatch"},
      {"truncate the last line", [](Lines& l) { l[4].resize(l[4].size() - 10); },
       "record 4 (line 5): torn last line: the log ends after " + std::to_string(lines_[4].size() - 10) +
           " bytes of this record, without a final newline"},
      {"truncate the final newline", [](Lines& l) { l[4].pop_back(); }, "record 4 (line 5): torn last line"},
      {"duplicate a record", [](Lines& l) { l.insert(l.begin() + 2, l[2]); },
       "record 3 (line 4): wrong sequence number: expected 3, found 2"},
      {"insert an empty line", [](Lines& l) { l.insert(l.begin() + 2, "\n"); },
       "record 2 (line 3): invalid JSON: empty line"},
      {"change the format version", [](Lines& l) { ReplaceOnce(l[0], "\"format\":1,", "\"format\":2,"); },
       "record 0 (line 1): wrong format version 2 (this verifier reads version 1)"},
      {"remove a field", [](Lines& l) { ReplaceOnce(l[2], "\"peer\":\"127.0.0.1:40000\",", ""); },
       "record 2 (line 3): missing field 'peer'"},
      {"remove a node field", [](Lines& l) { ReplaceOnce(l[3], "\"host\":\"node-a\",", ""); },
       "record 3 (line 4): missing field 'node.host'"},
      {"repeat a field", [](Lines& l) { ReplaceOnce(l[4], "{", "{\"seq\":9,"); },
       "record 4 (line 5): duplicate field 'seq'"},
      {"change a field's type", [](Lines& l) { ReplaceOnce(l[1], "\"version\":1,", "\"version\":\"1\","); },
       "record 1 (line 2): field 'version' must be a 64-bit integer"},
      {"hide text after a NUL byte", [](Lines& l) { l[4].insert(l[4].size() - 1, std::string("\0{}", 3)); },
       "record 4 (line 5): invalid JSON: NUL byte at offset"},
      {"append trailing JSON", [](Lines& l) { l[1].insert(l[1].size() - 1, "{}"); },
       "record 1 (line 2): invalid JSON at offset"},
      {"write invalid UTF-8", [](Lines& l) { ReplaceOnce(l[2], "add_sub", "add\xC0\xAFsub"); },
       "record 2 (line 3): invalid JSON at offset"},
  };

  for (const TamperCase& test : cases) {
    SCOPED_TRACE(test.name);
    Lines lines = lines_;
    test.tamper(lines);
    StatusOr<VerifyReport> report = VerifyAuditLog(JoinLines(lines));
    ASSERT_FALSE(report.ok());
    EXPECT_EQ(report.status().code(), StatusCode::kDataLoss);
    EXPECT_THAT(report.status().message(), ::testing::StartsWith(test.expected_prefix));
  }
}

TEST(VerifyAuditLog, EmptyLogIsValid) {
  StatusOr<VerifyReport> report = VerifyAuditLog("");
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->records, 0u);
  EXPECT_EQ(report->head_sha256, kZeroHash);
}

TEST(VerifyAuditLog, OnlyNewlineIsEmptyLine) {
  StatusOr<VerifyReport> report = VerifyAuditLog("\n");
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().message(), "record 0 (line 1): invalid JSON: empty line");
}

// Ends each hand-written record body with its prev_sha256 and '\n', chaining them.
std::string Chain(const std::vector<std::string>& bodies) {
  std::string log;
  std::string prev(kZeroHash);
  for (const std::string& body : bodies) {
    std::string line = body + ",\"prev_sha256\":\"" + prev + "\"}\n";
    prev = Sha256Hex(line);
    log += line;
  }
  return log;
}

constexpr char kTime[] = "\"time\":\"2025-01-31T23:59:59.123456Z\"";

TEST(VerifyAuditLog, ToleratesUnknownTypeWithCommonFields) {
  std::string log = Chain({
      std::string("{\"format\":1,\"seq\":0,\"type\":\"checkpoint\",") + kTime + ",\"signature\":\"AAAA\"",
      std::string("{\"format\":1,\"seq\":1,\"type\":\"merkle_root\",") + kTime +
          ",\"root\":[1,2,{\"x\":null}]",
  });
  StatusOr<VerifyReport> report = VerifyAuditLog(log);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->records, 2u);
}

TEST(VerifyAuditLog, UnknownTypeStillNeedsCommonFields) {
  std::string log = Chain({std::string("{\"format\":1,\"seq\":0,\"type\":\"checkpoint\"")});
  StatusOr<VerifyReport> report = VerifyAuditLog(log);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().message(), "record 0 (line 1): missing field 'time'");
}

TEST(VerifyAuditLog, UnknownTypeChecksKnownFieldTypes) {
  std::string log = Chain(
      {std::string("{\"format\":1,\"seq\":0,\"type\":\"checkpoint\",") + kTime + ",\"latency_us\":1.5"});
  StatusOr<VerifyReport> report = VerifyAuditLog(log);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().message(), "record 0 (line 1): field 'latency_us' must be a 64-bit integer");
}

TEST(VerifyAuditLog, ToleratesUnknownFieldsInKnownType) {
  std::string line = EncodeRecord(InferenceEvent(0), TestNode(), 0, "2025-01-31T23:59:59.123456Z", kZeroHash);
  line.insert(1, "\"principal\":\"alice\",");
  StatusOr<VerifyReport> report = VerifyAuditLog(line);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->records, 1u);
}

TEST(VerifyAuditLog, RejectsBadTimeAndHash) {
  struct Case {
    std::string body;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {"{\"format\":1,\"seq\":0,\"type\":\"x\",\"time\":\"2025-01-31 23:59:59Z\"",
       "field 'time' must be an RFC 3339 UTC time like \"2025-01-31T23:59:59.000000Z\""},
      {"{\"format\":1,\"seq\":0,\"type\":\"x\",\"time\":\"2025-13-31T23:59:59.000000Z\"",
       "field 'time' must be an RFC 3339 UTC time like \"2025-01-31T23:59:59.000000Z\""},
      {"{\"format\":1,\"seq\":0,\"type\":\"\",\"time\":\"2025-01-31T23:59:59.000000Z\"",
       "field 'type' must be a non-empty string"},
      {"{\"format\":\"1\",\"seq\":0", "field 'format' must be an integer"},
      {"{\"seq\":0", "missing field 'format'"},
      {"{\"format\":1,\"seq\":-1", "field 'seq' must be a non-negative 64-bit integer"},
  };
  for (const Case& test : cases) {
    SCOPED_TRACE(test.body);
    StatusOr<VerifyReport> report = VerifyAuditLog(Chain({test.body}));
    ASSERT_FALSE(report.ok());
    EXPECT_EQ(report.status().message(), "record 0 (line 1): " + test.reason);
  }

  std::string upper = Chain({std::string("{\"format\":1,\"seq\":0,\"type\":\"x\",") + kTime});
  ReplaceOnce(upper, "\"prev_sha256\":\"0000", "\"prev_sha256\":\"000A");
  StatusOr<VerifyReport> report = VerifyAuditLog(upper);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().message(),
            "record 0 (line 1): field 'prev_sha256' must be 64 lower-case hexadecimal digits");
}

TEST(VerifyAuditLog, RejectsNonObjectAndDeepNesting) {
  StatusOr<VerifyReport> array = VerifyAuditLog("[1,2]\n");
  ASSERT_FALSE(array.ok());
  EXPECT_EQ(array.status().message(), "record 0 (line 1): invalid JSON: the record is not a JSON object");

  std::string deep = "{\"a\":" + std::string(100000, '[') + std::string(100000, ']') + "}\n";
  StatusOr<VerifyReport> nested = VerifyAuditLog(deep);
  ASSERT_FALSE(nested.ok());
  EXPECT_EQ(nested.status().message(), "record 0 (line 1): missing field 'format'");
}

TEST(VerifyAuditLog, RejectsOverlongRecord) {
  std::string line(kMaxRecordBytes, 'x');
  StatusOr<VerifyReport> report = VerifyAuditLog(line + "\n");
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().message(), "record 0 (line 1): record is longer than the maximum of " +
                                           std::to_string(kMaxRecordBytes) + " bytes");

  StatusOr<VerifyReport> unterminated = VerifyAuditLog(line);
  ASSERT_FALSE(unterminated.ok());
  EXPECT_EQ(unterminated.status().message(), report.status().message());
}

TEST(VerifyAuditLogFile, MatchesInMemoryAcrossChunks) {
  TempFolder folder;
  std::string path = folder.File("big.log");
  // About 500 bytes per record, so the log spans several 64 KiB reads.
  std::string contents = testing::WriteTestLog(path, 400);
  ASSERT_GT(contents.size(), size_t{3} << 16);

  StatusOr<VerifyReport> from_file = VerifyAuditLogFile(path);
  ASSERT_TRUE(from_file.ok()) << from_file.status().ToString();
  EXPECT_EQ(from_file->records, 400u);
  EXPECT_EQ(from_file->head_sha256, VerifyAuditLog(contents)->head_sha256);

  Lines lines = SplitLines(contents);
  ReplaceOnce(lines[300], "add_sub", "add_suB");
  testing::WriteAll(path, JoinLines(lines));
  StatusOr<VerifyReport> tampered = VerifyAuditLogFile(path);
  ASSERT_FALSE(tampered.ok());
  EXPECT_THAT(tampered.status().message(),
              ::testing::StartsWith("record 301 (line 302): previous-hash mismatch"));
}

TEST(VerifyAuditLogFile, NamesPathOnOpenErrors) {
  TempFolder folder;
  std::string missing = folder.File("missing.log");
  StatusOr<VerifyReport> report = VerifyAuditLogFile(missing);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(report.status().message(), missing + ": file not found");

  std::string target = folder.File("target.log");
  testing::WriteAll(target, "");
  std::string link = folder.File("link.log");
  std::filesystem::create_symlink(target, link);
  StatusOr<VerifyReport> linked = VerifyAuditLogFile(link);
  ASSERT_FALSE(linked.ok());
  EXPECT_EQ(linked.status().message(), link + ": is a symbolic link");

  std::string fifo = folder.File("fifo.log");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  StatusOr<VerifyReport> piped = VerifyAuditLogFile(fifo);
  ASSERT_FALSE(piped.ok());
  EXPECT_EQ(piped.status().message(), fifo + ": not a regular file");
}

}  // namespace
}  // namespace moat::audit
