// The audit record layout of format version 1: field names, their order, the
// limits, and the encoder. docs/formats/audit.md describes the same layout.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "audit/event.h"
#include "audit/node_identity.h"

namespace moat::audit {

inline constexpr int64_t kFormatVersion = 1;

// The maximum length of a record line in bytes, counting its final '\n'.
inline constexpr size_t kMaxRecordBytes = size_t{1} << 20;

// The prev_sha256 of the first record.
inline constexpr std::string_view kZeroHash =
    "0000000000000000000000000000000000000000000000000000000000000000";

// The top-level fields in the order the writer emits them.
inline constexpr std::array<std::string_view, 17> kRecordFields = {
    "format",  "seq",           "type",         "time",          "request_id",  "model",
    "version", "bundle_digest", "input_digest", "output_digest", "node",        "outcome",
    "error",   "latency_us",    "protocol",     "peer",          "prev_sha256",
};

// The fields of the "node" object, in order.
inline constexpr std::array<std::string_view, 3> kNodeFields = {"host", "onnxruntime_version", "cpu_model"};

// Formats microseconds since the Unix epoch as RFC 3339 UTC with six
// fractional digits, for example "2025-03-01T12:00:00.000042Z".
std::string FormatRecordTime(int64_t unix_micros);

// Returns the current time in microseconds since the Unix epoch.
int64_t NowUnixMicros();

// Returns `text` with each byte that does not belong to a valid UTF-8
// sequence (RFC 3629: no overlong forms, no surrogates) replaced by U+FFFD.
std::string ToValidUtf8(std::string_view text);

// Encodes one record as compact JSON in kRecordFields order, ending in '\n'.
std::string EncodeRecord(const AuditEvent& event, const NodeIdentity& node, uint64_t seq,
                         std::string_view time, std::string_view prev_sha256);

}  // namespace moat::audit
