// `moat infer`: sends a page image to a text detection model served by Moat
// over HTTP or gRPC, optionally through POSIX shared memory, and prints the
// text boxes. It can also send a KServe JSON request file as it is over HTTP.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "cli/client_flags.h"
#include "cli/commands.h"
#include "client/detection_postprocess.h"
#include "client/detection_preprocess.h"
#include "client/grpc_client.h"
#include "client/kserve_client.h"
#include "client/png_decode.h"
#include "client/shared_memory_object.h"
#include "common/file.h"
#include "tls/tls_context.h"

namespace moat::cli {

namespace {

struct InferFlags {
  std::string url;
  std::string model;
  std::optional<int64_t> version;
  std::string image_path;
  std::string input_json_path;
  client::DetectionPreprocessOptions preprocess;
  client::DetectionPostprocessOptions postprocess;
  int timeout_seconds = 60;
  int wait_ready_seconds = 0;
  std::string protocol = "http";  // "http" or "grpc"
  bool shared_memory = false;
  tls::TlsClientOptions tls;  // for https:// and grpcs:// URLs
  std::string token;          // sent as a bearer token; never printed
};

constexpr size_t kMaxRequestFileBytes = size_t{1} << 30;
// The output starts at this alignment after the input in the shared memory
// object, so that the server writes it to an aligned address.
constexpr size_t kOutputAlignment = 64;

// Checks that the model looks like a text detector: one FP32 input of shape
// [N,3,H,W] and at least one output, the first being the probability map.
Status CheckDetectionModel(const ModelMetadata& metadata) {
  if (metadata.inputs.size() != 1 || metadata.outputs.empty()) {
    return InvalidArgumentError(
        "model '" + metadata.name + "' has " + std::to_string(metadata.inputs.size()) + " inputs and " +
        std::to_string(metadata.outputs.size()) +
        " outputs; a text detection model has one input and a probability map output");
  }
  const TensorSpec& input = metadata.inputs.front();
  if (input.datatype != DataType::kFp32 || input.shape.size() != 4 ||
      (input.shape[1] != 3 && input.shape[1] != -1)) {
    return InvalidArgumentError("model '" + metadata.name + "' input '" + input.name + "' is " +
                                std::string(DataTypeName(input.datatype)) + " " + ShapeToString(input.shape) +
                                "; a text detection model takes FP32 [N,3,H,W]");
  }
  return OkStatus();
}

Status PrintTextBoxes(const Tensor& map, const client::DetectionInput& input, const InferFlags& flags) {
  MOAT_ASSIGN_OR_RETURN(std::vector<client::TextBox> boxes,
                        client::ExtractTextBoxes(map, input.image_size, flags.postprocess));
  for (size_t i = 0; i < boxes.size(); ++i) {
    const client::TextBox& box = boxes[i];
    char score[16];
    std::snprintf(score, sizeof(score), "%.2f", box.score);
    std::cout << "box " << i + 1 << ": x=" << box.x << " y=" << box.y << " w=" << box.width
              << " h=" << box.height << " score=" << score << "\n";
  }
  std::cout << "text regions: " << boxes.size() << std::endl;
  return OkStatus();
}

// Prints the response's audit receipt, which `moat audit prove` and
// `moat audit verify-receipt` take, and its signature when the server signs.
void PrintAuditReceipt(const client::InferResult& response) {
  if (!response.audit_receipt.empty()) std::cout << "audit receipt: " << response.audit_receipt << std::endl;
  if (!response.response_signature.empty()) {
    std::cout << "response signature: " << response.response_signature << std::endl;
  }
}

// Sends the tensors in the request and response messages.
template <typename Client>
Status DetectOverSocket(const InferFlags& flags, const Client& client, const InferenceRequest& request,
                        const client::DetectionInput& input) {
  MOAT_ASSIGN_OR_RETURN(client::InferResult response, client.Infer(request));
  const std::string& output_name = request.requested_outputs.front();
  for (const Tensor& output : response.outputs) {
    if (output.name != output_name) continue;
    MOAT_RETURN_IF_ERROR(PrintTextBoxes(output, input, flags));
    PrintAuditReceipt(response);
    return OkStatus();
  }
  return InvalidArgumentError("the response has no output '" + output_name + "'");
}

// Returns the byte size of the probability map `spec` for `input`: each
// dimension of variable size takes the input's dimension at the same index,
// as the map has the input's batch size, height and width.
StatusOr<size_t> ProbabilityMapBytes(const TensorSpec& spec, const Tensor& input) {
  std::vector<int64_t> shape = spec.shape;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1 && i < input.shape.size()) shape[i] = input.shape[i];
  }
  const std::string label = "output '" + spec.name + "' of shape " + ShapeToString(spec.shape);
  MOAT_ASSIGN_OR_RETURN(int64_t count, ElementCount(shape, label));
  if (spec.datatype != DataType::kFp32) {
    return InvalidArgumentError(label + " is " + std::string(DataTypeName(spec.datatype)) +
                                "; a text detection model's probability map is FP32");
  }
  return static_cast<size_t>(count) * DataTypeSize(spec.datatype);
}

// Runs the request with the input and the output in `object`, registered as
// `region`, and prints the boxes read from there.
template <typename Client>
Status DetectInRegion(const InferFlags& flags, const Client& client, InferenceRequest request,
                      const client::DetectionInput& input, client::SharedMemoryObject& object,
                      const std::string& region, size_t output_offset) {
  const Tensor& tensor = request.inputs.front();
  std::memcpy(object.bytes().data(), tensor.data.data(), tensor.data.size());
  client::InferOptions options;
  options.shared_memory_inputs[tensor.name] = {region, 0, tensor.data.size()};
  const std::string& output_name = request.requested_outputs.front();
  options.shared_memory_outputs[output_name] = {region, output_offset, object.byte_size() - output_offset};

  MOAT_ASSIGN_OR_RETURN(client::InferResult response, client.Infer(request, options));
  for (const client::SharedMemoryOutput& output : response.shared_memory_outputs) {
    if (output.name != output_name) continue;
    MOAT_ASSIGN_OR_RETURN(Tensor map, client::TensorFromSharedMemory(output, object.bytes()));
    MOAT_RETURN_IF_ERROR(PrintTextBoxes(map, input, flags));
    PrintAuditReceipt(response);
    return OkStatus();
  }
  return InvalidArgumentError("the response has no output '" + output_name + "' in shared memory");
}

// Puts the input and the probability map in a new POSIX shared memory object,
// registers it with the server for this request only, and unregisters it
// afterwards whether or not the request succeeded. The object is unlinked
// when this returns.
template <typename Client>
Status DetectThroughSharedMemory(const InferFlags& flags, const Client& client, InferenceRequest request,
                                 const client::DetectionInput& input, const TensorSpec& map_spec) {
  const size_t input_bytes = input.tensor.data.size();
  MOAT_ASSIGN_OR_RETURN(size_t map_bytes, ProbabilityMapBytes(map_spec, input.tensor));
  const size_t output_offset = (input_bytes + kOutputAlignment - 1) / kOutputAlignment * kOutputAlignment;
  MOAT_ASSIGN_OR_RETURN(client::SharedMemoryObject object,
                        client::SharedMemoryObject::CreateUnique("moat-infer", output_offset + map_bytes));
  const std::string region = object.key().substr(1);
  MOAT_RETURN_IF_ERROR(client.RegisterSystemSharedMemory(region, object.key(), 0, object.byte_size()));

  const Status result =
      DetectInRegion(flags, client, std::move(request), input, object, region, output_offset);
  const Status unregistered = client.UnregisterSystemSharedMemory(region);
  if (!result.ok()) return result;
  return unregistered;
}

template <typename Client>
Status DetectText(const InferFlags& flags, const Client& client) {
  MOAT_ASSIGN_OR_RETURN(client::RgbImage image, client::ReadPngFile(flags.image_path));
  MOAT_ASSIGN_OR_RETURN(ModelMetadata metadata, client.GetModelMetadata(flags.model, flags.version));
  MOAT_RETURN_IF_ERROR(CheckDetectionModel(metadata));

  client::DetectionPreprocessOptions preprocess = flags.preprocess;
  preprocess.input_name = metadata.inputs.front().name;
  MOAT_ASSIGN_OR_RETURN(client::DetectionInput input, client::PreprocessForDetection(image, preprocess));
  std::cout << "image " << flags.image_path << ": " << image.width << "x" << image.height << ", model input "
            << ShapeToString(input.tensor.shape) << "\n";

  InferenceRequest request;
  request.model_name = flags.model;
  request.model_version = flags.version;
  request.inputs.push_back(input.tensor);
  request.requested_outputs.push_back(metadata.outputs.front().name);
  if (flags.shared_memory) {
    return DetectThroughSharedMemory(flags, client, std::move(request), input, metadata.outputs.front());
  }
  return DetectOverSocket(flags, client, request, input);
}

Status SendJsonFile(const InferFlags& flags, const client::KServeClient& client) {
  MOAT_ASSIGN_OR_RETURN(std::string json, ReadFile(flags.input_json_path, kMaxRequestFileBytes));
  MOAT_ASSIGN_OR_RETURN(std::string body, client.InferJson(flags.model, flags.version, std::move(json)));
  std::cout << body << std::endl;
  return OkStatus();
}

constexpr std::chrono::milliseconds kReadyPollInterval{100};

void PauseBeforeRetry(const client::KServeClient&, std::chrono::milliseconds pause) {
  std::this_thread::sleep_for(pause);
}

// In a process without a gRPC server, a channel retries a failed connection
// only while a thread waits on it, or else when gRPC's backup poller runs
// (seen every 5 s with grpc++ 1.51). So the pause waits for the connection
// instead of sleeping.
void PauseBeforeRetry(const client::GrpcClient& client, std::chrono::milliseconds pause) {
  const auto end = std::chrono::steady_clock::now() + pause;
  if (client.WaitForConnection(pause).ok()) std::this_thread::sleep_until(end);
}

// Polls the server's readiness every 100 ms until the server reports ready,
// for a server that was just started. DEADLINE_EXCEEDED with the last error
// when `seconds` pass first.
template <typename Client>
Status WaitUntilReady(const Client& client, int seconds) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  Status last = UnavailableError("the server did not report ready");
  while (true) {
    StatusOr<bool> ready = client.IsServerReady();
    if (ready.ok() && *ready) return OkStatus();
    if (!ready.ok()) last = ready.status();
    if (std::chrono::steady_clock::now() >= deadline) {
      return {StatusCode::kDeadlineExceeded,
              "server not ready after " + std::to_string(seconds) + " s: " + last.message()};
    }
    PauseBeforeRetry(client, kReadyPollInterval);
  }
}

Status RunInfer(const InferFlags& flags) {
  if (flags.protocol == "grpc") {
    client::GrpcOptions grpc;
    grpc.timeout = std::chrono::seconds(flags.timeout_seconds);
    grpc.tls = flags.tls;
    grpc.bearer_token = flags.token;
    MOAT_ASSIGN_OR_RETURN(client::GrpcClient client, client::GrpcClient::Create(flags.url, grpc));
    if (flags.wait_ready_seconds > 0) MOAT_RETURN_IF_ERROR(WaitUntilReady(client, flags.wait_ready_seconds));
    return DetectText(flags, client);
  }
  client::HttpOptions http;
  http.timeout = std::chrono::seconds(flags.timeout_seconds);
  http.tls = flags.tls;
  http.bearer_token = flags.token;
  MOAT_ASSIGN_OR_RETURN(client::KServeClient client, client::KServeClient::Create(flags.url, http));
  if (flags.wait_ready_seconds > 0) MOAT_RETURN_IF_ERROR(WaitUntilReady(client, flags.wait_ready_seconds));
  if (!flags.input_json_path.empty()) return SendJsonFile(flags, client);
  return DetectText(flags, client);
}

// Returns the usage error of a flag combination, or an empty string.
std::string FlagConflict(const InferFlags& flags, bool has_image, bool has_json) {
  if (!has_image && !has_json) return "one of --image or --input-json is required";
  if (has_json && flags.protocol == "grpc") {
    return "--input-json sends KServe JSON over HTTP only; it cannot be combined with --protocol grpc";
  }
  if (has_json && flags.shared_memory) {
    return "--input-json sends KServe JSON over HTTP only; it cannot be combined with --shared-memory";
  }
  return "";
}

}  // namespace

void AddInferCommand(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<InferFlags>();
  CLI::App* command = app.add_subcommand(
      "infer",
      "Send an image to a text detection model on a Moat server over HTTP or gRPC and print "
      "the text boxes, or send a KServe v2 JSON request file over HTTP");
  command
      ->add_option("--url", flags->url,
                   "Server address: http://HOST:PORT or https://HOST:PORT for HTTP, HOST:PORT, "
                   "grpc://HOST:PORT or grpcs://HOST:PORT for gRPC (HOST is an IP address or localhost). "
                   "https:// and grpcs:// use TLS and need --ca-cert")
      ->required();
  AddClientCredentialOptions(*command, flags->tls, flags->token);
  command->add_option("--protocol", flags->protocol, "Protocol to the server: http or grpc")
      ->capture_default_str()
      ->check(CLI::IsMember({"http", "grpc"}));
  command->add_flag("--shared-memory", flags->shared_memory,
                    "Pass the input tensor and the probability map through a POSIX shared memory object that "
                    "is registered with the server for this request (the server must run on this host with "
                    "shared memory allowed)");
  command->add_option("--model", flags->model, "Model name")->required();
  command
      ->add_option_function<int64_t>(
          "--version", [flags](const int64_t& version) { flags->version = version; },
          "Model version (default: the latest ready version)")
      ->check(CLI::Range(int64_t{1}, std::numeric_limits<int64_t>::max()));
  CLI::Option* image = command->add_option("--image", flags->image_path, "PNG image to detect text in")
                           ->check(CLI::ExistingFile);
  CLI::Option* json =
      command
          ->add_option("--input-json", flags->input_json_path,
                       "KServe v2 JSON request to send as it is over HTTP; prints the response body")
          ->check(CLI::ExistingFile);
  image->excludes(json);
  command
      ->add_option("--threshold", flags->postprocess.threshold,
                   "Probability above which a map pixel counts as text")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  command
      ->add_option("--box-threshold", flags->postprocess.box_threshold,
                   "Minimum mean probability of a text region")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  command
      ->add_option("--max-side", flags->preprocess.max_side,
                   "Maximum longer side in pixels of the model input")
      ->capture_default_str()
      ->check(CLI::Range(32, 4096));
  command
      ->add_option(
          "--timeout", flags->timeout_seconds,
          "Maximum seconds for each of connecting, sending and receiving (HTTP), or for each call (gRPC)")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600));
  command
      ->add_option(
          "--wait-ready", flags->wait_ready_seconds,
          "Wait up to this many seconds for the server to report ready before sending (0: do not wait)")
      ->capture_default_str()
      ->check(CLI::Range(0, 3600));

  command->callback([flags, image, json, &exit_code] {
    const std::string conflict = FlagConflict(*flags, image->count() > 0, json->count() > 0);
    if (!conflict.empty()) {
      std::cerr << "moat infer: " << conflict << "\n";
      exit_code = 2;
      return;
    }
    const Status status = RunInfer(*flags);
    if (!status.ok()) {
      std::cerr << "moat infer: " << status.message() << "\n";
      exit_code = 1;
    }
  });
}

}  // namespace moat::cli
