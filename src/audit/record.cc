#include "audit/record.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <chrono>
#include <cstdio>
#include <ctime>

#include "common/utf8.h"

namespace moat::audit {

namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

constexpr int64_t kMicrosPerSecond = 1'000'000;

void WriteString(JsonWriter& writer, std::string_view key, std::string_view value) {
  writer.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
  // Nearly every value is valid already; only the others pay for a copy.
  if (IsValidUtf8(value)) {
    writer.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
    return;
  }
  std::string valid = ToValidUtf8(value);
  writer.String(valid.data(), static_cast<rapidjson::SizeType>(valid.size()));
}

void WriteInt64(JsonWriter& writer, std::string_view key, int64_t value) {
  writer.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
  writer.Int64(value);
}

}  // namespace

std::string FormatRecordTime(int64_t unix_micros) {
  int64_t seconds = unix_micros / kMicrosPerSecond;
  int64_t micros = unix_micros % kMicrosPerSecond;
  if (micros < 0) {  // round toward negative infinity for times before 1970
    micros += kMicrosPerSecond;
    seconds -= 1;
  }
  std::time_t time = static_cast<std::time_t>(seconds);
  std::tm utc{};
  ::gmtime_r(&time, &utc);
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, static_cast<int>(micros));
  return buffer;
}

int64_t NowUnixMicros() {
  auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  return std::chrono::duration_cast<std::chrono::microseconds>(since_epoch).count();
}

std::string ToValidUtf8(std::string_view text) {
  return ReplaceInvalidUtf8(text, "\xEF\xBF\xBD");  // U+FFFD REPLACEMENT CHARACTER
}

std::string RecordPrefix(uint64_t seq) {
  return "{\"format\":" + std::to_string(kRecordFormatVersion) + ",\"seq\":" + std::to_string(seq) + ",";
}

std::string EncodeRecordRest(const AuditEvent& event, std::string_view time, std::string_view host) {
  // Sized for a typical record, so that the buffer does not grow while it is written.
  rapidjson::StringBuffer buffer(nullptr, 1024);
  JsonWriter writer(buffer);
  writer.StartObject();
  WriteString(writer, "type", event.type);
  WriteString(writer, "time", time);
  WriteString(writer, "request_id", event.request_id);
  WriteString(writer, "principal", event.principal);
  WriteString(writer, "action", event.action);
  WriteString(writer, "rule", event.rule);
  WriteString(writer, "model", event.model);
  WriteInt64(writer, "version", event.version);
  WriteString(writer, "bundle_digest", event.bundle_digest);
  WriteString(writer, "input_digest", event.input_digest);
  WriteString(writer, "output_digest", event.output_digest);
  WriteString(writer, "outcome", event.outcome);
  WriteString(writer, "error", event.error);
  WriteInt64(writer, "latency_us", event.latency_us);
  WriteInt64(writer, "instance", event.instance);
  WriteString(writer, "protocol", event.protocol);
  WriteString(writer, "peer", event.peer);
  WriteString(writer, "node", host);
  writer.Key("details");
  if (event.details.empty()) {
    writer.StartObject();
    writer.EndObject();
  } else {
    writer.RawValue(event.details.data(), event.details.size(), rapidjson::kObjectType);
  }
  writer.EndObject();
  // Without the opening brace: RecordPrefix supplies it.
  return std::string(buffer.GetString() + 1, buffer.GetSize() - 1);
}

std::string EncodeRecord(const AuditEvent& event, uint64_t seq, std::string_view time, std::string_view host) {
  return RecordPrefix(seq) + EncodeRecordRest(event, time, host);
}

}  // namespace moat::audit
