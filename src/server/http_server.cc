#include "server/http_server.h"

#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "server/http_handler.h"
#include "server/http_session.h"
#include "server/rejected_connection.h"

namespace moat::server {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

// A failed accept (for example EMFILE when file descriptors run out) is
// retried after this pause instead of at once, which would spin.
constexpr std::chrono::milliseconds kAcceptRetryDelay{100};

// Connections over max_connections that are still being sent their 503. Past
// this many, further ones are closed without a response, so that a flood of
// connections cannot hold an unbounded number of sockets open.
constexpr size_t kMaxRejectedInFlight = 64;

Status CheckOptions(const HttpServerOptions& options) {
  if (options.io_threads < 1) {
    return InvalidArgumentError("HTTP io_threads must be at least 1, got " +
                                std::to_string(options.io_threads));
  }
  if (options.worker_threads < 1) {
    return InvalidArgumentError("HTTP worker_threads must be at least 1, got " +
                                std::to_string(options.worker_threads));
  }
  if (options.max_connections < 1) return InvalidArgumentError("HTTP max_connections must be at least 1");
  if (options.max_header_bytes < 1) return InvalidArgumentError("HTTP max_header_bytes must be at least 1");
  if (options.max_body_chunks < 1) return InvalidArgumentError("HTTP max_body_chunks must be at least 1");
  if (options.idle_timeout.count() <= 0 || options.request_timeout.count() <= 0) {
    return InvalidArgumentError("HTTP idle_timeout and request_timeout must be positive");
  }
  return OkStatus();
}

std::string TlsDescription(const HttpServerOptions& options) {
  if (!options.tls) return "plain HTTP";
  if (options.tls->client_ca_file.empty()) return "TLS";
  return options.tls->require_client_cert ? "TLS, client certificate required"
                                          : "TLS, client certificate optional";
}

HttpHandlerOptions HandlerOptionsFor(const HttpServerOptions& options) {
  HttpHandlerOptions handler_options;
  handler_options.max_body_bytes = options.max_body_bytes;
  handler_options.access_control = options.access_control;
  return handler_options;
}

}  // namespace

class HttpServer::Impl {
 public:
  Impl(InferenceService& service, shm::SharedMemoryManager& shared_memory, HttpServerOptions options)
      : options_(std::move(options)),
        handler_(service, shared_memory, HandlerOptionsFor(options_)),
        overload_response_(
            std::make_shared<const std::string>(RejectedConnection::ResponseFor(options_.max_connections))) {}
  ~Impl() { Stop(); }

  Status Start();
  void Stop();
  uint16_t port() const { return port_; }

 private:
  Status LoadTls();
  Status Listen();
  void RunIoThread();
  void Accept();
  void OnAccept(boost::system::error_code error, tcp::socket socket);
  void RejectConnection(tcp::socket socket);

  HttpServerOptions options_;
  HttpHandler handler_;
  std::shared_ptr<const std::string> overload_response_;
  std::atomic<size_t> open_connections_{0};
  std::atomic<size_t> rejected_in_flight_{0};
  std::atomic<bool> stopping_{false};

  // Destroyed in this order by Stop: the sessions that pending handlers own
  // go with the io_context, and they refer to everything declared above it.
  std::unique_ptr<asio::io_context> io_context_ = std::make_unique<asio::io_context>();
  std::unique_ptr<asio::thread_pool> workers_;
  std::optional<asio::ssl::context> ssl_context_;  // set when serving TLS
  std::optional<SessionContext> session_context_;
  std::optional<tcp::acceptor> acceptor_;
  std::optional<asio::steady_timer> accept_retry_timer_;
  std::vector<std::thread> io_threads_;

  uint64_t rejected_connections_ = 0;  // used only by the accept loop
  uint16_t port_ = 0;
  std::mutex lifecycle_mutex_;
  bool started_ = false;
  bool stopped_ = false;
};

Status HttpServer::Impl::Start() {
  std::lock_guard lock(lifecycle_mutex_);
  if (started_ || stopped_) return FailedPreconditionError("the HTTP server can be started only once");
  MOAT_RETURN_IF_ERROR(CheckOptions(options_));
  MOAT_RETURN_IF_ERROR(LoadTls());
  MOAT_RETURN_IF_ERROR(Listen());
  started_ = true;

  workers_ = std::make_unique<asio::thread_pool>(static_cast<size_t>(options_.worker_threads));
  session_context_.emplace(SessionContext{options_, handler_, *workers_, open_connections_, stopping_,
                                          ssl_context_ ? &*ssl_context_ : nullptr, overload_response_,
                                          rejected_in_flight_});
  accept_retry_timer_.emplace(*io_context_);
  Accept();
  for (int i = 0; i < options_.io_threads; ++i) io_threads_.emplace_back([this] { RunIoThread(); });
  spdlog::info("http server listening on {}:{} ({}, {} I/O threads, {} worker threads)", options_.address,
               port_, TlsDescription(options_), options_.io_threads, options_.worker_threads);
  return OkStatus();
}

Status HttpServer::Impl::LoadTls() {
  if (!options_.tls) return OkStatus();
  MOAT_ASSIGN_OR_RETURN(tls::TlsServerFiles files, tls::LoadTlsServerFiles(*options_.tls));
  MOAT_ASSIGN_OR_RETURN(tls::SslContextPtr context, tls::NewServerContext(files));
  // Asio's context takes ownership of the OpenSSL one.
  ssl_context_.emplace(context.release());
  return OkStatus();
}

Status HttpServer::Impl::Listen() {
  std::string where = options_.address + ":" + std::to_string(options_.port);
  boost::system::error_code error;
  asio::ip::address address = asio::ip::make_address(options_.address, error);
  if (error) {
    return InvalidArgumentError("HTTP listen address '" + options_.address +
                                "' is not an IP address: " + error.message());
  }
  tcp::endpoint endpoint(address, options_.port);
  acceptor_.emplace(*io_context_);
  auto fail = [&](std::string_view step) {
    acceptor_.reset();
    return UnavailableError("failed to " + std::string(step) + " HTTP address " + where + ": " +
                            error.message());
  };
  if (acceptor_->open(endpoint.protocol(), error)) return fail("open a socket for");
  if (acceptor_->set_option(asio::socket_base::reuse_address(true), error)) {
    return fail("set SO_REUSEADDR on");
  }
  if (acceptor_->bind(endpoint, error)) return fail("bind");
  if (acceptor_->listen(asio::socket_base::max_listen_connections, error)) return fail("listen on");
  port_ = acceptor_->local_endpoint(error).port();
  if (error) return fail("read the port of");
  return OkStatus();
}

// Beast reports protocol errors through error codes, but an allocation may
// still throw (std::bad_alloc for the body of a request). Such an exception
// ends the handler that threw it, which drops its connection, and the thread
// carries on with the others.
void HttpServer::Impl::RunIoThread() {
  while (true) {
    try {
      io_context_->run();
      return;
    } catch (const std::exception& error) {
      spdlog::error("http I/O thread caught an exception and dropped a connection: {}", error.what());
    }
  }
}

void HttpServer::Impl::Accept() {
  acceptor_->async_accept(
      asio::make_strand(*io_context_),
      [this](boost::system::error_code error, tcp::socket socket) { OnAccept(error, std::move(socket)); });
}

void HttpServer::Impl::OnAccept(boost::system::error_code error, tcp::socket socket) {
  if (stopping_.load() || error == asio::error::operation_aborted) return;
  if (error) {
    spdlog::error("http accept on port {} failed: {}, retrying in {} ms", port_, error.message(),
                  kAcceptRetryDelay.count());
    accept_retry_timer_->expires_after(kAcceptRetryDelay);
    accept_retry_timer_->async_wait([this](boost::system::error_code wait_error) {
      if (!wait_error) Accept();
    });
    return;
  }

  if (open_connections_.load() >= options_.max_connections) {
    RejectConnection(std::move(socket));
  } else {
    open_connections_.fetch_add(1);
    if (ssl_context_) {
      std::make_shared<HttpSession<TlsStream>>(std::move(socket), *session_context_)->Start();
    } else {
      std::make_shared<HttpSession<PlainStream>>(std::move(socket), *session_context_)->Start();
    }
  }
  Accept();
}

void HttpServer::Impl::RejectConnection(tcp::socket socket) {
  // Logged for the first rejection and then every 1000th, so that a flood
  // does not flood the log as well.
  if (rejected_connections_++ % 1000 == 0) {
    spdlog::warn("http rejecting new connections with 503: {} are open, the maximum ({} rejected so far)",
                 options_.max_connections, rejected_connections_);
  }
  if (rejected_in_flight_.load() >= kMaxRejectedInFlight) {
    boost::system::error_code ignored;
    socket.close(ignored);
    return;
  }
  rejected_in_flight_.fetch_add(1);
  // A TLS client can read the 503 only after a handshake, which the session does.
  if (ssl_context_) {
    std::make_shared<HttpSession<TlsStream>>(std::move(socket), *session_context_, true)->Start();
    return;
  }
  std::make_shared<RejectedConnection>(std::move(socket), overload_response_, rejected_in_flight_,
                                       options_.request_timeout)
      ->Start();
}

void HttpServer::Impl::Stop() {
  std::lock_guard lock(lifecycle_mutex_);
  if (!started_ || stopped_) return;
  stopped_ = true;
  stopping_.store(true);

  io_context_->stop();
  for (std::thread& thread : io_threads_) thread.join();
  io_threads_.clear();
  // Running inferences finish; queued ones are dropped with their connections.
  workers_->stop();
  workers_->join();
  workers_.reset();
  accept_retry_timer_.reset();
  acceptor_.reset();
  io_context_.reset();
  spdlog::info("http server on port {} stopped", port_);
}

HttpServer::HttpServer(InferenceService& service, shm::SharedMemoryManager& shared_memory,
                       HttpServerOptions options)
    : impl_(std::make_unique<Impl>(service, shared_memory, std::move(options))) {}

HttpServer::HttpServer(InferenceService& service, HttpServerOptions options)
    : disabled_shared_memory_(std::make_unique<shm::SharedMemoryManager>(false)),
      impl_(std::make_unique<Impl>(service, *disabled_shared_memory_, std::move(options))) {}

HttpServer::~HttpServer() = default;

Status HttpServer::Start() { return impl_->Start(); }

uint16_t HttpServer::port() const { return impl_->port(); }

void HttpServer::Stop() { impl_->Stop(); }

}  // namespace moat::server
