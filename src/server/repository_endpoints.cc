// HttpHandler's model repository, model configuration and statistics
// endpoints.
#include "server/control_requests.h"
#include "server/extension_json.h"
#include "server/http_handler.h"
#include "server/reply_builders.h"

namespace moat::server {

HttpReply HttpHandler::HandleRepositoryIndex(const HttpRequest& request, HttpReply reply) {
  StatusOr<bool> ready_only = ParseRepositoryIndexRequest(*request.body);
  if (!ready_only.ok()) return ErrorReply(std::move(reply), ready_only.status());
  return JsonReply(std::move(reply), RepositoryIndexJson(service_.RepositoryIndex(*ready_only)));
}

HttpReply HttpHandler::HandleModelControl(const HttpRequest& request, const std::string& model_segment,
                                          bool load, const RequestContext& context, HttpReply reply) {
  StatusOr<std::string> model = DecodeModelName(model_segment);
  if (!model.ok()) return ErrorReply(std::move(reply), model.status());
  reply.model = *model;
  if (Status checked = CheckModelControlRequest(*request.body, *model); !checked.ok()) {
    return ErrorReply(std::move(reply), checked);
  }

  Status status = load ? service_.LoadModel(*model, context) : service_.UnloadModel(*model, context);
  if (!status.ok()) return ErrorReply(std::move(reply), status);
  return JsonReply(std::move(reply), "{}");
}

HttpReply HttpHandler::HandleModelConfig(const std::string& model_segment,
                                         const std::optional<std::string>& version_segment, HttpReply reply) {
  StatusOr<ModelMetadata> metadata = FindModelMetadata(model_segment, version_segment, reply);
  if (!metadata.ok()) return ErrorReply(std::move(reply), metadata.status());
  return JsonReply(std::move(reply), ModelConfigJson(*metadata));
}

HttpReply HttpHandler::HandleModelStatistics(const std::string& model_segment,
                                             const std::optional<std::string>& version_segment,
                                             HttpReply reply) {
  std::string model;
  if (!model_segment.empty()) {
    StatusOr<std::string> decoded = DecodeModelName(model_segment);
    if (!decoded.ok()) return ErrorReply(std::move(reply), decoded.status());
    model = std::move(*decoded);
    reply.model = model;
  }
  StatusOr<std::optional<int64_t>> version = ParseModelVersion(version_segment);
  if (!version.ok()) return ErrorReply(std::move(reply), version.status());

  StatusOr<std::vector<ModelStatistics>> statistics = service_.GetModelStatistics(model, *version);
  if (!statistics.ok()) return ErrorReply(std::move(reply), statistics.status());
  return JsonReply(std::move(reply), ModelStatisticsJson(*statistics));
}

}  // namespace moat::server
