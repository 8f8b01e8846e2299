#include "server/http_status.h"

#include <utility>

namespace moat::server {
namespace {

constexpr std::pair<StatusCode, unsigned> kHttpStatusTable[] = {
    {StatusCode::kOk, 200},
    {StatusCode::kInvalidArgument, 400},
    {StatusCode::kUnauthenticated, 401},
    {StatusCode::kPermissionDenied, 403},
    {StatusCode::kNotFound, 404},
    {StatusCode::kResourceExhausted, 429},
    {StatusCode::kUnimplemented, 501},
    {StatusCode::kUnavailable, 503},
    {StatusCode::kDeadlineExceeded, 504},
};

}  // namespace

unsigned HttpStatusFor(StatusCode code) {
  for (const auto& [status_code, http_status] : kHttpStatusTable) {
    if (status_code == code) return http_status;
  }
  return 500;
}

}  // namespace moat::server
