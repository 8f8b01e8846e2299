// The management API over REST, under /moat/v1/: routes, JSON bodies in and
// out, and the mapping of auth::Management's results to HTTP statuses. The
// HTTP handler authenticates the request and passes it here with its
// caller; docs/access.md lists the routes.
#pragma once

#include <cstdint>
#include <string_view>

#include "auth/access_control.h"
#include "auth/management.h"
#include "server/http_handler.h"

namespace moat::server {

// Every management route starts with this.
inline constexpr std::string_view kManagementPathPrefix = "/moat/v1/";

// Thread-safe as Management is. `management` must outlive the object.
class ManagementApi {
 public:
  explicit ManagementApi(auth::Management& management) : management_(management) {}

  // Whether the path of `target` (a query string is ignored) lies under
  // kManagementPathPrefix, so that the handler passes it here.
  static bool Handles(std::string_view target);

  // Runs the operation that `request` names for `caller` at `now_unix` and
  // fills `reply` (whose request_id is set). Errors are {"error": ...} with
  // the status of the shared mapping, 404 for an unknown route and 405
  // (with Allow) for a wrong method; an operation that waits for approvals
  // is 428 with {"error": ..., "approval_id": ID}.
  HttpReply Handle(const HttpRequest& request, const auth::Caller& caller, HttpReply reply, int64_t now_unix);

 private:
  auth::Management& management_;
};

}  // namespace moat::server
