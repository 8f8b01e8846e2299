#include "policy/address_range.h"

#include <gtest/gtest.h>

#include <string>

namespace moat::policy {
namespace {

IpAddress Ip(const std::string& text) {
  StatusOr<IpAddress> address = ParseIpAddress(text);
  EXPECT_TRUE(address.ok()) << address.status().ToString();
  return address.ok() ? *address : IpAddress{};
}

AddressRange Range(const std::string& text) {
  StatusOr<AddressRange> range = AddressRange::Parse(text);
  EXPECT_TRUE(range.ok()) << range.status().ToString();
  return range.ok() ? *range : *AddressRange::Parse("::1/128");
}

void ExpectInvalid(const Status& status, const std::string& value) {
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << status.ToString();
  EXPECT_NE(status.message().find("'" + value + "'"), std::string::npos) << status.ToString();
}

TEST(ParseIpAddress, BothFamilies) {
  IpAddress v4 = Ip("127.0.0.1");
  IpAddress expected{};
  expected.bytes[10] = 0xFF;
  expected.bytes[11] = 0xFF;
  expected.bytes[12] = 127;
  expected.bytes[15] = 1;
  EXPECT_EQ(v4, expected);

  IpAddress loopback = Ip("::1");
  IpAddress expected_v6{};
  expected_v6.bytes[15] = 1;
  EXPECT_EQ(loopback, expected_v6);

  IpAddress link_local = Ip("fe80::1");
  EXPECT_EQ(link_local.bytes[0], 0xFE);
  EXPECT_EQ(link_local.bytes[1], 0x80);
  EXPECT_EQ(link_local.bytes[15], 1);

  // The mapped form and the dotted form are one address.
  EXPECT_EQ(Ip("::ffff:10.1.2.3"), Ip("10.1.2.3"));
  EXPECT_EQ(Ip("::FFFF:0a01:0203"), Ip("10.1.2.3"));
  EXPECT_EQ(Ip("2001:DB8::1"), Ip("2001:db8:0:0:0:0:0:1"));
}

TEST(ParseIpAddress, RejectsNonNumeric) {
  for (std::string text : {"", "localhost", "example.com", "[::1]", "fe80::1%eth0", " 127.0.0.1", "127.0.0.1 ",
                       "127.1", "127.0.0.01", "256.0.0.1", "1.2.3.4.5", "::1::", "::g",
                           "127.0.0.1:80", "10.0.0.0/8", "0x7f.0.0.1",
                           "1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa:bbbb"}) {
    StatusOr<IpAddress> address = ParseIpAddress(text);
    ASSERT_FALSE(address.ok()) << text;
    ExpectInvalid(address.status(), text);
  }
  StatusOr<IpAddress> with_nul = ParseIpAddress(std::string("10.0.0.1\0", 9));
  ASSERT_FALSE(with_nul.ok());
  ExpectInvalid(with_nul.status(), "10.0.0.1?");
  StatusOr<IpAddress> with_newline = ParseIpAddress("127.0.0.1\n");
  ASSERT_FALSE(with_newline.ok());
  ExpectInvalid(with_newline.status(), "127.0.0.1?");
}

TEST(ParsePeerAddress, MessageNamesBothValues) {
  StatusOr<IpAddress> address = ParsePeerAddress("[fe80::1%eth0]:5000");
  ASSERT_FALSE(address.ok());
  EXPECT_EQ(address.status().message(),
            "invalid peer address '[fe80::1%eth0]:5000': address 'fe80::1%eth0': zone ids such as \"%eth0\" are "
            "not supported; expected \"a.b.c.d:port\" or \"[IPv6]:port\"");
}

TEST(ParsePeerAddress, FrontEndForms) {
  EXPECT_EQ(*ParsePeerAddress("127.0.0.1:5000"), Ip("127.0.0.1"));
  EXPECT_EQ(*ParsePeerAddress("10.0.0.7:1"), Ip("10.0.0.7"));
  EXPECT_EQ(*ParsePeerAddress("[::1]:65535"), Ip("::1"));
  // An IPv4 client on a dual-stack socket.
  EXPECT_EQ(*ParsePeerAddress("[::ffff:192.168.1.7]:40000"), Ip("192.168.1.7"));
}

TEST(ParsePeerAddress, RejectsOtherForms) {
  for (std::string peer : {"", "unix:/run/moat.sock", "unix:", "127.0.0.1", "127.0.0.1:", "127.0.0.1:0",
                           "127.0.0.1:65536", "127.0.0.1:080", "127.0.0.1:+80", "127.0.0.1:8o", "::1:5000",
                           "[::1]", "[::1]5000", "[::1:5000", "[127.0.0.1]:5000", "[fe80::1%eth0]:5000",
                           "host.example:5000", "ipv4:127.0.0.1:5000", " 127.0.0.1:5000", "127.0.0.1:5000 ",
                           "[::1]:123456"}) {
    StatusOr<IpAddress> address = ParsePeerAddress(peer);
    ASSERT_FALSE(address.ok()) << peer;
    ExpectInvalid(address.status(), peer);
  }
}

TEST(AddressRange, Ipv4Prefixes) {
  AddressRange ten = Range("10.0.0.0/8");
  EXPECT_TRUE(ten.Contains(Ip("10.0.0.0")));
  EXPECT_TRUE(ten.Contains(Ip("10.255.255.255")));
  EXPECT_FALSE(ten.Contains(Ip("11.0.0.0")));
  EXPECT_FALSE(ten.Contains(Ip("9.255.255.255")));

  AddressRange odd = Range("192.168.0.0/23");
  EXPECT_TRUE(odd.Contains(Ip("192.168.1.255")));
  EXPECT_FALSE(odd.Contains(Ip("192.168.2.0")));
  EXPECT_FALSE(odd.Contains(Ip("192.167.255.255")));
}

TEST(AddressRange, Ipv4Edges) {
  AddressRange all = Range("0.0.0.0/0");
  EXPECT_TRUE(all.Contains(Ip("0.0.0.0")));
  EXPECT_TRUE(all.Contains(Ip("255.255.255.255")));
  EXPECT_FALSE(all.Contains(Ip("::1")));
  EXPECT_FALSE(all.Contains(Ip("::")));
  EXPECT_FALSE(all.Contains(Ip("2001:db8::1")));

  AddressRange host = Range("192.168.1.7/32");
  EXPECT_TRUE(host.Contains(Ip("192.168.1.7")));
  EXPECT_FALSE(host.Contains(Ip("192.168.1.6")));
  EXPECT_FALSE(host.Contains(Ip("192.168.1.8")));

  AddressRange pair = Range("192.168.1.6/31");
  EXPECT_TRUE(pair.Contains(Ip("192.168.1.6")));
  EXPECT_TRUE(pair.Contains(Ip("192.168.1.7")));
  EXPECT_FALSE(pair.Contains(Ip("192.168.1.5")));
  EXPECT_FALSE(pair.Contains(Ip("192.168.1.8")));

  AddressRange bare = Range("192.168.1.7");
  EXPECT_EQ(bare.ToString(), "192.168.1.7/32");
  EXPECT_TRUE(bare.Contains(Ip("192.168.1.7")));
  EXPECT_FALSE(bare.Contains(Ip("192.168.1.70")));
}

TEST(AddressRange, Ipv6Edges) {
  AddressRange all = Range("::/0");
  EXPECT_TRUE(all.Contains(Ip("::")));
  EXPECT_TRUE(all.Contains(Ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")));
  // IPv4 addresses are held mapped into IPv6, so "::/0" covers them too.
  EXPECT_TRUE(all.Contains(Ip("10.1.2.3")));

  AddressRange loopback = Range("::1/128");
  EXPECT_TRUE(loopback.Contains(Ip("::1")));
  EXPECT_FALSE(loopback.Contains(Ip("::2")));
  EXPECT_FALSE(loopback.Contains(Ip("::")));

  AddressRange pair = Range("2001:db8::/127");
  EXPECT_TRUE(pair.Contains(Ip("2001:db8::")));
  EXPECT_TRUE(pair.Contains(Ip("2001:db8::1")));
  EXPECT_FALSE(pair.Contains(Ip("2001:db8::2")));

  AddressRange documentation = Range("2001:db8::/32");
  EXPECT_TRUE(documentation.Contains(Ip("2001:db8:ffff::1")));
  EXPECT_FALSE(documentation.Contains(Ip("2001:db9::1")));

  AddressRange nibble = Range("fe80::/10");
  EXPECT_TRUE(nibble.Contains(Ip("febf::1")));
  EXPECT_FALSE(nibble.Contains(Ip("fec0::1")));

  AddressRange bare = Range("::1");
  EXPECT_EQ(bare.ToString(), "::1/128");
}

TEST(AddressRange, MappedAddresses) {
  AddressRange ten = Range("10.0.0.0/8");
  EXPECT_TRUE(ten.Contains(Ip("::ffff:10.1.2.3")));
  EXPECT_TRUE(ten.Contains(*ParsePeerAddress("[::ffff:10.1.2.3]:5000")));
  // A native IPv6 address never matches an IPv4 range, even one whose last
  // 32 bits look like it.
  EXPECT_FALSE(ten.Contains(Ip("::10.1.2.3")));
  EXPECT_FALSE(ten.Contains(Ip("64:ff9b::10.1.2.3")));

  // The mapped block written in IPv6 form covers all of IPv4.
  AddressRange mapped = Range("::ffff:0:0/96");
  EXPECT_TRUE(mapped.Contains(Ip("1.2.3.4")));
  EXPECT_FALSE(mapped.Contains(Ip("::1")));
  EXPECT_EQ(mapped.ToString(), "::ffff:0.0.0.0/96");
}

TEST(AddressRange, HostBitsRejected) {
  for (const char* text : {"10.0.0.1/8", "192.168.1.7/31", "0.0.0.1/0", "::1/0", "2001:db8::1/127",
                           "fe80::1/64"}) {
    StatusOr<AddressRange> range = AddressRange::Parse(text);
    ASSERT_FALSE(range.ok()) << text;
    ExpectInvalid(range.status(), text);
  }
  StatusOr<AddressRange> typo = AddressRange::Parse("10.0.0.1/8");
  EXPECT_NE(typo.status().message().find("did you mean 10.0.0.0/8?"), std::string::npos)
      << typo.status().ToString();
}

TEST(AddressRange, BadPrefixesRejected) {
  for (const char* text : {"10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/", "10.0.0.0/08", "10.0.0.0/+8",
                           "10.0.0.0/8/8", "10.0.0.0/ 8", "10.0.0.0/8 ", "::/129", "::/0128", "::/1000",
                           "/8", "", "10.0.0.0 /8", "localhost/8", "[::1]/128", "fe80::%eth0/64",
                           "10.0.0.0/0x8"}) {
    StatusOr<AddressRange> range = AddressRange::Parse(text);
    ASSERT_FALSE(range.ok()) << text;
    ExpectInvalid(range.status(), text);
  }
}

TEST(AddressRange, ToStringRoundTrips) {
  for (const char* text : {"10.0.0.0/8", "0.0.0.0/0", "192.168.1.7/32", "192.168.1.6/31", "::/0", "::1/128",
                           "2001:db8::/32", "2001:db8::/127", "fe80::/10", "::ffff:0.0.0.0/96"}) {
    AddressRange range = Range(text);
    EXPECT_EQ(range.ToString(), text);
    AddressRange again = Range(range.ToString());
    EXPECT_EQ(again.ToString(), text);
  }
  // Non-canonical spellings come back canonical.
  EXPECT_EQ(Range("2001:DB8:0:0::/32").ToString(), "2001:db8::/32");
  EXPECT_EQ(Range("::ffff:10.0.0.0/104").ToString(), "::ffff:10.0.0.0/104");
}

TEST(AddressRange, EveryIpv4PrefixLength) {
  // For each length, the range contains its first and last address and not
  // the addresses just outside it.
  for (int bits = 0; bits <= 32; ++bits) {
    SCOPED_TRACE(bits);
    uint32_t mask = bits == 0 ? 0 : ~uint32_t{0} << (32 - bits);
    uint32_t network = 0xC0A80107u & mask;  // from 192.168.1.7
    auto text = [](uint32_t value) {
      return std::to_string(value >> 24) + "." + std::to_string((value >> 16) & 0xFF) + "." +
             std::to_string((value >> 8) & 0xFF) + "." + std::to_string(value & 0xFF);
    };
    AddressRange range = Range(text(network) + "/" + std::to_string(bits));
    EXPECT_EQ(range.ToString(), text(network) + "/" + std::to_string(bits));
    uint32_t last = network | ~mask;
    EXPECT_TRUE(range.Contains(Ip(text(network))));
    EXPECT_TRUE(range.Contains(Ip(text(last))));
    if (network != 0) {
      EXPECT_FALSE(range.Contains(Ip(text(network - 1))));
    }
    if (last != 0xFFFFFFFFu) {
      EXPECT_FALSE(range.Contains(Ip(text(last + 1))));
    }
  }
}

}  // namespace
}  // namespace moat::policy
