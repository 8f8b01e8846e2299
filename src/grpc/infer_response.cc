#include "grpc/infer_response.h"

namespace moat::grpc_server {

Status BuildModelInferResponse(const InferenceResponse& response,
                               const std::map<std::string, shm::SharedMemoryReference>& shared_memory_outputs,
                               const shm::SharedMemoryManager& shared_memory,
                               inference::ModelInferResponse& message) {
  message.set_id(response.id);
  message.set_model_name(response.model_name);
  message.set_model_version(std::to_string(response.model_version));
  if (!response.audit_receipt.empty()) {
    auto& parameters = *message.mutable_parameters();
    parameters[kAuditReceiptParameter].set_string_param(response.audit_receipt);
    if (!response.response_signature.empty()) {
      parameters[kResponseSignatureParameter].set_string_param(response.response_signature);
    }
  }
  for (const Tensor& output : response.outputs) {
    auto* tensor = message.add_outputs();
    tensor->set_name(output.name);
    tensor->set_datatype(std::string(DataTypeName(output.datatype)));
    for (int64_t dim : output.shape) tensor->add_shape(dim);

    std::string* raw = message.add_raw_output_contents();
    auto reference = shared_memory_outputs.find(output.name);
    if (reference == shared_memory_outputs.end()) {
      raw->assign(reinterpret_cast<const char*>(output.data.data()), output.data.size());
      continue;
    }
    MOAT_ASSIGN_OR_RETURN(uint64_t written,
                          shm::WriteOutputToSharedMemory(shared_memory, output, reference->second));
    auto& parameters = *tensor->mutable_parameters();
    parameters["shared_memory_region"].set_string_param(reference->second.region);
    parameters["shared_memory_byte_size"].set_int64_param(static_cast<int64_t>(written));
  }
  return OkStatus();
}

}  // namespace moat::grpc_server
