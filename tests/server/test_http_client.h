// A small HTTP/1.1 client for socket tests: one connection to 127.0.0.1, each
// call runs one operation to completion. Every operation has a 20-second
// safety deadline, so a server bug fails the test instead of hanging it.
#pragma once

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <string>

namespace moat::server::testing {

namespace beast = boost::beast;
namespace http = beast::http;

using Response = http::response<http::string_body>;

inline http::request<http::string_body> MakeRequest(http::verb method, std::string target,
                                                    std::string body = "") {
  http::request<http::string_body> request(method, target, 11);
  request.set(http::field::host, "127.0.0.1");
  request.body() = std::move(body);
  request.prepare_payload();
  return request;
}

class TestClient {
 public:
  static constexpr std::chrono::seconds kSafetyDeadline{20};

  explicit TestClient(uint16_t port) : stream_(io_context_) {
    boost::asio::ip::tcp::endpoint endpoint(boost::asio::ip::make_address("127.0.0.1"), port);
    stream_.expires_after(kSafetyDeadline);
    connect_error_ =
        Run([&](auto done) { stream_.async_connect(endpoint, [done](beast::error_code e) { done(e, 0); }); });
  }

  beast::error_code connect_error() const { return connect_error_; }

  beast::error_code Write(http::request<http::string_body>& request) {
    return Run([&](auto done) { http::async_write(stream_, request, done); });
  }

  beast::error_code WriteRaw(const std::string& bytes) {
    return Run([&](auto done) { boost::asio::async_write(stream_, boost::asio::buffer(bytes), done); });
  }

  beast::error_code Read(Response& response) {
    http::response_parser<http::string_body> parser;
    parser.body_limit(1u << 30);
    beast::error_code error = Run([&](auto done) { http::async_read(stream_, buffer_, parser, done); });
    if (!error) response = parser.release();
    return error;
  }

  // Writes `request` and reads the response; a failed step leaves status 0.
  Response RoundTrip(http::request<http::string_body> request) {
    Response response;
    response.result(0u);
    if (Write(request)) return response;
    Read(response);
    return response;
  }

  // Reads and discards until the server closes the connection. Returns the
  // error that ended reading: end of stream or a reset when the server closed
  // it, beast::error::timeout when the safety deadline passed first.
  beast::error_code ReadUntilClosed() {
    char scratch[4096];
    while (true) {
      beast::error_code error =
          Run([&](auto done) { stream_.async_read_some(boost::asio::buffer(scratch), done); });
      if (error) return error;
    }
  }

 private:
  template <typename Start>
  beast::error_code Run(Start start) {
    beast::error_code result;
    stream_.expires_after(kSafetyDeadline);
    start([&result](beast::error_code error, size_t) { result = error; });
    io_context_.restart();
    io_context_.run();
    return result;
  }

  boost::asio::io_context io_context_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  beast::error_code connect_error_;
};

// Whether `error` means the peer closed the connection (not a timeout).
inline bool IsClosedByPeer(const beast::error_code& error) {
  return error == http::error::end_of_stream || error == boost::asio::error::eof ||
         error == boost::asio::error::connection_reset;
}

}  // namespace moat::server::testing
