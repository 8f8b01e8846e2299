#include "grpc/rpc_helpers.h"

#include <cstdio>

#include "common/crypto.h"
#include "common/status_mapping.h"
#include "common/utf8.h"
#include "core/model_version.h"

namespace moat::grpc_server {
namespace {

// Decodes %XX escapes; a '%' that does not start a valid escape stays as is.
std::string PercentDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      StatusOr<std::string> byte = HexDecode(text.substr(i + 1, 2));
      if (byte.ok()) {
        out += *byte;
        i += 2;
        continue;
      }
    }
    out.push_back(text[i]);
  }
  return out;
}

}  // namespace

::grpc::Status ToGrpcStatus(const Status& status) {
  if (status.ok()) return ::grpc::Status::OK;
  return ::grpc::Status(static_cast<::grpc::StatusCode>(GrpcStatusFor(status.code())), status.message());
}

std::string PeerAddress(std::string_view grpc_peer) {
  for (std::string_view scheme : {"ipv4:", "ipv6:"}) {
    if (grpc_peer.substr(0, scheme.size()) == scheme) return PercentDecode(grpc_peer.substr(scheme.size()));
  }
  return std::string(grpc_peer);
}

StatusOr<std::optional<int64_t>> ParseVersionField(std::string_view version) {
  if (version.empty()) return std::optional<int64_t>();
  std::optional<int64_t> number = ParseVersionNumber(version);
  if (!number) {
    return InvalidArgumentError("model version " + Quote(version) +
                                " is invalid; it must be a positive decimal integer, or empty for the "
                                "latest ready version");
  }
  return number;
}

std::string Quote(std::string_view text) { return "'" + ReplaceInvalidUtf8(text, "?") + "'"; }

std::string LogSafe(std::string_view text, size_t max_bytes) {
  std::string out;
  for (size_t i = 0; i < text.size() && i < max_bytes; ++i) {
    auto byte = static_cast<unsigned char>(text[i]);
    if (byte < 0x20 || byte == 0x7f || byte == '\\') {
      char escape[5];
      std::snprintf(escape, sizeof(escape), "\\x%02x", byte);
      out += escape;
    } else {
      out.push_back(static_cast<char>(byte));
    }
  }
  if (text.size() > max_bytes) out += "...";
  return out;
}

}  // namespace moat::grpc_server
