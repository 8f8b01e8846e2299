#include "common/status_mapping.h"

namespace moat {
namespace {

struct StatusMapping {
  StatusCode code;
  unsigned http_status;
  int grpc_status;
};

// Codes missing here map to 500 over HTTP and INTERNAL over gRPC.
constexpr StatusMapping kStatusMappings[] = {
    {StatusCode::kOk, 200, 0},
    {StatusCode::kCancelled, 499, 1},
    {StatusCode::kInvalidArgument, 400, 3},
    {StatusCode::kDeadlineExceeded, 504, 4},
    {StatusCode::kNotFound, 404, 5},
    {StatusCode::kAlreadyExists, 409, 6},
    {StatusCode::kPermissionDenied, 403, 7},
    {StatusCode::kResourceExhausted, 429, 8},
    {StatusCode::kFailedPrecondition, 400, 9},
    {StatusCode::kAborted, 409, 10},
    {StatusCode::kOutOfRange, 400, 11},
    {StatusCode::kUnimplemented, 501, 12},
    {StatusCode::kUnavailable, 503, 14},
    {StatusCode::kDataLoss, 500, 15},
    {StatusCode::kUnauthenticated, 401, 16},
};

constexpr int kGrpcInternal = 13;

const StatusMapping* FindMapping(StatusCode code) {
  for (const StatusMapping& mapping : kStatusMappings) {
    if (mapping.code == code) return &mapping;
  }
  return nullptr;
}

}  // namespace

unsigned HttpStatusFor(StatusCode code) {
  const StatusMapping* mapping = FindMapping(code);
  return mapping ? mapping->http_status : 500;
}

int GrpcStatusFor(StatusCode code) {
  const StatusMapping* mapping = FindMapping(code);
  return mapping ? mapping->grpc_status : kGrpcInternal;
}

}  // namespace moat
