#include "client/server_url.h"

#include <gtest/gtest.h>

#include <string>

namespace moat::client {
namespace {

TEST(ServerUrl, Accepted) {
  struct Case {
    const char* url;
    const char* host;
    uint16_t port;
    const char* host_header;
  };
  const Case cases[] = {
      {"http://127.0.0.1:8000", "127.0.0.1", 8000, "127.0.0.1:8000"},
      {"http://127.0.0.1:8000/", "127.0.0.1", 8000, "127.0.0.1:8000"},
      {"HTTP://127.0.0.1:1", "127.0.0.1", 1, "127.0.0.1:1"},
      {"http://localhost:65535", "127.0.0.1", 65535, "127.0.0.1:65535"},
      {"http://[::1]:9000", "::1", 9000, "[::1]:9000"},
      {"http://10.1.2.3:80", "10.1.2.3", 80, "10.1.2.3:80"},
  };
  for (const Case& c : cases) {
    StatusOr<ServerAddress> address = ParseServerUrl(c.url);
    ASSERT_TRUE(address.ok()) << c.url << ": " << address.status().ToString();
    EXPECT_EQ(address->host, c.host) << c.url;
    EXPECT_EQ(address->port, c.port) << c.url;
    EXPECT_EQ(address->HostHeader(), c.host_header) << c.url;
  }
}

TEST(ServerUrl, Rejected) {
  struct Case {
    const char* url;
    const char* message;
  };
  const Case cases[] = {
      {"127.0.0.1:8000", "the scheme is missing"},
      {"ftp://127.0.0.1:21", "unsupported scheme 'ftp'"},
      {"http://127.0.0.1", "the port is missing"},
      {"http://127.0.0.1:", "port '' is not a number"},
      {"http://127.0.0.1:80a", "port '80a' is not a number"},
      {"http://127.0.0.1:0", "port 0 is outside 1..65535"},
      {"http://127.0.0.1:70000", "port 70000 is outside 1..65535"},
      {"http://example.com:80", "host 'example.com' is not an IP address"},
      {"http://256.1.1.1:80", "host '256.1.1.1' is not an IP address"},
      {"http://:80", "the host is missing"},
      {"http://[::1:80", "no closing ']'"},
      {"http://[fe80::zz]:80", "'fe80::zz' is not a valid IPv6 address"},
      {"http://[::1]80", "unexpected text after the host"},
      {"http://127.0.0.1:80/v2/models", "a path, query or fragment is not allowed"},
      {"http://127.0.0.1:80?x=1", "a path, query or fragment is not allowed"},
      {"http://user@127.0.0.1:80", "user information is not allowed"},
  };
  for (const Case& c : cases) {
    StatusOr<ServerAddress> address = ParseServerUrl(c.url);
    ASSERT_FALSE(address.ok()) << c.url;
    EXPECT_EQ(address.status().code(), StatusCode::kInvalidArgument) << c.url;
    EXPECT_NE(address.status().message().find(c.message), std::string::npos)
        << c.url << ": " << address.status().message();
    EXPECT_NE(address.status().message().find(std::string("'") + c.url + "'"), std::string::npos)
        << address.status().message();
  }
}

TEST(GrpcTarget, Accepted) {
  struct Case {
    const char* target;
    const char* host;
    uint16_t port;
  };
  const Case cases[] = {
      {"127.0.0.1:8001", "127.0.0.1", 8001},  {"grpc://127.0.0.1:8001", "127.0.0.1", 8001},
      {"GRPC://localhost:1", "127.0.0.1", 1}, {"[::1]:8001", "::1", 8001},
      {"grpc://[::1]:8001/", "::1", 8001},
  };
  for (const Case& c : cases) {
    StatusOr<ServerAddress> address = ParseGrpcTarget(c.target);
    ASSERT_TRUE(address.ok()) << c.target << ": " << address.status().ToString();
    EXPECT_EQ(address->host, c.host) << c.target;
    EXPECT_EQ(address->port, c.port) << c.target;
  }
}

TEST(GrpcTarget, Rejected) {
  struct Case {
    const char* target;
    const char* message;
  };
  const Case cases[] = {
      {"http://127.0.0.1:8001", "unsupported scheme 'http'"},
      {"127.0.0.1", "the port is missing"},
      {"example.com:8001", "host 'example.com' is not an IP address"},
      {"grpc://127.0.0.1:8001/inference", "a path, query or fragment is not allowed"},
      {"127.0.0.1:0", "port 0 is outside 1..65535"},
      {"", "the host is missing"},
  };
  for (const Case& c : cases) {
    StatusOr<ServerAddress> address = ParseGrpcTarget(c.target);
    ASSERT_FALSE(address.ok()) << c.target;
    EXPECT_EQ(address.status().code(), StatusCode::kInvalidArgument) << c.target;
    EXPECT_NE(address.status().message().find(c.message), std::string::npos)
        << c.target << ": " << address.status().message();
    EXPECT_NE(address.status().message().find("expected HOST:PORT or grpc://HOST:PORT"), std::string::npos)
        << address.status().message();
  }
}

}  // namespace
}  // namespace moat::client
