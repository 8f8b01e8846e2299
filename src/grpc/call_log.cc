#include "grpc/call_log.h"

#include <spdlog/spdlog.h>

#include "grpc/rpc_helpers.h"

namespace moat::grpc_server {
namespace {

constexpr size_t kMaxLoggedMessageBytes = 2048;

// Codes caused by the request itself; any other failure is the server's.
bool IsClientError(StatusCode code) {
  switch (code) {
    case StatusCode::kCancelled:
    case StatusCode::kInvalidArgument:
    case StatusCode::kNotFound:
    case StatusCode::kAlreadyExists:
    case StatusCode::kPermissionDenied:
    case StatusCode::kFailedPrecondition:
    case StatusCode::kOutOfRange:
    case StatusCode::kUnimplemented:
    case StatusCode::kUnauthenticated:
      return true;
    default:
      return false;
  }
}

}  // namespace

CallLog::CallLog(std::string_view method, std::string request_id, std::string peer)
    : method_(method),
      request_id_(std::move(request_id)),
      peer_(std::move(peer)),
      start_(std::chrono::steady_clock::now()) {}

::grpc::Status CallLog::Finish(const Status& status) const {
  // As over HTTP, successful calls are logged at debug level only.
  auto level = status.ok()                      ? spdlog::level::debug
               : IsClientError(status.code()) ? spdlog::level::warn
                                                : spdlog::level::err;
  if (!spdlog::should_log(level)) return ToGrpcStatus(status);
  double latency_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_).count();
  std::string model = model_.empty() ? "-" : LogSafe(model_);
  if (status.ok()) {
    spdlog::debug("grpc {} {} from {} model={} status=OK latency_ms={:.3f}", method_, LogSafe(request_id_),
                 LogSafe(peer_), model, latency_ms);
  } else {
    spdlog::log(level, "grpc {} {} from {} model={} status={} latency_ms={:.3f} error: {}", method_,
                LogSafe(request_id_), LogSafe(peer_), model, StatusCodeName(status.code()), latency_ms,
                LogSafe(status.message(), kMaxLoggedMessageBytes));
  }
  return ToGrpcStatus(status);
}

}  // namespace moat::grpc_server
