// Feeds arbitrary bytes to the checkpoint decoders, both as the 211 encoded
// bytes and as a line of a checkpoints file. A decoded checkpoint must encode
// back to the same bytes, and its line form must decode to it again.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "audit/checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  moat::StatusOr<moat::audit::Checkpoint> decoded = moat::audit::DecodeCheckpoint(input);
  if (decoded.ok()) {
    if (moat::audit::EncodeCheckpoint(*decoded) != input) std::abort();
    moat::StatusOr<moat::audit::Checkpoint> again =
        moat::audit::CheckpointFromLine(moat::audit::CheckpointToLine(*decoded));
    if (!again.ok() || moat::audit::EncodeCheckpoint(*again) != input) std::abort();
  }
  moat::StatusOr<moat::audit::Checkpoint> from_line = moat::audit::CheckpointFromLine(input);
  if (from_line.ok() && moat::audit::EncodeCheckpoint(*from_line).size() != moat::audit::kCheckpointBytes) std::abort();
  return 0;
}
