// Small conversions shared by the gRPC handlers: status codes, peer
// addresses, version fields and text that goes into logs.
#pragma once

#include <grpcpp/support/status.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace moat::grpc_server {

// Converts `status` to a gRPC status with the code from the shared mapping
// table (GrpcStatusFor) and the same message.
::grpc::Status ToGrpcStatus(const Status& status);

// Strips the transport prefix from a peer as grpc++ reports it:
// "ipv4:127.0.0.1:5000" becomes "127.0.0.1:5000", and
// "ipv6:%5B::1%5D:5000" becomes "[::1]:5000". Other peers are returned as is.
std::string PeerAddress(std::string_view grpc_peer);

// Parses a version field: empty selects the latest ready version, anything
// else must be a positive decimal integer without sign or leading zeros.
// INVALID_ARGUMENT naming the value otherwise.
StatusOr<std::optional<int64_t>> ParseVersionField(std::string_view version);

// Returns `text` in single quotes for error messages, with bytes that are not
// well-formed UTF-8 replaced by '?'.
std::string Quote(std::string_view text);

// Returns `text` safe for one log line: control characters and the backslash
// become \xNN escapes, and text longer than `max_bytes` is cut there.
std::string LogSafe(std::string_view text, size_t max_bytes = 128);

}  // namespace moat::grpc_server
