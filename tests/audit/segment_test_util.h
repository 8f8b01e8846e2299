// Helpers for the segment tests: reading a segment log back, and the byte
// offsets of frames in a segment file.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "audit/segment.h"
#include "audit/segment_writer.h"

namespace moat::audit::testing {

struct StoredRecord {
  uint64_t sequence = 0;
  std::string bytes;
  Sha256Digest chain_hash{};
};

// Scans `folder` and returns its records, or fails the test.
inline std::vector<StoredRecord> ReadSegmentLog(const std::string& folder) {
  std::vector<StoredRecord> records;
  StatusOr<SegmentLogScan> scan = ScanSegmentFolder(folder, {}, [&](const SegmentRecordView& record) {
    records.push_back({record.sequence, std::string(record.bytes), record.chain_hash});
  });
  EXPECT_TRUE(scan.ok()) << scan.status().ToString();
  return records;
}

// Byte offsets of the frames in one segment file's contents, in order.
inline std::vector<size_t> FrameOffsets(const std::string& contents) {
  std::vector<size_t> offsets;
  size_t offset = kSegmentHeaderBytes;
  while (offset + kFrameHeaderBytes <= contents.size()) {
    uint32_t length = 0;
    for (int i = 3; i >= 0; --i) length = (length << 8) | static_cast<uint8_t>(contents[offset + i]);
    offsets.push_back(offset);
    offset += kFrameHeaderBytes + length;
  }
  return offsets;
}

// Appends `record` and waits for the result, or fails the test.
inline AppendResult AppendAndWait(SegmentWriter& writer, std::string record) {
  StatusOr<AppendResult> result = writer.Append(std::move(record)).get();
  EXPECT_TRUE(result.ok()) << result.status().ToString();
  return result.ok() ? *result : AppendResult{};
}

}  // namespace moat::audit::testing
