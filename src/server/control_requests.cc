#include "server/control_requests.h"

#include <array>

#include "server/json.h"

namespace moat::server {
namespace {

using rapidjson::Value;

bool IsBlank(std::string_view body) { return body.find_first_not_of(" \t\r\n") == std::string_view::npos; }

StatusOr<uint64_t> ByteCountField(const Value& value, std::string_view field, const std::string& where) {
  if (!value.IsUint64()) {
    return InvalidArgumentError(where + ": '" + std::string(field) +
                                "' must be a non-negative integer, got " + DescribeJsonValue(value));
  }
  return value.GetUint64();
}

}  // namespace

StatusOr<bool> ParseRepositoryIndexRequest(std::string_view body) {
  if (IsBlank(body)) return false;
  const std::string where = "repository index request";
  rapidjson::Document document;
  MOAT_RETURN_IF_ERROR(ParseJsonDocument(body, where, document));
  static constexpr std::array<std::string_view, 1> kFields = {"ready"};
  MOAT_ASSIGN_OR_RETURN(auto fields, CollectMembers(document, kFields, "field", where));
  const Value* ready = fields[0];
  if (ready == nullptr) return false;
  if (!ready->IsBool()) {
    return InvalidArgumentError(where + ": 'ready' must be true or false, got " + DescribeJsonValue(*ready));
  }
  return ready->GetBool();
}

Status CheckModelControlRequest(std::string_view body, std::string_view model) {
  if (IsBlank(body)) return OkStatus();
  const std::string where = "request for model " + Quote(model);
  rapidjson::Document document;
  MOAT_RETURN_IF_ERROR(ParseJsonDocument(body, where, document));
  static constexpr std::array<std::string_view, 1> kFields = {"parameters"};
  MOAT_ASSIGN_OR_RETURN(auto fields, CollectMembers(document, kFields, "field", where));
  const Value* parameters = fields[0];
  if (parameters == nullptr) return OkStatus();
  if (!parameters->IsObject()) {
    return InvalidArgumentError(where + ": 'parameters' must be an object, got " +
                                DescribeJsonValue(*parameters));
  }
  for (const auto& member : parameters->GetObject()) {
    std::string_view name = StringOf(member.name);
    if (name == "config" || name.starts_with("file:")) {
      return UnimplementedError(where + ": parameter " + Quote(name) +
                                " is not supported, because Moat serves only the signed bundles of its "
                                "repository");
    }
  }
  return OkStatus();
}

StatusOr<RegisterRequest> ParseRegisterRequest(std::string_view body, std::string_view region) {
  const std::string where = "register request for shared memory region " + Quote(region);
  rapidjson::Document document;
  MOAT_RETURN_IF_ERROR(ParseJsonDocument(body, where, document));
  static constexpr std::array<std::string_view, 3> kFields = {"key", "offset", "byte_size"};
  MOAT_ASSIGN_OR_RETURN(auto fields, CollectMembers(document, kFields, "field", where));
  auto [key, offset, byte_size] = fields;

  RegisterRequest request;
  if (key == nullptr) return InvalidArgumentError(where + ": missing field 'key'");
  if (!key->IsString()) {
    return InvalidArgumentError(where + ": 'key' must be a string, got " + DescribeJsonValue(*key));
  }
  request.key = std::string(StringOf(*key));
  if (offset != nullptr) {
    MOAT_ASSIGN_OR_RETURN(request.offset, ByteCountField(*offset, "offset", where));
  }
  if (byte_size == nullptr) return InvalidArgumentError(where + ": missing field 'byte_size'");
  MOAT_ASSIGN_OR_RETURN(request.byte_size, ByteCountField(*byte_size, "byte_size", where));
  return request;
}

}  // namespace moat::server
