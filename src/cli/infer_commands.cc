// `moat infer`: sends a page image to a text detection model served by Moat
// and prints the text boxes, or sends a KServe JSON request file as it is.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "cli/commands.h"
#include "client/detection_postprocess.h"
#include "client/detection_preprocess.h"
#include "client/kserve_client.h"
#include "client/png_decode.h"
#include "common/file.h"

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
};

constexpr size_t kMaxRequestFileBytes = size_t{1} << 30;

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

Status DetectText(const InferFlags& flags, const client::KServeClient& client) {
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
  const std::string output_name = metadata.outputs.front().name;
  request.requested_outputs.push_back(output_name);
  MOAT_ASSIGN_OR_RETURN(InferenceResponse response, client.Infer(request));

  const Tensor* map = nullptr;
  for (const Tensor& output : response.outputs) {
    if (output.name == output_name) map = &output;
  }
  if (map == nullptr) return InvalidArgumentError("the response has no output '" + output_name + "'");
  MOAT_ASSIGN_OR_RETURN(std::vector<client::TextBox> boxes,
                        client::ExtractTextBoxes(*map, input.image_size, flags.postprocess));

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

Status SendJsonFile(const InferFlags& flags, const client::KServeClient& client) {
  MOAT_ASSIGN_OR_RETURN(std::string json, ReadFile(flags.input_json_path, kMaxRequestFileBytes));
  MOAT_ASSIGN_OR_RETURN(std::string body, client.InferJson(flags.model, flags.version, std::move(json)));
  std::cout << body << std::endl;
  return OkStatus();
}

// Polls GET /v2/health/ready every 100 ms until the server reports ready,
// for a server that was just started. DEADLINE_EXCEEDED with the last error
// when `seconds` pass first.
Status WaitUntilReady(const client::KServeClient& client, int seconds) {
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
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

Status RunInfer(const InferFlags& flags) {
  client::HttpOptions http;
  http.timeout = std::chrono::seconds(flags.timeout_seconds);
  MOAT_ASSIGN_OR_RETURN(client::KServeClient client, client::KServeClient::Create(flags.url, http));
  if (flags.wait_ready_seconds > 0) MOAT_RETURN_IF_ERROR(WaitUntilReady(client, flags.wait_ready_seconds));
  if (!flags.input_json_path.empty()) return SendJsonFile(flags, client);
  return DetectText(flags, client);
}

}  // namespace

void AddInferCommand(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<InferFlags>();
  CLI::App* command =
      app.add_subcommand("infer",
                         "Send an image to a text detection model on a Moat server and print the text boxes, "
                         "or send a KServe v2 JSON request file");
  command->add_option("--url", flags->url, "Server URL, http://HOST:PORT (an IP address or localhost)")
      ->required();
  command->add_option("--model", flags->model, "Model name")->required();
  command
      ->add_option_function<int64_t>(
          "--version", [flags](const int64_t& version) { flags->version = version; },
          "Model version (default: the latest ready version)")
      ->check(CLI::Range(int64_t{1}, std::numeric_limits<int64_t>::max()));
  CLI::Option* image = command->add_option("--image", flags->image_path, "PNG image to detect text in")
                           ->check(CLI::ExistingFile);
  CLI::Option* json = command
                          ->add_option("--input-json", flags->input_json_path,
                                       "KServe v2 JSON request to send as it is; prints the response body")
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
      ->add_option("--timeout", flags->timeout_seconds,
                   "Maximum seconds for each of connecting, sending and receiving")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600));
  command
      ->add_option("--wait-ready", flags->wait_ready_seconds,
                   "Wait up to this many seconds for the server to report ready before sending (0: do not wait)")
      ->capture_default_str()
      ->check(CLI::Range(0, 3600));

  command->callback([flags, image, json, &exit_code] {
    if (image->count() == 0 && json->count() == 0) {
      std::cerr << "moat infer: one of --image or --input-json is required\n";
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
