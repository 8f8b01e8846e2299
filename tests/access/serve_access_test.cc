// `moat serve` with access control: the refusal to listen beyond loopback
// without authentication, and policy reloads on SIGHUP that keep the old
// policy when the new file is bad.
#include <signal.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "auth/identity_store.h"
#include "common/file.h"
#include "testing/run_command.h"
#include "testing/serve_process.h"
#include "testing/signed_repository.h"
#include "../server/test_http_client.h"

namespace moat {
namespace {

using ::testing::HasSubstr;
namespace http = boost::beast::http;

constexpr char kAllowAlice[] = R"([rule alice-infers]
effect = allow
principals = user:alice
actions = infer
)";

constexpr char kDenyAlice[] = R"([rule alice-infers]
effect = allow
principals = user:alice
actions = infer

[rule alice-stopped]
effect = deny
principals = user:alice
actions = infer
)";

constexpr char kBody[] = R"({"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[1,2],"data":[1,2]}]})";

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(ServeAccess, RefusesNonLoopbackWithoutAuthentication) {
  const std::string moat = MOAT_BINARY;
  for (std::string listen : {"--listen 0.0.0.0:0", "--listen [::]:0", "--listen 10.1.2.3:0",
                                    "--grpc-listen 0.0.0.0:0"}) {
    SCOPED_TRACE(listen);
    auto result = testing::RunCommand(moat + " serve --repository none --trust none " + listen);
    EXPECT_EQ(result.exit_code, 2) << result.output;
    EXPECT_THAT(result.output, HasSubstr("without authentication"));
    EXPECT_THAT(result.output, HasSubstr("--policy"));
    EXPECT_THAT(result.output, HasSubstr("--allow-unauthenticated"));
  }
  // Loopback needs no authentication: the start goes on and fails later,
  // on the missing repository.
  auto loopback = testing::RunCommand(moat + " serve --repository none --trust none --listen 127.0.0.1:0");
  EXPECT_THAT(loopback.output, ::testing::Not(HasSubstr("without authentication")));
}

TEST(ServeAccess, SighupReloadsPolicy) {
  testing::SignedRepository repository({{"identity", 1, testing::TestModelPath("identity_fp32.onnx")}});
  std::string data_dir = repository.root() + "/data";
  std::string policy = repository.root() + "/policy.conf";
  std::string log = repository.root() + "/serve.log";
  ASSERT_TRUE(WriteFileAtomic(policy, kAllowAlice).ok());
  std::string token;
  {
    auto store = auth::IdentityStore::Open(data_dir);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
    ASSERT_TRUE((*store)->AddAccount("alice", auth::AccountKind::kUser, {}, now).ok());
    auto created = (*store)->CreateToken("alice", now + 3600, "reload test", now);
    ASSERT_TRUE(created.ok());
    token = created->text;
  }
  testing::ServeProcess serve(repository, {"--policy", policy, "--data-dir", data_dir}, log);
  uint16_t port = serve.WaitForPort();
  ASSERT_NE(port, 0) << ReadText(log);

  auto infer = [&] {
    server::testing::TestClient client(port);
    auto request = server::testing::MakeRequest(http::verb::post, "/v2/models/identity/infer", kBody);
    request.set(http::field::authorization, "Bearer " + token);
    return client.RoundTrip(std::move(request)).result_int();
  };
  EXPECT_EQ(infer(), 200u);

  // A bad file: the running policy stays, and the log gives the reason.
  ASSERT_TRUE(WriteFileAtomic(policy, "[rule broken]\neffect = maybe\n").ok());
  ASSERT_TRUE(serve.Signal(SIGHUP));
  for (int i = 0; i < 100 && ReadText(log).find("policy reload failed") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_THAT(ReadText(log), HasSubstr("policy reload failed"));
  EXPECT_THAT(ReadText(log), HasSubstr(":2:"));  // the line of the bad value
  EXPECT_EQ(infer(), 200u);

  // A good file replaces it.
  ASSERT_TRUE(WriteFileAtomic(policy, kDenyAlice).ok());
  ASSERT_TRUE(serve.Signal(SIGHUP));
  unsigned status = 0;
  for (int i = 0; i < 100 && (status = infer()) != 403u; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(status, 403u) << ReadText(log);
  EXPECT_THAT(ReadText(log), HasSubstr("policy reloaded"));
}

}  // namespace
}  // namespace moat
