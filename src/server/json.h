// RapidJSON settings shared by the REST front end's parsers and encoders.
#pragma once

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <string>

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

}  // namespace moat::server
