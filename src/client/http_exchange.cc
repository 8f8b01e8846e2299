#include "client/http_exchange.h"

#include <poll.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <mutex>

namespace moat::client {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using ErrorCode = boost::system::error_code;
using RequestMessage = http::request<http::string_body>;

constexpr std::string_view kInferenceHeaderLength = "Inference-Header-Content-Length";

// Runs the io_context until the operation started by `start` completes and
// returns its error code. The stream's timer turns a timeout into
// beast::error::timeout.
template <typename StartOperation>
ErrorCode RunOperation(asio::io_context& io_context, StartOperation start) {
  std::optional<ErrorCode> result;
  start([&result](ErrorCode error, auto&&...) { result = error; });
  io_context.restart();
  while (!result.has_value() && io_context.run_one() > 0) {
  }
  return result.value_or(asio::error::operation_aborted);
}

Status ExchangeError(const ServerAddress& address, std::string_view phase, ErrorCode error,
                     std::chrono::milliseconds timeout) {
  const std::string where = "http://" + address.HostHeader() + ": " + std::string(phase);
  if (error == beast::error::timeout) {
    return {StatusCode::kDeadlineExceeded,
            where + " timed out after " + std::to_string(timeout.count()) + " ms"};
  }
  if (error == http::error::body_limit) {
    return ResourceExhaustedError(where + " failed: the response body exceeds the client's limit");
  }
  return UnavailableError(where + " failed: " + error.message());
}

StatusOr<std::optional<size_t>> ParseInferenceHeaderLength(
    const ServerAddress& address, const http::response<http::string_body>& response) {
  const auto field = response.find(kInferenceHeaderLength);
  if (field == response.end()) return std::optional<size_t>();
  const std::string_view text = field->value();
  size_t length = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), length);
  if (error != std::errc() || end != text.data() + text.size() || length > response.body().size()) {
    return InvalidArgumentError("http://" + address.HostHeader() + ": response header " +
                                std::string(kInferenceHeaderLength) + " '" + std::string(text) +
                                "' is not a length within the " + std::to_string(response.body().size()) +
                                "-byte body");
  }
  return std::optional<size_t>(length);
}

// Errors that show that the server closed a kept-alive connection. Sending the
// request again on a new connection is then safe, unless the server closed it
// after reading the request (see HttpConnection::Send).
bool IsClosedConnection(ErrorCode error) {
  return error == http::error::end_of_stream || error == asio::error::eof ||
         error == asio::error::connection_reset || error == asio::error::broken_pipe ||
         error == asio::error::connection_aborted;
}

}  // namespace

// The connection and everything that must not be used by two threads at once.
struct HttpConnection::Stream {
  std::mutex mutex;
  asio::io_context io_context;
  beast::tcp_stream stream{io_context};
  beast::flat_buffer buffer;
  bool open = false;
  uint64_t connections_opened = 0;

  void Close() {
    ErrorCode ignored;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    stream.close();
    buffer.clear();
    open = false;
  }

  // True when the server closed the connection or sent something while it
  // was idle. Either way it cannot carry the next request.
  bool PeerClosedOrSentData() {
    pollfd descriptor{};
    descriptor.fd = stream.socket().native_handle();
    descriptor.events = POLLIN | POLLRDHUP;
    return ::poll(&descriptor, 1, 0) != 0;
  }
};

HttpConnection::HttpConnection(ServerAddress address, HttpOptions options)
    : address_(std::move(address)), options_(options), stream_(std::make_unique<Stream>()) {}

HttpConnection::~HttpConnection() {
  if (stream_->open) stream_->Close();
}

uint64_t HttpConnection::connections_opened() const {
  std::lock_guard<std::mutex> lock(stream_->mutex);
  return stream_->connections_opened;
}

StatusOr<HttpResponse> HttpConnection::Send(HttpRequest request) {
  const http::verb method = http::string_to_verb(request.method);
  if (method != http::verb::get && method != http::verb::post) {
    return InvalidArgumentError("HTTP method '" + request.method + "' is not supported; use GET or POST");
  }
  ErrorCode error;
  const asio::ip::address ip = asio::ip::make_address(address_.host, error);
  if (error) return InvalidArgumentError("server address '" + address_.host + "' is not an IP address");

  RequestMessage message{method, request.target, 11};
  message.set(http::field::host, address_.HostHeader());
  message.set(http::field::user_agent, "moat-client");
  if (!request.content_type.empty()) message.set(http::field::content_type, request.content_type);
  if (request.inference_header_length.has_value()) {
    message.set(kInferenceHeaderLength, std::to_string(*request.inference_header_length));
  }
  message.keep_alive(true);
  message.body() = std::move(request.body);
  message.prepare_payload();

  std::lock_guard<std::mutex> lock(stream_->mutex);
  Stream& s = *stream_;
  if (s.open && s.PeerClosedOrSentData()) s.Close();

  // At most two attempts: the second only after a reused connection was found closed.
  for (int attempt = 1;; ++attempt) {
    const bool reused = s.open;
    if (!s.open) {
      s.stream.expires_after(options_.timeout);
      error = RunOperation(s.io_context, [&](auto handler) {
        s.stream.async_connect(asio::ip::tcp::endpoint(ip, address_.port), std::move(handler));
      });
      if (error) {
        s.Close();
        return ExchangeError(address_, "connecting", error, options_.timeout);
      }
      s.open = true;
      ++s.connections_opened;
    }

    s.stream.expires_after(options_.timeout);
    error = RunOperation(s.io_context,
                         [&](auto handler) { http::async_write(s.stream, message, std::move(handler)); });
    if (error) {
      s.Close();
      if (reused && attempt == 1 && IsClosedConnection(error)) continue;
      return ExchangeError(address_, "sending " + request.target, error, options_.timeout);
    }

    http::response_parser<http::string_body> parser;
    parser.body_limit(options_.max_response_bytes);
    s.stream.expires_after(options_.timeout);
    error = RunOperation(s.io_context, [&](auto handler) {
      http::async_read(s.stream, s.buffer, parser, std::move(handler));
    });
    if (error) {
      s.Close();
      if (reused && attempt == 1 && !parser.got_some() && IsClosedConnection(error)) continue;
      return ExchangeError(address_, "reading the response to " + request.target, error, options_.timeout);
    }

    http::response<http::string_body> response = parser.release();
    // Bytes after the response cannot start the next one, so they end the connection too.
    if (!response.keep_alive() || s.buffer.size() > 0) s.Close();
    MOAT_ASSIGN_OR_RETURN(std::optional<size_t> header_length,
                          ParseInferenceHeaderLength(address_, response));
    HttpResponse out;
    out.status = static_cast<int>(response.result_int());
    out.content_type = std::string(response[http::field::content_type]);
    out.inference_header_length = header_length;
    out.body = std::move(response.body());
    return out;
  }
}

}  // namespace moat::client
