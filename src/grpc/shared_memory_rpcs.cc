// The system shared memory RPCs: register, unregister and status.
#include "grpc/inference_rpc_service.h"

namespace moat::grpc_server {

::grpc::Status InferenceRpcService::SystemSharedMemoryStatus(
    Context* context, const inference::SystemSharedMemoryStatusRequest* request,
    inference::SystemSharedMemoryStatusResponse* response) {
  CallLog log = StartCall("SystemSharedMemoryStatus", *context);
  Admitted admitted;
  Status admission = Admit(*context, log, policy::Action::kRegisterSharedMemory, "", "", admitted);
  if (!admission.ok()) return log.Finish(admission);
  StatusOr<std::vector<shm::RegionInfo>> regions = shared_memory_.GetStatus(request->name());
  if (!regions.ok()) return log.Finish(regions.status());
  auto& statuses = *response->mutable_regions();
  for (const shm::RegionInfo& region : *regions) {
    auto& status = statuses[region.name];
    status.set_name(region.name);
    status.set_key(region.key);
    status.set_offset(region.offset);
    status.set_byte_size(region.byte_size);
  }
  return log.Finish(OkStatus());
}

::grpc::Status InferenceRpcService::SystemSharedMemoryRegister(
    Context* context, const inference::SystemSharedMemoryRegisterRequest* request,
    inference::SystemSharedMemoryRegisterResponse* response) {
  CallLog log = StartCall("SystemSharedMemoryRegister", *context);
  Admitted admitted;
  Status admission = Admit(*context, log, policy::Action::kRegisterSharedMemory, "", "", admitted);
  if (!admission.ok()) return log.Finish(admission);
  return log.Finish(
      shared_memory_.Register(request->name(), request->key(), request->offset(), request->byte_size()));
}

::grpc::Status InferenceRpcService::SystemSharedMemoryUnregister(
    Context* context, const inference::SystemSharedMemoryUnregisterRequest* request,
    inference::SystemSharedMemoryUnregisterResponse* response) {
  CallLog log = StartCall("SystemSharedMemoryUnregister", *context);
  Admitted admitted;
  Status admission = Admit(*context, log, policy::Action::kRegisterSharedMemory, "", "", admitted);
  if (!admission.ok()) return log.Finish(admission);
  return log.Finish(shared_memory_.Unregister(request->name()));
}

}  // namespace moat::grpc_server
