// The reader side of the audit log: verification of a whole folder or export
// archive against the node's public key, inclusion proofs, and decrypted
// reads for queries. docs/formats/audit.md defines what is checked.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "audit/audit_source.h"
#include "audit/payload_crypto.h"
#include "audit/receipt.h"
#include "audit/stored_record.h"
#include "bundle/keys.h"
#include "common/status.h"

namespace moat::audit {

struct AuditVerifyOptions {
  // When set, every record is also opened and its inner "seq" checked.
  const MasterKeyProvider* keys = nullptr;
  // Called with each opened record when `keys` is set.
  std::function<void(const OpenedRecord&)> on_opened;
  SegmentReaderOptions segments;
};

struct AuditLogReport {
  std::optional<LogId> log_id;        // unset when no segment is present
  uint64_t first_sequence = 0;        // above 0 when a base file is present
  uint64_t record_count = 0;          // one past the last record present
  std::vector<uint64_t> segment_indexes;
  uint64_t checkpoint_count = 0;
  uint64_t checkpointed_size = 0;     // the largest checkpoint's tree size
  // Checkpoints smaller than first_sequence: their signatures and links are
  // checked, but their roots cannot be compared with records not present.
  uint64_t checkpoints_before_first_record = 0;
  // Records chained but not yet covered by a signed checkpoint.
  uint64_t uncovered_records = 0;
  uint64_t opened_records = 0;
  std::string torn_segment;           // empty when no torn tail
  uint64_t torn_segment_bytes = 0;
  uint64_t torn_checkpoint_bytes = 0;  // an incomplete last checkpoints line
  // Conditions that are reported but do not fail verification.
  std::vector<std::string> warnings;
};

// Verifies the log in `source` against `key`, the node's public key from a
// trusted channel. node.pub inside the log is only compared with it.
// It checks the segments as ScanAuditSegments does, and each checkpoint's
// signature, log id, link to the one before, size and time order. No
// checkpoint may cover more records than are present, and each checkpoint's
// root must equal the Merkle root of the records (from the base frontier
// when there is one). Errors: DATA_LOSS naming the file, line or byte offset,
// sequence number or checkpoint number and the values that differ;
// FAILED_PRECONDITION when a file cannot be read; NOT_FOUND when the key
// file lacks a record's key.
StatusOr<AuditLogReport> VerifyAuditLog(const AuditSource& source, const bundle::PublicKey& key,
                                        const AuditVerifyOptions& options = {});

// Builds the proof document of record `sequence` against the latest
// checkpoint. Signatures are not checked here: the receiver does that.
// Errors: OUT_OF_RANGE when the record does not exist; FAILED_PRECONDITION
// when no checkpoint covers it yet (naming the latest checkpoint's size) or
// when the log does not start at record 0; DATA_LOSS when the latest
// checkpoint does not match the records.
StatusOr<InclusionProofDocument> ProveRecord(const AuditSource& source, uint64_t sequence);

// Scans the segments (structure only, no signature or checkpoint checks) and
// opens every record in order, calling `visit` with each. Errors: those of
// ScanAuditSegments and RecordCipher::Open, and any error of `visit`.
Status ReadAuditRecords(const AuditSource& source, const MasterKeyProvider& keys,
                        const std::function<Status(const OpenedRecord&)>& visit);

}  // namespace moat::audit
