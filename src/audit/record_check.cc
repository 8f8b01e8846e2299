#include "audit/record_check.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "audit/event.h"
#include "audit/record.h"

namespace moat::audit {

namespace {

using rapidjson::Value;

enum class Kind { kString, kNonEmptyString, kInt64, kUint64, kTime, kSha256Hex, kNode };

struct FieldRule {
  std::string_view name;
  Kind kind;
  bool required_in_every_type;  // else required only in the known types
};

// Every field of kRecordFields except "format", which is checked first.
constexpr FieldRule kFieldRules[] = {
    {"seq", Kind::kUint64, true},
    {"type", Kind::kNonEmptyString, true},
    {"time", Kind::kTime, true},
    {"request_id", Kind::kString, false},
    {"model", Kind::kString, false},
    {"version", Kind::kInt64, false},
    {"bundle_digest", Kind::kString, false},
    {"input_digest", Kind::kString, false},
    {"output_digest", Kind::kString, false},
    {"node", Kind::kNode, false},
    {"outcome", Kind::kString, false},
    {"error", Kind::kString, false},
    {"latency_us", Kind::kInt64, false},
    {"protocol", Kind::kString, false},
    {"peer", Kind::kString, false},
    {"prev_sha256", Kind::kSha256Hex, true},
};

constexpr std::string_view kKnownTypes[] = {
    record_type::kInference,  record_type::kRejected,    record_type::kServerStart,
    record_type::kServerStop, record_type::kModelLoaded, record_type::kModelRejected,
};

Status Invalid(std::string reason) { return DataLossError(std::move(reason)); }

std::string_view View(const Value& string) { return {string.GetString(), string.GetStringLength()}; }

const Value* FindMember(const Value& object, std::string_view name) {
  auto it = object.FindMember(Value(rapidjson::StringRef(name.data(), name.size())));
  return it == object.MemberEnd() ? nullptr : &it->value;
}

// Rejects repeated member names: JSON parsers disagree on which copy wins, so
// an independent verifier could read a different record than this one.
Status CheckNoDuplicateNames(const Value& object, std::string_view where) {
  std::vector<std::string_view> names;
  names.reserve(object.MemberCount());
  for (const auto& member : object.GetObject()) names.push_back(View(member.name));
  std::sort(names.begin(), names.end());
  auto duplicate = std::adjacent_find(names.begin(), names.end());
  if (duplicate != names.end())
    return Invalid("duplicate field '" + std::string(*duplicate) + "'" + std::string(where));
  return OkStatus();
}

bool IsDigits(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

int ParseInt(std::string_view digits) {
  int value = 0;
  for (char c : digits) value = value * 10 + (c - '0');
  return value;
}

// Accepts exactly the shape the writer emits: "YYYY-MM-DDTHH:MM:SS.ffffffZ".
bool IsRecordTime(std::string_view time) {
  if (time.size() != 27) return false;
  if (time[4] != '-' || time[7] != '-' || time[10] != 'T' || time[13] != ':' || time[16] != ':' ||
      time[19] != '.' || time[26] != 'Z') {
    return false;
  }
  std::string_view year = time.substr(0, 4), month = time.substr(5, 2), day = time.substr(8, 2),
                   hour = time.substr(11, 2), minute = time.substr(14, 2), second = time.substr(17, 2),
                   fraction = time.substr(20, 6);
  for (std::string_view part : {year, month, day, hour, minute, second, fraction}) {
    if (!IsDigits(part)) return false;
  }
  // Second 60 is a leap second, which RFC 3339 allows.
  return ParseInt(month) >= 1 && ParseInt(month) <= 12 && ParseInt(day) >= 1 && ParseInt(day) <= 31 &&
         ParseInt(hour) <= 23 && ParseInt(minute) <= 59 && ParseInt(second) <= 60;
}

bool IsSha256Hex(std::string_view text) {
  return text.size() == 64 && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

Status CheckNode(const Value& node) {
  if (!node.IsObject()) return Invalid("field 'node' must be an object");
  MOAT_RETURN_IF_ERROR(CheckNoDuplicateNames(node, " in 'node'"));
  for (std::string_view name : kNodeFields) {
    const Value* value = FindMember(node, name);
    if (value == nullptr) return Invalid("missing field 'node." + std::string(name) + "'");
    if (!value->IsString()) return Invalid("field 'node." + std::string(name) + "' must be a string");
  }
  return OkStatus();
}

Status CheckKind(const FieldRule& rule, const Value& value) {
  std::string field = "field '" + std::string(rule.name) + "'";
  switch (rule.kind) {
    case Kind::kString:
      if (!value.IsString()) return Invalid(field + " must be a string");
      return OkStatus();
    case Kind::kNonEmptyString:
      if (!value.IsString() || value.GetStringLength() == 0)
        return Invalid(field + " must be a non-empty string");
      return OkStatus();
    case Kind::kInt64:
      if (!value.IsInt64()) return Invalid(field + " must be a 64-bit integer");
      return OkStatus();
    case Kind::kUint64:
      if (!value.IsUint64()) return Invalid(field + " must be a non-negative 64-bit integer");
      return OkStatus();
    case Kind::kTime:
      if (!value.IsString() || !IsRecordTime(View(value))) {
        return Invalid(field + " must be an RFC 3339 UTC time like \"2025-01-31T23:59:59.000000Z\"");
      }
      return OkStatus();
    case Kind::kSha256Hex:
      if (!value.IsString() || !IsSha256Hex(View(value))) {
        return Invalid(field + " must be 64 lower-case hexadecimal digits");
      }
      return OkStatus();
    case Kind::kNode:
      return CheckNode(value);
  }
  return OkStatus();
}

Status CheckFormat(const Value& record) {
  const Value* format = FindMember(record, "format");
  if (format == nullptr) return Invalid("missing field 'format'");
  if (!format->IsInt64()) return Invalid("field 'format' must be an integer");
  if (format->GetInt64() != kFormatVersion) {
    return Invalid("wrong format version " + std::to_string(format->GetInt64()) +
                   " (this verifier reads version " + std::to_string(kFormatVersion) + ")");
  }
  return OkStatus();
}

StatusOr<const Value*> ParseLine(std::string_view line, rapidjson::Document& document) {
  if (line.empty()) return Invalid("invalid JSON: empty line");
  // RapidJSON stops at a NUL byte, so text after one would go unread.
  const void* nul = std::memchr(line.data(), '\0', line.size());
  if (nul != nullptr) {
    size_t offset = static_cast<const char*>(nul) - line.data();
    return Invalid("invalid JSON: NUL byte at offset " + std::to_string(offset));
  }
  // Iterative parsing keeps deeply nested input from exhausting the stack.
  constexpr unsigned kFlags = rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag;
  document.Parse<kFlags>(line.data(), line.size());
  if (document.HasParseError()) {
    return Invalid("invalid JSON at offset " + std::to_string(document.GetErrorOffset()) + ": " +
                   rapidjson::GetParseError_En(document.GetParseError()));
  }
  if (!document.IsObject()) return Invalid("invalid JSON: the record is not a JSON object");
  return &document;
}

}  // namespace

StatusOr<RecordLink> CheckRecord(std::string_view line) {
  rapidjson::Document document;
  MOAT_ASSIGN_OR_RETURN(const Value* record, ParseLine(line, document));
  MOAT_RETURN_IF_ERROR(CheckNoDuplicateNames(*record, ""));
  MOAT_RETURN_IF_ERROR(CheckFormat(*record));

  const Value* type = FindMember(*record, "type");
  bool known_type =
      type != nullptr && type->IsString() &&
      std::find(std::begin(kKnownTypes), std::end(kKnownTypes), View(*type)) != std::end(kKnownTypes);
  for (const FieldRule& rule : kFieldRules) {
    const Value* value = FindMember(*record, rule.name);
    if (value == nullptr) {
      if (rule.required_in_every_type || known_type)
        return Invalid("missing field '" + std::string(rule.name) + "'");
      continue;
    }
    MOAT_RETURN_IF_ERROR(CheckKind(rule, *value));
  }

  RecordLink link;
  link.seq = FindMember(*record, "seq")->GetUint64();
  link.prev_sha256 = std::string(View(*FindMember(*record, "prev_sha256")));
  return link;
}

}  // namespace moat::audit
