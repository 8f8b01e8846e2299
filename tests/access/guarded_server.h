// Test fixture: a real ModelService behind HTTP and gRPC servers with a
// real AccessControl (state database and policy file in a temporary folder),
// and a small HTTP client that sends credentials.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "auth/access_control.h"
#include "common/file.h"
#include "grpc/grpc_server.h"
#include "server/http_server.h"
#include "shm/shared_memory.h"
#include "testing/audit_records.h"
#include "testing/model_service.h"
#include "testing/signed_repository.h"
#include "testing/start_grpc_server.h"
#include "testing/start_http_server.h"
#include "../server/test_http_client.h"

namespace moat::testing {

// The policy of the access tests. Each rule exists for one test group.
inline constexpr char kGuardedPolicy[] = R"(# The access tests' policy.
[rule analysts-infer]
effect = allow
principals = group:analysts
actions = infer, read_metadata
models = identity
versions = 1

[rule operators-control]
effect = allow
principals = role:operator
actions = load, unload
approvals = 2
approval_timeout = 1h

[rule approvers]
effect = allow
principals = role:approver
actions = approve

[rule anyone-server-metadata]
effect = allow
principals = anonymous, authenticated
actions = read_statistics

[rule carol-needs-code]
effect = allow
principals = user:carol
actions = infer
models = other
second_factor = true

[rule mallory-never]
effect = deny
principals = user:mallory
actions = *
)";

inline constexpr char kIdentityBody[] =
    R"({"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[1,2],"data":[1.5,2.5]}]})";

// Serves "identity" versions 1 and 2 and "other" version 1 under the policy
// above, with accounts alice and mallory (group analysts), bob (role
// operator), dave and erin (role approver) and carol (TOTP enrolled).
class GuardedServer {
 public:
  explicit GuardedServer(std::string policy_text = kGuardedPolicy)
      : repository_({{"identity", 1, TestModelPath("identity_fp32.onnx")},
                     {"identity", 2, TestModelPath("identity_fp32.onnx")},
                     {"other", 1, TestModelPath("identity_fp32.onnx")}}) {
    data_dir_ = repository_.root() + "/data";
    policy_file_ = repository_.root() + "/policy.conf";
    EXPECT_TRUE(WriteFileAtomic(policy_file_, policy_text).ok());
    auth::AccessControlOptions options;
    options.data_dir = data_dir_;
    options.policy_file = policy_file_;
    auto opened = auth::AccessControl::Open(options);
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    if (!opened.ok()) return;
    access_ = std::move(opened).value();
    auth::IdentityStore& identities = access_->identities();
    int64_t now = auth::UnixNow();
    EXPECT_TRUE(identities.AddGroup("analysts", now).ok());
    for (const auto& [name, roles] : std::map<std::string, std::vector<std::string>>{
             {"alice", {}}, {"mallory", {}}, {"bob", {"operator"}}, {"dave", {"approver"}},
             {"erin", {"approver"}}, {"carol", {}}}) {
      EXPECT_TRUE(identities.AddAccount(name, auth::AccountKind::kUser, roles, now).ok()) << name;
      auto token = identities.CreateToken(name, now + 3600, "test", now);
      EXPECT_TRUE(token.ok()) << token.status().ToString();
      if (token.ok()) tokens_[name] = token->text;
    }
    EXPECT_TRUE(identities.AddMember("analysts", "alice").ok());
    EXPECT_TRUE(identities.AddMember("analysts", "mallory").ok());
    auto enrolled = identities.EnrolTotp("carol", now);
    EXPECT_TRUE(enrolled.ok()) << enrolled.status().ToString();
    if (enrolled.ok()) carol_secret_ = enrolled->secret_base32;

    repository::ModelServiceOptions service_options;
    service_options.allow_model_control = true;
    service_ = CreateModelService(repository_, std::move(service_options));
    if (service_ == nullptr) return;
    repository::ModelService* audited = service_.get();
    access_->SetAuditSink([audited](const audit::AuditEvent& event) { audited->RecordAccessEvent(event); });
    server::HttpServerOptions http_options;
    http_options.access_control = access_.get();
    http_ = StartHttpServer(*service_, http_options);
    grpc_server::GrpcServerOptions grpc_options;
    grpc_options.access_control = access_.get();
    grpc_ = StartGrpcServer(*service_, shared_memory_, grpc_options);
  }

  bool ok() const { return access_ && service_ && http_ && grpc_; }
  const std::string& token(const std::string& account) { return tokens_[account]; }
  const std::string& carol_secret() const { return carol_secret_; }
  auth::AccessControl& access() { return *access_; }
  uint16_t http_port() const { return http_->port(); }
  uint16_t grpc_port() const { return grpc_->port(); }
  const std::string& policy_file() const { return policy_file_; }
  std::vector<std::string> AuditRecords() const { return ReadAuditRecords(repository_.audit_dir()); }

  // One HTTP request with the given headers.
  server::testing::Response Send(boost::beast::http::verb method, const std::string& target,
                                 const std::string& body, const std::map<std::string, std::string>& headers) {
    server::testing::TestClient client(http_->port());
    auto request = server::testing::MakeRequest(method, target, body);
    for (const auto& [name, value] : headers) request.set(name, value);
    return client.RoundTrip(std::move(request));
  }

  server::testing::Response Infer(const std::string& account, const std::string& target,
                                  std::map<std::string, std::string> headers = {}) {
    if (!account.empty()) headers["Authorization"] = "Bearer " + token(account);
    return Send(boost::beast::http::verb::post, target, kIdentityBody, headers);
  }

 private:
  SignedRepository repository_;
  std::string data_dir_;
  std::string policy_file_;
  std::unique_ptr<auth::AccessControl> access_;
  std::map<std::string, std::string> tokens_;
  std::string carol_secret_;
  std::unique_ptr<repository::ModelService> service_;
  shm::SharedMemoryManager shared_memory_{false};
  std::unique_ptr<server::HttpServer> http_;
  std::unique_ptr<grpc_server::GrpcServer> grpc_;
};

}  // namespace moat::testing
