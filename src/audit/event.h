// Audit events, the input of AuditLog::Append: each event becomes one record.
#pragma once

#include <cstdint>
#include <string>

namespace moat::audit {

// The record types that the server writes. Readers must accept types they
// do not know, so that later versions can add some.
namespace record_type {
inline constexpr char kInference[] = "inference";
inline constexpr char kRejected[] = "rejected";
inline constexpr char kServerStart[] = "server_start";
inline constexpr char kServerStop[] = "server_stop";
inline constexpr char kModelLoaded[] = "model_loaded";
inline constexpr char kModelUnloaded[] = "model_unloaded";
inline constexpr char kModelRejected[] = "model_rejected";
inline constexpr char kConfigReload[] = "config_reload";
inline constexpr char kLogRecovered[] = "log_recovered";
inline constexpr char kAuditFailure[] = "audit_failure";
inline constexpr char kLogPruned[] = "log_pruned";
}  // namespace record_type

// The principal of a request that presented no credentials, and of every
// request of a server that runs without access control.
inline constexpr char kAnonymousPrincipal[] = "anonymous";

// Strings that are not valid UTF-8 are stored with each invalid byte replaced
// by U+FFFD, because JSON text must be UTF-8.
struct AuditEvent {
  std::string type;  // one of record_type, or a newer type; must not be empty
  std::string request_id, protocol, peer, model;
  std::string principal = kAnonymousPrincipal;
  // The policy action the request asked for ("infer", "load", ...) and the
  // policy rule that allowed or denied it; both empty when the server runs
  // without access control or the record is not about a request.
  std::string action, rule;
  int64_t version = 0;  // 0 when unknown
  // bundle_digest as the bundle module reports it; input_digest and
  // output_digest from DigestTensors; each empty when not applicable.
  std::string bundle_digest, input_digest, output_digest;
  std::string outcome = "ok";  // "ok" or a status code name such as "INVALID_ARGUMENT"
  std::string error;           // the error message, empty when ok
  int64_t latency_us = 0;
  int64_t instance = -1;  // the model instance that ran the request; -1 when none did
  // A JSON object with what only this type of record carries (the node
  // identity at start, the tensors of a model that records them, ...).
  // Empty means {}. REQUIRES: valid JSON text of one object when not empty.
  std::string details;
};

}  // namespace moat::audit
