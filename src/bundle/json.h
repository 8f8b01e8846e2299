// Strict JSON reading and canonical JSON writing for manifests and signature
// files. Reading rejects what RapidJSON would otherwise let through
// (duplicate keys, NUL bytes), and writing produces the one canonical form.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include <rapidjson/document.h>

#include "common/status.h"

namespace moat::bundle {

// Parses `bytes` as a single UTF-8 JSON value into `doc` without recursion,
// so deep nesting cannot exhaust the stack. Rejects NUL bytes, invalid UTF-8,
// comments, NaN and trailing content. `source_name` names the document in errors.
Status ParseJson(std::string_view bytes, std::string_view source_name, rapidjson::Document& doc);

// Checks that `value` is an object with exactly the members `keys`, each once.
// `field` names the object in errors ("manifest field inputs[0]").
Status CheckObjectKeys(const rapidjson::Value& value, std::string_view field,
                       std::initializer_list<std::string_view> keys);

// Returns member `key` of an object already checked by CheckObjectKeys as a
// string, an int64 or an array. An error starts with `prefix` followed by
// `key` ("manifest field " or "manifest field inputs[0].") and names the type
// expected.
StatusOr<std::string> GetStringMember(const rapidjson::Value& object, std::string_view prefix,
                                      std::string_view key);
StatusOr<int64_t> GetInt64Member(const rapidjson::Value& object, std::string_view prefix,
                                 std::string_view key);
StatusOr<const rapidjson::Value*> GetArrayMember(const rapidjson::Value& object, std::string_view prefix,
                                                 std::string_view key);

// Appends `text` as a canonical JSON string: '"' and '\\' get a backslash,
// bytes below 0x20 become \u00xx (lower-case hex), every other byte is copied.
void AppendJsonString(std::string& out, std::string_view text);
// Appends a decimal integer: no '+', no leading zeros, "-" only below zero.
void AppendJsonInt(std::string& out, int64_t value);

}  // namespace moat::bundle
