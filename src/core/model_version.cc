#include "core/model_version.h"

#include <charconv>

namespace moat {

std::optional<int64_t> ParseVersionNumber(std::string_view text) {
  // from_chars accepts a leading '-', which the first-character check excludes.
  if (text.empty() || text.front() < '1' || text.front() > '9') return std::nullopt;
  int64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

}  // namespace moat
