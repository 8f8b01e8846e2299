// One HTTP/1.1 connection of the REST front end: reads requests one at a
// time, hands each to HttpHandler, writes the reply, and keeps the connection
// alive while the client asks for it. Internal to the server.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "server/http_handler.h"
#include "server/http_server.h"

namespace moat::server {

// The state that every session of one server shares. It outlives the sessions.
struct SessionContext {
  const HttpServerOptions& options;
  HttpHandler& handler;
  boost::asio::thread_pool& workers;
  std::atomic<size_t>& open_connections;  // decremented when a session ends
  const std::atomic<bool>& stopping;
};

// Owned by the shared_ptrs in its pending handlers. It ends, closing the
// socket, when the last of them is gone. All its methods run on the strand of
// its socket's executor.
class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  // `socket`'s executor must be a strand; the caller has counted the
  // connection in `context.open_connections`.
  HttpSession(boost::asio::ip::tcp::socket socket, SessionContext& context);
  ~HttpSession();

  void Start();

 private:
  using RequestParser = boost::beast::http::request_parser<boost::beast::http::string_body>;

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

  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  SessionContext& context_;
  std::string peer_;

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
