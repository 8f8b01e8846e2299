// Builds audit folders for the reader tests as docs/formats/audit.md defines
// them: frames from SegmentWriter, payloads sealed with RecordCipher, and
// checkpoints signed with SignCheckpoint. It does not use the server's
// AuditLog, so the reader is tested against the format, not the writer.
#pragma once

#include <gtest/gtest.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "audit/audit_source.h"
#include "audit/log_reader.h"
#include "audit/checkpoint.h"
#include "audit/merkle.h"
#include "audit/payload_crypto.h"
#include "audit/segment_writer.h"
#include "audit/stored_record.h"
#include "audit_test_util.h"
#include "bundle/keys.h"
#include "segment_test_util.h"

namespace moat::audit::testing {

// 2026-12-05T04:30:00Z: the time of record 0; record s is s seconds later.
inline constexpr int64_t kFixtureStartMicros = 1'796'445'000'000'000;
inline constexpr char kFixtureKeyFile[] =
    "key k1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\ncurrent k1\n";

struct FixtureRecord {
  std::string type = "inference";
  std::string model = "add_sub";
  int64_t version = 1;
  std::string principal = "anonymous";
  std::string outcome = "ok";
  std::optional<int64_t> time_micros;  // default: kFixtureStartMicros + seq seconds
};

inline std::string FormatFixtureTime(int64_t micros) {
  time_t seconds = static_cast<time_t>(micros / 1'000'000);
  struct tm utc {};
  gmtime_r(&seconds, &utc);
  char text[80];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", utc.tm_year + 1900, utc.tm_mon + 1,
                utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, static_cast<int>(micros % 1'000'000));
  return text;
}

// Returns the compact JSON plaintext of record `seq`, in the documented field order.
inline std::string FixturePlaintext(uint64_t seq, const FixtureRecord& record) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  auto text = [&](const char* key, const std::string& value) {
    writer.Key(key);
    writer.String(value.c_str());
  };
  writer.StartObject();
  writer.Key("format");
  writer.Int(2);
  writer.Key("seq");
  writer.Uint64(seq);
  text("type", record.type);
  text("time", FormatFixtureTime(record.time_micros.value_or(kFixtureStartMicros + int64_t(seq) * 1'000'000)));
  text("request_id", "req-" + std::to_string(seq));
  text("principal", record.principal);
  text("model", record.model);
  writer.Key("version");
  writer.Int64(record.version);
  text("bundle_digest", std::string(64, 'b'));
  text("input_digest", std::string(64, 'c'));
  text("output_digest", std::string(64, 'd'));
  text("outcome", record.outcome);
  text("error", "");
  writer.Key("latency_us");
  writer.Int64(100);
  writer.Key("instance");
  writer.Int(0);
  text("protocol", "http");
  text("peer", "127.0.0.1:5000");
  text("node", "node-a");
  writer.Key("details");
  writer.StartObject();
  writer.EndObject();
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

// One audit folder at `folder`, with its master key file and the node's
// public key (PEM) written beside it as `folder`.keys and `folder`.pub.
class AuditLogFixture {
 public:
  explicit AuditLogFixture(std::string folder)
      : folder_(std::move(folder)),
        keys_(std::move(KeyFileProvider::Parse(kFixtureKeyFile, "fixture keys")).value()),
        node_key_(std::move(bundle::PrivateKey::Generate()).value()) {
    WriteAll(key_file(), kFixtureKeyFile);
    ::chmod(key_file().c_str(), 0600);
    WriteAll(public_key_file(), node_key_.public_key().ToPem().value());
  }

  const std::string& folder() const { return folder_; }
  std::string key_file() const { return folder_ + ".keys"; }
  std::string public_key_file() const { return folder_ + ".pub"; }
  std::string segment_path(uint64_t index) const { return folder_ + "/" + SegmentFileName(index); }
  std::string checkpoints_path() const { return folder_ + "/checkpoints"; }
  const KeyFileProvider& keys() const { return keys_; }
  const bundle::PrivateKey& node_key() const { return node_key_; }
  const LogId& log_id() const { return log_id_; }
  const std::vector<std::string>& stored() const { return stored_; }
  const MerkleTree& tree() const { return tree_; }
  uint64_t segment_count() const { return segment_count_; }

  // Writes node.pub into the folder, as the writer does.
  void WriteNodePublicKey() { WriteAll(folder_ + "/node.pub", node_key_.public_key().ToPem().value()); }

  // Writes one new segment holding `records`.
  void AppendSegment(const std::vector<FixtureRecord>& records) {
    auto writer = SegmentWriter::Open(folder_);
    ASSERT_TRUE(writer.ok()) << writer.status().ToString();
    ++segment_count_;
    if (segment_count_ == 1) {
      std::string header = ReadAll(segment_path(1));
      ASSERT_GE(header.size(), kSegmentHeaderBytes);
      std::memcpy(log_id_.data(), header.data() + 12, log_id_.size());  // header offset 12: log id
      cipher_ = std::make_unique<RecordCipher>(keys_, log_id_);
    }
    for (const FixtureRecord& record : records) {
      uint64_t seq = stored_.size();
      StatusOr<std::string> sealed = cipher_->Seal(seq, FixturePlaintext(seq, record));
      ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
      AppendResult appended = AppendAndWait(**writer, *sealed);
      ASSERT_EQ(appended.sequence, seq);
      stored_.push_back(*sealed);
      tree_.Append(LeafHash(*sealed));
    }
  }

  void AppendSegment(int count) { AppendSegment(std::vector<FixtureRecord>(count)); }

  // Signs `fields` with the node key, or with `key` when given.
  Checkpoint Sign(const CheckpointFields& fields, const bundle::PrivateKey* key = nullptr) const {
    StatusOr<Checkpoint> signed_checkpoint = SignCheckpoint(fields, key ? *key : node_key_);
    EXPECT_TRUE(signed_checkpoint.ok()) << signed_checkpoint.status().ToString();
    return signed_checkpoint.ok() ? *signed_checkpoint : Checkpoint{};
  }

  // The fields of the next checkpoint at `size` (all records by default).
  CheckpointFields NextFields(std::optional<uint64_t> size = std::nullopt) const {
    CheckpointFields fields;
    fields.log_id = log_id_;
    fields.tree_size = size.value_or(tree_.size());
    fields.root = tree_.Root(fields.tree_size).value();
    fields.time_ms = kFixtureStartMicros / 1000 + static_cast<int64_t>(checkpoint_count_);
    if (last_checkpoint_) fields.previous_hash = CheckpointHash(*last_checkpoint_);
    return fields;
  }

  // Appends a checkpoint line for `checkpoint` and makes it the last one.
  void AppendCheckpoint(const Checkpoint& checkpoint) {
    std::string lines = ReadAll(checkpoints_path());
    WriteAll(checkpoints_path(), lines + CheckpointToLine(checkpoint) + "\n");
    last_checkpoint_ = checkpoint;
    ++checkpoint_count_;
  }

  // Signs and appends a checkpoint of all records so far.
  Checkpoint AddCheckpoint() {
    Checkpoint checkpoint = Sign(NextFields());
    AppendCheckpoint(checkpoint);
    return checkpoint;
  }

 private:
  std::string folder_;
  KeyFileProvider keys_;
  bundle::PrivateKey node_key_;
  LogId log_id_{};
  std::unique_ptr<RecordCipher> cipher_;
  std::vector<std::string> stored_;
  MerkleTree tree_;
  uint64_t segment_count_ = 0;
  std::optional<Checkpoint> last_checkpoint_;
  uint64_t checkpoint_count_ = 0;
};

// A log of three segments of 3, 4 and 3 records, a checkpoint after each
// segment, and node.pub, inside `temp`.
inline std::unique_ptr<AuditLogFixture> MakeStandardLog(const TempFolder& temp) {
  auto log = std::make_unique<AuditLogFixture>(temp.File("audit"));
  log->AppendSegment(3);
  log->AddCheckpoint();
  log->AppendSegment(4);
  log->AddCheckpoint();
  log->AppendSegment(3);
  log->AddCheckpoint();
  log->WriteNodePublicKey();
  return log;
}

inline StatusOr<AuditLogReport> VerifyFolder(const AuditLogFixture& log, const std::string& path = "",
                                             const MasterKeyProvider* keys = nullptr) {
  MOAT_ASSIGN_OR_RETURN(AuditSource source, AuditSource::Open(path.empty() ? log.folder() : path));
  AuditVerifyOptions options;
  options.keys = keys;
  return VerifyAuditLog(source, log.node_key().public_key(), options);
}

}  // namespace moat::audit::testing
