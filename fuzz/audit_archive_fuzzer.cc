// Feeds arbitrary bytes to the export archive parser. A parsed archive must
// encode again and parse back to the same members.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "audit/audit_archive.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto members = moat::audit::ParseUstarArchive(input, "fuzz.tar");
  if (!members.ok()) return 0;
  auto encoded = moat::audit::EncodeUstarArchive(*members, 0);
  if (!encoded.ok()) std::abort();
  auto again = moat::audit::ParseUstarArchive(*encoded, "again.tar");
  if (!again.ok() || again->size() != members->size()) std::abort();
  for (size_t i = 0; i < members->size(); ++i) {
    if ((*again)[i].name != (*members)[i].name || (*again)[i].data != (*members)[i].data) std::abort();
  }
  return 0;
}
