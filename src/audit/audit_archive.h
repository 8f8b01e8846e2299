// The export archive of an audit log: a POSIX ustar file (POSIX.1-1988, as
// in IEEE Std 1003.1 "pax" Interchange Format, ustar section) whose members
// are the files of an audit folder. Only what Moat needs is supported:
// regular files with names of at most 100 bytes, no links, no directories,
// no pax or GNU extension headers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace moat::audit {

inline constexpr size_t kUstarBlockBytes = 512;
inline constexpr size_t kUstarMaxNameBytes = 100;

struct ArchiveMember {
  std::string name;
  std::string data;
};

// Encodes `members` in order, each with mode 0600, owner 0 and modification
// time `mtime` (Unix seconds), followed by the two zero blocks that end an
// archive. Errors: INVALID_ARGUMENT for an empty name, a name over 100 bytes
// or containing '/' or a NUL byte, or a member of 8 GiB or more.
StatusOr<std::string> EncodeUstarArchive(const std::vector<ArchiveMember>& members, int64_t mtime);

// Parses an archive that EncodeUstarArchive or a common tar program wrote
// with regular files only. `source_name` starts every message. Errors are
// DATA_LOSS naming the byte offset of the bad header. They cover a wrong
// checksum, a missing "ustar" magic, a member that is not a regular file, a
// name with '/', a duplicate name and a size past the end of the data. Bytes
// other than zero after the end-of-archive block are DATA_LOSS too.
StatusOr<std::vector<ArchiveMember>> ParseUstarArchive(std::string_view data, std::string_view source_name);

}  // namespace moat::audit
