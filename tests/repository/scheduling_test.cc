// ModelService with the scheduler: batching, the memory check and
// unloading while requests run.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <thread>
#include <vector>

#include "common/file.h"
#include "repository/model_service.h"
#include "testing/held_queue.h"
#include "testing/model_service.h"
#include "testing/signed_repository.h"
#include "testing/audit_records.h"

namespace moat::repository {
namespace {

using moat::testing::SignedRepository;
using moat::testing::TestModelPath;

RequestContext Context() { return {"sched-request", "test", "127.0.0.1:1"}; }

InferenceRequest IdentityRequest(float fill) {
  std::vector<float> values(4, fill);
  InferenceRequest request;
  request.model_name = "identity";
  request.inputs = {MakeOwnedTensor("INPUT0", DataType::kFp32, {1, 4},
                                    std::string(reinterpret_cast<const char*>(values.data()), 16))};
  return request;
}

ModelServiceOptions Options(const SignedRepository& repo, const std::string& config_text) {
  ModelServiceOptions options;
  options.repository_dir = repo.repository_dir();
  options.trust_dir = repo.trust_dir();
  options.audit = moat::testing::TestAuditOptions(repo.audit_dir(), audit::AuditDurability::kSync);
  options.allow_model_control = true;
  auto config = config::ParseServingConfig(config_text, "test.conf");
  EXPECT_TRUE(config.ok()) << config.status().ToString();
  if (config.ok()) options.serving_config = *config;
  return options;
}

std::string ReadAudit(const SignedRepository& repo) {
  auto contents = moat::testing::ReadAuditLog(repo.audit_dir());
  return contents.ok() ? *contents : "";
}

size_t CountOf(const std::string& text, const std::string& needle) {
  size_t count = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++count;
  return count;
}

TEST(Scheduling, BatchReturnsOwnRows) {
  SignedRepository repo({{"identity", 1, TestModelPath("identity_fp32.onnx")}});
  auto service = ModelService::Create(Options(repo,
                                              "[model identity]\n"
                                              "dynamic_batching = true\n"
                                              "max_batch_size = 4\n"
                                              "preferred_batch_sizes = 4\n"
                                              "max_queue_delay_us = 10000000\n"));
  ASSERT_TRUE(service.ok()) << service.status().ToString();
  std::vector<std::thread> threads;
  std::atomic<int> correct{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      auto response = (*service)->Infer(IdentityRequest(static_cast<float>(i)), Context());
      if (!response.ok() || response->outputs.size() != 1) return;
      const Tensor& out = response->outputs[0];
      if (out.shape != std::vector<int64_t>{1, 4} || out.data.size() != 16) return;
      float first = 0;
      std::memcpy(&first, out.data.data(), 4);
      if (first == static_cast<float>(i)) ++correct;
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(correct.load(), 4);
  auto stats = (*service)->GetModelStatistics("identity", 1);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ((*stats)[0].inference_count, 4u);
  EXPECT_EQ((*stats)[0].execution_count, 1u);
  // One execution of the four joined rows.
  ASSERT_EQ((*stats)[0].batch_stats.size(), 1u);
  EXPECT_EQ((*stats)[0].batch_stats[0].batch_size, 4u);
  EXPECT_EQ((*stats)[0].batch_stats[0].compute_infer.count, 1u);
  std::string log = ReadAudit(repo);
  EXPECT_EQ(CountOf(log, "\"inference\""), 4u);
}

TEST(Scheduling, BatchesVariableDimension) {
  SignedRepository repo({{"add_sub", 1, TestModelPath("add_sub.onnx")}});
  auto service = ModelService::Create(Options(repo,
                                              "[model add_sub]\n"
                                              "dynamic_batching = true\n"
                                              "max_batch_size = 8\n"));
  ASSERT_TRUE(service.ok()) << service.status().ToString();
  EXPECT_EQ((*service)->loaded_version_count(), 1u);
}

TEST(Scheduling, RefusesVersionThatDoesNotFit) {
  SignedRepository repo({{"identity", 1, TestModelPath("identity_fp32.onnx")}});
  // ONNX Runtime rejects this file, so the memory error can only win when the
  // check runs before the session is created.
  std::string garbage = repo.root() + "/garbage.onnx";
  ASSERT_TRUE(WriteFileAtomic(garbage, "not an ONNX model").ok());
  TensorSpec spec{"INPUT0", DataType::kFp32, {-1, 4}};
  repo.AddDeclared({"garbage", 1, garbage}, {spec}, {{"OUTPUT0", DataType::kFp32, {-1, 4}}});
  ModelServiceOptions options = Options(repo, "");
  options.available_memory_bytes = 1024;
  auto service = ModelService::Create(options);
  ASSERT_TRUE(service.ok()) << service.status().ToString();
  EXPECT_EQ((*service)->loaded_version_count(), 0u);
  auto index = (*service)->RepositoryIndex(false);
  ASSERT_EQ(index.size(), 2u);
  EXPECT_EQ(index[0].name, "garbage");
  EXPECT_EQ(index[0].state, "UNAVAILABLE");
  EXPECT_NE(index[0].reason.find("model garbage version 1 needs about"), std::string::npos)
      << index[0].reason;
  EXPECT_EQ(index[1].state, "UNAVAILABLE");
  EXPECT_NE(index[1].reason.find("model identity version 1 needs about"), std::string::npos)
      << index[1].reason;
  std::string log = ReadAudit(repo);
  EXPECT_EQ(CountOf(log, "\"model_rejected\""), 2u);
}

// A session ONNX Runtime cannot create still fails with its own error when
// the version fits.
TEST(Scheduling, RuntimeErrorWhenVersionFits) {
  SignedRepository repo(std::vector<moat::testing::RepositoryModel>{});
  std::string garbage = repo.root() + "/garbage.onnx";
  ASSERT_TRUE(WriteFileAtomic(garbage, "not an ONNX model").ok());
  repo.AddDeclared({"garbage", 1, garbage}, {{"INPUT0", DataType::kFp32, {-1, 4}}},
                   {{"OUTPUT0", DataType::kFp32, {-1, 4}}});
  auto service = ModelService::Create(Options(repo, ""));
  ASSERT_TRUE(service.ok()) << service.status().ToString();
  auto index = (*service)->RepositoryIndex(false);
  ASSERT_EQ(index.size(), 1u);
  EXPECT_NE(index[0].reason.find("ONNX Runtime"), std::string::npos) << index[0].reason;
}

// The memory check counts the versions loaded earlier in the same scan.
TEST(Scheduling, CountsVersionsOfSameScan) {
  SignedRepository repo({{"identity", 1, TestModelPath("identity_fp32.onnx")},
                         {"identity", 2, TestModelPath("identity_fp32.onnx")}});
  ModelServiceOptions options = Options(repo, "");
  // Room for one version: the estimate is 16 MiB plus twice the bundle's bytes.
  options.available_memory_bytes = uint64_t{20} << 20;
  auto service = ModelService::Create(options);
  ASSERT_TRUE(service.ok()) << service.status().ToString();
  EXPECT_EQ((*service)->loaded_version_count(), 1u);
  auto index = (*service)->RepositoryIndex(false);
  ASSERT_EQ(index.size(), 2u);
  EXPECT_EQ(index[0].state, "READY");
  EXPECT_EQ(index[1].state, "UNAVAILABLE");
  EXPECT_NE(index[1].reason.find("model identity version 2 needs about"), std::string::npos)
      << index[1].reason;
}

// Settings that cannot apply to the model reject the version before its
// session is created, like the memory check.
TEST(Scheduling, RejectsBadSettingsBeforeSession) {
  SignedRepository repo(std::vector<moat::testing::RepositoryModel>{});
  std::string garbage = repo.root() + "/garbage.onnx";
  ASSERT_TRUE(WriteFileAtomic(garbage, "not an ONNX model").ok());
  repo.AddDeclared({"garbage", 1, garbage}, {{"INPUT0", DataType::kFp32, {2, 4}}},
                   {{"OUTPUT0", DataType::kFp32, {2, 4}}});
  auto service =
      ModelService::Create(Options(repo, "[model garbage]\ndynamic_batching = true\nmax_batch_size = 4\n"));
  ASSERT_TRUE(service.ok()) << service.status().ToString();
  auto index = (*service)->RepositoryIndex(false);
  ASSERT_EQ(index.size(), 1u);
  EXPECT_NE(index[0].reason.find("dynamic_batching needs a variable first dimension"), std::string::npos)
      << index[0].reason;
}

size_t ThreadCount() {
  std::error_code error;
  size_t count = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/task", error);
       !error && it != std::filesystem::directory_iterator(); it.increment(error)) {
    ++count;
  }
  return count;
}

// A version with intra_op_threads gets an ONNX Runtime pool of its own: a pool
// of 3 threads adds 2, because the calling thread is the third.
TEST(Scheduling, IntraOpThreadsGiveOwnPool) {
  SignedRepository shared_a({{"identity", 1, TestModelPath("identity_fp32.onnx")}});
  SignedRepository shared_b({{"identity", 1, TestModelPath("identity_fp32.onnx")}});
  SignedRepository own({{"identity", 1, TestModelPath("identity_fp32.onnx")}});
  // The first service also creates ONNX Runtime's environment and its shared pool.
  auto first = ModelService::Create(Options(shared_a, ""));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  size_t before_shared = ThreadCount();
  auto second = ModelService::Create(Options(shared_b, ""));
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  size_t before_own = ThreadCount();
  auto third = ModelService::Create(Options(own, "[model identity]\nintra_op_threads = 3\n"));
  ASSERT_TRUE(third.ok()) << third.status().ToString();
  size_t after_own = ThreadCount();

  EXPECT_EQ(after_own - before_own, (before_own - before_shared) + 2);
  auto response = (*third)->Infer(IdentityRequest(5), Context());
  EXPECT_TRUE(response.ok()) << response.status().ToString();
  std::vector<hardware::ThreadRequest> requests = (*third)->ThreadRequests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].model, "identity");
  EXPECT_EQ(requests[0].version, 1);
  EXPECT_EQ(requests[0].instances, 1);
  EXPECT_EQ(requests[0].intra_op_threads, 3);
}

// A request of a higher priority (lower number) that arrives while one of a
// lower priority waits for its batch runs first. The two do not fit one
// batch, so in submission order the waiting request would run first.
TEST(Scheduling, HigherPriorityRunsFirst) {
  SignedRepository repo({{"identity", 1, TestModelPath("identity_fp32.onnx")}});
  moat::testing::HeldQueue held("identity", "");
  auto service = moat::testing::CreateModelService(repo, held.Options());
  ASSERT_NE(service, nullptr);
  held.AwaitWorkerWaits(1);

  InferenceRequest low_request = IdentityRequest(1);
  low_request.priority = 2;
  moat::testing::BackgroundInfer low(*service, low_request);
  held.AwaitWorkerWaits(2);

  // Four rows fill max_batch_size, so this request runs as soon as it leads the queue.
  std::vector<float> values(16, 2.0f);
  InferenceRequest high;
  high.model_name = "identity";
  high.priority = 1;
  high.inputs = {MakeOwnedTensor("INPUT0", DataType::kFp32, {4, 4},
                                 std::string(reinterpret_cast<const char*>(values.data()), 64))};
  auto execution_count = [&] {
    auto stats = service->GetModelStatistics("identity", 1);
    return stats.ok() && stats->size() == 1 ? (*stats)[0].execution_count : UINT64_MAX;
  };
  // EXPECT, not ASSERT, until the release: `low` joins its thread when it goes
  // out of scope, which waits for the release.
  auto high_response = service->Infer(high, Context());
  EXPECT_TRUE(high_response.ok()) << high_response.status().ToString();
  EXPECT_FALSE(low.done());
  EXPECT_EQ(execution_count(), 1u);

  held.Release();
  StatusOr<InferenceResponse> low_response = low.Join();
  EXPECT_TRUE(low_response.ok()) << low_response.status().ToString();
  EXPECT_EQ(execution_count(), 2u);
}

TEST(Scheduling, UnloadUnderLoad) {
  SignedRepository repo({{"identity", 1, TestModelPath("identity_fp32.onnx")}});
  auto service = ModelService::Create(Options(repo, "[model identity]\ninstances = 2\n"));
  ASSERT_TRUE(service.ok()) << service.status().ToString();
  std::atomic<bool> stop{false};
  std::atomic<int> unexpected{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 4; ++i) {
    clients.emplace_back([&, i] {
      while (!stop.load()) {
        auto response = (*service)->Infer(IdentityRequest(static_cast<float>(i)), Context());
        if (response.ok()) {
          float first = -1;
          if (response->model_version != 1 || response->outputs.size() != 1 ||
              response->outputs[0].data.size() != 16) {
            ++unexpected;
            continue;
          }
          std::memcpy(&first, response->outputs[0].data.data(), 4);
          if (first != static_cast<float>(i)) ++unexpected;
        } else if (response.status().code() != StatusCode::kNotFound &&
                   response.status().code() != StatusCode::kUnavailable) {
          ++unexpected;
        }
      }
    });
  }
  for (int round = 0; round < 5; ++round) {
    EXPECT_TRUE((*service)->UnloadModel("identity", Context()).ok());
    EXPECT_TRUE((*service)->LoadModel("identity", Context()).ok());
  }
  stop = true;
  for (std::thread& client : clients) client.join();
  EXPECT_EQ(unexpected.load(), 0);
}

}  // namespace
}  // namespace moat::repository
