// Client address ranges for policy conditions: "10.0.0.0/8", "::1/128",
// "192.168.1.7" (a single address). An IPv4 client that reaches an IPv6
// socket appears as ::ffff:a.b.c.d and matches IPv4 ranges as itself.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace moat::policy {

// An IPv4 or IPv6 address; IPv4 is held in IPv4-mapped IPv6 form so that
// one comparison serves both families.
struct IpAddress {
  std::array<uint8_t, 16> bytes{};
  bool operator==(const IpAddress&) const = default;
};

// Parses a numeric address without port: "127.0.0.1", "::1", "fe80::1".
// Zone ids ("%eth0"), host names and brackets are INVALID_ARGUMENT naming
// the value.
StatusOr<IpAddress> ParseIpAddress(std::string_view text);

// Parses the address part of a peer as the front ends report it:
// "127.0.0.1:5000", "[::1]:5000". INVALID_ARGUMENT naming the value
// otherwise.
StatusOr<IpAddress> ParsePeerAddress(std::string_view peer);

class AddressRange {
 public:
  // "a.b.c.d/n" (n 0-32), "v6addr/n" (n 0-128), or one address (a /32 or
  // /128). Host bits set below the prefix ("10.0.0.1/8") are
  // INVALID_ARGUMENT, because they usually mean a typing mistake. A prefix
  // length with a sign or a leading zero ("/08") is INVALID_ARGUMENT too.
  static StatusOr<AddressRange> Parse(std::string_view text);

  // An IPv4 range matches IPv4 addresses (held as ::ffff:a.b.c.d) and never
  // a native IPv6 address, so "0.0.0.0/0" is all of IPv4 only. An IPv6
  // range compares all 128 bits, so "::/0" matches every address, IPv4
  // included, and "::ffff:0:0/96" matches exactly the IPv4 ones.
  bool Contains(const IpAddress& address) const;

  // The canonical text: "10.0.0.0/8", "::1/128".
  std::string ToString() const;

 private:
  IpAddress network_{};
  int prefix_bits_ = 0;  // over the 128-bit form (IPv4 prefix + 96)
  bool is_v4_ = false;
};

}  // namespace moat::policy
