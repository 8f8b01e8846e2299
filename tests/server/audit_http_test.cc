// Audit evidence over HTTP: receipts in each response, signed responses,
// the metrics of the audit log, and fail-closed against fail-open.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <atomic>
#include <memory>

#include "audit/audit_log.h"
#include "audit/segment.h"
#include "common/crypto.h"
#include "common/file.h"
#include "repository/model_service.h"
#include "server/http_server.h"
#include "test_http_client.h"
#include "testing/audit_records.h"
#include "testing/model_service.h"
#include "testing/signed_repository.h"
#include "testing/start_http_server.h"

namespace moat::server {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::MakeRequest;
using testing::Response;
using testing::TestClient;
namespace http = boost::beast::http;

constexpr char kIdentityRequest[] =
    R"({"id":"audited","inputs":[{"name":"INPUT0","datatype":"FP32","shape":[1,2],"data":[1.5,2.5]}]})";

// A served identity model whose audit log writes through `write` when set.
struct AuditedServer {
  explicit AuditedServer(repository::ModelServiceOptions options = {},
                         std::function<ssize_t(int, const struct iovec*, int)> write = {})
      : repository({{"identity", 1, moat::testing::TestModelPath("identity_fp32.onnx")}}) {
    options.repository_dir = repository.repository_dir();
    options.trust_dir = repository.trust_dir();
    options.audit = moat::testing::TestAuditOptions(repository.audit_dir(), audit::AuditDurability::kSync);
    options.audit.write_function = std::move(write);
    options.audit.resume_interval = std::chrono::milliseconds(0);
    auto created = repository::ModelService::Create(options);
    EXPECT_TRUE(created.ok()) << created.status().ToString();
    if (!created.ok()) return;
    service = std::move(created).value();
    server = moat::testing::StartHttpServer(*service);
  }

  Response Infer() {
    TestClient client(server->port());
    return client.RoundTrip(MakeRequest(http::verb::post, "/v2/models/identity/infer", kIdentityRequest));
  }

  std::string Metrics() {
    TestClient client(server->port());
    return client.RoundTrip(MakeRequest(http::verb::get, "/metrics", "")).body();
  }

  moat::testing::SignedRepository repository;
  std::unique_ptr<repository::ModelService> service;
  std::unique_ptr<HttpServer> server;
};

// The parts of "moat-receipt-v1:<log id>:<seq>:<record hash>".
std::vector<std::string> ReceiptParts(const std::string& receipt) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t colon; (colon = receipt.find(':', start)) != std::string::npos; start = colon + 1) {
    parts.push_back(receipt.substr(start, colon - start));
  }
  parts.push_back(receipt.substr(start));
  return parts;
}

std::string ParameterOf(const std::string& body, const char* name) {
  rapidjson::Document document;
  document.Parse(body.data(), body.size());
  if (document.HasParseError() || !document.HasMember("parameters")) return "";
  const auto& parameters = document["parameters"];
  return parameters.HasMember(name) ? parameters[name].GetString() : "";
}

TEST(AuditHttp, ResponseCarriesItsReceipt) {
  AuditedServer served;
  ASSERT_NE(served.server, nullptr);
  Response response = served.Infer();
  ASSERT_EQ(response.result_int(), 200u) << response.body();
  std::string header(response[kAuditReceiptHeader]);
  EXPECT_EQ(ParameterOf(response.body(), kAuditReceiptParameter), header);
  std::vector<std::string> parts = ReceiptParts(header);
  ASSERT_EQ(parts.size(), 4u) << header;
  EXPECT_EQ(parts[0], "moat-receipt-v1");
  uint64_t sequence = std::stoull(parts[2]);

  // The receipt names the stored record of this request, by number and hash.
  std::vector<std::string> stored;
  ASSERT_TRUE(audit::ScanSegmentFolder(served.repository.audit_dir(), {}, [&](const audit::SegmentRecordView& r) {
                stored.emplace_back(r.bytes);
              }).ok());
  ASSERT_LT(sequence, stored.size());
  EXPECT_EQ(parts[3], HexEncode(audit::LeafHash(stored[sequence])));
  std::vector<std::string> records = moat::testing::ReadAuditRecords(served.repository.audit_dir());
  EXPECT_THAT(records[sequence], HasSubstr(R"("request_id":"audited")"));
  EXPECT_THAT(records[sequence], HasSubstr(R"("type":"inference")"));
  EXPECT_THAT(records[sequence], HasSubstr(R"("instance":0)"));
}

TEST(AuditHttp, SignedResponseVerifiesWithTheNodeKey) {
  repository::ModelServiceOptions options;
  options.sign_responses = true;
  AuditedServer served(options);
  ASSERT_NE(served.server, nullptr);
  Response response = served.Infer();
  ASSERT_EQ(response.result_int(), 200u) << response.body();
  std::string signature(response[kResponseSignatureHeader]);
  EXPECT_EQ(ParameterOf(response.body(), kResponseSignatureParameter), signature);
  auto raw_signature = Base64Decode(signature);
  ASSERT_TRUE(raw_signature.ok()) << signature;

  std::vector<std::string> parts = ReceiptParts(std::string(response[kAuditReceiptHeader]));
  ASSERT_EQ(parts.size(), 4u);
  audit::AuditReceipt receipt;
  receipt.sequence = std::stoull(parts[2]);
  auto log_id = HexDecode(parts[1]);
  auto record_hash = HexDecode(parts[3]);
  ASSERT_TRUE(log_id.ok());
  ASSERT_TRUE(record_hash.ok());
  std::copy(log_id->begin(), log_id->end(), receipt.log_id.begin());
  std::copy(record_hash->begin(), record_hash->end(), receipt.record_hash.begin());

  std::string record = moat::testing::ReadAuditRecords(served.repository.audit_dir())[receipt.sequence];
  rapidjson::Document parsed;
  parsed.Parse(record.data(), record.size());
  std::string output_digest = parsed["output_digest"].GetString();
  auto pem = ReadFile(served.repository.audit_dir() + "/node.pub");
  ASSERT_TRUE(pem.ok()) << pem.status().ToString();
  auto public_key = bundle::PublicKey::FromPem(*pem, "node.pub");
  ASSERT_TRUE(public_key.ok()) << public_key.status().ToString();
  EXPECT_TRUE(audit::VerifyResponseSignature(*public_key, receipt, output_digest, *raw_signature).ok());
}

TEST(AuditHttp, MetricsShowTheAuditLog) {
  AuditedServer served;
  ASSERT_NE(served.server, nullptr);
  ASSERT_EQ(served.Infer().result_int(), 200u);
  std::string metrics = served.Metrics();
  EXPECT_THAT(metrics, HasSubstr("# TYPE moat_audit_append_failures_total counter\nmoat_audit_append_failures_total 0\n"));
  EXPECT_THAT(metrics, HasSubstr("moat_audit_writable 1\n"));
  EXPECT_THAT(metrics, HasSubstr(R"(moat_inference_requests_total{model="identity",version="1",outcome="success"} 1)"));
}

// Fails every write while `failing` is set, as a full disk does.
std::function<ssize_t(int, const struct iovec*, int)> FailingWrite(std::atomic<bool>& failing) {
  return [&failing](int fd, const struct iovec* iov, int count) -> ssize_t {
    if (failing) {
      errno = ENOSPC;
      return -1;
    }
    return ::writev(fd, iov, count);
  };
}

TEST(AuditHttp, FailClosedAnswers503UntilWritable) {
  std::atomic<bool> failing{false};
  AuditedServer served({}, FailingWrite(failing));
  ASSERT_NE(served.server, nullptr);
  failing = true;
  Response rejected = served.Infer();
  EXPECT_EQ(rejected.result_int(), 503u);
  EXPECT_THAT(rejected.body(), HasSubstr("the audit log cannot be written"));
  EXPECT_THAT(served.Metrics(), HasSubstr("moat_audit_writable 0\n"));

  failing = false;
  Response served_again = served.Infer();
  EXPECT_EQ(served_again.result_int(), 200u) << served_again.body();
  EXPECT_FALSE(std::string(served_again[kAuditReceiptHeader]).empty());
  std::string log = moat::testing::ReadAuditText(served.repository.audit_dir());
  EXPECT_THAT(log, HasSubstr(R"("type":"audit_failure")"));
}

TEST(AuditHttp, FailOpenServesWithoutReceiptAndCounts) {
  std::atomic<bool> failing{false};
  repository::ModelServiceOptions options;
  options.audit_fail_open = true;
  AuditedServer served(options, FailingWrite(failing));
  ASSERT_NE(served.server, nullptr);
  failing = true;
  Response response = served.Infer();
  EXPECT_EQ(response.result_int(), 200u) << response.body();
  EXPECT_TRUE(std::string(response[kAuditReceiptHeader]).empty());
  std::string metrics = served.Metrics();
  EXPECT_THAT(metrics, HasSubstr("moat_audit_writable 0\n"));
  EXPECT_THAT(metrics, Not(HasSubstr("moat_audit_append_failures_total 0\n")));
}

TEST(AuditHttp, AuditTensorsStoresTensors) {
  repository::ModelServiceOptions options;
  options.serving_config = moat::testing::ParseTestServingConfig("[model identity]\naudit_tensors = true\n");
  AuditedServer served(options);
  ASSERT_NE(served.server, nullptr);
  ASSERT_EQ(served.Infer().result_int(), 200u);
  std::string log = moat::testing::ReadAuditText(served.repository.audit_dir());
  // 1.5f and 2.5f as little-endian bytes, base64: 0000c03f00002040.
  EXPECT_THAT(log, HasSubstr(R"("inputs":[{"name":"INPUT0","datatype":"FP32","shape":[1,2],"data":"AADAPwAAIEA="}])"));
  EXPECT_THAT(log, HasSubstr(R"("outputs":[{"name":"OUTPUT0")"));
}

}  // namespace
}  // namespace moat::server
