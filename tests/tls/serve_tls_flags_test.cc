// `moat serve` TLS flags: bad combinations and unusable files stop it with
// a clear message before it loads anything.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "testing/run_command.h"
#include "testing/test_certificates.h"

namespace moat {
namespace {

using testing::CertificateFolder;
using ::testing::HasSubstr;
using testing::TestCertificateAuthority;

class ServeTlsFlagsTest : public ::testing::Test {
 protected:
  ServeTlsFlagsTest() {
    std::tie(cert_, key_) = authority_.Issue(testing::LoopbackServerSpec(), folder_, "server");
    std::tie(other_cert_, other_key_) = authority_.Issue(testing::LoopbackServerSpec(), folder_, "other");
    ca_ = folder_.Write("ca.crt", authority_.pem());
  }

  // Runs `moat serve` with `flags` on a repository that does not exist: the
  // TLS checks come first, so they decide the outcome.
  testing::RunResult Serve(const std::string& flags) {
    std::string folder = folder_.path().string();
    return testing::RunCommand("ORT_DISABLE_TELEMETRY=1 " + std::string(MOAT_BINARY) +
                               " serve --repository " + folder + "/repo --trust " + folder +
                               "/trust --audit-dir " + folder + "/audit --listen 127.0.0.1:0 " + flags);
  }

  TestCertificateAuthority authority_{"serve flags CA"};
  CertificateFolder folder_;
  std::string cert_, key_, other_cert_, other_key_, ca_;
};

TEST_F(ServeTlsFlagsTest, CombinationErrors) {
  struct Case {
    std::string flags;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"--tls-cert " + cert_, "--tls-cert and --tls-key must be given together"},
      {"--tls-key " + key_, "--tls-cert and --tls-key must be given together"},
      {"--client-ca " + ca_, "--client-ca needs --tls-cert and --tls-key"},
      {"--require-client-cert", "--require-client-cert needs --tls-cert, --tls-key and --client-ca"},
      {"--tls-cert " + cert_ + " --tls-key " + key_ + " --require-client-cert",
       "--require-client-cert needs --client-ca"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.flags);
    testing::RunResult result = Serve(c.flags);
    EXPECT_EQ(result.exit_code, 2);
    EXPECT_THAT(result.output, HasSubstr(c.message));
  }
}

TEST_F(ServeTlsFlagsTest, FileErrors) {
  std::string absent = (folder_.path() / "absent.pem").string();
  struct Case {
    std::string flags;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"--tls-cert " + absent + " --tls-key " + key_,
       "cannot read the TLS certificate file '" + absent + "'"},
      {"--tls-cert " + cert_ + " --tls-key " + absent,
       "cannot read the TLS private key file '" + absent + "'"},
      {"--tls-cert " + cert_ + " --tls-key " + key_ + " --client-ca " + absent,
       "cannot read the TLS client CA file '" + absent + "'"},
      {"--tls-cert " + cert_ + " --tls-key " + other_key_,
       "private key '" + other_key_ + "' does not match the certificate '" + cert_ + "'"},
      {"--tls-cert " + key_ + " --tls-key " + key_, "'" + key_ + "' is not a valid PEM certificate list"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.flags);
    testing::RunResult result = Serve(c.flags);
    EXPECT_EQ(result.exit_code, 2);
    EXPECT_THAT(result.output, HasSubstr(c.message));
  }
}

TEST_F(ServeTlsFlagsTest, HelpNamesFlags) {
  testing::RunResult serve = testing::RunCommand(std::string(MOAT_BINARY) + " serve --help");
  EXPECT_THAT(serve.output, HasSubstr("--tls-cert"));
  EXPECT_THAT(serve.output, HasSubstr("--require-client-cert"));
  testing::RunResult infer = testing::RunCommand(std::string(MOAT_BINARY) + " infer --help");
  EXPECT_THAT(infer.output, HasSubstr("--ca-cert"));
  EXPECT_THAT(infer.output, HasSubstr("grpcs://"));
  EXPECT_THAT(infer.output, HasSubstr("MOAT_TOKEN"));
}

}  // namespace
}  // namespace moat
