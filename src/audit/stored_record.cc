#include "audit/stored_record.h"

#include <rapidjson/document.h>

#include <charconv>

namespace moat::audit {

namespace {

// Days from 1970-01-01 to the given proleptic Gregorian date.
int64_t DaysFromCivil(int64_t year, int64_t month, int64_t day) {
  year -= month <= 2 ? 1 : 0;
  int64_t era = (year >= 0 ? year : year - 399) / 400;
  int64_t year_of_era = year - era * 400;
  int64_t day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + day_of_era - 719468;
}

bool IsLeapYear(int64_t year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

int64_t DaysInMonth(int64_t year, int64_t month) {
  static constexpr int64_t kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeapYear(year) ? 29 : kDays[month - 1];
}

// Reads exactly `width` decimal digits at `pos`.
bool ReadDigits(std::string_view text, size_t pos, size_t width, int64_t& value) {
  if (pos + width > text.size()) return false;
  value = 0;
  for (size_t i = pos; i < pos + width; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    value = value * 10 + (text[i] - '0');
  }
  return true;
}

bool ParseRfc3339(std::string_view text, int64_t& micros) {
  int64_t year, month, day, hour, minute, second;
  if (!ReadDigits(text, 0, 4, year) || text.size() < 19 || text[4] != '-' || !ReadDigits(text, 5, 2, month) ||
      text[7] != '-' || !ReadDigits(text, 8, 2, day) || (text[10] != 'T' && text[10] != 't') ||
      !ReadDigits(text, 11, 2, hour) || text[13] != ':' || !ReadDigits(text, 14, 2, minute) || text[16] != ':' ||
      !ReadDigits(text, 17, 2, second)) {
    return false;
  }

  // A leap second (60) is folded into the next second's start.
  if (month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month) || hour > 23 || minute > 59 ||
      second > 60) {
    return false;
  }

  size_t pos = 19;
  int64_t fraction_micros = 0;
  if (pos < text.size() && text[pos] == '.') {
    size_t digits = 0;
    for (++pos; pos < text.size() && text[pos] >= '0' && text[pos] <= '9'; ++pos, ++digits) {
      if (digits < 6) fraction_micros = fraction_micros * 10 + (text[pos] - '0');
    }
    if (digits == 0 || digits > 9) return false;
    for (size_t i = digits; i < 6; ++i) fraction_micros *= 10;
  }

  int64_t offset_minutes = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    int64_t offset_hours, offset_mins;
    if (!ReadDigits(text, pos + 1, 2, offset_hours) || pos + 3 >= text.size() || text[pos + 3] != ':' ||
        !ReadDigits(text, pos + 4, 2, offset_mins) || offset_hours > 23 || offset_mins > 59) {
      return false;
    }
    offset_minutes = (text[pos] == '-' ? -1 : 1) * (offset_hours * 60 + offset_mins);
    pos += 6;
  } else {
    return false;
  }
  if (pos != text.size()) return false;
  int64_t seconds = DaysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
  micros = seconds * 1'000'000 + fraction_micros;
  return true;
}

// Reads an optional string member into `out`; a present member of another type is an error.
Status ReadString(const rapidjson::Value& object, const char* name, std::string& out) {
  auto member = object.FindMember(name);
  if (member == object.MemberEnd()) return OkStatus();
  if (!member->value.IsString()) return DataLossError(std::string("field \"") + name + "\" is not a string");
  out.assign(member->value.GetString(), member->value.GetStringLength());
  return OkStatus();
}

}  // namespace

StatusOr<int64_t> ParseRfc3339Micros(std::string_view text) {
  int64_t micros = 0;
  if (!ParseRfc3339(text, micros)) {
    return InvalidArgumentError("\"" + std::string(text) +
                                "\" is not an RFC 3339 time such as 2026-12-05T04:30:00Z or "
                                "2026-12-05T05:30:00.25+01:00");
  }
  return micros;
}

StatusOr<RecordSummary> ParseRecordSummary(std::string_view plaintext) {
  rapidjson::Document document;
  document.Parse(plaintext.data(), plaintext.size());
  if (document.HasParseError() || !document.IsObject()) {
    return DataLossError("plaintext is not a JSON object");
  }
  auto format = document.FindMember("format");
  if (format == document.MemberEnd() || !format->value.IsInt64() ||
      format->value.GetInt64() != kStoredRecordFormat) {
    return DataLossError("field \"format\" is not " + std::to_string(kStoredRecordFormat));
  }

  RecordSummary summary;
  auto seq = document.FindMember("seq");
  if (seq == document.MemberEnd() || !seq->value.IsUint64()) {
    return DataLossError("field \"seq\" is missing or not an unsigned integer");
  }
  summary.sequence = seq->value.GetUint64();
  auto type = document.FindMember("type");
  if (type == document.MemberEnd() || !type->value.IsString() || type->value.GetStringLength() == 0) {
    return DataLossError("field \"type\" is missing or not a non-empty string");
  }
  summary.type.assign(type->value.GetString(), type->value.GetStringLength());
  MOAT_RETURN_IF_ERROR(ReadString(document, "time", summary.time));
  if (!ParseRfc3339(summary.time, summary.time_micros)) {
    return DataLossError("field \"time\" is missing or not an RFC 3339 time");
  }

  MOAT_RETURN_IF_ERROR(ReadString(document, "request_id", summary.request_id));
  MOAT_RETURN_IF_ERROR(ReadString(document, "principal", summary.principal));
  MOAT_RETURN_IF_ERROR(ReadString(document, "action", summary.action));
  MOAT_RETURN_IF_ERROR(ReadString(document, "rule", summary.rule));
  MOAT_RETURN_IF_ERROR(ReadString(document, "model", summary.model));
  MOAT_RETURN_IF_ERROR(ReadString(document, "outcome", summary.outcome));
  auto version = document.FindMember("version");
  if (version != document.MemberEnd()) {
    if (!version->value.IsInt64()) return DataLossError("field \"version\" is not an integer");
    summary.version = version->value.GetInt64();
  }
  return summary;
}

bool MatchesFilter(const RecordSummary& record, const RecordFilter& filter) {
  if (filter.type && record.type != *filter.type) return false;
  if (filter.model && record.model != *filter.model) return false;
  if (filter.version && record.version != *filter.version) return false;
  if (filter.principal && record.principal != *filter.principal) return false;
  if (filter.rule && record.rule != *filter.rule) return false;
  if (filter.outcome && record.outcome != *filter.outcome) return false;
  if (filter.since_micros && record.time_micros < *filter.since_micros) return false;
  if (filter.until_micros && record.time_micros > *filter.until_micros) return false;
  return true;
}

StatusOr<PayloadCipher*> RecordCipher::CipherFor(uint64_t period) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = ciphers_.find(period);
  if (found != ciphers_.end()) return found->second.get();
  std::string log_id(reinterpret_cast<const char*>(log_id_.data()), log_id_.size());
  MOAT_ASSIGN_OR_RETURN(std::unique_ptr<PayloadCipher> cipher, PayloadCipher::Create(keys_, log_id, period));
  PayloadCipher* raw = cipher.get();
  ciphers_.emplace(period, std::move(cipher));
  return raw;
}

StatusOr<std::string> RecordCipher::Seal(uint64_t sequence, std::string_view plaintext) {
  uint64_t period = KeyPeriodOf(sequence);
  MOAT_ASSIGN_OR_RETURN(PayloadCipher * cipher, CipherFor(period));
  return cipher->Seal(plaintext, RecordAad(period, sequence));
}

StatusOr<OpenedRecord> RecordCipher::Open(uint64_t sequence, std::string_view stored) {
  const std::string prefix = "record " + std::to_string(sequence) + ": ";
  uint64_t period = KeyPeriodOf(sequence);
  StatusOr<PayloadCipher*> cipher = CipherFor(period);
  if (!cipher.ok()) return Status(cipher.status().code(), prefix + cipher.status().message());
  StatusOr<std::string> plaintext = (*cipher)->Open(stored, RecordAad(period, sequence));
  if (!plaintext.ok()) {
    return Status(plaintext.status().code(), prefix + "cannot open the sealed payload: " + plaintext.status().message());
  }
  StatusOr<RecordSummary> summary = ParseRecordSummary(*plaintext);
  if (!summary.ok()) return DataLossError(prefix + summary.status().message());
  if (summary->sequence != sequence) {
    return DataLossError(prefix + "the plaintext states seq " + std::to_string(summary->sequence) +
                         ", but the record is stored as number " + std::to_string(sequence));
  }
  return OpenedRecord{std::move(*plaintext), std::move(*summary)};
}

}  // namespace moat::audit
