// File helpers that never follow symbolic links and report the path on error.
#pragma once

#include <string>
#include <sys/types.h>

#include "common/status.h"

namespace moat {

// Reads a whole regular file. Rejects symlinks (O_NOFOLLOW) and anything that
// is not a regular file. `max_bytes` bounds the size read.
StatusOr<std::string> ReadFile(const std::string& path, size_t max_bytes = size_t{1} << 32);

// Writes `contents` to `path` through a temporary file in the same directory,
// fsyncs it and renames it over `path`, so readers see the old or new file whole.
// The file gets permission bits `mode` (for example 0600 for private keys).
// With `replace` false, an existing `path` is never replaced: the call fails
// with ALREADY_EXISTS, even when the file appears while this call runs.
Status WriteFileAtomic(const std::string& path, std::string_view contents, mode_t mode = 0644,
                       bool replace = true);

}  // namespace moat
