#include "server/rejected_connection.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/write.hpp>

#include "server/json.h"

namespace moat::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
using asio::ip::tcp;

namespace {

// The client's request is read and discarded up to this size after the 503,
// so that closing does not reset the connection before the client has read
// the response (see HttpSession::Linger). More than that closes at once.
constexpr size_t kMaxDrainedBytes = 64u << 10;

}  // namespace

RejectedConnection::RejectedConnection(tcp::socket socket, std::shared_ptr<const std::string> response,
                                       std::atomic<size_t>& in_flight, std::chrono::milliseconds timeout)
    : stream_(std::move(socket)), response_(std::move(response)), in_flight_(in_flight), timeout_(timeout) {}

RejectedConnection::~RejectedConnection() { in_flight_.fetch_sub(1, std::memory_order_relaxed); }

std::string RejectedConnection::ResponseFor(size_t max_connections) {
  std::string body = ErrorJson("the server has reached its limit of " + std::to_string(max_connections) +
                               " open connections; retry later");
  return "HTTP/1.1 503 Service Unavailable\r\n"
         "Server: moat\r\n"
         "Content-Type: application/json\r\n"
         "Content-Length: " +
         std::to_string(body.size()) +
         "\r\n"
         "Connection: close\r\n"
         "\r\n" +
         body;
}

void RejectedConnection::Start() {
  asio::dispatch(stream_.get_executor(), [self = shared_from_this()] {
    self->stream_.expires_after(self->timeout_);
    asio::async_write(self->stream_, asio::buffer(*self->response_), [self](beast::error_code error, size_t) {
      if (error) return self->Close();
      beast::error_code ignored;
      self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      self->Drain(0);
    });
  });
}

void RejectedConnection::Drain(size_t drained) {
  stream_.async_read_some(asio::buffer(scratch_),
                          [self = shared_from_this(), drained](beast::error_code error, size_t bytes) {
                            if (error || drained + bytes > kMaxDrainedBytes) return self->Close();
                            self->Drain(drained + bytes);
                          });
}

void RejectedConnection::Close() {
  beast::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream_.close();
}

}  // namespace moat::server
