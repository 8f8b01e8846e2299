// Receipts, proof documents, ProveRecord and VerifyReceiptProof: round trips
// and each way a receipt or proof can fail to verify.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "audit/log_reader.h"
#include "audit/receipt.h"
#include "audit_log_fixture.h"

namespace moat::audit {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing::MakeStandardLog;
using testing::TempFolder;

Receipt ReceiptOf(const InclusionProofDocument& proof) { return Receipt{proof.log_id, proof.sequence, proof.record_hash}; }

InclusionProofDocument ProveOrFail(const std::string& folder, uint64_t sequence) {
  StatusOr<AuditSource> source = AuditSource::Open(folder);
  EXPECT_TRUE(source.ok()) << source.status().ToString();
  StatusOr<InclusionProofDocument> proof = ProveRecord(*source, sequence);
  EXPECT_TRUE(proof.ok()) << proof.status().ToString();
  return proof.ok() ? *proof : InclusionProofDocument{};
}

TEST(Receipt, FormatAndParse) {
  Receipt receipt;
  for (size_t i = 0; i < receipt.log_id.size(); ++i) receipt.log_id[i] = static_cast<uint8_t>(i);
  receipt.sequence = 1234;
  receipt.record_hash = LeafHash(std::string_view("record"));
  std::string text = FormatReceipt(receipt);
  EXPECT_EQ(text, "moat-receipt-v1:000102030405060708090a0b0c0d0e0f:1234:" + HexEncode(receipt.record_hash));
  StatusOr<Receipt> parsed = ParseReceipt(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->log_id, receipt.log_id);
  EXPECT_EQ(parsed->sequence, 1234u);
  EXPECT_EQ(parsed->record_hash, receipt.record_hash);
}

TEST(Receipt, RejectsMalformedStrings) {
  const std::string log_id(32, 'a');
  const std::string hash(64, 'b');
  const std::vector<std::string> bad = {
      "",
      "moat-receipt-v1:" + log_id + ":1",
      "moat-receipt-v2:" + log_id + ":1:" + hash,
      "moat-receipt-v1:" + std::string(32, 'A') + ":1:" + hash,
      "moat-receipt-v1:" + log_id + ":01:" + hash,
      "moat-receipt-v1:" + log_id + ":-1:" + hash,
      "moat-receipt-v1:" + log_id + ":18446744073709551616:" + hash,
      "moat-receipt-v1:" + log_id + ":1:" + hash + ":extra",
      "moat-receipt-v1:" + log_id + ":1:" + hash.substr(1),
  };
  for (const std::string& text : bad) {
    StatusOr<Receipt> parsed = ParseReceipt(text);
    EXPECT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument) << text;
  }
}

TEST(ProofDocument, RoundTrip) {
  TempFolder temp;
  auto log = MakeStandardLog(temp);
  InclusionProofDocument proof = ProveOrFail(log->folder(), 4);
  std::string json = EncodeProofDocument(proof);
  StatusOr<InclusionProofDocument> parsed = ParseProofDocument(json);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(EncodeProofDocument(*parsed), json);
  EXPECT_EQ(parsed->record, log->stored()[4]);
  EXPECT_EQ(parsed->path.size(), log->tree().InclusionProof(4, 10).value().size());
}

TEST(ProofDocument, RejectsUnknownAndMissingMembers) {
  TempFolder temp;
  auto log = MakeStandardLog(temp);
  std::string json = EncodeProofDocument(ProveOrFail(log->folder(), 1));
  std::string extra = json;
  extra.insert(1, "\"note\":\"x\",");
  EXPECT_THAT(ParseProofDocument(extra).status().message(), HasSubstr("unknown member \"note\""));
  std::string missing = json;
  size_t path = missing.find(",\"path\"");
  missing = missing.substr(0, path) + "}";
  EXPECT_EQ(ParseProofDocument(missing).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseProofDocument("[]").status().code(), StatusCode::kInvalidArgument);
}

TEST(ProveRecord, EveryRecordVerifies) {
  TempFolder temp;
  auto log = MakeStandardLog(temp);
  for (uint64_t sequence = 0; sequence < 10; ++sequence) {
    InclusionProofDocument proof = ProveOrFail(log->folder(), sequence);
    EXPECT_EQ(proof.checkpoint.fields.tree_size, 10u);
    Status verified = VerifyReceiptProof(ReceiptOf(proof), proof, log->node_key().public_key());
    EXPECT_TRUE(verified.ok()) << "record " << sequence << ": " << verified.ToString();
  }
}

TEST(ProveRecord, RecordNotYetCovered) {
  TempFolder temp;
  auto log = MakeStandardLog(temp);
  log->AppendSegment(2);
  StatusOr<AuditSource> source = AuditSource::Open(log->folder());
  ASSERT_TRUE(source.ok());
  StatusOr<InclusionProofDocument> proof = ProveRecord(*source, 11);
  ASSERT_FALSE(proof.ok());
  EXPECT_EQ(proof.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(proof.status().message(), "record 11 is not yet covered by a checkpoint: the latest checkpoint (" +
                                          log->checkpoints_path() +
                                          " line 3) has size 10, covering records 0 to 10 (exclusive); retry after "
                                          "the next checkpoint");
}

TEST(ProveRecord, RecordDoesNotExist) {
  TempFolder temp;
  auto log = MakeStandardLog(temp);
  StatusOr<AuditSource> source = AuditSource::Open(log->folder());
  ASSERT_TRUE(source.ok());
  StatusOr<InclusionProofDocument> proof = ProveRecord(*source, 10);
  ASSERT_FALSE(proof.ok());
  EXPECT_EQ(proof.status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ(proof.status().message(), "record 10 does not exist: " + log->folder() + " contains 10 records");
}

class VerifyReceiptProofTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log_ = MakeStandardLog(temp_);
    proof_ = ProveOrFail(log_->folder(), 5);
    receipt_ = ReceiptOf(proof_);
  }
  Status Verify() { return VerifyReceiptProof(receipt_, proof_, log_->node_key().public_key()); }

  TempFolder temp_;
  std::unique_ptr<testing::AuditLogFixture> log_;
  InclusionProofDocument proof_;
  Receipt receipt_;
};

TEST_F(VerifyReceiptProofTest, ReceiptForAnotherRecord) {
  receipt_.sequence = 6;
  EXPECT_EQ(Verify().message(), "the receipt names record 6, but the proof is for record 5");
}

TEST_F(VerifyReceiptProofTest, ReceiptWithAnotherHash) {
  receipt_.record_hash[0] ^= 1;
  EXPECT_EQ(Verify().code(), StatusCode::kDataLoss);
  EXPECT_THAT(Verify().message(), StartsWith("the receipt names record hash "));
}

TEST_F(VerifyReceiptProofTest, ReceiptOfAnotherLog) {
  receipt_.log_id[3] ^= 1;
  EXPECT_EQ(Verify().message(), "the receipt names log " + HexEncode(receipt_.log_id) + ", but the proof is for log " +
                                    HexEncode(proof_.log_id));
}

TEST_F(VerifyReceiptProofTest, ChangedRecord) {
  proof_.record[proof_.record.size() - 1] ^= 1;
  EXPECT_EQ(Verify().message(), "the record in the proof hashes to " + HexEncode(LeafHash(proof_.record)) +
                                    ", not to the record hash " + HexEncode(proof_.record_hash));
}

TEST_F(VerifyReceiptProofTest, ChangedPath) {
  proof_.path[1][0] ^= 1;
  Status verified = Verify();
  EXPECT_EQ(verified.code(), StatusCode::kDataLoss);
  EXPECT_THAT(verified.message(), StartsWith("the inclusion path does not lead to the checkpoint's root: "));
}

TEST_F(VerifyReceiptProofTest, ShortPath) {
  proof_.path.pop_back();
  EXPECT_THAT(Verify().message(), StartsWith("the inclusion path does not lead to the checkpoint's root: "));
}

TEST_F(VerifyReceiptProofTest, CheckpointOfAnotherKey) {
  auto other = bundle::PrivateKey::Generate();
  ASSERT_TRUE(other.ok());
  proof_.checkpoint = log_->Sign(proof_.checkpoint.fields, &*other);
  Status verified = Verify();
  EXPECT_EQ(verified.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(verified.message(), "checkpoint of size 10 is signed by key " + other->key_id() + ", not by key " +
                                    log_->node_key().key_id());
}

TEST_F(VerifyReceiptProofTest, ForgedCheckpointRoot) {
  proof_.checkpoint.fields.root[0] ^= 1;
  EXPECT_EQ(Verify().message(), "checkpoint of size 10 has a bad signature for key " + log_->node_key().key_id());
}

TEST_F(VerifyReceiptProofTest, CheckpointTooSmall) {
  CheckpointFields fields = proof_.checkpoint.fields;
  fields.tree_size = 3;
  fields.root = log_->tree().Root(3).value();
  proof_.checkpoint = log_->Sign(fields);
  EXPECT_EQ(Verify().message(),
            "the checkpoint covers records 0 to 3 (exclusive), which does not include record 5");
}

TEST_F(VerifyReceiptProofTest, RecordOpensWithKeyFile) {
  RecordCipher cipher(log_->keys(), proof_.log_id);
  StatusOr<OpenedRecord> opened = cipher.Open(proof_.sequence, proof_.record);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(opened->summary.request_id, "req-5");
  EXPECT_THAT(opened->plaintext, HasSubstr("\"output_digest\":\"" + std::string(64, 'd') + "\""));
}

}  // namespace
}  // namespace moat::audit
