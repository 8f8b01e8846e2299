// Feeds arbitrary bytes to the proof document and receipt parsers. What
// parses must encode back to a form that parses to the same values, and a
// parsed receipt string must be in its one canonical form.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "audit/receipt.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto proof = moat::audit::ParseProofDocument(input);
  if (proof.ok()) {
    std::string encoded = moat::audit::EncodeProofDocument(*proof);
    auto again = moat::audit::ParseProofDocument(encoded);
    if (!again.ok() || moat::audit::EncodeProofDocument(*again) != encoded) std::abort();
  }
  auto receipt = moat::audit::ParseReceipt(input);
  if (receipt.ok() && moat::audit::FormatReceipt(*receipt) != input) std::abort();
  return 0;
}
