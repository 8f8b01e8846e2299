// Readers for the client facts of a gRPC call: the verified TLS client
// certificate and the request metadata used for authentication.
#pragma once

#include <grpcpp/server_context.h>

#include <optional>
#include <string>
#include <string_view>

#include "tls/peer_certificate.h"

namespace moat::grpc_server {

// Metadata keys that the handlers read; gRPC keys are lower case.
inline constexpr std::string_view kAuthorizationKey = "authorization";
inline constexpr std::string_view kOneTimeCodeKey = "moat-otp";
inline constexpr std::string_view kApprovalKey = "moat-approval";

// The certificate that the client of `context` sent in the TLS handshake,
// which gRPC verified against the server's client CA. Nullopt for a
// plaintext call, a client without a certificate, or a certificate whose
// fields cannot be read (logged as a warning). Parses the certificate on
// every call.
std::optional<tls::PeerCertificate> PeerCertificateOf(const ::grpc::ServerContext& context);

// The first value of metadata `key` (lower case) that the client sent, empty
// when absent.
std::string MetadataValue(const ::grpc::ServerContext& context, std::string_view key);

}  // namespace moat::grpc_server
