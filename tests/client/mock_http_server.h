// A test HTTP server on 127.0.0.1 (OS-picked port) that records each request
// and responds with what the test's handler returns. It serves one
// connection at a time on its own thread, so a client must close a kept-alive
// connection before it opens the next one, and must be destroyed before the
// server.
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

// What the server does with a connection after a request.
enum class ConnectionMode {
  kClose,              // responds with "Connection: close" and closes
  kKeepAlive,          // responds and waits for the next request
  kDropAfterResponse,  // responds without "Connection: close", then closes
  kDropRequest,        // reads the request and closes without responding
};

class MockHttpServer {
 public:
  using Handler = std::function<HttpResponseMessage(const HttpRequestMessage&)>;

  explicit MockHttpServer(Handler handler, ConnectionMode mode = ConnectionMode::kClose)
      : handler_(std::move(handler)),
        acceptor_(io_context_, {boost::asio::ip::make_address("127.0.0.1"), 0}),
        mode_(mode) {
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

  void set_mode(ConnectionMode mode) {
    std::lock_guard<std::mutex> lock(mutex_);
    mode_ = mode;
  }

  int connections_accepted() {
    std::lock_guard<std::mutex> lock(mutex_);
    return connections_accepted_;
  }

  int requests_read() {
    std::lock_guard<std::mutex> lock(mutex_);
    return requests_read_;
  }

 private:
  void Accept() {
    acceptor_.async_accept([this](boost::system::error_code error, boost::asio::ip::tcp::socket socket) {
      if (error) return;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        ++connections_accepted_;
      }
      Serve(socket);
      socket.shutdown(boost::asio::ip::tcp::socket::shutdown_both, error);
      socket.close(error);
      Accept();
    });
  }

  // Serves requests on `socket` synchronously until the mode or the client
  // ends the connection.
  void Serve(boost::asio::ip::tcp::socket& socket) {
    boost::beast::flat_buffer buffer;
    while (true) {
      boost::system::error_code error;
      HttpRequestMessage request;
      boost::beast::http::read(socket, buffer, request, error);
      if (error) return;
      ConnectionMode mode;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        last_request_ = request;
        ++requests_read_;
        mode = mode_;
      }
      if (mode == ConnectionMode::kDropRequest) return;
      HttpResponseMessage response = handler_(request);
      response.keep_alive(mode != ConnectionMode::kClose);
      response.prepare_payload();
      boost::beast::http::write(socket, response, error);
      if (error || mode != ConnectionMode::kKeepAlive) return;
    }
  }

  Handler handler_;
  boost::asio::io_context io_context_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::thread thread_;
  std::mutex mutex_;
  ConnectionMode mode_;
  std::optional<HttpRequestMessage> last_request_;
  int connections_accepted_ = 0;
  int requests_read_ = 0;
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
