// `moat serve` with the HTTP flags: each flag reaches the server it starts.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "test_http_client.h"
#include "testing/run_command.h"
#include "testing/serve_process.h"
#include "testing/signed_repository.h"

namespace moat::server {
namespace {

using ::testing::HasSubstr;
using testing::IsClosedByPeer;
using testing::MakeRequest;
using ::testing::Not;
using testing::Response;
using testing::TestClient;
namespace http = boost::beast::http;

using moat::testing::ServeProcess;

TEST(ServeFlags, HelpListsHttpFlags) {
  auto result = moat::testing::RunCommand(std::string(MOAT_BINARY) + " serve --help");
  EXPECT_EQ(result.exit_code, 0) << result.output;
  for (std::string flag :
       {"--max-body-bytes", "--max-header-bytes", "--max-body-chunks", "--max-connections",
        "--idle-timeout-ms", "--request-timeout-ms", "--allow-shared-memory", "--allow-model-control"}) {
    EXPECT_THAT(result.output, HasSubstr(flag));
  }
}

TEST(ServeFlags, RejectsZeroLimits) {
  for (std::string flag : {"--max-body-chunks=0", "--max-connections=0", "--idle-timeout-ms=0",
                           "--request-timeout-ms=-5", "--max-header-bytes=0"}) {
    SCOPED_TRACE(flag);
    auto result =
        moat::testing::RunCommand(std::string(MOAT_BINARY) + " serve --repository r --trust t " + flag);
    EXPECT_NE(result.exit_code, 0) << result.output;
    EXPECT_THAT(result.output, HasSubstr(flag.substr(0, flag.find('='))));
  }
}

TEST(ServeFlags, FlagsReachTheServer) {
  moat::testing::SignedRepository repository(
      {{"identity", 1, moat::testing::TestModelPath("identity_fp32.onnx")}});
  ServeProcess serve(repository, {"--allow-shared-memory", "--allow-model-control", "--max-connections", "1",
                                  "--max-body-chunks", "2", "--max-header-bytes", "600"});
  uint16_t port = serve.WaitForPort();
  ASSERT_NE(port, 0) << "moat serve did not start";

  TestClient client(port);
  Response metadata = client.RoundTrip(MakeRequest(http::verb::get, "/v2"));
  ASSERT_EQ(metadata.result_int(), 200) << metadata.body();
  EXPECT_THAT(metadata.body(), HasSubstr("system_shared_memory"));
  Response status = client.RoundTrip(MakeRequest(http::verb::get, "/v2/systemsharedmemory/status"));
  EXPECT_EQ(status.result_int(), 200) << status.body();
  // With model control allowed, an unknown model is "not found" rather
  // than "disabled".
  Response unload = client.RoundTrip(MakeRequest(http::verb::post, "/v2/repository/models/nope/unload"));
  EXPECT_EQ(unload.result_int(), 404) << unload.body();

  TestClient second(port);
  Response rejected;
  ASSERT_FALSE(second.Read(rejected));
  EXPECT_EQ(rejected.result_int(), 503);
  EXPECT_THAT(rejected.body(), HasSubstr("limit of 1 open connections"));

  auto large_header = MakeRequest(http::verb::get, "/v2/health/live");
  large_header.set("X-Padding", std::string(700, 'p'));
  Response too_large = client.RoundTrip(large_header);
  EXPECT_EQ(too_large.result_int(), 431);
  EXPECT_TRUE(IsClosedByPeer(client.ReadUntilClosed()));
}

TEST(ServeFlags, ChunkLimitAndDisabledExtensions) {
  moat::testing::SignedRepository repository(
      {{"identity", 1, moat::testing::TestModelPath("identity_fp32.onnx")}});
  ServeProcess serve(repository, {"--max-body-chunks", "2"});
  uint16_t port = serve.WaitForPort();
  ASSERT_NE(port, 0) << "moat serve did not start";

  TestClient client(port);
  Response status = client.RoundTrip(MakeRequest(http::verb::get, "/v2/systemsharedmemory/status"));
  EXPECT_EQ(status.result_int(), 400);
  EXPECT_THAT(status.body(), HasSubstr("--allow-shared-memory"));
  Response load = client.RoundTrip(MakeRequest(http::verb::post, "/v2/repository/models/identity/load"));
  EXPECT_EQ(load.result_int(), 400);
  EXPECT_THAT(load.body(), HasSubstr("--allow-model-control"));

  ASSERT_FALSE(
      client.WriteRaw("POST /v2/models/identity/infer HTTP/1.1\r\nHost: x\r\n"
                      "Transfer-Encoding: chunked\r\n\r\n1\r\n{\r\n1\r\n}\r\n1\r\n \r\n0\r\n\r\n"));
  Response chunked;
  ASSERT_FALSE(client.Read(chunked));
  EXPECT_EQ(chunked.result_int(), 413);
  EXPECT_THAT(chunked.body(), HasSubstr("more than the limit of 2 chunks"));
}

// After the models load, `moat serve` logs the thread plan, and a version
// with intra_op_threads gets a pool of its own.
TEST(ServeFlags, LogsThreadPlan) {
  moat::testing::SignedRepository repository(
      {{"identity", 1, moat::testing::TestModelPath("identity_fp32.onnx")}});
  std::string config = repository.root() + "/serving.conf";
  {
    std::ofstream out(config);
    out << "[model identity]\nintra_op_threads = 2\n";
  }
  std::string log = repository.root() + "/serve.log";
  std::string port_file = repository.root() + "/port";
  // The shell waits for the port file, which the server writes once it listens.
  std::string command = "ORT_DISABLE_TELEMETRY=1 " + std::string(MOAT_BINARY) + " serve --repository " +
                        repository.repository_dir() + " --trust " + repository.trust_dir() + " --audit-dir " +
                        repository.audit_dir() + " --audit-durability batched --listen 127.0.0.1:0 --config " +
                        config + " --port-file " + port_file + " > " + log + " 2>&1 & pid=$!; " +
                        "for i in $(seq 600); do [ -s " + port_file + " ] && break; sleep 0.1; done; " +
                        "kill -TERM $pid; wait $pid; cat " + log;
  auto result = moat::testing::RunCommand(command);
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_THAT(result.output, HasSubstr("thread plan: 1 model version, 1 instance, 2 intra-op threads"));
  EXPECT_THAT(result.output, HasSubstr("identity version 1: 1 instance(s) x 2 intra-op thread(s) (set in the "
                                       "configuration), in a pool of its own"));
  EXPECT_THAT(result.output, Not(HasSubstr("not applied")));
}

// Runs `moat serve` with `flags`, sends GET `paths` in turn over one
// connection each, stops the server and returns its log.
std::string ServeAndRequest(const moat::testing::SignedRepository& repository, const std::string& flags,
                            const std::vector<std::string>& paths) {
  std::string log = repository.root() + "/serve-requests.log";
  std::string port_file = repository.root() + "/requests.port";
  std::filesystem::remove(port_file);
  std::string requests;
  for (const std::string& path : paths) {
    requests += "exec 3<>/dev/tcp/127.0.0.1/$port; printf 'GET " + path +
                " HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n' >&3; cat <&3 >/dev/null; "
                "exec 3<&-; ";
  }
  std::string command = "ORT_DISABLE_TELEMETRY=1 " + std::string(MOAT_BINARY) + " serve --repository " +
                        repository.repository_dir() + " --trust " + repository.trust_dir() + " --audit-dir " +
                        repository.audit_dir() + " --audit-durability batched --listen 127.0.0.1:0 --port-file " +
                        port_file + " " + flags + " > " + log + " 2>&1 & pid=$!; " +
                        "for i in $(seq 600); do [ -s " + port_file + " ] && break; sleep 0.1; done; " +
                        "port=$(cat " + port_file + "); " + requests + "kill -TERM $pid; wait $pid; cat " + log;
  // /dev/tcp is a bash feature, so the commands run from a script file.
  std::string script = repository.root() + "/serve-requests.sh";
  {
    std::ofstream out(script);
    out << command << "\n";
  }
  auto result = moat::testing::RunCommand("bash " + script);
  EXPECT_EQ(result.exit_code, 0) << result.output;
  return result.output;
}

// Successful requests are logged only at debug level; errors always are.
TEST(ServeFlags, LogLevelDecidesRequestLines) {
  moat::testing::SignedRepository repository(
      {{"identity", 1, moat::testing::TestModelPath("identity_fp32.onnx")}});
  std::string by_default = ServeAndRequest(repository, "", {"/v2/health/ready", "/v2/models/nope"});
  EXPECT_THAT(by_default, HasSubstr("status=404"));
  EXPECT_THAT(by_default, Not(HasSubstr("status=200")));

  std::string debug = ServeAndRequest(repository, "--log-level debug", {"/v2/health/ready"});
  EXPECT_THAT(debug, HasSubstr("GET /v2/health/ready"));
  EXPECT_THAT(debug, HasSubstr("status=200"));

  auto invalid = moat::testing::RunCommand(std::string(MOAT_BINARY) + " serve --repository r --trust t --log-level loud");
  EXPECT_NE(invalid.exit_code, 0);
  EXPECT_THAT(invalid.output, HasSubstr("loud"));
}

}  // namespace
}  // namespace moat::server
