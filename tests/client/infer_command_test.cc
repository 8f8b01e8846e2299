// Runs the real `moat infer` binary against in-process servers: one that
// starts late, a port where nothing listens, and the detector served over
// HTTP and gRPC, with and without shared memory.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <filesystem>
#include <future>
#include <memory>
#include <set>
#include <string>

#include "repository/model_service.h"
#include "server/http_server.h"
#include "testing/model_service.h"
#include "testing/run_command.h"
#include "testing/served_models.h"
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
  std::unique_ptr<repository::ModelService> service = testing::CreateModelService(repo);
  ASSERT_NE(service, nullptr);
  server::HttpServerOptions options;
  options.port = port;
  server::HttpServer server(*service, options);
  ASSERT_TRUE(server.Start().ok());

  RunResult result = infer.get();
  server.Stop();
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_THAT(result.output, HasSubstr("text regions: 7"));
}

TEST(InferCommand, GrpcWaitsForLateServer) {
  testing::SignedRepository repo({{"detector", 1, testing::DetectorModelPath()}});
  uint16_t port = UnusedPort();
  std::future<RunResult> infer = std::async(std::launch::async, [port] {
    return testing::RunCommand(std::string("ORT_DISABLE_TELEMETRY=1 '") + MOAT_BINARY +
                               "' infer --protocol grpc --url 127.0.0.1:" + std::to_string(port) +
                               " --model detector --image '" + testing::DemoImagePath() +
                               "' --wait-ready 60");
  });

  std::unique_ptr<repository::ModelService> service = testing::CreateModelService(repo);
  ASSERT_NE(service, nullptr);
  shm::SharedMemoryManager shared_memory(false);
  grpc_server::GrpcServerOptions options;
  options.port = port;
  grpc_server::GrpcServer server(*service, shared_memory, options);
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

// Runs `moat infer` on the demo page with `arguments` after the model flags.
RunResult RunDetector(const std::string& arguments) {
  return testing::RunCommand(std::string("ORT_DISABLE_TELEMETRY=1 '") + MOAT_BINARY +
                             "' infer --model detector --image '" + testing::DemoImagePath() + "' " +
                             arguments);
}

// The names in /dev/shm that `moat infer --shared-memory` creates.
std::set<std::string> InferObjects() {
  std::set<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator("/dev/shm")) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with("moat-infer-")) names.insert(name);
  }
  return names;
}

// The lines after the first, which names the image and the model input, up
// to the audit receipt, which differs for each request.
std::string Boxes(const std::string& output) {
  size_t start = output.find('\n') + 1;
  size_t receipt = output.find("audit receipt: ");
  return output.substr(start, receipt == std::string::npos ? std::string::npos : receipt - start);
}

class InferCommandDetector : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    served_ = new testing::ServedModels({{"detector", 1, testing::DetectorModelPath()}});
    RunResult baseline = RunDetector("--url " + served_->http_url());
    ASSERT_EQ(baseline.exit_code, 0) << baseline.output;
    http_output_ = new std::string(baseline.output);
  }
  static void TearDownTestSuite() {
    delete served_;
    delete http_output_;
    served_ = nullptr;
    http_output_ = nullptr;
  }

  static inline testing::ServedModels* served_ = nullptr;
  static inline std::string* http_output_ = nullptr;  // the plain HTTP run's output
};

TEST_F(InferCommandDetector, Http) {
  EXPECT_THAT(*http_output_, HasSubstr("text regions: 7\naudit receipt: moat-receipt-v1:"));
}

TEST_F(InferCommandDetector, Grpc) {
  RunResult result = RunDetector("--protocol grpc --url " + served_->grpc_target());
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(Boxes(result.output), Boxes(*http_output_));
  EXPECT_THAT(result.output, HasSubstr("audit receipt: moat-receipt-v1:"));

  result = RunDetector("--protocol grpc --url grpc://" + served_->grpc_target() + " --wait-ready 5");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(Boxes(result.output), Boxes(*http_output_));
}

TEST_F(InferCommandDetector, SharedMemory) {
  const std::set<std::string> before = InferObjects();
  for (const std::string protocol : {"http", "grpc"}) {
    SCOPED_TRACE(protocol);
    const std::string url = protocol == "http" ? served_->http_url() : served_->grpc_target();
    RunResult result = RunDetector("--protocol " + protocol + " --url " + url + " --shared-memory");
    ASSERT_EQ(result.exit_code, 0) << result.output;
    EXPECT_EQ(Boxes(result.output), Boxes(*http_output_));
    EXPECT_THAT(result.output, HasSubstr("audit receipt: moat-receipt-v1:"));

    // The region was unregistered and the object unlinked.
    StatusOr<std::vector<shm::RegionInfo>> regions = served_->shared_memory().GetStatus("");
    ASSERT_TRUE(regions.ok()) << regions.status().ToString();
    EXPECT_TRUE(regions->empty());
    EXPECT_EQ(InferObjects(), before);
  }
}

TEST_F(InferCommandDetector, WrongProtocolForUrl) {
  RunResult result = RunDetector("--protocol grpc --url " + served_->http_url());
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_THAT(result.output, HasSubstr("unsupported scheme 'http'"));
}

TEST(InferCommand, SharedMemoryDisabled) {
  testing::ServedModels served({{"detector", 1, testing::DetectorModelPath()}},
                               /*shared_memory=*/false);
  const std::set<std::string> before = InferObjects();
  for (const std::string protocol : {"http", "grpc"}) {
    SCOPED_TRACE(protocol);
    const std::string url = protocol == "http" ? served.http_url() : served.grpc_target();
    RunResult result = RunDetector("--protocol " + protocol + " --url " + url + " --shared-memory");
    EXPECT_EQ(result.exit_code, 1) << result.output;
    EXPECT_THAT(result.output, HasSubstr("--allow-shared-memory"));
    EXPECT_EQ(InferObjects(), before);
  }
}

TEST(InferCommand, InputJsonIsHttpOnly) {
  const std::string json = std::string(MOAT_SOURCE_DIR) + "/tests/models/generate.py";  // any existing file
  const std::string base = std::string("'") + MOAT_BINARY + "' infer --model m --input-json '" + json + "' ";
  RunResult result = testing::RunCommand(base + "--protocol grpc --url 127.0.0.1:1");
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_THAT(
      result.output,
      HasSubstr("--input-json sends KServe JSON over HTTP only; it cannot be combined with --protocol grpc"));

  result = testing::RunCommand(base + "--shared-memory --url http://127.0.0.1:1");
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_THAT(
      result.output,
      HasSubstr("--input-json sends KServe JSON over HTTP only; it cannot be combined with --shared-memory"));
}

}  // namespace
}  // namespace moat
