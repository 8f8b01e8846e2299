// Rules for model names and for the relative paths a bundle manifest lists.
// Both reach the filesystem and URLs, so the rules are strict and byte-based.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/status.h"

namespace moat::bundle {

inline constexpr std::string_view kManifestFileName = "manifest.json";
inline constexpr std::string_view kSignaturesDirName = "signatures";

inline constexpr size_t kMaxModelNameBytes = 128;
inline constexpr size_t kMaxPathBytes = 1024;
inline constexpr size_t kMaxPathSegmentBytes = 255;
// Deepest nesting of a listed file, and of any directory walked during
// verification: a path has at most this many '/'-separated segments.
inline constexpr size_t kMaxPathSegments = 32;

// Checks a model name: 1 to 128 bytes of [A-Za-z0-9._-], not starting with '.'.
// The error names the value.
Status ValidateModelName(std::string_view name);

// Checks a bundle-relative file path: '/'-separated, not absolute, no empty,
// "." or ".." segment, no backslash, no byte below 0x20 or 0x7f, within the
// length limits above, and not reserved (see IsReservedPath). The error names
// the path.
Status ValidateBundlePath(std::string_view path);

// True for "manifest.json", "signatures" and anything under "signatures/":
// the verifier handles those itself, so a manifest may not list them.
bool IsReservedPath(std::string_view path);

// Returns `text` in double quotes with bytes below 0x20, 0x7f, '"' and '\\'
// escaped, for error messages that show names read from disk or a manifest.
std::string QuoteForMessage(std::string_view text);

}  // namespace moat::bundle
