#include "server/http_session.h"

#include <spdlog/spdlog.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <limits>
#include <new>
#include <type_traits>
#include <utility>

#include "server/beast_request.h"
#include "server/utf8.h"

namespace moat::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {

constexpr size_t kReadChunkBytes = 16u << 10;

// Request headers that HttpRequest carries for authentication and approval.
constexpr std::string_view kOneTimeCodeField = "Moat-OTP";
constexpr std::string_view kApprovalField = "Moat-Approval";

std::string PeerName(const tcp::socket& socket) {
  beast::error_code error;
  tcp::endpoint endpoint = socket.remote_endpoint(error);
  if (error) return "unknown";
  std::string address = endpoint.address().to_string();
  if (endpoint.address().is_v6()) address = "[" + address + "]";
  return address + ":" + std::to_string(endpoint.port());
}

// Makes client-supplied text safe for one log line: control characters are
// escaped and long values cut at 200 bytes.
std::string LogSafe(std::string_view text) {
  constexpr size_t kMaxLogged = 200;
  std::string safe;
  for (char c : SanitizeUtf8(text.substr(0, kMaxLogged))) {
    auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7F) {
      safe += fmt::format("\\x{:02x}", byte);
    } else {
      safe += c;
    }
  }
  if (text.size() > kMaxLogged) safe += "...";
  return safe;
}

template <typename Stream>
Stream MakeStream(tcp::socket socket, SessionContext& context) {
  if constexpr (std::is_same_v<Stream, TlsStream>) {
    return Stream(std::move(socket), *context.ssl_context);
  } else {
    return Stream(std::move(socket));
  }
}

}  // namespace

template <typename Stream>
HttpSession<Stream>::HttpSession(tcp::socket socket, SessionContext& context, bool over_capacity)
    : stream_(MakeStream<Stream>(std::move(socket), context)),
      context_(context),
      over_capacity_(over_capacity),
      peer_(PeerName(Transport().socket())) {
  chunk_header_callback_ = [this](uint64_t size, std::string_view, beast::error_code& error) {
    OnChunkHeader(size, error);
  };
}

template <typename Stream>
HttpSession<Stream>::~HttpSession() {
  std::atomic<size_t>& counter = over_capacity_ ? context_.rejected_in_flight : context_.open_connections;
  counter.fetch_sub(1, std::memory_order_relaxed);
}

template <typename Stream>
void HttpSession<Stream>::Start() {
  asio::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
    if constexpr (std::is_same_v<Stream, TlsStream>) {
      self->Handshake();
    } else {
      self->WaitForRequest();
    }
  });
}

// The handshake counts as part of the first request, so the request timeout
// bounds it.
template <typename Stream>
void HttpSession<Stream>::Handshake() {
  if constexpr (std::is_same_v<Stream, TlsStream>) {
    Transport().expires_after(context_.options.request_timeout);
    stream_.async_handshake(
        asio::ssl::stream_base::server,
        [self = this->shared_from_this()](beast::error_code error) { self->OnHandshake(error); });
  }
}

template <typename Stream>
void HttpSession<Stream>::OnHandshake(beast::error_code error) {
  if constexpr (std::is_same_v<Stream, TlsStream>) {
    if (error) {
      // Failed handshakes are routine (port scanners, plaintext clients,
      // rejected certificates), so they are not logged above debug level.
      spdlog::debug("http TLS handshake with {} failed: {}", peer_, error.message());
      return Close();
    }
    if (over_capacity_) return SendOverloadResponse();
    // OpenSSL has verified the certificate against the client CA when it
    // returns one here; without a client CA it asks for none.
    X509* certificate = SSL_get0_peer_certificate(stream_.native_handle());
    if (certificate != nullptr) {
      StatusOr<tls::PeerCertificate> facts = tls::PeerCertificateFromX509(certificate);
      if (!facts.ok()) {
        spdlog::warn("http closing TLS connection from {}: its client certificate cannot be read: {}", peer_,
                     facts.status().message());
        return Close();
      }
      client_certificate_ = std::make_shared<const tls::PeerCertificate>(std::move(*facts));
      spdlog::debug("http TLS connection from {} with client certificate {}", peer_,
                    LogSafe(client_certificate_->subject));
    }
  }
  WaitForRequest();
}

template <typename Stream>
void HttpSession<Stream>::SendOverloadResponse() {
  Transport().expires_after(context_.options.request_timeout);
  asio::async_write(stream_, asio::buffer(*context_.overload_response),
                    [self = this->shared_from_this()](beast::error_code error, size_t) {
                      if (error) return self->Close();
                      self->Linger();
                    });
}

template <typename Stream>
void HttpSession<Stream>::WaitForRequest() {
  if (context_.stopping.load()) return Close();
  // A pipelined request may already be buffered.
  if (buffer_.size() > 0) return ReadHeader();

  // The idle timeout covers the wait for the first byte. From there on, the
  // request timeout bounds the whole request.
  Transport().expires_after(context_.options.idle_timeout);
  stream_.async_read_some(buffer_.prepare(kReadChunkBytes),
                          [self = this->shared_from_this()](beast::error_code error, size_t bytes) {
                            if (error) {
                              if (error == beast::error::timeout) {
                                spdlog::debug("http closing idle connection from {}", self->peer_);
                              }
                              return self->Close();
                            }
                            self->buffer_.commit(bytes);
                            self->ReadHeader();
                          });
}

template <typename Stream>
void HttpSession<Stream>::ReadHeader() {
  request_start_ = std::chrono::steady_clock::now();
  method_.clear();
  target_.clear();
  keep_alive_ = false;
  http_version_ = 11;
  parser_.emplace();
  parser_->header_limit(static_cast<uint32_t>(
      std::min<size_t>(context_.options.max_header_bytes, std::numeric_limits<uint32_t>::max())));
  parser_->body_limit(static_cast<uint64_t>(context_.options.max_body_bytes));
  body_chunks_ = 0;
  too_many_chunks_ = false;
  parser_->on_chunk_header(chunk_header_callback_);
  Transport().expires_after(context_.options.request_timeout);
  http::async_read_header(
      stream_, buffer_, *parser_,
      [self = this->shared_from_this()](beast::error_code error, size_t) { self->OnHeader(error); });
}

template <typename Stream>
void HttpSession<Stream>::OnHeader(beast::error_code error) {
  // The request line is known even when a later header field failed.
  method_ = std::string(parser_->get().method_string());
  target_ = std::string(parser_->get().target());

  if (error == http::error::body_limit) {
    uint64_t length = parser_->content_length().value_or(0);
    return RejectRequest(413,
                         ResourceExhaustedError("request body of " + std::to_string(length) +
                                                " bytes is larger than the limit of " +
                                                std::to_string(context_.options.max_body_bytes) + " bytes"));
  }
  if (error == http::error::header_limit) {
    return RejectRequest(
        431, ResourceExhaustedError("request header is larger than the limit of " +
                                    std::to_string(context_.options.max_header_bytes) + " bytes"));
  }
  if (error == beast::error::timeout) {
    spdlog::info("http closing connection from {}: request header not received within {} ms", peer_,
                 context_.options.request_timeout.count());
    return Close();
  }
  if (error == http::error::end_of_stream || error == asio::error::operation_aborted) return Close();
  if (error) return RejectRequest(400, InvalidArgumentError("malformed HTTP request: " + error.message()));

  const auto& header = parser_->get();
  keep_alive_ = header.keep_alive();
  http_version_ = header.version();
  if (!beast::iequals(header[http::field::expect], "100-continue")) return ReadBody();

  auto interim = std::make_shared<http::response<http::empty_body>>(http::status::continue_, http_version_);
  http::async_write(stream_, *interim,
                    [self = this->shared_from_this(), interim](beast::error_code write_error, size_t) {
                      if (write_error) return self->Close();
                      self->ReadBody();
                    });
}

template <typename Stream>
void HttpSession<Stream>::ReadBody() {
  http::async_read(
      stream_, buffer_, *parser_,
      [self = this->shared_from_this()](beast::error_code error, size_t) { self->OnBody(error); });
}

// Counts the data chunks of a chunked body; the zero-size last chunk does
// not count. Past max_body_chunks it stops the parser with body_limit, and
// OnBody reports the chunk count as the reason.
template <typename Stream>
void HttpSession<Stream>::OnChunkHeader(uint64_t size, beast::error_code& error) {
  if (size == 0) return;
  if (++body_chunks_ > context_.options.max_body_chunks) {
    too_many_chunks_ = true;
    error = http::error::body_limit;
  }
}

template <typename Stream>
void HttpSession<Stream>::OnBody(beast::error_code error) {
  if (too_many_chunks_) {
    return RejectRequest(
        413, ResourceExhaustedError("chunked request body has more than the limit of " +
                                    std::to_string(context_.options.max_body_chunks) + " chunks"));
  }
  if (error == http::error::body_limit) {
    return RejectRequest(413,
                         ResourceExhaustedError("request body is larger than the limit of " +
                                                std::to_string(context_.options.max_body_bytes) + " bytes"));
  }
  if (error == beast::error::timeout) {
    HttpReply reply =
        context_.handler.Reject(method_, target_, peer_, 408,
                                Status(StatusCode::kDeadlineExceeded,
                                       "request body not received within " +
                                           std::to_string(context_.options.request_timeout.count()) + " ms"));
    LogReply(reply);
    return Close();
  }
  if (error == asio::error::operation_aborted) return Close();
  if (error) {
    return RejectRequest(400, InvalidArgumentError("malformed HTTP request body: " + error.message()));
  }
  Dispatch();
}

template <typename Stream>
void HttpSession<Stream>::Dispatch() {
  http::request<http::string_body> message = parser_->release();
  parser_.reset();

  if (message.count(kInferenceHeaderLengthField) > 1) {
    return RejectRequest(
        400, InvalidArgumentError(std::string(kInferenceHeaderLengthField) + " appears more than once"));
  }
  HttpRequest request = ToHttpRequest(message, peer_);
  request.authorization = std::string(message[http::field::authorization]);
  request.one_time_code = std::string(message[kOneTimeCodeField]);
  request.approval_id = std::string(message[kApprovalField]);
  if (client_certificate_ != nullptr) request.client_certificate = *client_certificate_;

  if (!HttpHandler::RunsOnWorkerPool(request)) return Send(HandleCatchingBadAlloc(request), false);

  // Inference, model loading and decompression may take long, so they run on
  // the worker pool and the reply is sent from this session's strand.
  cancelled_ = std::make_shared<std::atomic<bool>>(false);
  client_gone_ = false;
  request.cancelled = cancelled_;
  auto executor = stream_.get_executor();
  asio::post(context_.workers, [self = this->shared_from_this(), executor, request = std::move(request)] {
    HttpReply reply = self->HandleCatchingBadAlloc(request);
    asio::post(executor, [self, reply = std::move(reply)]() mutable { self->Reply(std::move(reply)); });
  });
  WatchForDisconnect();
}

// Bytes already buffered are the start of a pipelined request, which shows
// that the client is still there, so the session does not watch then.
template <typename Stream>
void HttpSession<Stream>::WatchForDisconnect() {
  if (buffer_.size() > 0) return;
  watching_ = true;
  // A request may wait in its model's queue for as long as the model's
  // timeouts allow, so the watch has no deadline of its own.
  Transport().expires_never();
  stream_.async_read_some(buffer_.prepare(kReadChunkBytes),
                          [self = this->shared_from_this()](beast::error_code error, size_t bytes) {
                            self->OnWatchRead(error, bytes);
                          });
}

template <typename Stream>
void HttpSession<Stream>::OnWatchRead(beast::error_code error, size_t bytes) {
  watching_ = false;
  if (!error) {
    // The next pipelined request has begun. Its bytes stay in the buffer for
    // WaitForRequest, and the watch ends, because the client is still there.
    buffer_.commit(bytes);
    return;
  }
  if (error == asio::error::operation_aborted) return;  // StopWatching
  client_gone_ = true;
  cancelled_->store(true, std::memory_order_release);
  spdlog::info("http client {} closed the connection while {} {} was in progress: {}", peer_,
               LogSafe(method_), LogSafe(target_), error.message());
}

template <typename Stream>
void HttpSession<Stream>::StopWatching() {
  if (!watching_) return;
  // The aborted read completes on this strand before any handler of a
  // later operation, so it cannot take bytes meant for the next request.
  beast::error_code ignored;
  Transport().socket().cancel(ignored);
}

template <typename Stream>
void HttpSession<Stream>::Reply(HttpReply reply) {
  StopWatching();
  cancelled_.reset();
  if (client_gone_) {
    LogReply(reply);
    return Close();
  }
  Send(std::move(reply), false);
}

// Large JSON bodies allocate a document several times their size, so running
// out of memory is an error reply rather than the end of the process.
template <typename Stream>
HttpReply HttpSession<Stream>::HandleCatchingBadAlloc(const HttpRequest& request) {
  try {
    if (context_.options.request_observer) context_.options.request_observer(request);
    return context_.handler.Handle(request);
  } catch (const std::bad_alloc&) {
    return context_.handler.Reject(
        request.method, request.target, peer_, 503,
        UnavailableError("the server ran out of memory while handling the request"));
  }
}

template <typename Stream>
void HttpSession<Stream>::RejectRequest(unsigned http_status, const Status& reason) {
  Send(context_.handler.Reject(method_, target_, peer_, http_status, reason), true);
}

template <typename Stream>
void HttpSession<Stream>::Send(HttpReply reply, bool close_after) {
  LogReply(reply);
  auto response = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(reply.status),
                                                                      http_version_);
  response->set(http::field::server, "moat");
  response->set(http::field::content_type, reply.content_type);
  if (!reply.audit_receipt.empty()) response->set(kAuditReceiptHeader, reply.audit_receipt);
  if (!reply.response_signature.empty()) response->set(kResponseSignatureHeader, reply.response_signature);
  if (reply.inference_header_length) {
    response->set(kInferenceHeaderLengthField, std::to_string(*reply.inference_header_length));
  }
  if (!reply.allow.empty()) response->set(http::field::allow, reply.allow);
  if (!reply.www_authenticate.empty()) response->set(http::field::www_authenticate, reply.www_authenticate);
  if (!reply.approval_id.empty()) response->set("Moat-Approval", reply.approval_id);
  if (!reply.content_encoding.empty()) response->set(http::field::content_encoding, reply.content_encoding);
  // Whether the body is compressed depends on the request's Accept-Encoding.
  response->set(http::field::vary, "Accept-Encoding");
  response->body() = std::move(reply.body);
  bool close = close_after || !keep_alive_ || context_.stopping.load();
  response->keep_alive(!close);
  response->prepare_payload();

  Transport().expires_after(context_.options.request_timeout);
  http::async_write(stream_, *response,
                    [self = this->shared_from_this(), response, close](beast::error_code error, size_t) {
                      self->OnWrite(close, error);
                    });
}

template <typename Stream>
void HttpSession<Stream>::OnWrite(bool close_after, beast::error_code error) {
  if (error) return Close();
  if (close_after) return Linger();
  WaitForRequest();
}

// Closing a socket with unread input makes the kernel send a reset, which can
// destroy the reply before the client reads it (a 413 while the client is
// still sending its body). So the session stops sending and discards input.
// It closes when the client does, when the request timeout passes, or when
// max_body_bytes more have arrived.
template <typename Stream>
void HttpSession<Stream>::Linger() {
  beast::error_code ignored;
  Transport().socket().shutdown(tcp::socket::shutdown_send, ignored);
  buffer_.clear();
  Transport().expires_after(context_.options.request_timeout);
  Drain(0);
}

template <typename Stream>
void HttpSession<Stream>::Drain(size_t drained) {
  stream_.async_read_some(buffer_.prepare(kReadChunkBytes),
                          [self = this->shared_from_this(), drained](beast::error_code error, size_t bytes) {
                            if (error || drained + bytes > self->context_.options.max_body_bytes) {
                              return self->Close();
                            }
                            self->Drain(drained + bytes);
                          });
}

template <typename Stream>
void HttpSession<Stream>::Close() {
  beast::error_code ignored;
  Transport().socket().shutdown(tcp::socket::shutdown_both, ignored);
  Transport().close();
}

template <typename Stream>
void HttpSession<Stream>::LogReply(const HttpReply& reply) const {
  // Successful requests are logged at debug level only: the audit log
  // already records each inference, and a line per request costs a
  // noticeable share of a small model's request time.
  auto level = reply.status < 400    ? spdlog::level::debug
               : reply.status >= 500 ? spdlog::level::err
                                     : spdlog::level::warn;
  if (!spdlog::should_log(level)) return;
  double latency_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - request_start_).count();
  std::string model = reply.model.empty() ? "-" : LogSafe(reply.model);
  if (reply.status < 400) {
    spdlog::debug("http request {} {} {} from {} model={} status={} latency_ms={:.3f}",
                 LogSafe(reply.request_id), LogSafe(method_), LogSafe(target_), peer_, model, reply.status,
                 latency_ms);
    return;
  }
  spdlog::log(level, "http request {} {} {} from {} model={} status={} latency_ms={:.3f} error: {}",
              LogSafe(reply.request_id), LogSafe(method_), LogSafe(target_), peer_, model, reply.status,
              latency_ms, LogSafe(reply.error));
}

template class HttpSession<PlainStream>;
template class HttpSession<TlsStream>;

}  // namespace moat::server
