// ModelService with the scheduler: batching, the memory check and
// unloading while requests run.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "common/file.h"
#include "repository/model_service.h"
#include "testing/signed_repository.h"

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
  options.audit_log_path = repo.audit_log_path();
  options.audit_sync = false;
  options.allow_model_control = true;
  auto config = config::ParseServingConfig(config_text, "test.conf");
  EXPECT_TRUE(config.ok()) << config.status().ToString();
  if (config.ok()) options.serving_config = *config;
  return options;
}

std::string ReadAudit(const SignedRepository& repo) {
  auto contents = ReadFile(repo.audit_log_path());
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
  ModelServiceOptions options = Options(repo, "");
  options.available_memory_bytes = 1024;
  auto service = ModelService::Create(options);
  ASSERT_TRUE(service.ok()) << service.status().ToString();
  EXPECT_EQ((*service)->loaded_version_count(), 0u);
  auto index = (*service)->RepositoryIndex(false);
  ASSERT_EQ(index.size(), 1u);
  EXPECT_EQ(index[0].state, "UNAVAILABLE");
  EXPECT_NE(index[0].reason.find("identity"), std::string::npos) << index[0].reason;
  std::string log = ReadAudit(repo);
  EXPECT_NE(log.find("\"model_rejected\""), std::string::npos);
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
