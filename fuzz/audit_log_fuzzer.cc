// Verifies arbitrary bytes as an audit log. Besides not crashing, the result
// must not depend on how the bytes are split between ChainVerifier::Feed
// calls, because the file verifier reads in chunks.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "audit/chain_verifier.h"
#include "audit/verify.h"

namespace {

moat::StatusOr<moat::audit::VerifyReport> VerifyInTwoPieces(std::string_view bytes, size_t split) {
  moat::audit::ChainVerifier verifier;
  moat::Status first = verifier.Feed(bytes.substr(0, split));
  if (!first.ok()) return first;
  moat::Status second = verifier.Feed(bytes.substr(split));
  if (!second.ok()) return second;
  return verifier.Finish();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  moat::StatusOr<moat::audit::VerifyReport> whole = moat::audit::VerifyAuditLog(bytes);

  size_t split = size == 0 ? 0 : data[0] % (size + 1);
  moat::StatusOr<moat::audit::VerifyReport> pieces = VerifyInTwoPieces(bytes, split);
  if (whole.ok() != pieces.ok()) std::abort();
  if (whole.ok() && (whole->records != pieces->records || whole->head_sha256 != pieces->head_sha256))
    std::abort();
  if (!whole.ok() && whole.status().message() != pieces.status().message()) std::abort();
  return 0;
}
