// Audit events, the input of AuditLog::Append: each event becomes one record.
#pragma once

#include <cstdint>
#include <string>

namespace moat::audit {

// The record types that the server writes. The verifier requires every field
// of the record layout in these types and tolerates types it does not know.
namespace record_type {
inline constexpr char kInference[] = "inference";
inline constexpr char kRejected[] = "rejected";
inline constexpr char kServerStart[] = "server_start";
inline constexpr char kServerStop[] = "server_stop";
inline constexpr char kModelLoaded[] = "model_loaded";
inline constexpr char kModelRejected[] = "model_rejected";
}  // namespace record_type

// Strings that are not valid UTF-8 are stored with each invalid byte replaced
// by U+FFFD, because JSON text must be UTF-8.
struct AuditEvent {
  std::string type;  // one of record_type, or a newer type; must not be empty
  std::string request_id, protocol, peer, model;
  int64_t version = 0;  // 0 when unknown
  // bundle_digest as the bundle module reports it; input_digest and
  // output_digest from DigestTensors; each empty when not applicable.
  std::string bundle_digest, input_digest, output_digest;
  std::string outcome = "ok";  // "ok" or a status code name such as "INVALID_ARGUMENT"
  std::string error;           // the error message, empty when ok
  int64_t latency_us = 0;
};

}  // namespace moat::audit
