// Runs the real `moat infer` binary against a server that starts late, and
// against a port where nothing listens.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <future>
#include <string>

#include "repository/model_service.h"
#include "server/http_server.h"
#include "testing/run_command.h"
#include "testing/signed_repository.h"

namespace moat {
namespace {

using ::testing::HasSubstr;

using testing::RunResult;

RunResult RunInfer(uint16_t port, int wait_ready_seconds) {
  return testing::RunCommand(std::string("ORT_DISABLE_TELEMETRY=1 '") + MOAT_BINARY +
                             "' infer --url http://127.0.0.1:" + std::to_string(port) +
                             " --model detector --image '" + testing::DemoImagePath() + "' --wait-ready " +
                             std::to_string(wait_ready_seconds));
}

// Returns a loopback port that was free a moment ago, by binding port 0 and
// closing the socket again.
uint16_t UnusedPort() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor acceptor(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return acceptor.local_endpoint().port();
}

TEST(InferCommand, WaitsForLateServer) {
  testing::SignedRepository repo({{"detector", 1, testing::DetectorModelPath()}});
  uint16_t port = UnusedPort();
  std::future<RunResult> infer = std::async(std::launch::async, [port] { return RunInfer(port, 60); });

  // The client usually starts polling before the server below listens, since
  // loading the detector takes longer than starting the client.
  auto service = repository::ModelService::Create(
      {repo.repository_dir(), repo.trust_dir(), repo.audit_log_path(), /*audit_sync=*/false});
  ASSERT_TRUE(service.ok()) << service.status().ToString();
  server::HttpServerOptions options;
  options.port = port;
  server::HttpServer server(**service, options);
  ASSERT_TRUE(server.Start().ok());

  RunResult result = infer.get();
  server.Stop();
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_THAT(result.output, HasSubstr("text regions: 7"));
}

TEST(InferCommand, WaitReadyGivesUp) {
  RunResult result = RunInfer(UnusedPort(), 1);
  EXPECT_NE(result.exit_code, 0);
  EXPECT_THAT(result.output, HasSubstr("server not ready after 1 s"));
}

}  // namespace
}  // namespace moat
