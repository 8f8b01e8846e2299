// Latency of one small request (identity_fp32, an FP32 tensor of shape [1,16],
// 64 bytes in and out) through every transport Moat serves, against servers
// that this program starts on 127.0.0.1 over one ModelService. The audit log
// lives in a temporary folder with audit sync off, so that the figures show
// the transports and not the disk.
//
// Every iteration's latency is recorded; each benchmark reports the median
// and the 99th percentile as the counters median_us and p99_us.
//
//   build/bench/protocol_latency
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <vector>

#include "audit/audit_keys.h"
#include "bundle/keys.h"
#include "bundle/pack.h"
#include "client/grpc_client.h"
#include "client/kserve_client.h"
#include "client/shared_memory_object.h"
#include "common/file.h"
#include "grpc/grpc_server.h"
#include "repository/model_service.h"
#include "runtime/onnx_runtime.h"
#include "server/http_server.h"
#include "shm/shared_memory.h"

#include "moat/moat.h"

namespace moat {
namespace {

constexpr char kModel[] = "identity_fp32";
constexpr size_t kElements = 16;
constexpr size_t kTensorBytes = kElements * sizeof(float);
// The output's place in the shared memory object, after the input.
constexpr size_t kOutputOffset = 64;

// Exits: a benchmark cannot run without its servers.
template <typename T>
T Require(StatusOr<T> value, const char* what) {
  if (!value.ok()) {
    std::fprintf(stderr, "protocol_latency: %s: %s\n", what, value.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(value).value();
}

void Require(const Status& status, const char* what) {
  if (!status.ok()) {
    std::fprintf(stderr, "protocol_latency: %s: %s\n", what, status.ToString().c_str());
    std::exit(1);
  }
}

// A signed repository holding identity_fp32 version 1, in a temporary folder.
std::string MakeRepository() {
  std::string root = (std::filesystem::temp_directory_path() / "moat-bench-XXXXXX").string();
  if (::mkdtemp(root.data()) == nullptr) std::exit(1);
  std::filesystem::create_directories(root + "/trust");
  std::filesystem::create_directories(root + std::string("/repo/") + kModel);
  const std::string onnx = std::string(MOAT_SOURCE_DIR) + "/tests/models/identity_fp32.onnx";
  Require(bundle::GenerateKeyFiles(root + "/publisher.key", root + "/trust/publisher.pem"), "keygen");
  auto signature = Require(runtime::InspectOnnxModel(Require(ReadFile(onnx), "model")), "inspect");
  const std::string bundle_dir = root + "/repo/" + kModel + "/1";
  bundle::PackRequest request{onnx, {}, kModel, 1, signature.inputs, signature.outputs};
  Require(bundle::PackBundle(request, bundle_dir), "pack");
  auto key = Require(bundle::PrivateKey::LoadFile(root + "/publisher.key"), "key");
  Require(bundle::SignBundle(bundle_dir, key), "sign");
  return root;
}

std::string InputBytes() {
  std::vector<float> values(kElements);
  for (size_t i = 0; i < kElements; ++i) values[i] = static_cast<float>(i) * 0.25f;
  std::string bytes(kTensorBytes, '\0');
  std::memcpy(bytes.data(), values.data(), kTensorBytes);
  return bytes;
}

// The servers, clients and shared memory that every benchmark uses, made once.
struct Setup {
  std::string root = MakeRepository();
  std::unique_ptr<repository::ModelService> service =
      Require(repository::ModelService::Create([this] {
                repository::ModelServiceOptions options;
                options.repository_dir = root + "/repo";
                options.trust_dir = root + "/trust";
                options.audit = Require(audit::AuditLogOptionsWithDefaultKeys(root + "/audit",
                                                                              audit::AuditDurability::kBatched),
                                        "audit keys");
                return options;
              }()),
              "model service");
  shm::SharedMemoryManager shared_memory{true};
  server::HttpServer http{*service, shared_memory, [] {
                            server::HttpServerOptions options;
                            options.port = 0;
                            return options;
                          }()};
  grpc_server::GrpcServer grpc{*service, shared_memory, [] {
                                 grpc_server::GrpcServerOptions options;
                                 options.port = 0;
                                 return options;
                               }()};
  std::unique_ptr<client::KServeClient> http_client;
  std::unique_ptr<client::GrpcClient> grpc_client;
  client::SharedMemoryObject object = Require(
      client::SharedMemoryObject::CreateUnique("moat-bench", kOutputOffset + kTensorBytes), "shm object");
  InferenceRequest request;

  Setup() {
    Require(http.Start(), "HTTP server");
    Require(grpc.Start(), "gRPC server");
    http_client = std::make_unique<client::KServeClient>(Require(
        client::KServeClient::Create("http://127.0.0.1:" + std::to_string(http.port())), "HTTP client"));
    grpc_client = std::make_unique<client::GrpcClient>(
        Require(client::GrpcClient::Create("127.0.0.1:" + std::to_string(grpc.port())), "gRPC client"));
    Require(http_client->RegisterSystemSharedMemory("bench-http", object.key(), 0, object.byte_size()),
            "HTTP shm register");
    Require(grpc_client->RegisterSystemSharedMemory("bench-grpc", object.key(), 0, object.byte_size()),
            "gRPC shm register");
    request.model_name = kModel;
    request.inputs.push_back(MakeOwnedTensor("INPUT0", DataType::kFp32, {1, kElements}, InputBytes()));
    request.requested_outputs = {"OUTPUT0"};
  }

  ~Setup() {
    grpc.Stop();
    http.Stop();
    service.reset();
    std::filesystem::remove_all(root);
  }
};

Setup* setup = nullptr;

// Runs `call` once per iteration, timing each, and reports the median and
// the 99th percentile in microseconds. `call` returns false after reporting
// an error with SkipWithError.
template <typename Call>
void MeasureEachIteration(benchmark::State& state, Call call) {
  std::vector<double> micros;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    if (!call(state)) break;
    const auto end = std::chrono::steady_clock::now();
    micros.push_back(std::chrono::duration<double, std::micro>(end - start).count());
  }
  if (micros.empty()) return;
  std::sort(micros.begin(), micros.end());
  const size_t n = micros.size();
  const double median = n % 2 == 1 ? micros[n / 2] : (micros[n / 2 - 1] + micros[n / 2]) / 2;
  // The nearest-rank percentile: the smallest value with 99% of samples at or below it.
  const size_t p99_rank = (n * 99 + 99) / 100;
  state.counters["median_us"] = median;
  state.counters["p99_us"] = micros[p99_rank - 1];
}

template <typename Response>
bool Check(benchmark::State& state, const StatusOr<Response>& response) {
  if (response.ok()) return true;
  state.SkipWithError(response.status().ToString().c_str());
  return false;
}

// The floor: ModelService::Infer in this process, no transport.
void BM_InProcess(benchmark::State& state) {
  const RequestContext context{"bench", "in-process", "bench"};
  MeasureEachIteration(state, [&](benchmark::State& s) {
    auto response = setup->service->Infer(setup->request, context);
    benchmark::DoNotOptimize(response);
    return Check(s, response);
  });
}

void BM_HttpBinary(benchmark::State& state) {
  MeasureEachIteration(state, [&](benchmark::State& s) {
    auto response = setup->http_client->Infer(setup->request);
    benchmark::DoNotOptimize(response);
    return Check(s, response);
  });
}

void BM_HttpJson(benchmark::State& state) {
  client::InferOptions options;
  options.binary_inputs = false;
  options.binary_outputs = false;
  MeasureEachIteration(state, [&](benchmark::State& s) {
    auto response = setup->http_client->Infer(setup->request, options);
    benchmark::DoNotOptimize(response);
    return Check(s, response);
  });
}

void BM_GrpcRaw(benchmark::State& state) {
  MeasureEachIteration(state, [&](benchmark::State& s) {
    auto response = setup->grpc_client->Infer(setup->request);
    benchmark::DoNotOptimize(response);
    return Check(s, response);
  });
}

// Each iteration copies the input into the region, runs the request and
// copies the output out, as a client of shared memory does.
template <typename Client>
void MeasureSharedMemory(benchmark::State& state, const Client& client, const std::string& region) {
  client::InferOptions options;
  options.shared_memory_inputs["INPUT0"] = {region, 0, kTensorBytes};
  options.shared_memory_outputs["OUTPUT0"] = {region, kOutputOffset, kTensorBytes};
  InferenceRequest request = setup->request;
  const Tensor input = request.inputs[0];
  request.inputs[0].data = {};
  float output[kElements];
  MeasureEachIteration(state, [&](benchmark::State& s) {
    std::memcpy(setup->object.bytes().data(), input.data.data(), kTensorBytes);
    auto response = client.Infer(request, options);
    if (!Check(s, response)) return false;
    std::memcpy(output, setup->object.bytes().data() + kOutputOffset, kTensorBytes);
    benchmark::DoNotOptimize(output);
    return true;
  });
}

void BM_HttpSharedMemory(benchmark::State& state) {
  MeasureSharedMemory(state, *setup->http_client, "bench-http");
}

void BM_GrpcSharedMemory(benchmark::State& state) {
  MeasureSharedMemory(state, *setup->grpc_client, "bench-grpc");
}

// The C API (libmoat) opens its own runtime on the same repository with its
// own audit folder, because a folder takes one writer.
void BM_CApi(benchmark::State& state) {
  moat_options* options = nullptr;
  moat_runtime* runtime = nullptr;
  moat_request* request = nullptr;
  const std::string audit_log = setup->root + "/capi-audit";
  const std::string repository = setup->root + "/repo";
  const std::string trust = setup->root + "/trust";
  moat_error* error = moat_options_create(&options);
  if (error == nullptr) error = moat_options_set_repository(options, repository.c_str());
  if (error == nullptr) error = moat_options_set_trust_dir(options, trust.c_str());
  if (error == nullptr) error = moat_options_set_audit_dir(options, audit_log.c_str());
  if (error == nullptr) error = moat_options_set_audit_sync(options, 0);
  if (error == nullptr) error = moat_runtime_open(MOAT_ABI_VERSION, options, &runtime);
  moat_options_free(options);
  const int64_t shape[] = {1, kElements};
  const Tensor& input = setup->request.inputs[0];
  if (error == nullptr) error = moat_request_create(kModel, 0, &request);
  if (error == nullptr) {
    error = moat_request_add_input(request, "INPUT0", "FP32", shape, 2, input.data.data(), input.data.size());
  }
  if (error == nullptr) error = moat_request_add_output(request, "OUTPUT0");
  if (error != nullptr) {
    state.SkipWithError(moat_error_message(error));
    moat_error_free(error);
    moat_request_free(request);
    moat_runtime_close(runtime);
    return;
  }

  float output[kElements];
  MeasureEachIteration(state, [&](benchmark::State& s) {
    moat_response* response = nullptr;
    moat_error* failure = moat_runtime_infer(runtime, request, &response);
    const void* data = nullptr;
    size_t byte_size = 0;
    if (failure == nullptr)
      failure = moat_response_output(response, 0, nullptr, nullptr, nullptr, nullptr, &data, &byte_size);
    if (failure != nullptr) {
      s.SkipWithError(moat_error_message(failure));
      moat_error_free(failure);
      moat_response_free(response);
      return false;
    }
    std::memcpy(output, data, std::min(byte_size, sizeof(output)));
    benchmark::DoNotOptimize(output);
    moat_response_free(response);
    return true;
  });
  moat_request_free(request);
  moat_runtime_close(runtime);
}

// Real time: the transports spend their time in server threads, not in the
// benchmark thread.
BENCHMARK(BM_InProcess)->Unit(benchmark::kMicrosecond)->MinTime(1.0)->UseRealTime();
BENCHMARK(BM_HttpBinary)->Unit(benchmark::kMicrosecond)->MinTime(1.0)->UseRealTime();
BENCHMARK(BM_HttpJson)->Unit(benchmark::kMicrosecond)->MinTime(1.0)->UseRealTime();
BENCHMARK(BM_GrpcRaw)->Unit(benchmark::kMicrosecond)->MinTime(1.0)->UseRealTime();
BENCHMARK(BM_HttpSharedMemory)->Unit(benchmark::kMicrosecond)->MinTime(1.0)->UseRealTime();
BENCHMARK(BM_GrpcSharedMemory)->Unit(benchmark::kMicrosecond)->MinTime(1.0)->UseRealTime();
BENCHMARK(BM_CApi)->Unit(benchmark::kMicrosecond)->MinTime(1.0)->UseRealTime();

}  // namespace
}  // namespace moat

int main(int argc, char** argv) {
  ::setenv("ORT_DISABLE_TELEMETRY", "1", 1);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  if (!moat::runtime::InitOnnxRuntime({}).ok()) return 1;
  moat::setup = new moat::Setup();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  delete moat::setup;
  return 0;
}
