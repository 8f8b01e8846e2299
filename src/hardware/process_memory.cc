#include "hardware/process_memory.h"

#include <unistd.h>

#include <charconv>
#include <fstream>
#include <iterator>
#include <string>

namespace moat::hardware {

StatusOr<uint64_t> ParseStatmResidentPages(std::string_view text) {
  // The fields are separated by single spaces: size resident shared text lib data dt.
  size_t space = text.find(' ');
  if (space == std::string_view::npos) {
    return InvalidArgumentError("statm has no resident field: '" + std::string(text.substr(0, 80)) + "'");
  }
  std::string_view rest = text.substr(space + 1);
  std::string_view field = rest.substr(0, rest.find_first_of(" \n"));
  uint64_t pages = 0;
  auto [end, error] = std::from_chars(field.data(), field.data() + field.size(), pages);
  if (field.empty() || error != std::errc() || end != field.data() + field.size()) {
    return InvalidArgumentError("statm resident field '" + std::string(field.substr(0, 40)) +
                                "' is not a page count");
  }
  return pages;
}

std::optional<uint64_t> ReadResidentBytes() {
  // /proc files report size 0, so the file is read to its end.
  std::ifstream in("/proc/self/statm");
  if (!in) return std::nullopt;
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  StatusOr<uint64_t> pages = ParseStatmResidentPages(text);
  long page_size = ::sysconf(_SC_PAGESIZE);
  if (!pages.ok() || page_size <= 0) return std::nullopt;
  return *pages * static_cast<uint64_t>(page_size);
}

}  // namespace moat::hardware
