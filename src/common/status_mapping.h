// The one table that maps moat::StatusCode to the status of each wire
// protocol, so that an error reads the same over HTTP and gRPC.
#pragma once

#include "common/status.h"

namespace moat {

// The HTTP status for `code`: 200 for OK, a 4xx or 5xx status for codes with
// a direct meaning, and 500 for the rest.
unsigned HttpStatusFor(StatusCode code);

// The gRPC status code number for `code`. StatusCode uses gRPC's numbering,
// but front ends go through this table so that a code reserved for internal
// use can be mapped without touching them.
int GrpcStatusFor(StatusCode code);

}  // namespace moat
