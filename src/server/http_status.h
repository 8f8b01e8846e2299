// The mapping from moat::StatusCode to HTTP status codes used by the REST
// front end.
#pragma once

#include "common/status.h"

namespace moat::server {

// Returns the HTTP status for `code`: 200 for OK, 400, 401, 403, 404, 429,
// 501, 503 or 504 for the codes with a direct meaning, and 500 for the rest.
unsigned HttpStatusFor(StatusCode code);

}  // namespace moat::server
