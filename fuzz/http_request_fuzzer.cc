// Feeds bytes to the REST front end as one HTTP request. Beast's parser reads
// the request line, header and body. HttpHandler then routes the request,
// decompresses a gzip or deflate body, parses an infer body (JSON, binary
// extension or shared-memory parameters) and encodes and compresses the reply
// of a service that echoes its inputs. No input may crash, hang or allocate
// without bound.
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/inference.h"
#include "server/beast_request.h"
#include "server/http_handler.h"
#include "server/route.h"
#include "shm/shared_memory.h"

namespace {

namespace beast = boost::beast;
namespace http = beast::http;

constexpr uint32_t kMaxHeaderBytes = 16u << 10;
constexpr uint64_t kMaxBodyBytes = 1u << 20;

// Model "echo" returns the inputs as outputs, and every other model is unknown.
class EchoService final : public moat::InferenceService {
 public:
  bool IsLive() const override { return true; }
  bool IsReady() const override { return true; }
  moat::ServerMetadata GetServerMetadata() const override { return {"moat", "fuzz", {}}; }
  moat::StatusOr<moat::ModelMetadata> GetModelMetadata(const std::string& model,
                                                       std::optional<int64_t>) const override {
    if (model != "echo") return moat::NotFoundError("model not found");
    return moat::ModelMetadata{model, {1}, "fuzz", {}, {}};
  }
  moat::StatusOr<bool> IsModelReady(const std::string& model, std::optional<int64_t>) const override {
    if (model != "echo") return moat::NotFoundError("model not found");
    return true;
  }
  moat::StatusOr<moat::InferenceResponse> Infer(const moat::InferenceRequest& request,
                                                const moat::RequestContext&) override {
    if (request.model_name != "echo") return moat::NotFoundError("model not found");
    moat::InferenceResponse response;
    response.id = request.id;
    response.model_name = request.model_name;
    response.model_version = request.model_version.value_or(1);
    response.outputs = request.inputs;
    return response;
  }
  std::vector<moat::ModelIndexEntry> RepositoryIndex(bool) const override {
    return {{"echo", "1", "READY", ""}};
  }
  moat::StatusOr<std::vector<moat::ModelStatistics>> GetModelStatistics(
      const std::string& model, std::optional<int64_t>) const override {
    if (!model.empty() && model != "echo") return moat::NotFoundError("model not found");
    moat::ModelStatistics statistics;
    statistics.name = "echo";
    statistics.version = 1;
    return std::vector<moat::ModelStatistics>{statistics};
  }
  moat::Status LoadModel(const std::string& model, const moat::RequestContext&) override {
    return model == "echo" ? moat::OkStatus() : moat::NotFoundError("model not found");
  }
  moat::Status UnloadModel(const std::string& model, const moat::RequestContext&) override {
    return model == "echo" ? moat::OkStatus() : moat::NotFoundError("model not found");
  }
  void RecordRejectedRequest(const moat::RequestContext&, const std::string&, const std::string&,
                             const moat::Status&) override {}
  std::string MetricsText() const override { return ""; }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  http::request_parser<http::string_body> parser;
  parser.header_limit(kMaxHeaderBytes);
  parser.body_limit(kMaxBodyBytes);
  parser.eager(true);

  beast::error_code error;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  while (!input.empty() && !parser.is_done()) {
    size_t used = parser.put(boost::asio::buffer(input.data(), input.size()), error);
    if (error == http::error::need_more) break;
    if (error) return 0;
    if (used == 0) break;
    input.remove_prefix(used);
  }
  if (!parser.is_done()) {
    parser.put_eof(error);
    if (error || !parser.is_done()) return 0;
  }

  http::request<http::string_body> message = parser.release();
  moat::server::HttpRequest request = moat::server::ToHttpRequest(message, "fuzz");

  // Shared memory is enabled, so that the shm parameters are parsed past the
  // "disabled" check, but no region is ever registered: a register request
  // would open a shared memory object of this machine by a fuzzed name.
  auto route = moat::server::MatchRoute(request.target);
  if (route.ok() && route->endpoint == moat::server::Endpoint::kSharedMemoryRegister) return 0;

  static EchoService service;
  static moat::shm::SharedMemoryManager shared_memory(true);
  static moat::server::HttpHandler handler(service, shared_memory,
                                           moat::server::HttpHandlerOptions{kMaxBodyBytes, 1024});
  moat::server::HttpReply reply = handler.Handle(request);
  // Every reply has a status and a body, errors included.
  if (reply.status < 200 || reply.status > 599 || reply.body.empty()) __builtin_trap();
  return 0;
}
