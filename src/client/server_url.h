// Parsing of the server URLs that `moat infer` and the client library take.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace moat::client {

// The server's listening address: an IP address literal (without brackets)
// and a port.
struct ServerAddress {
  std::string host;  // "127.0.0.1" or "::1"
  uint16_t port = 0;
  bool tls = false;  // https:// or grpcs://

  // The value of the HTTP Host header, such as "127.0.0.1:8000" or "[::1]:8000".
  std::string HostHeader() const;

  // "http://HOST:PORT" or "https://HOST:PORT", for messages.
  std::string HttpUrl() const;
};

// Parses "http://HOST:PORT" or "https://HOST:PORT" (TLS) with an optional
// trailing slash. HOST is an IPv4 literal, a bracketed IPv6 literal or
// "localhost" (taken as 127.0.0.1). Other host names are rejected because
// resolving them could send a DNS query. Errors: INVALID_ARGUMENT naming the
// URL for another scheme, a missing or invalid port, user information, a
// path, a query or a fragment.
StatusOr<ServerAddress> ParseServerUrl(std::string_view url);

// Parses a gRPC server address, "HOST:PORT", "grpc://HOST:PORT" or
// "grpcs://HOST:PORT" (TLS), with HOST as for ParseServerUrl. Errors:
// INVALID_ARGUMENT naming the address for another scheme, a host name, a
// missing or invalid port or a path.
StatusOr<ServerAddress> ParseGrpcTarget(std::string_view target);

}  // namespace moat::client
