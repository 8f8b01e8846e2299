#include "client/http_exchange.h"

#include <poll.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <charconv>
#include <mutex>
#include <optional>

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
  const std::string where = address.HttpUrl() + ": " + std::string(phase);
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
    return InvalidArgumentError(address.HttpUrl() + ": response header " +
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
  std::optional<asio::ssl::context> ssl_context;  // set for a TLS address
  beast::tcp_stream plain{io_context};
  // A new TLS stream for each connection, because an SSL object cannot be
  // reused once its connection ended.
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls_stream;
  beast::flat_buffer buffer;
  bool open = false;
  uint64_t connections_opened = 0;

  beast::tcp_stream& Transport() { return tls_stream ? tls_stream->next_layer() : plain; }

  // Runs `operation` on the stream that carries HTTP: the TLS stream when
  // there is one, else the TCP stream.
  template <typename Operation>
  ErrorCode Run(Operation operation) {
    if (tls_stream) {
      return RunOperation(io_context, [&](auto handler) { operation(*tls_stream, std::move(handler)); });
    }
    return RunOperation(io_context, [&](auto handler) { operation(plain, std::move(handler)); });
  }

  // Opens a TCP connection and, for a TLS address, completes the handshake,
  // which verifies the server's certificate for `host`. `phase` names the
  // step that failed.
  ErrorCode Connect(const asio::ip::tcp::endpoint& endpoint, const std::string& host,
                    std::chrono::milliseconds timeout, std::string& phase) {
    if (ssl_context) tls_stream.emplace(io_context, *ssl_context);
    phase = "connecting";
    Transport().expires_after(timeout);
    ErrorCode error = RunOperation(
        io_context, [&](auto handler) { Transport().async_connect(endpoint, std::move(handler)); });
    if (error) return error;
    ++connections_opened;
    if (!tls_stream) return error;

    phase = "TLS handshake";
    if (Status expected = tls::ExpectServerName(tls_stream->native_handle(), host); !expected.ok()) {
      return asio::error::invalid_argument;
    }
    Transport().expires_after(timeout);
    return RunOperation(io_context, [&](auto handler) {
      tls_stream->async_handshake(asio::ssl::stream_base::client, std::move(handler));
    });
  }

  void Close() {
    ErrorCode ignored;
    Transport().socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    Transport().close();
    tls_stream.reset();
    buffer.clear();
    open = false;
  }

  // True when the server closed the connection or sent something while it
  // was idle. Either way it cannot carry the next request.
  bool PeerClosedOrSentData() {
    pollfd descriptor{};
    descriptor.fd = Transport().socket().native_handle();
    descriptor.events = POLLIN | POLLRDHUP;
    return ::poll(&descriptor, 1, 0) != 0;
  }
};

StatusOr<std::shared_ptr<HttpConnection>> HttpConnection::Create(ServerAddress address, HttpOptions options) {
  if (!address.tls) {
    if (!options.tls.empty()) {
      return InvalidArgumentError("TLS files were given for " + address.HttpUrl() +
                                  ", which is not TLS; use an https:// URL");
    }
    return std::shared_ptr<HttpConnection>(new HttpConnection(std::move(address), options, nullptr));
  }
  StatusOr<tls::TlsClientFiles> files = tls::LoadTlsClientFiles(options.tls);
  if (!files.ok()) return InvalidArgumentError(address.HttpUrl() + ": " + files.status().message());
  MOAT_ASSIGN_OR_RETURN(tls::SslContextPtr context, tls::NewClientContext(*files));
  return std::shared_ptr<HttpConnection>(new HttpConnection(std::move(address), options, std::move(context)));
}

HttpConnection::HttpConnection(ServerAddress address, HttpOptions options, tls::SslContextPtr ssl_context)
    : address_(std::move(address)), options_(std::move(options)), stream_(std::make_unique<Stream>()) {
  // Asio's context takes ownership of the OpenSSL one.
  if (ssl_context != nullptr) stream_->ssl_context.emplace(ssl_context.release());
}

HttpConnection::~HttpConnection() {
  if (stream_->open) stream_->Close();
}

uint64_t HttpConnection::connections_opened() const {
  std::lock_guard<std::mutex> lock(stream_->mutex);
  return stream_->connections_opened;
}

StatusOr<HttpResponse> HttpConnection::Send(HttpRequest request) {
  const http::verb method = http::string_to_verb(request.method);
  if (method != http::verb::get && method != http::verb::post && method != http::verb::put &&
      method != http::verb::delete_) {
    return InvalidArgumentError("HTTP method '" + request.method +
                                "' is not supported; use GET, POST, PUT or DELETE");
  }
  ErrorCode error;
  const asio::ip::address ip = asio::ip::make_address(address_.host, error);
  if (error) return InvalidArgumentError("server address '" + address_.host + "' is not an IP address");

  RequestMessage message{method, request.target, 11};
  message.set(http::field::host, address_.HostHeader());
  message.set(http::field::user_agent, "moat-client");
  if (!options_.bearer_token.empty()) {
    message.set(http::field::authorization, "Bearer " + options_.bearer_token);
  }
  if (!request.content_type.empty()) message.set(http::field::content_type, request.content_type);
  if (request.inference_header_length.has_value()) {
    message.set(kInferenceHeaderLength, std::to_string(*request.inference_header_length));
  }
  for (const auto& [name, value] : request.headers) message.set(name, value);
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
      std::string phase;
      error = s.Connect(asio::ip::tcp::endpoint(ip, address_.port), address_.host, options_.timeout, phase);
      if (error) {
        s.Close();
        return ExchangeError(address_, phase, error, options_.timeout);
      }
      s.open = true;
    }

    s.Transport().expires_after(options_.timeout);
    error =
        s.Run([&](auto& stream, auto handler) { http::async_write(stream, message, std::move(handler)); });
    if (error) {
      s.Close();
      if (reused && attempt == 1 && IsClosedConnection(error)) continue;
      return ExchangeError(address_, "sending " + request.target, error, options_.timeout);
    }

    http::response_parser<http::string_body> parser;
    parser.body_limit(options_.max_response_bytes);
    s.Transport().expires_after(options_.timeout);
    error = s.Run(
        [&](auto& stream, auto handler) { http::async_read(stream, s.buffer, parser, std::move(handler)); });
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
