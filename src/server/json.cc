#include "server/json.h"

#include <fmt/format.h>
#include <rapidjson/error/en.h>

#include "server/utf8.h"

namespace moat::server {

std::string DescribeJsonValue(const rapidjson::Value& value) {
  if (value.IsNull()) return "null";
  if (value.IsBool()) return value.GetBool() ? "true" : "false";
  if (value.IsInt64()) return std::to_string(value.GetInt64());
  if (value.IsUint64()) return std::to_string(value.GetUint64());
  if (value.IsDouble()) return fmt::format("{}", value.GetDouble());
  if (value.IsArray()) return "an array";
  if (value.IsObject()) return "an object";
  constexpr size_t kMaxShown = 40;
  std::string_view text(value.GetString(), value.GetStringLength());
  if (text.size() <= kMaxShown) return "\"" + SanitizeUtf8(text) + "\"";
  return "\"" + SanitizeUtf8(text.substr(0, kMaxShown)) + "...\"";
}

std::string ErrorJson(std::string_view message) {
  std::string text = SanitizeUtf8(message);
  rapidjson::StringBuffer buffer;
  JsonWriter writer(buffer);
  writer.StartObject();
  writer.Key("error");
  writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
  writer.EndObject();
  return FinishJson(buffer);
}

std::string Quote(std::string_view text) { return "'" + SanitizeUtf8(text) + "'"; }

void WriteJsonString(JsonWriter& writer, std::string_view text) {
  // Names and ids reach here from parsed JSON, paths or model files; replacing
  // bytes that are not UTF-8 keeps the response valid JSON either way.
  if (IsValidUtf8(text)) {
    writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
  } else {
    std::string sanitized = SanitizeUtf8(text);
    writer.String(sanitized.data(), static_cast<rapidjson::SizeType>(sanitized.size()));
  }
}

void WriteStringMember(JsonWriter& writer, std::string_view key, std::string_view value) {
  writer.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
  WriteJsonString(writer, value);
}

void WriteShape(JsonWriter& writer, std::span<const int64_t> shape) {
  writer.StartArray();
  for (int64_t dim : shape) writer.Int64(dim);
  writer.EndArray();
}

Status ParseJsonDocument(std::string_view text, std::string_view what, rapidjson::Document& document) {
  document.Parse<kJsonParseFlags>(text.data(), text.size());
  if (document.HasParseError()) {
    return InvalidArgumentError("malformed JSON in the " + std::string(what) + " at offset " +
                                std::to_string(document.GetErrorOffset()) + ": " +
                                rapidjson::GetParseError_En(document.GetParseError()));
  }
  return OkStatus();
}

}  // namespace moat::server
