#include "bundle/json.h"

#include <charconv>
#include <cstdio>
#include <set>

#include <rapidjson/error/en.h>

#include "bundle/paths.h"

namespace moat::bundle {

namespace {

constexpr unsigned kParseFlags = rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag;

std::string_view KeyOf(const rapidjson::Value& name) { return {name.GetString(), name.GetStringLength()}; }

// Returns the member named `key`, or a null value when it is absent, which
// the type checks of the callers then reject.
const rapidjson::Value& Member(const rapidjson::Value& object, std::string_view key) {
  for (auto it = object.MemberBegin(); it != object.MemberEnd(); ++it) {
    if (KeyOf(it->name) == key) return it->value;
  }
  static const rapidjson::Value kNull;
  return kNull;
}

std::string FieldName(std::string_view prefix, std::string_view key) {
  return std::string(prefix) + std::string(key);
}

}  // namespace

Status ParseJson(std::string_view bytes, std::string_view source_name, rapidjson::Document& doc) {
  // RapidJSON treats a NUL byte as the end of its input, so text after one
  // would be silently ignored.
  size_t nul = bytes.find('\0');
  if (nul != std::string_view::npos) {
    return InvalidArgumentError(std::string(source_name) + " contains a NUL byte at offset " +
                                std::to_string(nul));
  }
  doc.Parse<kParseFlags>(bytes.data(), bytes.size());
  if (doc.HasParseError()) {
    return InvalidArgumentError(std::string(source_name) +
                                " is not valid JSON: " + rapidjson::GetParseError_En(doc.GetParseError()) +
                                " (at byte offset " + std::to_string(doc.GetErrorOffset()) + ")");
  }
  return OkStatus();
}

Status CheckObjectKeys(const rapidjson::Value& value, std::string_view field,
                       std::initializer_list<std::string_view> keys) {
  if (!value.IsObject()) return InvalidArgumentError(std::string(field) + ": expected a JSON object");
  std::set<std::string_view> seen;
  for (auto it = value.MemberBegin(); it != value.MemberEnd(); ++it) {
    std::string_view key = KeyOf(it->name);
    bool known = false;
    for (std::string_view allowed : keys) known = known || key == allowed;
    if (!known) {
      std::string expected;
      for (std::string_view allowed : keys) expected += (expected.empty() ? "" : ", ") + std::string(allowed);
      return InvalidArgumentError(std::string(field) + ": unknown key " + QuoteForMessage(key) +
                                  " (expected keys: " + expected + ")");
    }
    if (!seen.insert(key).second) {
      return InvalidArgumentError(std::string(field) + ": duplicate key " + QuoteForMessage(key));
    }
  }
  for (std::string_view key : keys) {
    if (!seen.contains(key)) {
      return InvalidArgumentError(std::string(field) + ": missing key \"" + std::string(key) + "\"");
    }
  }
  return OkStatus();
}

StatusOr<std::string> GetStringMember(const rapidjson::Value& object, std::string_view prefix,
                                      std::string_view key) {
  const rapidjson::Value& value = Member(object, key);
  if (!value.IsString()) return InvalidArgumentError(FieldName(prefix, key) + ": expected a string");
  return std::string(value.GetString(), value.GetStringLength());
}

StatusOr<int64_t> GetInt64Member(const rapidjson::Value& object, std::string_view prefix,
                                 std::string_view key) {
  const rapidjson::Value& value = Member(object, key);
  if (!value.IsInt64()) {
    return InvalidArgumentError(FieldName(prefix, key) + ": expected an integer between -2^63 and 2^63-1");
  }
  return value.GetInt64();
}

StatusOr<const rapidjson::Value*> GetArrayMember(const rapidjson::Value& object, std::string_view prefix,
                                                 std::string_view key) {
  const rapidjson::Value& value = Member(object, key);
  if (!value.IsArray()) return InvalidArgumentError(FieldName(prefix, key) + ": expected an array");
  return &value;
}

void AppendJsonString(std::string& out, std::string_view text) {
  out.push_back('"');
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof(escaped), "\\u%04x", static_cast<unsigned char>(c));
      out += escaped;
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
}

void AppendJsonInt(std::string& out, int64_t value) {
  char digits[24];
  auto result = std::to_chars(digits, digits + sizeof(digits), value);
  out.append(digits, result.ptr);
}

}  // namespace moat::bundle
