#include "grpc/grpc_server.h"

#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/resource_quota.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <mutex>
#include <optional>
#include <string>

#include "auth/management.h"
#include "grpc/inference_rpc_service.h"
#include "grpc/management_rpcs.h"
#include "grpc/rpc_helpers.h"

namespace moat::grpc_server {
namespace {

// How long Stop lets running calls finish before grpc++ cancels them.
constexpr std::chrono::seconds kShutdownGracePeriod{10};

// The health check service names that report the server's state: the whole
// server ("") and the inference service.
constexpr const char* kHealthServices[] = {"", "inference.GRPCInferenceService"};

// Returns "ip:port" for an IPv4 address and "[ip]:port" for an IPv6 one, or
// nullopt for anything else, so that grpc++ never resolves a host name.
std::optional<std::string> ListeningAddress(const std::string& address, uint16_t port) {
  unsigned char buffer[sizeof(in6_addr)];
  if (inet_pton(AF_INET, address.c_str(), buffer) == 1) return address + ":" + std::to_string(port);
  if (inet_pton(AF_INET6, address.c_str(), buffer) == 1) return "[" + address + "]:" + std::to_string(port);
  return std::nullopt;
}

int ClampToInt(size_t value) { return static_cast<int>(std::min<size_t>(value, INT_MAX)); }

StatusOr<std::shared_ptr<::grpc::ServerCredentials>> CredentialsFor(const GrpcServerOptions& options) {
  if (!options.tls) return ::grpc::InsecureServerCredentials();
  MOAT_ASSIGN_OR_RETURN(tls::TlsServerFiles files, tls::LoadTlsServerFiles(*options.tls));
  return TlsServerCredentials(files);
}

}  // namespace

std::shared_ptr<::grpc::ServerCredentials> TlsServerCredentials(const tls::TlsServerFiles& files) {
  ::grpc::SslServerCredentialsOptions ssl(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  if (!files.client_ca_pem.empty()) {
    ssl.pem_root_certs = files.client_ca_pem;
    ssl.client_certificate_request = files.require_client_cert
                                         ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                                         : GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  ssl.pem_key_cert_pairs.push_back({files.private_key_pem, files.certificate_chain_pem});
  return ::grpc::SslServerCredentials(ssl);
}

class GrpcServer::Impl {
 public:
  Impl(InferenceService& service, shm::SharedMemoryManager& shared_memory, GrpcServerOptions options)
      : options_(std::move(options)), rpc_service_(service, shared_memory, options_.access_control) {
    if (options_.access_control != nullptr) {
      management_ = std::make_unique<auth::Management>(*options_.access_control);
      management_rpcs_ = std::make_unique<ManagementRpcService>(*options_.access_control, *management_);
    }
  }

  Status Start() {
    std::lock_guard lock(mutex_);
    if (started_) return FailedPreconditionError("the gRPC server was already started");
    started_ = true;

    std::optional<std::string> address = ListeningAddress(options_.address, options_.port);
    if (!address) {
      return UnavailableError("cannot listen for gRPC on " + Quote(options_.address) +
                              ": it is not an IPv4 or IPv6 address");
    }
    MOAT_ASSIGN_OR_RETURN(std::shared_ptr<::grpc::ServerCredentials> credentials, CredentialsFor(options_));
    ::grpc::EnableDefaultHealthCheckService(true);
    ::grpc::ServerBuilder builder;
    int selected_port = 0;
    builder.AddListeningPort(*address, credentials, &selected_port);
    // Without this a second server could bind the same port and share its traffic.
    builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
    builder.SetMaxReceiveMessageSize(ClampToInt(options_.max_message_bytes));
    builder.SetMaxSendMessageSize(ClampToInt(options_.max_message_bytes));
    // One completion queue polled by one or two idle threads. The thread
    // that takes a call runs it and starts a new poller while the thread
    // quota allows. With a quota of max_concurrent_calls + 1, that many calls
    // run at once and grpc++ rejects the next one with RESOURCE_EXHAUSTED.
    // NOTE: a finished call's thread returns to the quota only after its
    // response has left, so a call arriving just then can be rejected too.
    // An open stream keeps its thread until it ends.
    builder.SetSyncServerOption(::grpc::ServerBuilder::SyncServerOption::NUM_CQS, 1);
    builder.SetSyncServerOption(::grpc::ServerBuilder::SyncServerOption::MIN_POLLERS, 1);
    builder.SetSyncServerOption(::grpc::ServerBuilder::SyncServerOption::MAX_POLLERS, 2);
    ::grpc::ResourceQuota quota("moat-grpc");
    quota.SetMaxThreads(std::max(options_.max_concurrent_calls, 1) + 1);
    builder.SetResourceQuota(quota);
    builder.RegisterService(&rpc_service_);
    if (management_rpcs_ != nullptr) builder.RegisterService(management_rpcs_.get());

    server_ = builder.BuildAndStart();
    if (server_ == nullptr || selected_port == 0) {
      server_.reset();
      return UnavailableError("cannot listen for gRPC on " + *address +
                              ": the address is in use or not available on this host");
    }
    port_ = static_cast<uint16_t>(selected_port);
    SetServing(true);
    spdlog::info("grpc server listening on {} port {} ({}, at most {} concurrent calls)", options_.address,
                 port_, options_.tls ? "TLS" : "plaintext", options_.max_concurrent_calls);
    return OkStatus();
  }

  uint16_t port() const { return port_; }

  void Stop() {
    std::lock_guard lock(mutex_);
    if (server_ == nullptr) return;
    SetServing(false);
    server_->Shutdown(std::chrono::system_clock::now() + kShutdownGracePeriod);
    server_->Wait();
    server_.reset();
    spdlog::info("grpc server on port {} stopped", port_);
  }

 private:
  void SetServing(bool serving) {
    ::grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService();
    if (health == nullptr) return;
    for (const char* name : kHealthServices) health->SetServingStatus(name, serving);
  }

  const GrpcServerOptions options_;
  InferenceRpcService rpc_service_;
  // The management API, served with access control only.
  std::unique_ptr<auth::Management> management_;
  std::unique_ptr<ManagementRpcService> management_rpcs_;
  std::mutex mutex_;  // serialises Start and Stop
  bool started_ = false;
  std::unique_ptr<::grpc::Server> server_;
  uint16_t port_ = 0;
};

GrpcServer::GrpcServer(InferenceService& service, shm::SharedMemoryManager& shared_memory,
                       GrpcServerOptions options)
    : impl_(std::make_unique<Impl>(service, shared_memory, std::move(options))) {}

GrpcServer::~GrpcServer() { Stop(); }

Status GrpcServer::Start() { return impl_->Start(); }

uint16_t GrpcServer::port() const { return impl_->port(); }

void GrpcServer::Stop() { impl_->Stop(); }

}  // namespace moat::grpc_server
