#include "audit/chain_verifier.h"

#include "audit/record_check.h"
#include "common/crypto.h"

namespace moat::audit {

namespace {
Status TooLong() {
  return DataLossError("record is longer than the maximum of " + std::to_string(kMaxRecordBytes) + " bytes");
}
}  // namespace

Status ChainVerifier::RecordError(const Status& reason) const {
  uint64_t record = report_.records;
  return DataLossError("record " + std::to_string(record) + " (line " + std::to_string(record + 1) +
                       "): " + reason.message());
}

Status ChainVerifier::CheckLine(std::string_view line) {
  if (line.size() + 1 > kMaxRecordBytes) return RecordError(TooLong());
  StatusOr<RecordLink> link = CheckRecord(line);
  if (!link.ok()) return RecordError(link.status());

  if (link->seq != report_.records) {
    return RecordError(DataLossError("wrong sequence number: expected " + std::to_string(report_.records) +
                                     ", found " + std::to_string(link->seq)));
  }
  if (link->prev_sha256 != report_.head_sha256) {
    std::string expected = report_.records == 0 ? "the first record must carry 64 zeros"
                                                : "record " + std::to_string(report_.records - 1) +
                                                      " hashes to " + report_.head_sha256;
    return RecordError(
        DataLossError("previous-hash mismatch: prev_sha256 is " + link->prev_sha256 + ", but " + expected));
  }

  // The chain covers the exact stored bytes, newline included.
  Sha256 hash;
  hash.Update(line);
  hash.Update(std::string_view("\n"));
  report_.head_sha256 = HexEncode(hash.Finish());
  ++report_.records;
  return OkStatus();
}

Status ChainVerifier::Feed(std::string_view bytes) {
  while (!bytes.empty()) {
    size_t newline = bytes.find('\n');
    if (newline == std::string_view::npos) {
      // With its '\n' still to come, this line would exceed the maximum.
      if (pending_.size() + bytes.size() >= kMaxRecordBytes) return RecordError(TooLong());
      pending_.append(bytes);
      return OkStatus();
    }

    std::string_view line = bytes.substr(0, newline);
    bytes.remove_prefix(newline + 1);
    Status checked;
    if (pending_.empty()) {
      checked = CheckLine(line);
    } else {
      pending_.append(line);
      checked = CheckLine(pending_);
      pending_.clear();
    }
    MOAT_RETURN_IF_ERROR(checked);
  }
  return OkStatus();
}

StatusOr<VerifyReport> ChainVerifier::Finish() {
  if (!pending_.empty()) {
    return RecordError(DataLossError("torn last line: the log ends after " + std::to_string(pending_.size()) +
                                     " bytes of this record, without a final newline"));
  }
  return report_;
}

}  // namespace moat::audit
