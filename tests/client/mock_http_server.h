// A test HTTP server on 127.0.0.1 (OS-picked port) that records each request
// and responds with what the test's handler returns.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

namespace moat::client::testing {

using HttpRequestMessage = boost::beast::http::request<boost::beast::http::string_body>;
using HttpResponseMessage = boost::beast::http::response<boost::beast::http::string_body>;

class MockHttpServer {
 public:
  using Handler = std::function<HttpResponseMessage(const HttpRequestMessage&)>;

  explicit MockHttpServer(Handler handler)
      : handler_(std::move(handler)),
        acceptor_(io_context_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    Accept();
    thread_ = std::thread([this] { io_context_.run(); });
  }
  ~MockHttpServer() {
    io_context_.stop();
    thread_.join();
  }

  uint16_t port() const { return acceptor_.local_endpoint().port(); }

  std::optional<HttpRequestMessage> last_request() {
    std::lock_guard<std::mutex> lock(mutex_);
    return last_request_;
  }

 private:
  // Serves one request per connection, synchronously on the server thread.
  void Accept() {
    acceptor_.async_accept([this](boost::system::error_code error, boost::asio::ip::tcp::socket socket) {
      if (error) return;
      boost::beast::flat_buffer buffer;
      HttpRequestMessage request;
      boost::beast::http::read(socket, buffer, request, error);
      if (!error) {
        {
          std::lock_guard<std::mutex> lock(mutex_);
          last_request_ = request;
        }
        HttpResponseMessage response = handler_(request);
        response.keep_alive(false);
        response.prepare_payload();
        boost::beast::http::write(socket, response, error);
      }
      socket.shutdown(boost::asio::ip::tcp::socket::shutdown_both, error);
      Accept();
    });
  }

  Handler handler_;
  boost::asio::io_context io_context_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::thread thread_;
  std::mutex mutex_;
  std::optional<HttpRequestMessage> last_request_;
};

// Builds a response with `status`, an optional content type and `body`.
inline HttpResponseMessage MakeResponse(int status, std::string body,
                                        const char* content_type = "application/json") {
  HttpResponseMessage response{static_cast<boost::beast::http::status>(status), 11};
  response.set(boost::beast::http::field::content_type, content_type);
  response.body() = std::move(body);
  return response;
}

}  // namespace moat::client::testing
