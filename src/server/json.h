// RapidJSON settings and helpers shared by the REST front end's parsers and
// encoders.
#pragma once

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/status.h"

namespace moat::server {

// Iterative parsing keeps deeply nested input off the call stack. Strings
// must be UTF-8 and numbers parse exactly. NaN and Infinity are accepted
// because Python's json module writes them for float tensors.
inline constexpr unsigned kJsonParseFlags =
    rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag |
    rapidjson::kParseFullPrecisionFlag | rapidjson::kParseNanAndInfFlag;

// Writes NaN and Infinity for float outputs, and fails on strings that are not
// UTF-8 instead of emitting invalid JSON.
using JsonWriter =
    rapidjson::Writer<rapidjson::StringBuffer, rapidjson::UTF8<>, rapidjson::UTF8<>, rapidjson::CrtAllocator,
                      rapidjson::kWriteValidateEncodingFlag | rapidjson::kWriteNanAndInfFlag>;

// A short description of `value` for error messages: the number or string
// itself (strings cut at 40 bytes), or its JSON kind.
std::string DescribeJsonValue(const rapidjson::Value& value);

// Returns {"error": message} with any bytes that are not UTF-8 replaced.
std::string ErrorJson(std::string_view message);

// The text of a JSON string value.
inline std::string_view StringOf(const rapidjson::Value& value) {
  return {value.GetString(), value.GetStringLength()};
}

// Returns `text` in single quotes, with bytes that are not UTF-8 replaced.
std::string Quote(std::string_view text);

// Writes `text` as a JSON string, replacing bytes that are not UTF-8.
void WriteJsonString(JsonWriter& writer, std::string_view text);

// Returns the text that `buffer` holds.
inline std::string FinishJson(const rapidjson::StringBuffer& buffer) {
  return std::string(buffer.GetString(), buffer.GetSize());
}

// Returns the JSON text that `write` writes with a fresh JsonWriter.
template <typename WriteFunction>
std::string JsonText(WriteFunction&& write) {
  rapidjson::StringBuffer buffer;
  JsonWriter writer(buffer);
  write(writer);
  return FinishJson(buffer);
}

// Writes the member `key` with the string `value`, as WriteJsonString writes
// it, into the object that is open.
void WriteStringMember(JsonWriter& writer, std::string_view key, std::string_view value);

// Writes `shape` as an array of integers.
void WriteShape(JsonWriter& writer, std::span<const int64_t> shape);

// Returns a pointer to each of the `known` members of `object` (nullptr when
// absent), in the order of `known`. `noun` is "field" or "parameter" and
// `where` names the object in errors about unknown or repeated names.
// Unknown fields are rejected. Unknown parameters are skipped, because the
// protocol leaves parameters open and clients add their own (MLServer-style
// clients send "content_type", for example).
template <size_t N>
StatusOr<std::array<const rapidjson::Value*, N>> CollectMembers(const rapidjson::Value& object,
                                                                const std::array<std::string_view, N>& known,
                                                                std::string_view noun,
                                                                const std::string& where) {
  if (!object.IsObject()) {
    return InvalidArgumentError(where + ": expected a JSON object, got " + DescribeJsonValue(object));
  }
  std::array<const rapidjson::Value*, N> members{};
  for (const auto& member : object.GetObject()) {
    std::string_view key = StringOf(member.name);
    size_t i = 0;
    while (i < N && known[i] != key) ++i;
    if (i == N && noun == "parameter") continue;
    if (i == N) return InvalidArgumentError(where + ": unknown " + std::string(noun) + " " + Quote(key));
    if (members[i] != nullptr) {
      return InvalidArgumentError(where + ": duplicate " + std::string(noun) + " " + Quote(key));
    }
    members[i] = &member.value;
  }
  return members;
}

// Parses `text` as one JSON document into `document`. INVALID_ARGUMENT naming
// `what` and the offset of the first error.
Status ParseJsonDocument(std::string_view text, std::string_view what, rapidjson::Document& document);

}  // namespace moat::server
