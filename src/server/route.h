// The KServe v2 REST paths: matching a request target to an endpoint and
// decoding the model name and version it carries.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace moat::server {

enum class Endpoint {
  kHealthLive,      // GET  /v2/health/live
  kHealthReady,     // GET  /v2/health/ready
  kServerMetadata,  // GET  /v2
  kModelMetadata,   // GET  /v2/models/{m}[/versions/{v}]
  kModelReady,      // GET  /v2/models/{m}[/versions/{v}]/ready
  kInfer,           // POST /v2/models/{m}[/versions/{v}]/infer
};

// A matched target. The segments are as sent (still percent-encoded).
struct Route {
  Endpoint endpoint = Endpoint::kHealthLive;
  std::string model_segment;
  std::optional<std::string> version_segment;  // empty when the path has no /versions/{v}
};

// Matches the path of `target` (a query string is ignored) against the
// endpoints. NOT_FOUND naming the path when none matches.
StatusOr<Route> MatchRoute(std::string_view target);

// The only method each endpoint accepts: "GET" or "POST".
std::string_view EndpointMethod(Endpoint endpoint);

// Decodes percent-escapes in a model name. INVALID_ARGUMENT for an empty
// name, an escape that is not '%' and two hex digits, a decoded '/' or NUL,
// or a result that is not UTF-8.
StatusOr<std::string> DecodeModelName(std::string_view segment);

// Parses a version segment: no segment gives std::nullopt (the latest ready
// version), otherwise it must be a positive decimal integer without leading
// zeros that fits int64. INVALID_ARGUMENT naming the segment otherwise.
StatusOr<std::optional<int64_t>> ParseModelVersion(const std::optional<std::string>& segment);

}  // namespace moat::server
