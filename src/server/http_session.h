// One HTTP/1.1 connection of the REST front end: reads requests one at a
// time, hands each to HttpHandler, writes the reply, and keeps the connection
// alive while the client asks for it. The same code serves plain TCP and TLS
// connections. Internal to the server.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "server/http_handler.h"
#include "server/http_server.h"
#include "tls/peer_certificate.h"

namespace moat::server {

// The state that every session of one server shares. It outlives the sessions.
struct SessionContext {
  const HttpServerOptions& options;
  HttpHandler& handler;
  boost::asio::thread_pool& workers;
  std::atomic<size_t>& open_connections;  // decremented when a session ends
  const std::atomic<bool>& stopping;
  // Set when the server speaks TLS; every TLS session uses it.
  boost::asio::ssl::context* ssl_context = nullptr;
  // The whole 503 response for a connection over max_connections. TLS
  // sessions send it after the handshake; plain TCP ones never get here.
  std::shared_ptr<const std::string> overload_response;
  // Connections over max_connections that are being sent the 503.
  std::atomic<size_t>& rejected_in_flight;
};

using PlainStream = boost::beast::tcp_stream;
using TlsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

// Owned by the shared_ptrs in its pending handlers. It ends, closing the
// socket, when the last of them is gone. All its methods run on the strand of
// its socket's executor. `Stream` is PlainStream or TlsStream; a TLS session
// completes the handshake before it reads the first request.
template <typename Stream>
class HttpSession : public std::enable_shared_from_this<HttpSession<Stream>> {
 public:
  // `socket`'s executor must be a strand. The caller has counted the
  // connection in `context.open_connections`, or for a TLS connection over
  // max_connections (`over_capacity`) in `context.rejected_in_flight`: such a
  // session gets the 503 after its handshake and then closes.
  HttpSession(boost::asio::ip::tcp::socket socket, SessionContext& context, bool over_capacity = false);
  ~HttpSession();

  void Start();

 private:
  using RequestParser = boost::beast::http::request_parser<boost::beast::http::string_body>;

  void Handshake();
  void OnHandshake(boost::beast::error_code error);
  void SendOverloadResponse();
  void WaitForRequest();
  void ReadHeader();
  void OnHeader(boost::beast::error_code error);
  void ReadBody();
  void OnBody(boost::beast::error_code error);
  void Dispatch();
  void WatchForDisconnect();
  void OnWatchRead(boost::beast::error_code error, size_t bytes);
  void StopWatching();
  void Reply(HttpReply reply);
  HttpReply HandleCatchingBadAlloc(const HttpRequest& request);
  void RejectRequest(unsigned http_status, const Status& reason);
  void Send(HttpReply reply, bool close_after);
  void OnWrite(bool close_after, boost::beast::error_code error);
  void OnChunkHeader(uint64_t size, boost::beast::error_code& error);
  void Linger();
  void Drain(size_t drained);
  void Close();
  void LogReply(const HttpReply& reply) const;

  boost::beast::tcp_stream& Transport() { return boost::beast::get_lowest_layer(stream_); }

  Stream stream_;
  boost::beast::flat_buffer buffer_;
  SessionContext& context_;
  bool over_capacity_;
  std::string peer_;
  // The verified certificate that the client sent in the TLS handshake, null
  // without one. Shared by the requests of the connection.
  std::shared_ptr<const tls::PeerCertificate> client_certificate_;

  // The request that is being read or replied to.
  std::optional<RequestParser> parser_;
  std::string method_;
  std::string target_;
  unsigned http_version_ = 11;
  bool keep_alive_ = false;
  std::chrono::steady_clock::time_point request_start_;
  size_t body_chunks_ = 0;  // data chunks of the current chunked body
  bool too_many_chunks_ = false;
  // While a request runs on the worker pool, a read on the socket watches for
  // the client closing the connection. `cancelled_` is the running request's
  // flag, which that read sets on end of stream or an error.
  bool watching_ = false;
  bool client_gone_ = false;
  std::shared_ptr<std::atomic<bool>> cancelled_;
  // Beast's parser keeps a reference to its chunk header callback, so the
  // callback lives here, as long as the session.
  std::function<void(uint64_t, std::string_view, boost::beast::error_code&)> chunk_header_callback_;
};

}  // namespace moat::server
