// Inference through the C API: results, versions, requested outputs, and the
// errors for requests that do not fit the model.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "capi_testing.h"
#include "testing/tensor_bytes.h"

namespace moat::capi_testing {
namespace {

using moat::testing::RepositoryModel;
using moat::testing::SignedRepository;
using moat::testing::TestModelPath;

constexpr int64_t kAddSubShape[] = {2, 16};

class CApiInferTest : public ::testing::Test {
 protected:
  void SetUp() override {
    runtime_ = OpenRuntime(repo_);
    ASSERT_NE(runtime_, nullptr);
    for (int i = 0; i < 32; ++i) {
      input0_.push_back(static_cast<float>(i));
      input1_.push_back(0.5f);
    }
  }

  // An add_sub request whose inputs borrow input0_ and input1_.
  Request AddSubRequest() {
    Request request = MakeRequest("add_sub");
    EXPECT_EQ(Describe(moat_request_add_input(request.get(), "INPUT0", "FP32", kAddSubShape, 2,
                                              input0_.data(), input0_.size() * sizeof(float))),
              "OK");
    EXPECT_EQ(Describe(moat_request_add_input(request.get(), "INPUT1", "FP32", kAddSubShape, 2,
                                              input1_.data(), input1_.size() * sizeof(float))),
              "OK");
    return request;
  }

  // Runs `request`; returns the response, or NULL with the error in *error.
  Response Infer(const moat_request* request, std::string* error = nullptr) {
    moat_response* response = nullptr;
    std::string described = Describe(moat_runtime_infer(runtime_.get(), request, &response));
    if (error != nullptr) *error = described;
    return Response(response);
  }

  SignedRepository repo_{{{"add_sub", 1, TestModelPath("add_sub.onnx")},
                          {"identity", 1, TestModelPath("identity_fp32.onnx")},
                          {"identity", 3, TestModelPath("identity_fp32.onnx")}}};
  Runtime runtime_;
  std::vector<float> input0_;
  std::vector<float> input1_;
};

TEST_F(CApiInferTest, RunsAddSub) {
  Request request = AddSubRequest();
  ASSERT_EQ(Describe(moat_request_set_id(request.get(), "add-sub-1")), "OK");
  std::string error;
  Response response = Infer(request.get(), &error);
  ASSERT_NE(response, nullptr) << error;

  const char* id = nullptr;
  ASSERT_EQ(Describe(moat_response_id(response.get(), &id)), "OK");
  EXPECT_STREQ(id, "add-sub-1");
  const char* model = nullptr;
  int64_t version = 0;
  ASSERT_EQ(Describe(moat_response_model(response.get(), &model, &version)), "OK");
  EXPECT_STREQ(model, "add_sub");
  EXPECT_EQ(version, 1);
  size_t count = 0;
  ASSERT_EQ(Describe(moat_response_output_count(response.get(), &count)), "OK");
  ASSERT_EQ(count, 2u);

  Output sum = ReadOutput(response.get(), 0);
  Output difference = ReadOutput(response.get(), 1);
  EXPECT_EQ(sum.name, "OUTPUT0");
  EXPECT_EQ(difference.name, "OUTPUT1");
  EXPECT_EQ(sum.datatype, "FP32");
  EXPECT_EQ(sum.shape, (std::vector<int64_t>{2, 16}));
  ASSERT_EQ(sum.bytes.size(), 32 * sizeof(float));
  ASSERT_EQ(difference.bytes.size(), 32 * sizeof(float));
  for (size_t i = 0; i < 32; ++i) {
    float sum_value = 0;
    float difference_value = 0;
    std::memcpy(&sum_value, sum.bytes.data() + i * sizeof(float), sizeof(float));
    std::memcpy(&difference_value, difference.bytes.data() + i * sizeof(float), sizeof(float));
    EXPECT_EQ(sum_value, input0_[i] + 0.5f) << "element " << i;
    EXPECT_EQ(difference_value, input0_[i] - 0.5f) << "element " << i;
  }
}

TEST_F(CApiInferTest, RequestedOutputsOnly) {
  Request request = AddSubRequest();
  ASSERT_EQ(Describe(moat_request_add_output(request.get(), "OUTPUT1")), "OK");
  std::string error;
  Response response = Infer(request.get(), &error);
  ASSERT_NE(response, nullptr) << error;
  size_t count = 0;
  ASSERT_EQ(Describe(moat_response_output_count(response.get(), &count)), "OK");
  ASSERT_EQ(count, 1u);
  size_t index = 99;
  EXPECT_EQ(Describe(moat_response_find_output(response.get(), "OUTPUT1", &index)), "OK");
  EXPECT_EQ(index, 0u);
  EXPECT_EQ(Describe(moat_response_find_output(response.get(), "OUTPUT0", &index)),
            "NOT_FOUND: moat_response_find_output: the response has no output 'OUTPUT0'");
  EXPECT_EQ(
      Describe(moat_response_output(response.get(), 1, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr)),
      "OUT_OF_RANGE: moat_response_output: output index 1 is out of range; the response has 1 output(s)");
}

TEST_F(CApiInferTest, VersionZeroOrNegativeMeansLatest) {
  const float values[] = {1.0f, 2.0f};
  const int64_t shape[] = {1, 2};
  const struct {
    int64_t requested;
    int64_t expected;
  } cases[] = {{0, 3}, {-1, 3}, {1, 1}, {3, 3}};
  for (const auto& c : cases) {
    SCOPED_TRACE("requested version " + std::to_string(c.requested));
    Request request = MakeRequest("identity", c.requested);
    ASSERT_EQ(
        Describe(moat_request_add_input(request.get(), "INPUT0", "FP32", shape, 2, values, sizeof values)),
        "OK");
    std::string error;
    Response response = Infer(request.get(), &error);
    ASSERT_NE(response, nullptr) << error;
    int64_t version = 0;
    ASSERT_EQ(Describe(moat_response_model(response.get(), nullptr, &version)), "OK");
    EXPECT_EQ(version, c.expected);
  }
}

TEST_F(CApiInferTest, UnknownModelOrVersionIsNotFound) {
  std::string error;
  Request unknown_model = MakeRequest("nope");
  EXPECT_EQ(Infer(unknown_model.get(), &error), nullptr);
  EXPECT_EQ(error, "NOT_FOUND: model 'nope' not found");
  Request unknown_version = MakeRequest("identity", 2);
  EXPECT_EQ(Infer(unknown_version.get(), &error), nullptr);
  EXPECT_EQ(error, "NOT_FOUND: model 'identity' version 2 not found");
}

TEST_F(CApiInferTest, BadInputArgumentsNameTheProblem) {
  const float values[16] = {};
  const int64_t negative[] = {-1, 16};
  const std::string bad_bytes = moat::testing::RawBytes<uint32_t>({10}) + "abc";
  const int64_t one[] = {1};
  struct Case {
    const char* what;
    const char* name;
    const char* datatype;
    const int64_t* shape;
    size_t rank;
    const void* data;
    size_t byte_size;
    const char* expected;
  };
  const Case cases[] = {
      {"lower-case datatype", "INPUT0", "fp32", kAddSubShape, 2, values, sizeof values,
       "INVALID_ARGUMENT: moat_request_add_input: datatype 'fp32' of input 'INPUT0' is not a KServe "
       "datatype"},
      {"unknown datatype", "INPUT0", "FLOAT", kAddSubShape, 2, values, sizeof values,
       "datatype 'FLOAT' of input 'INPUT0'"},
      {"negative dimension", "INPUT0", "FP32", negative, 2, values, sizeof values, "negative dimension -1"},
      {"NULL shape", "INPUT0", "FP32", nullptr, 2, values, sizeof values,
       "shape of input 'INPUT0' is NULL but rank is 2"},
      {"NULL data", "INPUT0", "FP32", kAddSubShape, 2, nullptr, 64,
       "data of input 'INPUT0' is NULL but byte size is 64"},
      {"short data", "INPUT0", "FP32", kAddSubShape, 2, values, sizeof values,
       "shape [2,16] of FP32 needs 128 bytes, got 64"},
      {"empty name", "", "FP32", kAddSubShape, 2, values, sizeof values, "input name is empty"},
      {"BYTES length past the end", "INPUT0", "BYTES", one, 1, bad_bytes.data(), bad_bytes.size(),
       "BYTES element 0 has length 10 but only 3 bytes remain"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    Request request = MakeRequest("add_sub");
    std::string error = Describe(
        moat_request_add_input(request.get(), c.name, c.datatype, c.shape, c.rank, c.data, c.byte_size));
    EXPECT_NE(error.find("INVALID_ARGUMENT: moat_request_add_input: "), std::string::npos) << error;
    EXPECT_NE(error.find(c.expected), std::string::npos) << error;
  }
}

TEST_F(CApiInferTest, MismatchedRequestsAreRejected) {
  const int32_t ints[32] = {};
  const float values[32] = {};
  const int64_t narrow[] = {2, 8};
  struct Case {
    const char* what;
    const char* input1_datatype;
    const int64_t* input1_shape;
    const void* input1_data;
    size_t input1_bytes;
    const char* output;
    const char* expected;
  };
  const Case cases[] = {
      {"wrong datatype", "INT32", kAddSubShape, ints, sizeof ints, nullptr, "datatype INT32"},
      {"wrong shape", "FP32", narrow, values, 16 * sizeof(float), nullptr, "does not match"},
      {"unknown output", "FP32", kAddSubShape, values, sizeof values, "OUTPUT9", "unknown output 'OUTPUT9'"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    Request request = MakeRequest("add_sub");
    ASSERT_EQ(Describe(moat_request_add_input(request.get(), "INPUT0", "FP32", kAddSubShape, 2, values,
                                              sizeof values)),
              "OK");
    ASSERT_EQ(Describe(moat_request_add_input(request.get(), "INPUT1", c.input1_datatype, c.input1_shape, 2,
                                              c.input1_data, c.input1_bytes)),
              "OK");
    if (c.output != nullptr) {
      ASSERT_EQ(Describe(moat_request_add_output(request.get(), c.output)), "OK");
    }
    std::string error;
    EXPECT_EQ(Infer(request.get(), &error), nullptr);
    EXPECT_EQ(error.rfind("INVALID_ARGUMENT: ", 0), 0u) << error;
    EXPECT_NE(error.find(c.expected), std::string::npos) << error;
  }

  Request missing_input = MakeRequest("add_sub");
  ASSERT_EQ(Describe(moat_request_add_input(missing_input.get(), "INPUT0", "FP32", kAddSubShape, 2, values,
                                            sizeof values)),
            "OK");
  std::string error;
  EXPECT_EQ(Infer(missing_input.get(), &error), nullptr);
  EXPECT_NE(error.find("missing input 'INPUT1'"), std::string::npos) << error;
}

TEST_F(CApiInferTest, ResponseOutlivesRequestAndRuntime) {
  Response response;
  {
    Request request = AddSubRequest();
    std::string error;
    response = Infer(request.get(), &error);
    ASSERT_NE(response, nullptr) << error;
  }
  std::fill(input0_.begin(), input0_.end(), -100.0f);
  runtime_.reset();
  Output sum = ReadOutput(response.get(), 0);
  ASSERT_EQ(sum.bytes.size(), 32 * sizeof(float));
  float last = 0;
  std::memcpy(&last, sum.bytes.data() + 31 * sizeof(float), sizeof(float));
  EXPECT_EQ(last, 31.5f);
}

TEST_F(CApiInferTest, ThreadsShareOneRequest) {
  Request request = AddSubRequest();
  constexpr int kThreads = 4;
  constexpr int kCallsPerThread = 5;
  std::vector<std::string> failures(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCallsPerThread; ++i) {
        moat_response* response = nullptr;
        std::string error = Describe(moat_runtime_infer(runtime_.get(), request.get(), &response));
        moat_response_free(response);
        if (error != "OK") failures[t] = error;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(failures[t], "") << "thread " << t;
}

}  // namespace
}  // namespace moat::capi_testing
