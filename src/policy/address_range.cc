#include "policy/address_range.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>

namespace moat::policy {

namespace {

// Long enough for any numeric IPv6 text, including an embedded IPv4 tail.
constexpr size_t kMaxAddressText = INET6_ADDRSTRLEN;

constexpr std::array<uint8_t, 12> kMappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};

// Quotes a value for an error message, with '?' for each byte outside
// printable ASCII so that the message stays one readable line.
std::string Quote(std::string_view text) {
  std::string quoted = "'";
  for (char c : text) quoted.push_back(c >= 0x20 && c < 0x7F ? c : '?');
  return quoted + "'";
}

bool IsMapped(const IpAddress& address) {
  return std::equal(kMappedPrefix.begin(), kMappedPrefix.end(), address.bytes.begin());
}

struct ParsedAddress {
  IpAddress address;
  bool is_v4 = false;  // written in dotted-decimal IPv4 form
};

// On failure the message is only the reason, for the caller to prefix with
// the value it parsed.
StatusOr<ParsedAddress> ParseAddressText(std::string_view text) {
  auto invalid = [](const std::string& why) { return InvalidArgumentError(why); };
  if (text.empty()) return invalid("it is empty");
  if (text.find('%') != std::string_view::npos) return invalid("zone ids such as \"%eth0\" are not supported");
  if (text.find_first_of("[]") != std::string_view::npos) return invalid("write the address without brackets");
  if (text.size() > kMaxAddressText || text.find('\0') != std::string_view::npos) {
    return invalid("it is not a numeric IPv4 or IPv6 address");
  }

  // inet_pton needs a NUL-terminated string; it rejects spaces, host names,
  // and IPv4 parts with leading zeros or fewer than four parts (glibc).
  char buffer[kMaxAddressText + 1] = {};
  std::memcpy(buffer, text.data(), text.size());
  ParsedAddress parsed;
  in_addr v4{};
  in6_addr v6{};
  if (::inet_pton(AF_INET, buffer, &v4) == 1) {
    std::copy(kMappedPrefix.begin(), kMappedPrefix.end(), parsed.address.bytes.begin());
    std::memcpy(parsed.address.bytes.data() + 12, &v4, 4);
    parsed.is_v4 = true;
  } else if (::inet_pton(AF_INET6, buffer, &v6) == 1) {
    std::memcpy(parsed.address.bytes.data(), &v6, 16);
  } else {
    return invalid("it is not a numeric IPv4 or IPv6 address");
  }
  return parsed;
}

// Parses a port of 1 to 5 decimal digits, 1 to 65535, without a sign or a
// leading zero.
bool IsValidPort(std::string_view port) {
  if (port.empty() || port.size() > 5 || port.front() == '0') return false;
  uint32_t value = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<uint32_t>(c - '0');
  }
  return value <= 65535;
}

// Parses a prefix length without sign or leading zero ("/08" is rejected,
// because some tools read it as octal).
bool ParsePrefixLength(std::string_view text, int max_bits, int& bits) {
  if (text.empty() || text.size() > 3 || (text.size() > 1 && text.front() == '0')) return false;
  bits = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    bits = bits * 10 + (c - '0');
  }
  return bits <= max_bits;
}

// Returns whether the first `bits` bits of `a` and `b` are equal.
bool PrefixEqual(const IpAddress& a, const IpAddress& b, int bits) {
  size_t whole = static_cast<size_t>(bits / 8);
  if (!std::equal(a.bytes.begin(), a.bytes.begin() + static_cast<std::ptrdiff_t>(whole), b.bytes.begin())) {
    return false;
  }
  int rest = bits % 8;
  if (rest == 0) return true;
  auto mask = static_cast<uint8_t>(0xFF << (8 - rest));
  return (a.bytes[whole] & mask) == (b.bytes[whole] & mask);
}

IpAddress MaskAddress(const IpAddress& address, int bits) {
  IpAddress masked;
  for (int i = 0; i < 16; ++i) {
    int keep = std::clamp(bits - 8 * i, 0, 8);
    auto mask = static_cast<uint8_t>(keep == 0 ? 0 : 0xFF << (8 - keep));
    masked.bytes[static_cast<size_t>(i)] = address.bytes[static_cast<size_t>(i)] & mask;
  }
  return masked;
}

std::string FormatAddress(const IpAddress& address, bool as_v4) {
  char buffer[INET6_ADDRSTRLEN] = {};
  if (as_v4) {
    ::inet_ntop(AF_INET, address.bytes.data() + 12, buffer, sizeof buffer);
  } else {
    ::inet_ntop(AF_INET6, address.bytes.data(), buffer, sizeof buffer);
  }
  return buffer;
}

}  // namespace

StatusOr<IpAddress> ParseIpAddress(std::string_view text) {
  StatusOr<ParsedAddress> parsed = ParseAddressText(text);
  if (!parsed.ok()) {
    return InvalidArgumentError("invalid IP address " + Quote(text) + ": " + parsed.status().message());
  }
  return parsed->address;
}

StatusOr<IpAddress> ParsePeerAddress(std::string_view peer) {
  auto invalid = [&](const std::string& why) {
    return InvalidArgumentError("invalid peer address " + Quote(peer) + ": " + why +
                                "; expected \"a.b.c.d:port\" or \"[IPv6]:port\"");
  };
  std::string_view host;
  std::string_view port;
  if (!peer.empty() && peer.front() == '[') {
    size_t close = peer.find(']');
    if (close == std::string_view::npos) return invalid("the '[' has no closing ']'");
    if (close + 1 >= peer.size() || peer[close + 1] != ':') return invalid("no \":port\" after the ']'");
    host = peer.substr(1, close - 1);
    port = peer.substr(close + 2);
    if (host.find(':') == std::string_view::npos) return invalid("only IPv6 addresses go in brackets");
  } else {
    size_t colon = peer.rfind(':');
    if (colon == std::string_view::npos) return invalid("it has no port");
    host = peer.substr(0, colon);
    port = peer.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return invalid("an IPv6 address must be in brackets");
  }
  if (!IsValidPort(port)) return invalid("port " + Quote(port) + " is not a number from 1 to 65535");
  StatusOr<ParsedAddress> parsed = ParseAddressText(host);
  if (!parsed.ok()) return invalid("address " + Quote(host) + ": " + parsed.status().message());
  return parsed->address;
}

StatusOr<AddressRange> AddressRange::Parse(std::string_view text) {
  size_t slash = text.find('/');
  std::string_view address_text = text.substr(0, slash);
  StatusOr<ParsedAddress> address = ParseAddressText(address_text);
  if (!address.ok()) {
    return InvalidArgumentError("invalid address range " + Quote(text) + ": address " + Quote(address_text) + ": " +
                                address.status().message());
  }
  const ParsedAddress& parsed = *address;

  int max_bits = parsed.is_v4 ? 32 : 128;
  int bits = max_bits;
  if (slash != std::string_view::npos) {
    std::string_view prefix = text.substr(slash + 1);
    if (!ParsePrefixLength(prefix, max_bits, bits)) {
      return InvalidArgumentError("invalid address range " + Quote(text) + ": prefix length " + Quote(prefix) +
                                  " is not a number from 0 to " + std::to_string(max_bits) +
                                  " without leading zeros");
    }
  }

  AddressRange range;
  range.is_v4_ = parsed.is_v4;
  range.prefix_bits_ = parsed.is_v4 ? bits + 96 : bits;
  range.network_ = MaskAddress(parsed.address, range.prefix_bits_);
  if (range.network_ != parsed.address) {
    return InvalidArgumentError("invalid address range " + Quote(text) + ": the address has bits set below the /" +
                                std::to_string(bits) + " prefix; did you mean " + range.ToString() + "?");
  }
  return range;
}

bool AddressRange::Contains(const IpAddress& address) const {
  // An IPv4 range's 96 leading bits are the ::ffff:0:0/96 prefix, so it
  // matches IPv4 and IPv4-mapped addresses and never a native IPv6 one.
  return PrefixEqual(network_, address, prefix_bits_);
}

std::string AddressRange::ToString() const {
  bool as_v4 = is_v4_ && IsMapped(network_);
  int bits = as_v4 ? prefix_bits_ - 96 : prefix_bits_;
  return FormatAddress(network_, as_v4) + "/" + std::to_string(bits);
}

}  // namespace moat::policy
