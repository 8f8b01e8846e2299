#include "client/http_exchange.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>

namespace moat::client {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using ErrorCode = boost::system::error_code;

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

}  // namespace

StatusOr<HttpResponse> SendHttpRequest(const ServerAddress& address, HttpRequest request,
                                       const HttpOptions& options) {
  const http::verb method = http::string_to_verb(request.method);
  if (method != http::verb::get && method != http::verb::post) {
    return InvalidArgumentError("HTTP method '" + request.method + "' is not supported; use GET or POST");
  }
  ErrorCode error;
  const asio::ip::address ip = asio::ip::make_address(address.host, error);
  if (error) return InvalidArgumentError("server address '" + address.host + "' is not an IP address");

  asio::io_context io_context;
  beast::tcp_stream stream(io_context);

  stream.expires_after(options.timeout);
  error = RunOperation(io_context, [&](auto handler) {
    stream.async_connect(asio::ip::tcp::endpoint(ip, address.port), std::move(handler));
  });
  if (error) return ExchangeError(address, "connecting", error, options.timeout);

  http::request<http::string_body> message{method, request.target, 11};
  message.set(http::field::host, address.HostHeader());
  message.set(http::field::user_agent, "moat-client");
  if (!request.content_type.empty()) message.set(http::field::content_type, request.content_type);
  if (request.inference_header_length.has_value()) {
    message.set(kInferenceHeaderLength, std::to_string(*request.inference_header_length));
  }
  message.keep_alive(false);
  message.body() = std::move(request.body);
  message.prepare_payload();

  stream.expires_after(options.timeout);
  error =
      RunOperation(io_context, [&](auto handler) { http::async_write(stream, message, std::move(handler)); });
  if (error) return ExchangeError(address, "sending " + request.target, error, options.timeout);

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(options.max_response_bytes);
  stream.expires_after(options.timeout);
  error = RunOperation(io_context,
                       [&](auto handler) { http::async_read(stream, buffer, parser, std::move(handler)); });
  if (error)
    return ExchangeError(address, "reading the response to " + request.target, error, options.timeout);

  ErrorCode ignored;
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);

  http::response<http::string_body> response = parser.release();
  MOAT_ASSIGN_OR_RETURN(std::optional<size_t> header_length, ParseInferenceHeaderLength(address, response));
  HttpResponse out;
  out.status = static_cast<int>(response.result_int());
  out.content_type = std::string(response[http::field::content_type]);
  out.inference_header_length = header_length;
  out.body = std::move(response.body());
  return out;
}

}  // namespace moat::client
