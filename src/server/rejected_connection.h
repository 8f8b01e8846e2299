// A connection that arrived while the server had max_connections open: it
// gets a 503 with a JSON error, without its request being read, and is
// closed. Internal to the server.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

namespace moat::server {

// Owned by the shared_ptrs in its pending handlers, like HttpSession. All its
// methods run on the strand of its socket's executor.
class RejectedConnection : public std::enable_shared_from_this<RejectedConnection> {
 public:
  // `response` is the whole HTTP response to send, shared by every rejected
  // connection. The caller has counted this one in `in_flight`, which the
  // destructor decrements. `timeout` bounds the write and the drain together.
  RejectedConnection(boost::asio::ip::tcp::socket socket, std::shared_ptr<const std::string> response,
                     std::atomic<size_t>& in_flight, std::chrono::milliseconds timeout);
  ~RejectedConnection();

  void Start();

  // Returns the 503 response that informs a client the server is at
  // `max_connections`.
  static std::string ResponseFor(size_t max_connections);

 private:
  void Drain(size_t drained);
  void Close();

  boost::beast::tcp_stream stream_;
  std::shared_ptr<const std::string> response_;
  std::atomic<size_t>& in_flight_;
  std::chrono::milliseconds timeout_;
  char scratch_[4096];
};

}  // namespace moat::server
