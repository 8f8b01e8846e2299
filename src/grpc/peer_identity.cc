#include "grpc/peer_identity.h"

#include <grpc/grpc_security_constants.h>
#include <grpcpp/security/auth_context.h>
#include <spdlog/spdlog.h>

namespace moat::grpc_server {

std::optional<tls::PeerCertificate> PeerCertificateOf(const ::grpc::ServerContext& context) {
  std::shared_ptr<const ::grpc::AuthContext> auth = context.auth_context();
  if (auth == nullptr) return std::nullopt;
  std::vector<::grpc::string_ref> pems = auth->FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME);
  if (pems.empty()) return std::nullopt;
  StatusOr<tls::PeerCertificate> certificate =
      tls::PeerCertificateFromPem(std::string_view(pems.front().data(), pems.front().size()));
  if (!certificate.ok()) {
    spdlog::warn("grpc client {} sent a certificate whose fields cannot be read: {}", context.peer(),
                 certificate.status().message());
    return std::nullopt;
  }
  return std::move(*certificate);
}

std::string MetadataValue(const ::grpc::ServerContext& context, std::string_view key) {
  const auto& metadata = context.client_metadata();
  auto found = metadata.find(::grpc::string_ref(key.data(), key.size()));
  if (found == metadata.end()) return {};
  return std::string(found->second.data(), found->second.size());
}

}  // namespace moat::grpc_server
