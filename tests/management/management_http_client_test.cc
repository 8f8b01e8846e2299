// ManagementClient and the moat commands over REST, against the REST routes
// served by a small Beast server on 127.0.0.1 that hands each request to the
// fixture the way the HTTP handler does.
#include <sys/socket.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <functional>
#include <mutex>
#include <thread>

#include "management/management_fixture.h"
#include "server/beast_request.h"
#include "testing/run_command.h"

namespace moat::testing {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
namespace pb = moat::management::v1;
using tcp = asio::ip::tcp;

// Serves HTTP/1.1 on 127.0.0.1 with a port the OS picks, one thread per
// connection, until Stop.
class TestHttpServer {
 public:
  using Handler = std::function<server::HttpReply(const server::HttpRequest&)>;

  explicit TestHttpServer(Handler handler) : handler_(std::move(handler)), acceptor_(context_) {
    tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(endpoint.protocol());
    acceptor_.bind(endpoint);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    accept_thread_ = std::thread([this] { AcceptLoop(); });
  }

  ~TestHttpServer() {
    // shutdown() wakes the threads blocked in accept and read.
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
    accept_thread_.join();
    std::lock_guard lock(mutex_);
    for (const std::shared_ptr<tcp::socket>& socket : sockets_) ::shutdown(socket->native_handle(), SHUT_RDWR);
    for (std::thread& thread : connection_threads_) thread.join();
  }

  uint16_t port() const { return port_; }

 private:
  void AcceptLoop() {
    while (true) {
      auto socket = std::make_shared<tcp::socket>(context_);
      boost::system::error_code error;
      acceptor_.accept(*socket, error);
      if (error) return;
      std::lock_guard lock(mutex_);
      sockets_.push_back(socket);
      connection_threads_.emplace_back([this, socket] { ServeConnection(*socket); });
    }
  }

  void ServeConnection(tcp::socket& socket) {
    boost::beast::flat_buffer buffer;
    while (true) {
      http::request<http::string_body> message;
      boost::system::error_code error;
      http::read(socket, buffer, message, error);
      if (error) return;
      const bool keep_alive = message.keep_alive();
      server::HttpRequest request = server::ToHttpRequest(message, "127.0.0.1:1");
      request.authorization = std::string(message[http::field::authorization]);
      server::HttpReply reply = handler_(request);

      http::response<http::string_body> response(static_cast<http::status>(reply.status), 11);
      response.set(http::field::content_type, reply.content_type);
      if (!reply.allow.empty()) response.set(http::field::allow, reply.allow);
      response.keep_alive(keep_alive);
      response.body() = reply.body;
      response.prepare_payload();
      http::write(socket, response, error);
      if (error || !keep_alive) return;
    }
  }

  Handler handler_;
  asio::io_context context_;
  tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::thread accept_thread_;
  std::mutex mutex_;
  std::vector<std::shared_ptr<tcp::socket>> sockets_;
  std::vector<std::thread> connection_threads_;
};

class ManagementHttpClientTest : public ManagementFixture {
 protected:
  void SetUp() override {
    ManagementFixture::SetUp();
    if (HasFatalFailure()) return;
    http_ = std::make_unique<TestHttpServer>([this](const server::HttpRequest& request) { return Serve(request); });
  }

  void TearDown() override {
    http_.reset();
    ManagementFixture::TearDown();
  }

  std::string Url() const { return "http://127.0.0.1:" + std::to_string(http_->port()); }

  std::unique_ptr<client::ManagementClient> Http(const std::string& account) {
    client::ManagementClientOptions options;
    options.url = Url();
    options.token = tokens_.at(account);
    StatusOr<std::unique_ptr<client::ManagementClient>> client = client::ManagementClient::Create(options);
    EXPECT_TRUE(client.ok()) << client.status().ToString();
    return client.ok() ? std::move(*client) : nullptr;
  }

  std::unique_ptr<TestHttpServer> http_;
};

TEST_F(ManagementHttpClientTest, OperationsOverRest) {
  std::unique_ptr<client::ManagementClient> alice = Http("alice");
  ASSERT_NE(alice, nullptr);
  CheckCommonOperations(*alice);
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_TRUE(Contains(AuditText(), R"("protocol":"http")"));
}

TEST_F(ManagementHttpClientTest, ErrorsKeepTheirStatusCodes) {
  std::unique_ptr<client::ManagementClient> alice = Http("alice");
  EXPECT_EQ(Http("mallory")->ListAccounts().status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(alice->DisableAccount("nobody").status().code(), StatusCode::kNotFound);
  pb::AddAccountRequest add;
  add.set_name("bob");
  StatusOr<pb::AccountResponse> duplicate = alice->AddAccount(add);
  EXPECT_EQ(duplicate.status().code(), StatusCode::kAlreadyExists) << duplicate.status().ToString();
  EXPECT_TRUE(Contains(duplicate.status().message(), "bob")) << duplicate.status().message();
  EXPECT_TRUE(alice->pending_approval().empty());
}

TEST_F(ManagementHttpClientTest, ApprovalNeededNamesTheApproval) {
  std::unique_ptr<client::ManagementClient> alice = Http("alice");
  pb::AddAccountRequest add;
  add.set_name("svc-batch");
  StatusOr<pb::AccountResponse> waiting = alice->AddAccount(add);
  ASSERT_EQ(waiting.status().code(), StatusCode::kFailedPrecondition) << waiting.status().ToString();
  const std::string id = alice->pending_approval();
  ASSERT_EQ(id.size(), 32u);

  StatusOr<pb::ListApprovalsResponse> listed = Http("bob")->ListApprovals(false);
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_EQ(listed->approvals_size(), 1);
  EXPECT_EQ(listed->approvals(0).id(), id);
  StatusOr<pb::ApprovalResponse> approved = Http("bob")->Approve(id, listed->approvals(0).digest());
  ASSERT_TRUE(approved.ok()) << approved.status().ToString();
  EXPECT_EQ(approved->approval().approvals_size(), 1);
  StatusOr<pb::ApprovalResponse> rejected = Http("carol")->Reject(id, "no");
  ASSERT_TRUE(rejected.ok()) << rejected.status().ToString();
  EXPECT_EQ(rejected->approval().state(), "rejected");
}

TEST_F(ManagementHttpClientTest, CommandsUseRestByDefault) {
  const std::string moat = "MOAT_TOKEN=" + tokens_.at("alice") + " " + std::string(MOAT_BINARY);
  RunResult added = RunCommand(moat + " user add dave --role reader --url " + Url());
  ASSERT_EQ(added.exit_code, 0) << added.output;
  EXPECT_TRUE(Contains(added.output, "dave\tuser\troles=reader")) << added.output;

  RunResult token = RunCommand("( " + moat + " token create --account dave --url " + Url() + " 2>/dev/null )");
  ASSERT_EQ(token.exit_code, 0) << token.output;
  EXPECT_EQ(token.output.rfind("moat_", 0), 0u) << token.output;

  RunResult waiting = RunCommand(moat + " user add svc-x --url " + Url());
  EXPECT_EQ(waiting.exit_code, 3) << waiting.output;
  EXPECT_TRUE(Contains(waiting.output, "pending approval: ")) << waiting.output;
}

}  // namespace
}  // namespace moat::testing
