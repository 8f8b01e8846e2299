// Checks one stored audit record line against the format 1 layout.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace moat::audit {

// The fields of a record that the hash chain depends on.
struct RecordLink {
  uint64_t seq = 0;
  std::string prev_sha256;
};

// Parses `line` (without its '\n') as one format 1 record and checks its
// fields. Unknown fields and record types pass, but the fields common to all
// records must be present and fields of the layout must have their types.
// Returns DATA_LOSS whose message is the reason alone, without record number.
StatusOr<RecordLink> CheckRecord(std::string_view line);

}  // namespace moat::audit
