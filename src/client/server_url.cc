#include "client/server_url.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

namespace moat::client {

namespace {

constexpr std::string_view kHttpUsage =
    "expected http://HOST:PORT, or https://HOST:PORT for TLS, for example http://127.0.0.1:8000";
constexpr std::string_view kGrpcUsage =
    "expected HOST:PORT or grpc://HOST:PORT, or grpcs://HOST:PORT for TLS, for example 127.0.0.1:8001";

Status UrlError(std::string_view url, std::string_view problem, std::string_view usage = kHttpUsage) {
  return InvalidArgumentError("server URL '" + std::string(url) + "': " + std::string(problem) + "; " +
                              std::string(usage));
}

std::string Lowercase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

bool IsIpLiteral(const std::string& host, int family) {
  unsigned char buffer[16];
  return ::inet_pton(family, host.c_str(), buffer) == 1;
}

// Parses "HOST:PORT" (HOST an IPv4 literal, a bracketed IPv6 literal or
// localhost) from `authority`, a part of `url`; `usage` ends error messages.
StatusOr<ServerAddress> ParseAuthority(std::string_view url, std::string_view authority,
                                       std::string_view usage) {
  if (authority.ends_with('/')) authority.remove_suffix(1);
  if (authority.find_first_of("/?#") != std::string_view::npos) {
    return UrlError(url, "a path, query or fragment is not allowed", usage);
  }
  if (authority.find('@') != std::string_view::npos)
    return UrlError(url, "user information is not allowed", usage);

  std::string host;
  std::string_view rest;
  if (authority.starts_with('[')) {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return UrlError(url, "the IPv6 address has no closing ']'", usage);
    host = std::string(authority.substr(1, close - 1));
    if (!IsIpLiteral(host, AF_INET6))
      return UrlError(url, "'" + host + "' is not a valid IPv6 address", usage);
    rest = authority.substr(close + 1);
  } else {
    const size_t colon = authority.find(':');
    host = Lowercase(authority.substr(0, colon));
    rest = colon == std::string_view::npos ? std::string_view() : authority.substr(colon);
    if (host == "localhost") host = "127.0.0.1";
    if (host.empty()) return UrlError(url, "the host is missing", usage);
    if (!IsIpLiteral(host, AF_INET)) {
      return UrlError(url,
                      "host '" + host +
                          "' is not an IP address or localhost (names are not resolved, so that no DNS "
                          "query leaves the machine)",
                      usage);
    }
  }

  if (rest.empty()) return UrlError(url, "the port is missing", usage);
  if (!rest.starts_with(':')) return UrlError(url, "unexpected text after the host", usage);
  const std::string_view port_text = rest.substr(1);
  if (port_text.empty() || port_text.size() > 5 ||
      !std::all_of(port_text.begin(), port_text.end(), [](unsigned char c) { return std::isdigit(c); })) {
    return UrlError(url, "port '" + std::string(port_text) + "' is not a number", usage);
  }
  const int port = std::stoi(std::string(port_text));
  if (port < 1 || port > 65535)
    return UrlError(url, "port " + std::to_string(port) + " is outside 1..65535", usage);

  ServerAddress address;
  address.host = host;
  address.port = static_cast<uint16_t>(port);
  return address;
}

}  // namespace

std::string ServerAddress::HostHeader() const {
  const bool ipv6 = host.find(':') != std::string::npos;
  return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string ServerAddress::HttpUrl() const { return (tls ? "https://" : "http://") + HostHeader(); }

StatusOr<ServerAddress> ParseServerUrl(std::string_view url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return UrlError(url, "the scheme is missing");
  const std::string scheme = Lowercase(url.substr(0, scheme_end));
  if (scheme != "http" && scheme != "https") return UrlError(url, "unsupported scheme '" + scheme + "'");

  MOAT_ASSIGN_OR_RETURN(ServerAddress address, ParseAuthority(url, url.substr(scheme_end + 3), kHttpUsage));
  address.tls = scheme == "https";
  return address;
}

StatusOr<ServerAddress> ParseGrpcTarget(std::string_view target) {
  std::string_view authority = target;
  bool tls = false;
  const size_t scheme_end = target.find("://");
  if (scheme_end != std::string_view::npos) {
    const std::string scheme = Lowercase(target.substr(0, scheme_end));
    if (scheme != "grpc" && scheme != "grpcs") {
      return UrlError(target, "unsupported scheme '" + scheme + "'", kGrpcUsage);
    }
    tls = scheme == "grpcs";
    authority = target.substr(scheme_end + 3);
  }
  MOAT_ASSIGN_OR_RETURN(ServerAddress address, ParseAuthority(target, authority, kGrpcUsage));
  address.tls = tls;
  return address;
}

}  // namespace moat::client
