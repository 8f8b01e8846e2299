// Feeds arbitrary bytes to the segment reader as one segment file. The
// expectation is taken from the input's own header fields, so that inputs
// with a valid header reach the frames. The reader must not crash or
// allocate beyond the input. For an accepted segment, valid and torn bytes
// add up to the input size, re-encoding the records reproduces the valid
// bytes, and the chain hash equals the one recomputed from the records.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "audit/segment.h"

namespace {

using namespace moat::audit;

uint64_t ReadUint64(const uint8_t* bytes) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | bytes[i];
  return value;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  SegmentExpectation expected;
  if (size >= kSegmentHeaderBytes) {
    LogId id;
    std::memcpy(id.data(), data + 12, id.size());
    expected.log_id = id;
    expected.index = ReadUint64(data + 28);
    expected.first_sequence = ReadUint64(data + 36);
    std::memcpy(expected.previous_chain_hash.data(), data + 44, expected.previous_chain_hash.size());
  }
  SegmentReaderOptions options;
  options.max_record_bytes = 4096;

  std::string reencoded;
  moat::Sha256Digest chain = expected.previous_chain_hash;
  auto on_record = [&](const SegmentRecordView& record) {
    AppendFrame(record.bytes, reencoded);
    chain = NextChainHash(chain, record.bytes);
    if (record.chain_hash != chain) std::abort();
  };
  moat::StatusOr<SegmentScan> scan = ScanSegment("fuzz input", input, expected, options, on_record);
  if (!scan.ok()) return 0;

  if (scan->valid_bytes + scan->torn_bytes != size) std::abort();
  if (input.substr(kSegmentHeaderBytes, scan->valid_bytes - kSegmentHeaderBytes) != reencoded) std::abort();
  if (scan->chain_hash != chain) std::abort();
  return 0;
}
