#include "loadgen/remote_transport.h"

#include <cstring>
#include <utility>

#include "client/grpc_client.h"
#include "client/kserve_client.h"
#include "client/shared_memory_object.h"

namespace moat::loadgen {

namespace {

// Tensors in a shared memory region start at this alignment.
constexpr uint64_t kRegionAlignment = 64;

uint64_t AlignUp(uint64_t value) {
  return (value + kRegionAlignment - 1) / kRegionAlignment * kRegionAlignment;
}

template <typename Client>
StatusOr<Client> MakeClient(const RemoteTarget& target) {
  if constexpr (std::is_same_v<Client, client::KServeClient>) {
    client::HttpOptions options;
    options.timeout = target.timeout;
    options.tls = target.tls;
    options.bearer_token = target.bearer_token;
    return client::KServeClient::Create(target.address, options);
  } else {
    client::GrpcOptions options;
    options.timeout = target.timeout;
    options.own_connection = true;
    options.tls = target.tls;
    options.bearer_token = target.bearer_token;
    return client::GrpcClient::Create(target.address, options);
  }
}

// A registered shared memory region that unregisters itself on destruction.
template <typename Client>
class RegisteredRegion {
 public:
  RegisteredRegion(Client client, client::SharedMemoryObject object, std::string name)
      : client_(std::move(client)), object_(std::move(object)), name_(std::move(name)) {}
  RegisteredRegion(const RegisteredRegion&) = delete;
  RegisteredRegion& operator=(const RegisteredRegion&) = delete;
  ~RegisteredRegion() { (void)client_.UnregisterSystemSharedMemory(name_); }

  client::SharedMemoryObject& object() { return object_; }
  const std::string& name() const { return name_; }

 private:
  Client client_;
  client::SharedMemoryObject object_;
  std::string name_;
};

template <typename Client>
class RemoteTransport : public Transport {
 public:
  RemoteTransport(Client client, InferenceRequest request, client::InferOptions options,
                  std::unique_ptr<RegisteredRegion<Client>> region)
      : client_(std::move(client)),
        request_(std::move(request)),
        options_(std::move(options)),
        region_(std::move(region)) {}

  Status Infer() override { return client_.Infer(request_, options_).status(); }

 private:
  Client client_;
  InferenceRequest request_;
  client::InferOptions options_;
  std::unique_ptr<RegisteredRegion<Client>> region_;  // null without shared memory
};

// Lays the inputs and the outputs of `probe` out in a fresh region and
// points `request` and `options` at it.
template <typename Client>
StatusOr<std::unique_ptr<RegisteredRegion<Client>>> SetUpSharedMemory(const Client& client,
                                                                      const client::InferResult& probe,
                                                                      InferenceRequest& request,
                                                                      client::InferOptions& options) {
  uint64_t size = 0;
  std::vector<uint64_t> input_offsets;
  for (const Tensor& input : request.inputs) {
    input_offsets.push_back(size);
    size = AlignUp(size + input.data.size());
  }
  std::vector<uint64_t> output_offsets;
  std::vector<uint64_t> output_sizes;
  for (const Tensor& output : probe.outputs) {
    output_offsets.push_back(size);
    // NOTE: sized from the probe response, so an output that grows on a
    // later request (variable-length BYTES) fails that request.
    output_sizes.push_back(std::max<uint64_t>(output.data.size(), 1));
    size = AlignUp(size + output_sizes.back());
  }
  MOAT_ASSIGN_OR_RETURN(client::SharedMemoryObject object,
                        client::SharedMemoryObject::CreateUnique("moat-bench", std::max<uint64_t>(size, 1)));
  std::string name = object.key().substr(1);
  for (size_t i = 0; i < request.inputs.size(); ++i) {
    Tensor& input = request.inputs[i];
    if (!input.data.empty())
      std::memcpy(object.bytes().data() + input_offsets[i], input.data.data(), input.data.size());
    options.shared_memory_inputs[input.name] = {name, input_offsets[i], input.data.size()};
    input.data = {};
    input.owner = nullptr;
  }
  request.requested_outputs.clear();
  for (size_t i = 0; i < probe.outputs.size(); ++i) {
    const Tensor& output = probe.outputs[i];
    request.requested_outputs.push_back(output.name);
    options.shared_memory_outputs[output.name] = {name, output_offsets[i], output_sizes[i]};
  }
  MOAT_RETURN_IF_ERROR(client.RegisterSystemSharedMemory(name, object.key(), 0, object.byte_size()));
  return std::make_unique<RegisteredRegion<Client>>(client, std::move(object), name);
}

template <typename Client>
class RemoteTransportFactory : public TransportFactory {
 public:
  RemoteTransportFactory(RemoteTarget target, std::vector<Tensor> inputs)
      : target_(std::move(target)), inputs_(std::move(inputs)) {}

  StatusOr<std::unique_ptr<Transport>> Create(int worker) override {
    MOAT_ASSIGN_OR_RETURN(Client client, MakeClient<Client>(target_));
    InferenceRequest request;
    request.model_name = target_.model;
    request.model_version = target_.version;
    request.inputs = inputs_;
    client::InferOptions options;
    options.binary_inputs = !target_.http_json;
    options.binary_outputs = !target_.http_json;
    std::unique_ptr<RegisteredRegion<Client>> region;
    if (target_.shared_memory) {
      StatusOr<client::InferResult> probe = client.Infer(request, options);
      if (!probe.ok()) {
        return Status(probe.status().code(), "the request that sizes the shared memory outputs of worker " +
                                                 std::to_string(worker) +
                                                 " failed: " + probe.status().message());
      }
      MOAT_ASSIGN_OR_RETURN(region, SetUpSharedMemory(client, *probe, request, options));
    }
    return std::unique_ptr<Transport>(new RemoteTransport<Client>(std::move(client), std::move(request),
                                                                  std::move(options), std::move(region)));
  }

 private:
  RemoteTarget target_;
  std::vector<Tensor> inputs_;  // shared read-only by every transport's request
};

Status CheckProtocol(const RemoteTarget& target) {
  if (target.protocol != "http" && target.protocol != "grpc") {
    return InvalidArgumentError("unknown protocol '" + target.protocol + "'; expected http or grpc");
  }
  if (target.http_json && target.protocol != "http") {
    return InvalidArgumentError("JSON tensors apply only to --protocol http");
  }
  return OkStatus();
}

template <typename Client>
StatusOr<ModelMetadata> FetchWith(const RemoteTarget& target) {
  MOAT_ASSIGN_OR_RETURN(Client client, MakeClient<Client>(target));
  StatusOr<ModelMetadata> metadata = client.GetModelMetadata(target.model, target.version);
  if (!metadata.ok() && metadata.status().code() == StatusCode::kUnavailable) {
    return UnavailableError("cannot reach the server at " + target.address + " over " + target.protocol +
                            ": " + metadata.status().message());
  }
  return metadata;
}

}  // namespace

StatusOr<ModelMetadata> FetchModelMetadata(const RemoteTarget& target) {
  MOAT_RETURN_IF_ERROR(CheckProtocol(target));
  if (target.protocol == "http") return FetchWith<client::KServeClient>(target);
  return FetchWith<client::GrpcClient>(target);
}

StatusOr<std::unique_ptr<TransportFactory>> MakeRemoteTransportFactory(const RemoteTarget& target,
                                                                       std::vector<Tensor> inputs) {
  MOAT_RETURN_IF_ERROR(CheckProtocol(target));
  if (target.protocol == "http") {
    return std::unique_ptr<TransportFactory>(
        new RemoteTransportFactory<client::KServeClient>(target, std::move(inputs)));
  }
  return std::unique_ptr<TransportFactory>(
      new RemoteTransportFactory<client::GrpcClient>(target, std::move(inputs)));
}

}  // namespace moat::loadgen
