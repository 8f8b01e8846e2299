#include "server/route.h"

#include <vector>

#include "common/crypto.h"
#include "core/model_version.h"
#include "server/utf8.h"

namespace moat::server {
namespace {

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> segments;
  size_t start = 1;  // after the leading '/'
  while (true) {
    size_t slash = path.find('/', start);
    segments.push_back(path.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return segments;
}

// Matches /v2/models/{m}[/versions/{v}][/ready|/infer|/config|/stats] from
// segment 2 on.
StatusOr<Route> MatchModelRoute(const std::vector<std::string_view>& segments, Status not_found) {
  Route route;
  if (segments.size() == 3 && segments[2] == "stats") {
    route.endpoint = Endpoint::kAllModelStatistics;
    return route;
  }
  route.model_segment = std::string(segments[2]);
  size_t next = 3;
  if (segments.size() >= 5 && segments[3] == "versions") {
    route.version_segment = std::string(segments[4]);  // may be empty, which ParseModelVersion rejects
    next = 5;
  }
  if (segments.size() == next) {
    route.endpoint = Endpoint::kModelMetadata;
    return route;
  }
  if (segments.size() != next + 1) return not_found;
  std::string_view action = segments[next];
  if (action == "ready") {
    route.endpoint = Endpoint::kModelReady;
  } else if (action == "infer") {
    route.endpoint = Endpoint::kInfer;
  } else if (action == "config") {
    route.endpoint = Endpoint::kModelConfig;
  } else if (action == "stats") {
    route.endpoint = Endpoint::kModelStatistics;
  } else {
    return not_found;
  }
  return route;
}

// Matches /v2/repository/index and /v2/repository/models/{m}/(load|unload).
StatusOr<Route> MatchRepositoryRoute(const std::vector<std::string_view>& segments, Status not_found) {
  Route route;
  if (segments.size() == 3 && segments[2] == "index") {
    route.endpoint = Endpoint::kRepositoryIndex;
    return route;
  }
  if (segments.size() != 5 || segments[2] != "models") return not_found;
  route.model_segment = std::string(segments[3]);
  if (segments[4] == "load") {
    route.endpoint = Endpoint::kModelLoad;
  } else if (segments[4] == "unload") {
    route.endpoint = Endpoint::kModelUnload;
  } else {
    return not_found;
  }
  return route;
}

// Matches /v2/systemsharedmemory/(status|unregister) and
// /v2/systemsharedmemory/region/{r}/(status|register|unregister).
StatusOr<Route> MatchSharedMemoryRoute(const std::vector<std::string_view>& segments, Status not_found) {
  Route route;
  if (segments.size() == 3) {
    if (segments[2] == "status") {
      route.endpoint = Endpoint::kAllSharedMemoryStatus;
    } else if (segments[2] == "unregister") {
      route.endpoint = Endpoint::kAllSharedMemoryUnregister;
    } else {
      return not_found;
    }
    return route;
  }
  if (segments.size() != 5 || segments[2] != "region") return not_found;
  route.region_segment = std::string(segments[3]);
  if (segments[4] == "status") {
    route.endpoint = Endpoint::kSharedMemoryStatus;
  } else if (segments[4] == "register") {
    route.endpoint = Endpoint::kSharedMemoryRegister;
  } else if (segments[4] == "unregister") {
    route.endpoint = Endpoint::kSharedMemoryUnregister;
  } else {
    return not_found;
  }
  return route;
}

// Decodes percent-escapes in a path segment that contains a `name_kind`
// ("model name", ...).
StatusOr<std::string> DecodeNameSegment(std::string_view segment, std::string_view name_kind) {
  std::string shown = "'" + SanitizeUtf8(segment) + "'";
  if (segment.empty()) return InvalidArgumentError(std::string(name_kind) + " in the path is empty");

  std::string name;
  name.reserve(segment.size());
  for (size_t i = 0; i < segment.size(); ++i) {
    if (segment[i] != '%') {
      name += segment[i];
      continue;
    }
    // Fewer than two characters after the '%' decode to no byte or fail.
    StatusOr<std::string> escaped = HexDecode(segment.substr(i + 1, 2));
    if (!escaped.ok() || escaped->size() != 1) {
      return InvalidArgumentError(std::string(name_kind) + " " + shown +
                                  " has an invalid percent-escape at offset " + std::to_string(i) +
                                  "; '%' must be followed by two hex digits");
    }
    char decoded = (*escaped)[0];
    if (decoded == '/' || decoded == '\0') {
      return InvalidArgumentError(std::string(name_kind) + " " + shown +
                                  " decodes to a '/' or NUL character at offset " + std::to_string(i) +
                                  ", which a " + std::string(name_kind) + " cannot contain");
    }
    name += decoded;
    i += 2;
  }
  if (!IsValidUtf8(name)) {
    return InvalidArgumentError(std::string(name_kind) + " " + shown + " does not decode to UTF-8 text");
  }
  return name;
}

}  // namespace

StatusOr<Route> MatchRoute(std::string_view target) {
  std::string_view path = target.substr(0, target.find('?'));
  Status not_found = NotFoundError("no endpoint at path '" + SanitizeUtf8(path) + "'");
  if (path.empty() || path.front() != '/') return not_found;

  if (path == "/metrics") return Route{Endpoint::kMetrics, "", std::nullopt, ""};
  std::vector<std::string_view> segments = SplitPath(path);
  if (segments[0] != "v2") return not_found;
  if (segments.size() == 1) return Route{Endpoint::kServerMetadata, "", std::nullopt, ""};
  if (segments.size() == 3 && segments[1] == "health") {
    if (segments[2] == "live") return Route{Endpoint::kHealthLive, "", std::nullopt, ""};
    if (segments[2] == "ready") return Route{Endpoint::kHealthReady, "", std::nullopt, ""};
    return not_found;
  }
  if (segments.size() >= 3 && segments[1] == "models") return MatchModelRoute(segments, not_found);
  if (segments.size() >= 3 && segments[1] == "repository") return MatchRepositoryRoute(segments, not_found);
  if (segments.size() >= 3 && segments[1] == "systemsharedmemory") {
    return MatchSharedMemoryRoute(segments, not_found);
  }
  return not_found;
}

std::string_view EndpointMethod(Endpoint endpoint) {
  switch (endpoint) {
    case Endpoint::kInfer:
    case Endpoint::kRepositoryIndex:
    case Endpoint::kModelLoad:
    case Endpoint::kModelUnload:
    case Endpoint::kSharedMemoryRegister:
    case Endpoint::kSharedMemoryUnregister:
    case Endpoint::kAllSharedMemoryUnregister:
      return "POST";
    default:
      return "GET";
  }
}

StatusOr<std::string> DecodeModelName(std::string_view segment) {
  return DecodeNameSegment(segment, "model name");
}

StatusOr<std::string> DecodeRegionName(std::string_view segment) {
  return DecodeNameSegment(segment, "shared memory region name");
}

StatusOr<std::optional<int64_t>> ParseModelVersion(const std::optional<std::string>& version_segment) {
  if (!version_segment) return std::optional<int64_t>();
  std::string_view segment = *version_segment;
  auto invalid = [&] {
    return InvalidArgumentError("model version '" + SanitizeUtf8(segment) +
                                "' in the path is invalid; it must be a positive decimal integer");
  };
  std::optional<int64_t> version = ParseVersionNumber(segment);
  if (!version) return invalid();
  return version;
}

}  // namespace moat::server
