// Export of a record range of an audit log as a self-contained archive
// (audit_archive.h) that `moat audit verify` accepts on its own.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "audit/audit_source.h"
#include "audit/payload_crypto.h"
#include "common/status.h"

namespace moat::audit {

struct ExportSummary {
  uint64_t first_segment = 0;
  uint64_t last_segment = 0;
  uint64_t first_sequence = 0;  // the first record in the archive
  uint64_t record_count = 0;    // one past the last record in the archive
  uint64_t checkpoint_count = 0;
  bool has_base = false;
};

// Writes the archive of records `first` to `last` (both inclusive) to
// `out_path`, which must not exist. It contains the segments that hold the
// range, extended to the first checkpoint that covers `last` when there is
// one, that checkpoint and all before it, node.pub, and a base file when the
// first segment is not segment 1. A torn tail is left out. The source is
// checked as ScanAuditSegments does; signatures are left to the verifier.
// Errors: INVALID_ARGUMENT for first > last; OUT_OF_RANGE for a range
// outside the records present; ALREADY_EXISTS for an existing `out_path`;
// the errors of ScanAuditSegments.
StatusOr<ExportSummary> ExportAuditLog(const AuditSource& source, uint64_t first, uint64_t last,
                                       const std::string& out_path);

struct SequenceRange {
  uint64_t first = 0;
  uint64_t last = 0;  // inclusive
};

// Finds the records whose plaintext time lies in [since, until] (Unix
// microseconds, both inclusive, unset for no bound): the smallest sequence
// number with a time at or after `since` and the largest with a time at or
// before `until`. Errors: NOT_FOUND when no record matches; those of
// ReadAuditRecords.
StatusOr<SequenceRange> FindTimeRange(const AuditSource& source, const MasterKeyProvider& keys,
                                      std::optional<int64_t> since, std::optional<int64_t> until);

}  // namespace moat::audit
