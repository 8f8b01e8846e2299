// Incremental verifier of the audit log's hash chain: feed the log's bytes in
// pieces of any size, then finish. Not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "audit/verify.h"
#include "common/status.h"

namespace moat::audit {

class ChainVerifier {
 public:
  // Checks every complete line in `bytes` and keeps an unfinished last line
  // for the next call. Returns the error of the first bad record, as
  // VerifyAuditLog words it; after an error the verifier must not be fed again.
  Status Feed(std::string_view bytes);

  // Ends the log: bytes after the last '\n' are a torn last line.
  StatusOr<VerifyReport> Finish();

 private:
  Status CheckLine(std::string_view line);
  Status RecordError(const Status& reason) const;

  VerifyReport report_;
  std::string pending_;  // an unfinished line carried between Feed calls
};

}  // namespace moat::audit
