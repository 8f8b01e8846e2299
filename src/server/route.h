// The KServe v2 REST paths: matching a request target to an endpoint and
// decoding the model name, version and region name it carries.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace moat::server {

enum class Endpoint {
  kHealthLive,                 // GET  /v2/health/live
  kHealthReady,                // GET  /v2/health/ready
  kServerMetadata,             // GET  /v2
  kModelMetadata,              // GET  /v2/models/{m}[/versions/{v}]
  kModelReady,                 // GET  /v2/models/{m}[/versions/{v}]/ready
  kInfer,                      // POST /v2/models/{m}[/versions/{v}]/infer
  kModelConfig,                // GET  /v2/models/{m}[/versions/{v}]/config
  kModelStatistics,            // GET  /v2/models/{m}[/versions/{v}]/stats
  kAllModelStatistics,         // GET  /v2/models/stats
  kRepositoryIndex,            // POST /v2/repository/index
  kModelLoad,                  // POST /v2/repository/models/{m}/load
  kModelUnload,                // POST /v2/repository/models/{m}/unload
  kSharedMemoryStatus,         // GET  /v2/systemsharedmemory/region/{r}/status
  kAllSharedMemoryStatus,      // GET  /v2/systemsharedmemory/status
  kSharedMemoryRegister,       // POST /v2/systemsharedmemory/region/{r}/register
  kSharedMemoryUnregister,     // POST /v2/systemsharedmemory/region/{r}/unregister
  kAllSharedMemoryUnregister,  // POST /v2/systemsharedmemory/unregister
  kMetrics,                    // GET  /metrics (Prometheus text format)
};

// A matched target. The segments are as sent (still percent-encoded).
struct Route {
  Endpoint endpoint = Endpoint::kHealthLive;
  std::string model_segment;                   // empty when the path names no model
  std::optional<std::string> version_segment;  // empty when the path has no /versions/{v}
  std::string region_segment;                  // empty when the path names no shared memory region
};

// Matches the path of `target` (a query string is ignored) against the
// endpoints. NOT_FOUND naming the path when none matches. "/v2/models/stats"
// is the statistics of every model, as in Triton, so the metadata of a model
// named "stats" is reachable only with a version in the path.
StatusOr<Route> MatchRoute(std::string_view target);

// The only method each endpoint accepts: "GET" or "POST".
std::string_view EndpointMethod(Endpoint endpoint);

// Decodes percent-escapes in a model name. INVALID_ARGUMENT for an empty
// name, an escape that is not '%' and two hex digits, a decoded '/' or NUL,
// or a result that is not UTF-8.
StatusOr<std::string> DecodeModelName(std::string_view segment);

// Decodes a shared memory region name with the rules of DecodeModelName.
StatusOr<std::string> DecodeRegionName(std::string_view segment);

// Parses a version segment: no segment gives std::nullopt (the latest ready
// version), otherwise it must be a positive decimal integer without leading
// zeros that fits int64. INVALID_ARGUMENT naming the segment otherwise.
StatusOr<std::optional<int64_t>> ParseModelVersion(const std::optional<std::string>& segment);

}  // namespace moat::server
