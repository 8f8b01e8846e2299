// Stored audit records of format 2: the sealed payload (payload_crypto.h)
// that one segment frame contains, and the fields of its JSON plaintext that
// readers filter on. docs/formats/audit.md defines both.
//
// Record s is sealed under the data key of key period P = s >> 20, with
// RecordKeyInfo(key id, P) as the HKDF info and RecordAad(P, s) as the AAD,
// and the 16 raw log id bytes as the HKDF salt.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "audit/payload_crypto.h"
#include "audit/segment.h"
#include "common/status.h"

namespace moat::audit {

inline constexpr int kRecordKeyPeriodBits = 20;
inline constexpr int64_t kStoredRecordFormat = 2;

// Returns the key period of record `sequence`.
constexpr uint64_t KeyPeriodOf(uint64_t sequence) { return sequence >> kRecordKeyPeriodBits; }

// The plaintext fields that queries use. The plaintext itself stays the
// authority; `details` and the other fields are not parsed here.
struct RecordSummary {
  uint64_t sequence = 0;
  std::string type;
  std::string time;          // as stored, RFC 3339 UTC
  int64_t time_micros = 0;   // `time` in microseconds since the Unix epoch
  std::string request_id;
  std::string principal;
  std::string action;  // empty in records written before access control
  std::string rule;
  std::string model;
  int64_t version = 0;
  std::string outcome;
};

// Parses a record plaintext: a JSON object with "format" 2, an unsigned
// "seq", non-empty string "type", an RFC 3339 "time" and, when present,
// strings "request_id", "principal", "action", "rule", "model", "outcome" and an integer
// "version". Unknown fields are accepted. Errors: DATA_LOSS naming the field.
StatusOr<RecordSummary> ParseRecordSummary(std::string_view plaintext);

// A query over record summaries: every set field must match exactly, and
// the time must lie in [since, until] (Unix microseconds, inclusive).
struct RecordFilter {
  std::optional<std::string> type = std::nullopt;
  std::optional<std::string> model = std::nullopt;
  std::optional<int64_t> version = std::nullopt;
  std::optional<std::string> principal = std::nullopt;
  std::optional<std::string> rule = std::nullopt;
  std::optional<std::string> outcome = std::nullopt;
  std::optional<int64_t> since_micros = std::nullopt;
  std::optional<int64_t> until_micros = std::nullopt;
};

bool MatchesFilter(const RecordSummary& record, const RecordFilter& filter);

struct OpenedRecord {
  std::string plaintext;
  RecordSummary summary;
};

// Seals and opens the records of one log. Thread-safe.
// REQUIRES: `keys` outlives this object.
class RecordCipher {
 public:
  RecordCipher(const MasterKeyProvider& keys, const LogId& log_id) : keys_(keys), log_id_(log_id) {}

  // Seals the plaintext of record `sequence` under the current master key.
  // Errors: those of PayloadCipher::Seal.
  StatusOr<std::string> Seal(uint64_t sequence, std::string_view plaintext);

  // Opens stored record `sequence`, parses its plaintext and checks that the
  // "seq" inside equals `sequence`. Errors: NOT_FOUND when the key file lacks
  // the record's key id, DATA_LOSS otherwise; messages start "record N: ".
  StatusOr<OpenedRecord> Open(uint64_t sequence, std::string_view stored);

 private:
  StatusOr<PayloadCipher*> CipherFor(uint64_t period);

  const MasterKeyProvider& keys_;
  const LogId log_id_;
  std::mutex mutex_;
  std::map<uint64_t, std::unique_ptr<PayloadCipher>> ciphers_;  // by key period, guarded by mutex_
};

// Parses an RFC 3339 date-time such as "2026-12-05T04:30:00Z" into
// microseconds since the Unix epoch. It accepts a fraction of up to 9 digits
// (digits below a microsecond are dropped), a "Z" or "+hh:mm"/"-hh:mm"
// offset, and lower-case 't' and 'z' as the RFC allows.
// Errors: INVALID_ARGUMENT naming the text.
StatusOr<int64_t> ParseRfc3339Micros(std::string_view text);

}  // namespace moat::audit
