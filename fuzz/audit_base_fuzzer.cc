// Feeds arbitrary bytes to the base file parser. A parsed base must encode
// to text that parses to the same fields, and equals the input when the
// input ends with '\n' (the text form is canonical).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "audit/audit_base.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto base = moat::audit::ParseAuditBase(input, "base");
  if (!base.ok()) return 0;
  std::string encoded = moat::audit::EncodeAuditBase(*base);
  auto again = moat::audit::ParseAuditBase(encoded, "base");
  if (!again.ok() || again->segment_index != base->segment_index || again->sequence != base->sequence ||
      again->chain_hash != base->chain_hash || again->frontier != base->frontier) {
    std::abort();
  }
  if (input.ends_with('\n') && encoded != input) std::abort();
  return 0;
}
