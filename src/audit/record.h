// The plaintext of an audit record, format 2: one compact JSON object that
// the log seals (payload_crypto.h) before storing it. docs/formats/audit.md
// lists the fields.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "audit/event.h"

namespace moat::audit {

inline constexpr int64_t kRecordFormatVersion = 2;

// The largest plaintext the log accepts. Sealing adds at most 96 bytes, so a
// stored record stays far below the segment's frame limit.
inline constexpr size_t kMaxRecordPlaintextBytes = size_t{8} << 20;

// Formats microseconds since the Unix epoch as RFC 3339 UTC with six
// fractional digits, for example "2025-03-01T12:00:00.000042Z".
std::string FormatRecordTime(int64_t unix_micros);

// Returns the current time in microseconds since the Unix epoch.
int64_t NowUnixMicros();

// Returns `text` with each byte that does not belong to a valid UTF-8
// sequence (RFC 3629: no overlong forms, no surrogates) replaced by U+FFFD.
std::string ToValidUtf8(std::string_view text);

// Encodes the plaintext of record `seq`: compact JSON in the documented
// field order. `host` names the writing node.
std::string EncodeRecord(const AuditEvent& event, uint64_t seq, std::string_view time, std::string_view host);

// The same plaintext in two parts, so that the fields after `seq` can be
// encoded before the sequence number is known: EncodeRecord is
// RecordPrefix(seq) + EncodeRecordRest(...).
std::string RecordPrefix(uint64_t seq);
std::string EncodeRecordRest(const AuditEvent& event, std::string_view time, std::string_view host);

}  // namespace moat::audit
