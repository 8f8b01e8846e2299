// `moat bench`: a load generator for KServe v2 servers (Moat or any other
// server speaking the protocol) over HTTP or gRPC, at fixed concurrency or a
// fixed request rate. It also runs in-process, on Moat's C API or on ONNX
// Runtime alone, which gives the baselines that a server is compared
// against. The measuring itself is in src/loadgen/.
#include <cmath>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/client_flags.h"
#include "cli/commands.h"
#include "common/file.h"
#include "loadgen/clock.h"
#include "loadgen/engine.h"
#include "loadgen/input_data.h"
#include "loadgen/local_transport.h"
#include "loadgen/remote_transport.h"
#include "loadgen/report.h"

namespace moat::cli {

namespace {

struct BenchFlags {
  loadgen::RemoteTarget target;
  loadgen::OnnxFileTarget onnx;  // --protocol onnxruntime
  loadgen::CapiTarget capi;      // --protocol capi
  std::string audit_durability = "sync";
  int intra_op_threads = 0;
  std::string concurrency = "1";
  std::optional<double> rate;
  int rate_workers = 16;
  double warmup_seconds = 2;
  double seconds = 10;
  std::string input_json_path;
  std::vector<std::string> input_raw;
  std::vector<std::string> shapes;
  int timeout_seconds = 60;
  std::string json_report_path;
  double max_error_ratio = 0.01;
};

constexpr size_t kMaxRequestFileBytes = size_t{1} << 30;

StatusOr<std::vector<Tensor>> PrepareInputs(const BenchFlags& flags, const ModelMetadata& metadata) {
  if (!flags.input_json_path.empty()) {
    MOAT_ASSIGN_OR_RETURN(std::string json, ReadFile(flags.input_json_path, kMaxRequestFileBytes));
    return loadgen::ParseJsonRequestInputs(json, "request file '" + flags.input_json_path + "'");
  }
  loadgen::ShapeOverrides shapes;
  for (const std::string& shape : flags.shapes)
    MOAT_RETURN_IF_ERROR(loadgen::ParseShapeOverride(shape, shapes));
  if (!flags.input_raw.empty()) {
    std::map<std::string, std::string> files;
    for (const std::string& entry : flags.input_raw) {
      size_t equals = entry.find('=');
      if (equals == 0 || equals == std::string::npos || equals + 1 == entry.size()) {
        return InvalidArgumentError("invalid --input-raw '" + entry + "': expected NAME=FILE");
      }
      if (!files.emplace(entry.substr(0, equals), entry.substr(equals + 1)).second) {
        return InvalidArgumentError("invalid --input-raw '" + entry + "': that input was given twice");
      }
    }
    return loadgen::ReadRawInputs(metadata, files, shapes);
  }
  return loadgen::GenerateInputs(metadata, shapes, /*seed=*/1);
}

StatusOr<std::vector<loadgen::StepResult>> RunSteps(const BenchFlags& flags,
                                                    loadgen::TransportFactory& factory) {
  loadgen::SteadyClock clock;
  loadgen::StepOptions options;
  options.warmup_ns = std::llround(flags.warmup_seconds * 1e9);
  options.window_ns = std::llround(flags.seconds * 1e9);
  std::vector<loadgen::StepResult> steps;
  if (flags.rate) {
    MOAT_ASSIGN_OR_RETURN(loadgen::StepResult step,
                          loadgen::RunRateStep(factory, clock, *flags.rate, flags.rate_workers, options));
    steps.push_back(std::move(step));
    return steps;
  }
  MOAT_ASSIGN_OR_RETURN(std::vector<int> levels, loadgen::ParseConcurrencyList(flags.concurrency));
  for (int concurrency : levels) {
    MOAT_ASSIGN_OR_RETURN(loadgen::StepResult step,
                          loadgen::RunConcurrencyStep(factory, clock, concurrency, options));
    steps.push_back(std::move(step));
  }
  return steps;
}

bool IsRemote(const BenchFlags& flags) {
  return flags.target.protocol == "http" || flags.target.protocol == "grpc";
}

// Returns INVALID_ARGUMENT naming the first option the protocol needs but
// was not given.
Status CheckProtocolOptions(const BenchFlags& flags) {
  auto missing = [&](const char* option) {
    return InvalidArgumentError("--protocol " + flags.target.protocol + " needs " + option);
  };
  if (IsRemote(flags)) {
    if (flags.target.address.empty()) return missing("--url");
    if (flags.target.model.empty()) return missing("--model");
    return OkStatus();
  }
  if (flags.target.shared_memory || flags.target.http_json) {
    return InvalidArgumentError("--shared-memory and --http-json need --protocol http or grpc, not " +
                                flags.target.protocol);
  }
  if (flags.target.protocol == "onnxruntime") {
    if (flags.onnx.model_file.empty()) return missing("--model-file");
  } else {
    if (flags.capi.repository_dir.empty()) return missing("--repository");
    if (flags.capi.trust_dir.empty()) return missing("--trust");
    if (flags.capi.audit_dir.empty()) return missing("--audit-dir");
    if (flags.target.model.empty()) return missing("--model");
  }
  return OkStatus();
}

StatusOr<ModelMetadata> FetchMetadata(const BenchFlags& flags) {
  if (IsRemote(flags)) return loadgen::FetchModelMetadata(flags.target);
  if (flags.target.protocol == "onnxruntime") return loadgen::InspectOnnxFile(flags.onnx);
  return loadgen::ReadBundleMetadata(flags.capi);
}

StatusOr<std::unique_ptr<loadgen::TransportFactory>> MakeFactory(const BenchFlags& flags,
                                                                 std::vector<Tensor> inputs) {
  if (IsRemote(flags)) return loadgen::MakeRemoteTransportFactory(flags.target, std::move(inputs));
  if (flags.target.protocol == "onnxruntime") {
    return loadgen::MakeOnnxRuntimeTransportFactory(flags.onnx, std::move(inputs));
  }
  return loadgen::MakeCapiTransportFactory(flags.capi, std::move(inputs));
}

// Runs the benchmark; returns the exit code after printing any failure.
int RunBench(BenchFlags& flags) {
  flags.target.timeout = std::chrono::seconds(flags.timeout_seconds);
  flags.onnx.intra_op_threads = flags.intra_op_threads;
  flags.capi.intra_op_threads = flags.intra_op_threads;
  flags.capi.audit_sync = flags.audit_durability == "sync";
  flags.capi.model = flags.target.model;
  flags.capi.version = flags.target.version.value_or(0);
  if (Status usable = CheckProtocolOptions(flags); !usable.ok()) {
    std::cerr << "moat bench: " << usable.ToString() << std::endl;
    return 1;
  }
  StatusOr<ModelMetadata> metadata = FetchMetadata(flags);
  if (!metadata.ok()) {
    std::cerr << "moat bench: " << metadata.status().ToString() << std::endl;
    return 1;
  }
  StatusOr<std::vector<Tensor>> inputs = PrepareInputs(flags, *metadata);
  if (!inputs.ok()) {
    std::cerr << "moat bench: " << inputs.status().ToString() << std::endl;
    return 1;
  }
  StatusOr<std::unique_ptr<loadgen::TransportFactory>> factory = MakeFactory(flags, std::move(*inputs));
  if (!factory.ok()) {
    std::cerr << "moat bench: " << factory.status().ToString() << std::endl;
    return 1;
  }
  StatusOr<std::vector<loadgen::StepResult>> steps = RunSteps(flags, **factory);
  if (!steps.ok()) {
    std::cerr << "moat bench: " << steps.status().ToString() << std::endl;
    return 1;
  }

  std::cout << loadgen::FormatTable(*steps) << std::flush;
  if (!flags.json_report_path.empty()) {
    loadgen::RunInfo info = loadgen::CollectRunInfo();
    info.protocol = flags.target.protocol;
    info.address = IsRemote(flags) ? flags.target.address : "in-process";
    info.model = metadata->name;
    info.warmup_seconds = flags.warmup_seconds;
    info.window_seconds = flags.seconds;
    Status written = WriteFileAtomic(flags.json_report_path, loadgen::FormatJsonReport(info, *steps));
    if (!written.ok()) {
      std::cerr << "moat bench: cannot write the JSON report: " << written.ToString() << std::endl;
      return 1;
    }
  }

  double ratio = loadgen::ErrorRatio(*steps);
  if (ratio > flags.max_error_ratio) {
    std::cerr << "moat bench: error ratio " << ratio << " is above --max-error-ratio "
              << flags.max_error_ratio << std::endl;
    return 1;
  }
  uint64_t completed = 0;
  for (const loadgen::StepResult& step : *steps) completed += step.completed;
  if (completed == 0) {
    std::cerr << "moat bench: no request completed inside the measurement window" << std::endl;
    return 1;
  }
  return 0;
}

}  // namespace

void AddBenchCommand(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<BenchFlags>();
  CLI::App* command = app.add_subcommand(
      "bench",
      "Measure throughput and latency of a model on a KServe v2 server over HTTP or gRPC, or in this "
      "process through Moat's C API or ONNX Runtime alone");
  command->add_option("--url", flags->target.address,
                      "Server address: http://HOST:PORT or https://HOST:PORT for HTTP, HOST:PORT, "
                      "grpc://HOST:PORT or grpcs://HOST:PORT for gRPC (HOST is an IP address or localhost); "
                      "https:// and grpcs:// use TLS and need --ca-cert");
  AddClientCredentialOptions(*command, flags->target.tls, flags->target.bearer_token);
  command
      ->add_option("--protocol", flags->target.protocol,
                   "http or grpc to a server; capi runs Moat's C API in this process on --repository; "
                   "onnxruntime runs --model-file on ONNX Runtime in this process")
      ->capture_default_str()
      ->check(CLI::IsMember({"http", "grpc", "capi", "onnxruntime"}));
  command->add_option("--model", flags->target.model, "Model name (--protocol onnxruntime ignores it and names the model after --model-file)");
  command->add_option("--model-file", flags->onnx.model_file, "ONNX file for --protocol onnxruntime")
      ->check(CLI::ExistingFile);
  command->add_option("--repository", flags->capi.repository_dir, "Model repository for --protocol capi")
      ->check(CLI::ExistingDirectory);
  command->add_option("--trust", flags->capi.trust_dir, "Trusted publisher keys for --protocol capi")
      ->check(CLI::ExistingDirectory);
  command->add_option("--audit-dir", flags->capi.audit_dir,
                      "Audit log folder for --protocol capi (its keys are created beside it if missing)");
  command
      ->add_option("--audit-durability", flags->audit_durability,
                   "With --protocol capi: sync returns each result after its audit record is on disk; batched "
                   "syncs records in groups")
      ->capture_default_str()
      ->check(CLI::IsMember({"sync", "batched"}));
  command->add_option("--capi-library", flags->capi.library,
                      "libmoat.so.1 for --protocol capi (default: the one beside this executable)");
  command
      ->add_option("--intra-op-threads", flags->intra_op_threads,
                   "In-process protocols: ONNX Runtime threads; 0 means one per usable core, as moat serve")
      ->capture_default_str()
      ->check(CLI::Range(0, 1024));
  command
      ->add_option_function<int64_t>(
          "--version", [flags](const int64_t& version) { flags->target.version = version; },
          "Model version (default: the latest ready version)")
      ->check(CLI::Range(int64_t{1}, std::numeric_limits<int64_t>::max()));
  CLI::Option* concurrency =
      command
          ->add_option("--concurrency", flags->concurrency,
                       "Worker threads sending back to back, or a sweep run as one step per value: "
                       "1,2,4,8 or START:END:xFACTOR (1:16:x2) or START:END:STEP (2:8:2)")
          ->capture_default_str();
  CLI::Option* rate = command
                          ->add_option_function<double>(
                              "--rate", [flags](const double& value) { flags->rate = value; },
                              "Send this many requests per second on a fixed schedule instead (open loop)")
                          ->check(CLI::PositiveNumber);
  rate->excludes(concurrency);
  command
      ->add_option("--rate-workers", flags->rate_workers,
                   "Worker threads, so requests in flight at most, with --rate")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  command
      ->add_option("--warmup-seconds", flags->warmup_seconds,
                   "Seconds of load before each measurement window")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 3600.0));
  command->add_option("--seconds", flags->seconds, "Seconds of each measurement window")
      ->capture_default_str()
      ->check(CLI::Range(0.001, 86400.0));
  CLI::Option* json =
      command
          ->add_option("--input-json", flags->input_json_path,
                       "KServe v2 JSON request file whose \"inputs\" are sent (default: random inputs made "
                       "from the model's metadata)")
          ->check(CLI::ExistingFile);
  CLI::Option* raw =
      command->add_option("--input-raw", flags->input_raw,
                          "NAME=FILE: the raw bytes of input NAME, little-endian in row-major "
                          "order (BYTES: each element with a 4-byte length); repeat per input");
  raw->excludes(json);
  command
      ->add_option(
          "--shape", flags->shapes,
          "NAME=DIM,DIM,...: the shape of input NAME, needed for each variable dimension; repeat per "
          "input")
      ->excludes(json);
  command->add_flag("--http-json", flags->target.http_json,
                    "Send and receive tensors as JSON \"data\" instead of binary (HTTP only)");
  command->add_flag(
      "--shared-memory", flags->target.shared_memory,
      "Pass tensors through a POSIX shared memory region per worker, registered with the server "
      "(the server must run on this host with shared memory allowed)");
  command->add_option("--timeout", flags->timeout_seconds, "Maximum seconds for each request")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600));
  command->add_option(
      "--json-report", flags->json_report_path,
      "Also write every figure, the command line, the date and the machine to this JSON file");
  command
      ->add_option("--max-error-ratio", flags->max_error_ratio,
                   "Exit with status 1 when failed requests exceed this fraction of all requests")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));

  command->callback([flags, &exit_code] { exit_code = RunBench(*flags); });
}

}  // namespace moat::cli
