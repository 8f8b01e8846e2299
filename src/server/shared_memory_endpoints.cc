// HttpHandler's system shared memory endpoints.
#include "server/control_requests.h"
#include "server/extension_json.h"
#include "server/http_handler.h"
#include "server/reply_builders.h"

namespace moat::server {
namespace {

// Each endpoint first checks whether the manager is enabled, so that with
// shared memory disabled the manager's FAILED_PRECONDITION (which explains how
// to enable it) comes before any complaint about the request itself. A
// disabled manager returns that error from every call, GetStatus included.

// Decodes the region segment of the path; an empty segment (the endpoints for
// every region) stays empty.
StatusOr<std::string> RegionName(const std::string& region_segment) {
  if (region_segment.empty()) return std::string();
  return DecodeRegionName(region_segment);
}

}  // namespace

HttpReply HttpHandler::HandleSharedMemoryStatus(const std::string& region_segment, HttpReply reply) {
  if (!shared_memory_.enabled()) return ErrorReply(std::move(reply), shared_memory_.GetStatus("").status());
  StatusOr<std::string> region = RegionName(region_segment);
  if (!region.ok()) return ErrorReply(std::move(reply), region.status());
  StatusOr<std::vector<shm::RegionInfo>> regions = shared_memory_.GetStatus(*region);
  if (!regions.ok()) return ErrorReply(std::move(reply), regions.status());
  return JsonReply(std::move(reply), SharedMemoryStatusJson(*regions));
}

HttpReply HttpHandler::HandleSharedMemoryRegister(const HttpRequest& request,
                                                  const std::string& region_segment, HttpReply reply) {
  if (!shared_memory_.enabled()) return ErrorReply(std::move(reply), shared_memory_.GetStatus("").status());
  StatusOr<std::string> region = RegionName(region_segment);
  if (!region.ok()) return ErrorReply(std::move(reply), region.status());
  StatusOr<RegisterRequest> parsed = ParseRegisterRequest(*request.body, *region);
  if (!parsed.ok()) return ErrorReply(std::move(reply), parsed.status());

  Status status = shared_memory_.Register(*region, parsed->key, parsed->offset, parsed->byte_size);
  if (!status.ok()) return ErrorReply(std::move(reply), status);
  return JsonReply(std::move(reply), "{}");
}

HttpReply HttpHandler::HandleSharedMemoryUnregister(const std::string& region_segment, HttpReply reply) {
  if (!shared_memory_.enabled()) return ErrorReply(std::move(reply), shared_memory_.GetStatus("").status());
  StatusOr<std::string> region = RegionName(region_segment);
  if (!region.ok()) return ErrorReply(std::move(reply), region.status());
  Status status = shared_memory_.Unregister(*region);
  if (!status.ok()) return ErrorReply(std::move(reply), status);
  return JsonReply(std::move(reply), "{}");
}

}  // namespace moat::server
