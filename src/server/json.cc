#include "server/json.h"

#include <fmt/format.h>

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
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace moat::server
