// The scheduler's limits seen over HTTP: a full queue, request and default
// timeouts, and clients that disconnect while their request waits. A
// FakeClock holds requests in the queue (testing/held_queue.h), so nothing
// here sleeps.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <string>
#include <thread>

#include "common/file.h"
#include "server/http_server.h"
#include "test_http_client.h"
#include "testing/held_queue.h"
#include "testing/model_service.h"
#include "testing/signed_repository.h"
#include "testing/start_http_server.h"
#include "testing/audit_records.h"

namespace moat::server {
namespace {

using moat::testing::HeldQueue;
using moat::testing::OneRowRequest;
using moat::testing::SignedRepository;
using ::testing::HasSubstr;
using testing::MakeRequest;
using testing::Response;
using testing::TestClient;
namespace http = boost::beast::http;

std::vector<moat::testing::RepositoryModel> HeldModel() {
  return {{"held", 1, moat::testing::TestModelPath("identity_fp32.onnx")}};
}

// An infer body for the held identity model, with `parameters` (a JSON
// object's members) and the request `id` when not empty.
std::string InferBody(const std::string& parameters = "", const std::string& id = "") {
  std::string body = R"({"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[1,4],"data":[1,2,3,4]}])";
  if (!parameters.empty()) body += R"(,"parameters":{)" + parameters + "}";
  if (!id.empty()) body += R"(,"id":")" + id + R"(")";
  return body + "}";
}

// An infer body of four rows, which fill max_batch_size, so that the request
// runs as soon as it leads the queue, without a release.
std::string FullBatchBody(const std::string& id) {
  return R"({"id":")" + id + R"(","inputs":[{"name":"INPUT0","datatype":"FP32","shape":[4,4],"data":[)" +
         R"(1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]}]})";
}

// The held model served over HTTP on 127.0.0.1; stops the server first.
class HeldServer {
 public:
  explicit HeldServer(HeldQueue& held) : held_(held), repository_(HeldModel()) {
    service_ = moat::testing::CreateModelService(repository_, held.Options());
    if (!service_) return;
    HttpServerOptions options;
    options.worker_threads = 2;
    http_ = moat::testing::StartHttpServer(*service_, options);
  }

  // Moves the clock far ahead first, so that a request a failed test left
  // queued completes instead of blocking the server's worker pool in Stop.
  ~HeldServer() {
    held_.Advance(std::chrono::hours(1));
    if (http_) http_->Stop();
  }

  // 0 when the server did not start, so that connections fail.
  uint16_t http_port() const { return http_ ? http_->port() : 0; }
  repository::ModelService& service() { return *service_; }
  const SignedRepository& repository() const { return repository_; }

 private:
  HeldQueue& held_;
  SignedRepository repository_;
  std::unique_ptr<repository::ModelService> service_;
  std::unique_ptr<HttpServer> http_;
};

// Sends `body` to the held model from a thread of its own, and once the
// request is queued, advances the clock by `advance` and returns the response.
Response PostWhileHeld(HeldQueue& held, const HeldServer& served, const std::string& body,
                       std::chrono::microseconds advance) {
  Response response;
  std::thread client_thread([&] {
    TestClient client(served.http_port());
    response = client.RoundTrip(MakeRequest(http::verb::post, "/v2/models/held/infer", body));
  });
  held.AwaitWorkerWaits(2);
  held.Advance(advance);
  client_thread.join();
  return response;
}

std::string ErrorOf(const Response& response) {
  rapidjson::Document document;
  document.Parse(response.body().data(), response.body().size());
  if (document.HasParseError() || !document.IsObject() || !document.HasMember("error") ||
      !document["error"].IsString()) {
    return "<no error field>";
  }
  return document["error"].GetString();
}

uint64_t ExecutionCount(repository::ModelService& service) {
  auto statistics = service.GetModelStatistics("held", 1);
  return statistics.ok() && statistics->size() == 1 ? (*statistics)[0].execution_count : UINT64_MAX;
}

std::string ReadAudit(const HeldServer& served) {
  auto contents = moat::testing::ReadAuditLog(served.repository().audit_dir());
  return contents.ok() ? *contents : "";
}

TEST(SchedulingHttp, FullQueueAnswers503) {
  HeldQueue held("held", "max_queue_size = 1\n");
  HeldServer served(held);
  held.AwaitWorkerWaits(1);
  moat::testing::BackgroundInfer first(served.service(), OneRowRequest("held"));
  held.AwaitWorkerWaits(2);

  TestClient client(served.http_port());
  Response rejected = client.RoundTrip(MakeRequest(http::verb::post, "/v2/models/held/infer", InferBody()));
  EXPECT_EQ(rejected.result_int(), 503) << rejected.body();
  EXPECT_THAT(ErrorOf(rejected), HasSubstr("the queue is full (max_queue_size 1)"));

  held.Release();
  StatusOr<InferenceResponse> first_result = first.Join();
  EXPECT_TRUE(first_result.ok()) << first_result.status().ToString();
  EXPECT_EQ(ExecutionCount(served.service()), 1u);
}

TEST(SchedulingHttp, RequestTimeoutAnswers504) {
  HeldQueue held("held", "");
  HeldServer served(held);
  held.AwaitWorkerWaits(1);
  Response response =
      PostWhileHeld(held, served, InferBody(R"("timeout":500)"), std::chrono::microseconds(500));

  // status_mapping gives DEADLINE_EXCEEDED 504 Gateway Timeout.
  EXPECT_EQ(response.result_int(), 504) << response.body();
  EXPECT_THAT(ErrorOf(response), HasSubstr("timed out after waiting 500 us in the queue"));
  EXPECT_EQ(ExecutionCount(served.service()), 0u);
  EXPECT_THAT(ReadAudit(served), HasSubstr("\"DEADLINE_EXCEEDED\""));
}

TEST(SchedulingHttp, DefaultTimeoutApplies) {
  HeldQueue held("held", "default_timeout_us = 300\n");
  HeldServer served(held);
  held.AwaitWorkerWaits(1);
  Response response = PostWhileHeld(held, served, InferBody(), std::chrono::microseconds(300));

  EXPECT_EQ(response.result_int(), 504) << response.body();
  EXPECT_THAT(ErrorOf(response), HasSubstr("timed out after waiting 300 us in the queue"));
  EXPECT_EQ(ExecutionCount(served.service()), 0u);
}

TEST(SchedulingHttp, RequestTimeoutOverridesDefault) {
  HeldQueue held("held", "default_timeout_us = 300\n");
  HeldServer served(held);
  held.AwaitWorkerWaits(1);
  // Past the default but before the request's own timeout: the batch delay
  // ends first and the request runs.
  Response response = PostWhileHeld(held, served, InferBody(R"("timeout":5000000)"), HeldQueue::kBatchDelay);

  EXPECT_EQ(response.result_int(), 200) << response.body();
  EXPECT_EQ(ExecutionCount(served.service()), 1u);
}

// While a request waits in the queue, the session reads the socket to notice
// a client that leaves. A request pipelined behind it in that time must
// still get its response, in order.
TEST(SchedulingHttp, PipelinedRequestWhileQueued) {
  HeldQueue held("held", "");
  HeldServer served(held);
  held.AwaitWorkerWaits(1);
  TestClient client(served.http_port());
  auto first = MakeRequest(http::verb::post, "/v2/models/held/infer", InferBody("", "first"));
  ASSERT_FALSE(client.Write(first));
  held.AwaitWorkerWaits(2);

  auto second = MakeRequest(http::verb::post, "/v2/models/held/infer", FullBatchBody("second"));
  ASSERT_FALSE(client.Write(second));
  held.Release();
  Response first_response;
  ASSERT_FALSE(client.Read(first_response));
  EXPECT_EQ(first_response.result_int(), 200) << first_response.body();
  EXPECT_THAT(first_response.body(), HasSubstr(R"("id":"first")"));

  Response second_response;
  ASSERT_FALSE(client.Read(second_response));
  EXPECT_EQ(second_response.result_int(), 200) << second_response.body();
  EXPECT_THAT(second_response.body(), HasSubstr(R"("id":"second")"));
  EXPECT_EQ(ExecutionCount(served.service()), 2u);
}

// Waits until `done` returns true, advancing the fake clock by 1 us between
// checks so that the worker scans its queue again.
// NOTE: what it waits for happens on the server's I/O thread, which gives the
// test no event to wait on, so this polls. The bound of 20000 checks fails the
// test instead of hanging it.
template <typename Done>
bool AdvanceUntil(HeldQueue& held, Done done) {
  for (int i = 0; i < 20000; ++i) {
    if (done()) return true;
    held.Advance(std::chrono::microseconds(1));
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return done();
}

TEST(SchedulingHttp, DisconnectCancelsQueuedRequest) {
  HeldQueue held("held", "");
  HeldServer served(held);
  held.AwaitWorkerWaits(1);
  moat::testing::BackgroundInfer first(served.service(), OneRowRequest("held"));
  held.AwaitWorkerWaits(2);

  {
    TestClient leaving(served.http_port());
    auto request = MakeRequest(http::verb::post, "/v2/models/held/infer", InferBody());
    EXPECT_FALSE(leaving.Write(request));
    held.AwaitWorkerWaits(3);
  }
  auto failed = [&] {
    auto statistics = served.service().GetModelStatistics("held", 1);
    return statistics.ok() && statistics->size() == 1 && (*statistics)[0].fail.count == 1;
  };
  // EXPECT, not ASSERT: the background request must still be released.
  EXPECT_TRUE(AdvanceUntil(held, failed));

  held.Release();
  StatusOr<InferenceResponse> first_result = first.Join();
  EXPECT_TRUE(first_result.ok()) << first_result.status().ToString();
  auto statistics = served.service().GetModelStatistics("held", 1);
  ASSERT_TRUE(statistics.ok());
  EXPECT_EQ((*statistics)[0].execution_count, 1u);
  EXPECT_EQ((*statistics)[0].inference_count, 1u);
  EXPECT_THAT(ReadAudit(served), HasSubstr("\"CANCELLED\""));

  TestClient staying(served.http_port());
  Response response =
      staying.RoundTrip(MakeRequest(http::verb::post, "/v2/models/held/infer", FullBatchBody("staying")));
  EXPECT_EQ(response.result_int(), 200) << response.body();
}

}  // namespace
}  // namespace moat::server
