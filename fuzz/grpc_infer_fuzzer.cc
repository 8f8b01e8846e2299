// Feeds bytes to the gRPC front end as one serialized ModelInferRequest.
// Protobuf parses the message, ParseModelInferRequest converts it (raw,
// typed and shared memory inputs, parameters, requested outputs), and
// BuildModelInferResponse encodes the inputs echoed back as outputs, with
// any shared memory outputs written into the one registered region. No input
// may crash, hang or allocate without bound.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <google/protobuf/stubs/logging.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "grpc/infer_request.h"
#include "grpc/infer_response.h"
#include "inference.pb.h"

namespace {

// The region "region" of 4096 bytes that corpus inputs may name. Its POSIX
// object is unlinked at once; the manager keeps the mapping.
moat::shm::SharedMemoryManager& SharedMemory() {
  static moat::shm::SharedMemoryManager* manager = [] {
    auto* created = new moat::shm::SharedMemoryManager(true);
    std::string key = "/moat-grpc-fuzz-" + std::to_string(::getpid());
    int fd = ::shm_open(key.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
    if (fd >= 0) {
      if (::ftruncate(fd, 4096) == 0) (void)created->Register("region", key, 0, 4096);
      ::close(fd);
      ::shm_unlink(key.c_str());
    }
    return created;
  }();
  return *manager;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Protobuf logs every string field that is not UTF-8; that is expected here.
  static const bool silenced = [] {
    google::protobuf::SetLogHandler(nullptr);
    return true;
  }();
  (void)silenced;

  auto message = std::make_shared<inference::ModelInferRequest>();
  if (!message->ParseFromArray(data, static_cast<int>(size))) return 0;
  moat::shm::SharedMemoryManager& shared_memory = SharedMemory();
  auto parsed = moat::grpc_server::ParseModelInferRequest(*message, shared_memory, message);
  if (!parsed.ok()) {
    // Every rejection carries an error code and a message.
    if (parsed.status().message().empty()) __builtin_trap();
    return 0;
  }

  moat::InferenceResponse response;
  response.id = parsed->request.id;
  response.model_name = parsed->request.model_name;
  response.model_version = parsed->request.model_version.value_or(1);
  response.outputs = parsed->request.inputs;
  inference::ModelInferResponse reply;
  moat::Status built = moat::grpc_server::BuildModelInferResponse(response, parsed->shared_memory_outputs,
                                                                  shared_memory, reply);
  if (built.ok() && reply.raw_output_contents_size() != reply.outputs_size()) __builtin_trap();
  return 0;
}
