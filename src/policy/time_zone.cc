#include "policy/time_zone.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <optional>
#include <system_error>
#include <utility>

#include "common/file.h"

namespace moat::policy {

namespace {

constexpr std::string_view kMagic = "TZif";
constexpr size_t kHeaderBytes = 44;
constexpr size_t kMaxZoneFileBytes = size_t{1} << 20;
constexpr size_t kMaxZoneNameBytes = 255;

// RFC 8536: a UT offset should be more than -25 hours and less than 26
// hours.
constexpr int32_t kMinUtcOffset = -89999;
constexpr int32_t kMaxUtcOffset = 93599;

// RFC 8536: consecutive leap-second records are at least 28 days minus one
// second apart.
constexpr int64_t kMinLeapSpacing = 2419199;

// Instants are clamped to +-2^55 seconds (about 1.1 billion years) so that
// the year fits in an int and no date arithmetic overflows.
constexpr int64_t kMaxSupportedSeconds = int64_t{1} << 55;

constexpr int64_t kSecondsPerDay = 86400;

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

bool IsLeapYear(int64_t year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

int DaysInMonth(int64_t year, int month) {
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeapYear(year) ? 29 : kDays[month - 1];
}

// Days since 1970-01-01 of a proleptic Gregorian date. The year is counted
// from March, so that February's leap day is the last day of its year, and
// split into 400-year eras of 146097 days each.
int64_t DaysFromCivil(int64_t year, int month, int day) {
  int64_t march_year = month <= 2 ? year - 1 : year;
  int64_t era = FloorDiv(march_year, 400);
  int64_t year_of_era = march_year - era * 400;
  int month_from_march = month <= 2 ? month + 9 : month - 3;
  int64_t day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
  int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  // 719468 is the number of days from 0000-03-01 to 1970-01-01.
  return era * 146097 + day_of_era - 719468;
}

struct CivilDate {
  int64_t year;
  int month;
  int day;
};

// The inverse of DaysFromCivil.
CivilDate CivilFromDays(int64_t days) {
  int64_t shifted = days + 719468;
  int64_t era = FloorDiv(shifted, 146097);
  int64_t day_of_era = shifted - era * 146097;
  // Removes the leap days of the era's past years before dividing by 365.
  int64_t year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  int month_from_march = static_cast<int>((5 * day_of_year + 2) / 153);
  int day = static_cast<int>(day_of_year - (153 * month_from_march + 2) / 5 + 1);
  int month = month_from_march < 10 ? month_from_march + 3 : month_from_march - 9;
  int64_t year = year_of_era + era * 400 + (month <= 2 ? 1 : 0);
  return {year, month, day};
}

// 0 Sunday to 6 Saturday; day 0 (1970-01-01) was a Thursday.
int WeekdayFromDays(int64_t days) {
  int64_t weekday = (days + 4) % 7;
  return static_cast<int>(weekday < 0 ? weekday + 7 : weekday);
}

int64_t ClampSeconds(int64_t seconds) {
  return std::clamp(seconds, -kMaxSupportedSeconds, kMaxSupportedSeconds);
}

// Renders a value for an error message, with bytes outside printable ASCII
// as \xNN, so that a NUL or control byte stays visible.
std::string Quote(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7F && c != '\\' && c != '\'') {
      out.push_back(c);
    } else {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", byte);
      out += escaped;
    }
  }
  out.push_back('\'');
  return out;
}

// ---------------------------------------------------------------------------
// POSIX TZ rule evaluation.

// Seconds since the epoch, in local wall-clock terms, of a rule's change in
// `year`.
int64_t ChangeLocalSeconds(const TimeZone::PosixRule::Change& change, int64_t year) {
  int64_t days = 0;
  if (change.julian && change.julian_skips_feb29) {
    // "Jn": day 1 to 365, and February 29 is never counted, so that day 60
    // is always March 1.
    int extra = IsLeapYear(year) && change.day_of_year >= 60 ? 1 : 0;
    days = DaysFromCivil(year, 1, 1) + change.day_of_year - 1 + extra;
  } else if (change.julian) {
    // "n": day 0 to 365, counting February 29 in leap years.
    days = DaysFromCivil(year, 1, 1) + change.day_of_year;
  } else {
    int64_t first = DaysFromCivil(year, change.month, 1);
    int day_offset = (change.weekday - WeekdayFromDays(first) + 7) % 7 + (change.week - 1) * 7;
    // Week 5 means the last such weekday, which may be the fourth.
    if (day_offset >= DaysInMonth(year, change.month)) day_offset -= 7;
    days = first + day_offset;
  }
  return days * kSecondsPerDay + change.time;
}

struct RuleChange {
  int64_t at;  // unix seconds
  bool starts_dst;
};

// The start and end of daylight time in `year`, earlier first. Daylight
// time starts at a standard-time wall clock and ends at a daylight-time one.
std::array<RuleChange, 2> ChangesInYear(const TimeZone::PosixRule& rule, int64_t year) {
  RuleChange start{ChangeLocalSeconds(rule.start, year) - rule.std_offset, true};
  RuleChange end{ChangeLocalSeconds(rule.end, year) - rule.dst_offset, false};
  if (end.at < start.at) return {end, start};
  return {start, end};
}

int64_t LocalYear(int64_t unix_seconds, int32_t utc_offset) {
  return CivilFromDays(FloorDiv(unix_seconds + utc_offset, kSecondsPerDay)).year;
}

bool IsDaylightTime(const TimeZone::PosixRule& rule, int64_t unix_seconds) {
  if (!rule.has_dst) return false;

  // A change's local time lies up to 167 hours outside its day, and the two
  // offsets differ by up to 50 hours, so in standard time a year's changes
  // fall within 217 hours of its ends. Hence the changes of the years from
  // two before the instant's year to one after always include the latest
  // change before the instant. More than 10 days from new year, the
  // previous year and the instant's own year suffice.
  constexpr int64_t kYearEdgeMargin = 10 * kSecondsPerDay;
  int64_t local = unix_seconds + rule.std_offset;
  int64_t year = LocalYear(unix_seconds, rule.std_offset);
  int64_t first_year = year - 2;
  int64_t last_year = year + 1;
  if (local - DaysFromCivil(year, 1, 1) * kSecondsPerDay >= kYearEdgeMargin &&
      DaysFromCivil(year + 1, 1, 1) * kSecondsPerDay - local >= kYearEdgeMargin) {
    first_year = year - 1;
    last_year = year;
  }

  // The latest change at or before the instant decides. Of changes at the
  // same instant the one listed last wins: a year's end of daylight time
  // loses to the next year's start, as zic's rule for daylight time all
  // year ("EST5EDT,0/0,J365/25") needs.
  bool found = false;
  bool dst = false;
  int64_t latest = 0;
  for (int64_t y = first_year; y <= last_year; ++y) {
    for (const RuleChange& change : ChangesInYear(rule, y)) {
      if (change.at <= unix_seconds && (!found || change.at >= latest)) {
        found = true;
        latest = change.at;
        dst = change.starts_dst;
      }
    }
  }
  return dst;
}

int32_t PosixOffsetAt(const TimeZone::PosixRule& rule, int64_t unix_seconds) {
  return IsDaylightTime(rule, unix_seconds) ? rule.dst_offset : rule.std_offset;
}

// Returns the index of the type with this offset and flag, adding it when
// there is none and an index is free (transitions hold one byte).
std::optional<uint8_t> FindOrAddType(std::vector<TimeZone::LocalType>& types, int32_t utc_offset, bool is_dst) {
  for (size_t i = 0; i < types.size() && i < 256; ++i) {
    if (types[i].utc_offset == utc_offset && types[i].is_dst == is_dst) return static_cast<uint8_t>(i);
  }
  if (types.size() >= 256) return std::nullopt;
  types.push_back({utc_offset, is_dst});
  return static_cast<uint8_t>(types.size() - 1);
}

// Appends the footer rule's changes after the last transition through
// kLastPrecomputedYear, so that ToLocal finds instants of this century by
// binary search instead of evaluating the rule (several times slower).
// Later instants still use the rule. A file without transitions is left
// alone, because before its first transition type 0 would apply, and so is
// one whose transitions end before 1800, to bound the work.
void AppendFooterTransitions(const TimeZone::PosixRule& rule, std::vector<TimeZone::LocalType>& types,
                             std::vector<TimeZone::Transition>& transitions) {
  constexpr int64_t kFirstPrecomputedYear = 1800;
  constexpr int64_t kLastPrecomputedYear = 2100;
  if (!rule.has_dst || transitions.empty()) return;
  int64_t last = transitions.back().at;
  if (last >= kMaxSupportedSeconds || last <= -kMaxSupportedSeconds) return;
  int64_t first_year = LocalYear(last, rule.std_offset) - 2;
  if (first_year < kFirstPrecomputedYear || first_year > kLastPrecomputedYear) return;
  std::optional<uint8_t> std_type = FindOrAddType(types, rule.std_offset, false);
  std::optional<uint8_t> dst_type = FindOrAddType(types, rule.dst_offset, true);
  if (!std_type || !dst_type) return;

  std::vector<RuleChange> changes;
  for (int64_t year = first_year; year <= kLastPrecomputedYear; ++year) {
    std::array<RuleChange, 2> pair = ChangesInYear(rule, year);
    changes.insert(changes.end(), pair.begin(), pair.end());
  }
  // Stable, so that of changes at one instant the later year's comes last,
  // as in IsDaylightTime.
  std::stable_sort(changes.begin(), changes.end(),
                   [](const RuleChange& a, const RuleChange& b) { return a.at < b.at; });

  // The rule takes over just after the last stored transition.
  uint8_t current = transitions.back().type;
  uint8_t first = IsDaylightTime(rule, last + 1) ? *dst_type : *std_type;
  if (first != current) transitions.push_back({last + 1, first});
  current = first;
  for (const RuleChange& change : changes) {
    if (change.at <= last + 1) continue;
    uint8_t type = change.starts_dst ? *dst_type : *std_type;
    if (transitions.back().at == change.at) {
      transitions.back().type = type;  // the later of two changes at one instant wins
    } else if (type != current) {
      transitions.push_back({change.at, type});
    }
    current = type;
  }
}

// ---------------------------------------------------------------------------
// POSIX TZ string parsing (the TZif footer).

// Parses "std offset [dst [offset] [,start[/time],end[/time]]]". Version 3
// and later allow rule times from -167 to 167 hours (RFC 8536).
class FooterParser {
 public:
  FooterParser(std::string_view text, int version) : text_(text), version_(version) {}

  // On failure, error_offset() is the position in the footer of the bad byte.
  StatusOr<TimeZone::PosixRule> Parse() {
    TimeZone::PosixRule rule;
    std::string std_name;
    MOAT_RETURN_IF_ERROR(ParseName("standard time name", std_name));
    int64_t seconds_west = 0;
    MOAT_RETURN_IF_ERROR(ParseOffset("standard time offset", seconds_west));
    rule.std_offset = static_cast<int32_t>(-seconds_west);
    if (AtEnd()) return rule;

    rule.has_dst = true;
    std::string dst_name;
    MOAT_RETURN_IF_ERROR(ParseName("daylight time name", dst_name));
    rule.dst_offset = rule.std_offset + 3600;
    if (!AtEnd() && Peek() != ',') {
      MOAT_RETURN_IF_ERROR(ParseOffset("daylight time offset", seconds_west));
      rule.dst_offset = static_cast<int32_t>(-seconds_west);
    }
    if (AtEnd()) {
      return Fail("daylight time " + Quote(dst_name) + " has no rule for when it starts and ends");
    }
    MOAT_RETURN_IF_ERROR(Expect(',', "start rule"));
    MOAT_RETURN_IF_ERROR(ParseChange("start", rule.start));
    MOAT_RETURN_IF_ERROR(Expect(',', "end rule"));
    MOAT_RETURN_IF_ERROR(ParseChange("end", rule.end));
    if (!AtEnd()) return Fail("unexpected " + Quote(text_.substr(pos_, 1)) + " after the end rule");
    return rule;
  }

  size_t error_offset() const { return pos_; }

 private:
  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek() const { return text_[pos_]; }
  static bool IsDigit(char c) { return c >= '0' && c <= '9'; }
  static bool IsAlpha(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

  Status Fail(const std::string& problem) const {
    constexpr size_t kMaxQuoted = 80;
    std::string quoted = Quote(text_.substr(0, kMaxQuoted));
    if (text_.size() > kMaxQuoted) quoted += "...";
    return DataLossError("footer " + quoted + ": " + problem);
  }

  // Consumes `c` when it is next.
  bool Skip(char c) {
    if (AtEnd() || Peek() != c) return false;
    ++pos_;
    return true;
  }

  Status Expect(char c, const char* field) {
    if (!Skip(c)) return Fail(std::string("expected '") + c + "' before the " + field);
    return OkStatus();
  }

  // Either three or more letters, or "<...>" holding three or more letters,
  // digits, '+' or '-'.
  Status ParseName(const char* field, std::string& name) {
    size_t start = pos_;
    if (!AtEnd() && Peek() == '<') {
      ++pos_;
      while (!AtEnd() && (IsAlpha(Peek()) || IsDigit(Peek()) || Peek() == '+' || Peek() == '-')) ++pos_;
      name = std::string(text_.substr(start + 1, pos_ - start - 1));
      if (AtEnd() || Peek() != '>') return Fail(std::string(field) + " has no closing '>'");
      ++pos_;
    } else {
      while (!AtEnd() && IsAlpha(Peek())) ++pos_;
      name = std::string(text_.substr(start, pos_ - start));
    }
    if (name.size() < 3) {
      pos_ = start;
      return Fail(std::string(field) + " " + Quote(name) + " is shorter than 3 characters");
    }
    return OkStatus();
  }

  // Parses digits into `value`, at most `max_digits` of them.
  bool ParseNumber(int max_digits, int64_t& value) {
    size_t start = pos_;
    value = 0;
    while (!AtEnd() && IsDigit(Peek()) && static_cast<int>(pos_ - start) < max_digits) {
      value = value * 10 + (Peek() - '0');
      ++pos_;
    }
    return pos_ > start && (AtEnd() || !IsDigit(Peek()));
  }

  // "[+-]hh[:mm[:ss]]" with hours up to `max_hours`; the result is in
  // seconds, positive for a leading '+' or no sign.
  Status ParseHms(const char* field, int64_t max_hours, bool allow_negative, int64_t& seconds) {
    size_t start = pos_;
    int64_t sign = 1;
    if (!AtEnd() && (Peek() == '+' || Peek() == '-')) {
      if (Peek() == '-') sign = -1;
      ++pos_;
    }
    if (sign < 0 && !allow_negative) {
      pos_ = start;
      return Fail(std::string(field) + " must not be negative in a version " + std::to_string(version_) +
                  " file");
    }
    int64_t hours = 0, minutes = 0, secs = 0;
    if (!ParseNumber(3, hours) || hours > max_hours) {
      pos_ = start;
      return Fail(std::string(field) + " needs hours from 0 to " + std::to_string(max_hours));
    }
    if (!AtEnd() && Peek() == ':') {
      ++pos_;
      if (!ParseNumber(2, minutes) || minutes > 59) return Fail(std::string(field) + " has invalid minutes");
      if (!AtEnd() && Peek() == ':') {
        ++pos_;
        if (!ParseNumber(2, secs) || secs > 59) return Fail(std::string(field) + " has invalid seconds");
      }
    }
    seconds = sign * (hours * 3600 + minutes * 60 + secs);
    return OkStatus();
  }

  Status ParseOffset(const char* field, int64_t& seconds_west) {
    // POSIX limits offsets to 24 hours, within RFC 8536's UT offset range.
    return ParseHms(field, 24, true, seconds_west);
  }

  Status ParseChange(const char* which, TimeZone::PosixRule::Change& change) {
    std::string label = std::string(which) + " rule";
    int64_t number = 0;
    change = {};
    if (!AtEnd() && Peek() == 'M') {
      ++pos_;
      int64_t week = 0, weekday = 0;
      if (!ParseNumber(2, number) || number < 1 || number > 12) return Fail(label + " needs a month from 1 to 12");
      if (!Skip('.') || !ParseNumber(1, week) || week < 1 || week > 5) {
        return Fail(label + " needs a week from 1 to 5 after the month");
      }
      if (!Skip('.') || !ParseNumber(1, weekday) || weekday > 6) {
        return Fail(label + " needs a weekday from 0 to 6 after the week");
      }
      change.month = static_cast<int>(number);
      change.week = static_cast<int>(week);
      change.weekday = static_cast<int>(weekday);
    } else if (!AtEnd() && Peek() == 'J') {
      ++pos_;
      if (!ParseNumber(3, number) || number < 1 || number > 365) return Fail(label + " needs a day from J1 to J365");
      change.julian = true;
      change.julian_skips_feb29 = true;
      change.day_of_year = static_cast<int>(number);
    } else {
      if (!ParseNumber(3, number) || number > 365) {
        return Fail(label + " must be Mm.w.d, Jn or a day from 0 to 365");
      }
      change.julian = true;
      change.day_of_year = static_cast<int>(number);
    }

    if (!AtEnd() && Peek() == '/') {
      ++pos_;
      bool extended = version_ >= 3;
      int64_t seconds = 0;
      MOAT_RETURN_IF_ERROR(ParseHms((label + " time").c_str(), extended ? 167 : 24, extended, seconds));
      change.time = static_cast<int32_t>(seconds);
    }
    return OkStatus();
  }

  std::string_view text_;
  int version_;
  size_t pos_ = 0;
};

// ---------------------------------------------------------------------------
// TZif parsing.

struct Header {
  int version = 1;
  uint32_t isutcnt = 0, isstdcnt = 0, leapcnt = 0, timecnt = 0, typecnt = 0, charcnt = 0;
};

struct LeapRecord {
  int64_t occurrence = 0;
  int32_t correction = 0;
};

class TzifParser {
 public:
  TzifParser(std::string_view label, std::string_view data) : label_(label), data_(data) {}

  StatusOr<std::shared_ptr<const TimeZone>> Parse(std::string name) {
    MOAT_ASSIGN_OR_RETURN(Header first, ReadHeader(0));
    size_t offset = kHeaderBytes;
    if (first.version == 1) {
      MOAT_RETURN_IF_ERROR(CheckCounts(first, 0));
      MOAT_RETURN_IF_ERROR(ReadData(first, offset, 4));
      offset += DataBytes(first, 4);
      if (offset != data_.size()) {
        return Error(offset, std::to_string(data_.size() - offset) + " unexpected bytes after the version 1 data");
      }
      return Build(std::move(name), {}, false);
    }

    // Version 2 and later repeat the data with 64-bit times, so the 32-bit
    // block is only checked to fit in the buffer and then skipped.
    uint64_t skipped = DataBytes(first, 4);
    if (skipped > data_.size() - offset) {
      return Error(offset, "the version 1 data block needs " + std::to_string(skipped) + " bytes but only " +
                               std::to_string(data_.size() - offset) + " remain");
    }
    offset += skipped;
    size_t second_offset = offset;
    MOAT_ASSIGN_OR_RETURN(Header second, ReadHeader(offset));
    if (second.version != first.version) {
      return Error(second_offset + 4, "the second header has version " + std::to_string(second.version) +
                                          " but the first has " + std::to_string(first.version));
    }
    offset += kHeaderBytes;
    MOAT_RETURN_IF_ERROR(CheckCounts(second, second_offset));
    MOAT_RETURN_IF_ERROR(ReadData(second, offset, 8));
    offset += DataBytes(second, 8);

    MOAT_ASSIGN_OR_RETURN(std::string_view footer, ReadFooter(offset));
    if (footer.empty()) return Build(std::move(name), {}, false);
    FooterParser parser(footer, second.version);
    StatusOr<TimeZone::PosixRule> rule = parser.Parse();
    if (!rule.ok()) return Error(offset + 1 + parser.error_offset(), rule.status().message());
    return Build(std::move(name), *rule, true);
  }

 private:
  Status Error(size_t offset, const std::string& problem) const {
    return DataLossError(std::string(label_) + ": invalid TZif data at byte offset " + std::to_string(offset) +
                         ": " + problem);
  }

  uint32_t GetUint32(size_t offset) const {
    uint32_t value = 0;
    for (size_t i = 0; i < 4; ++i) value = (value << 8) | static_cast<uint8_t>(data_[offset + i]);
    return value;
  }

  int64_t GetTime(size_t offset, int bytes) const {
    if (bytes == 4) return static_cast<int32_t>(GetUint32(offset));
    uint64_t value = (uint64_t{GetUint32(offset)} << 32) | GetUint32(offset + 4);
    return static_cast<int64_t>(value);
  }

  StatusOr<Header> ReadHeader(size_t offset) const {
    if (data_.size() - offset < kHeaderBytes) {
      return Error(offset, "the " + std::to_string(kHeaderBytes) + "-byte header needs more than the " +
                               std::to_string(data_.size() - offset) + " bytes left");
    }
    if (data_.substr(offset, 4) != kMagic) return Error(offset, "the magic bytes are not \"TZif\"");
    Header header;
    char version = data_[offset + 4];
    if (version == '\0') {
      header.version = 1;
    } else if (version >= '2' && version <= '4') {
      header.version = version - '0';
    } else {
      return Error(offset + 4, "unsupported version byte " + Quote(std::string_view(&data_[offset + 4], 1)) +
                                   ", expected NUL, '2', '3' or '4'");
    }
    size_t counts = offset + 20;
    header.isutcnt = GetUint32(counts);
    header.isstdcnt = GetUint32(counts + 4);
    header.leapcnt = GetUint32(counts + 8);
    header.timecnt = GetUint32(counts + 12);
    header.typecnt = GetUint32(counts + 16);
    header.charcnt = GetUint32(counts + 20);
    return header;
  }

  // Checks RFC 8536's rules for the header counts of the block that is read.
  Status CheckCounts(const Header& header, size_t offset) const {
    if (header.typecnt == 0) return Error(offset + 36, "typecnt is 0, but a zone needs at least one local time type");
    if (header.charcnt == 0) return Error(offset + 40, "charcnt is 0, but each time type needs a designation");
    if (header.isutcnt != 0 && header.isutcnt != header.typecnt) {
      return Error(offset + 20, "isutcnt is " + std::to_string(header.isutcnt) + ", expected 0 or typecnt " +
                                    std::to_string(header.typecnt));
    }
    if (header.isstdcnt != 0 && header.isstdcnt != header.typecnt) {
      return Error(offset + 24, "isstdcnt is " + std::to_string(header.isstdcnt) + ", expected 0 or typecnt " +
                                    std::to_string(header.typecnt));
    }
    return OkStatus();
  }

  // In 64-bit arithmetic, so that counts up to 2^32 - 1 cannot overflow.
  static uint64_t DataBytes(const Header& header, int time_bytes) {
    return uint64_t{header.timecnt} * static_cast<uint64_t>(time_bytes + 1) + uint64_t{header.typecnt} * 6 +
           header.charcnt + uint64_t{header.leapcnt} * static_cast<uint64_t>(time_bytes + 4) + header.isstdcnt +
           header.isutcnt;
  }

  Status ReadData(const Header& header, size_t offset, int time_bytes) {
    uint64_t needed = DataBytes(header, time_bytes);
    if (needed > data_.size() - offset) {
      return Error(offset, "the data block needs " + std::to_string(needed) + " bytes but only " +
                               std::to_string(data_.size() - offset) + " remain");
    }

    size_t times_at = offset;
    size_t types_at = times_at + size_t{header.timecnt} * static_cast<size_t>(time_bytes);
    size_t infos_at = types_at + header.timecnt;
    size_t chars_at = infos_at + size_t{header.typecnt} * 6;
    size_t leaps_at = chars_at + header.charcnt;
    size_t isstd_at = leaps_at + size_t{header.leapcnt} * static_cast<size_t>(time_bytes + 4);
    size_t isut_at = isstd_at + header.isstdcnt;

    transitions_.clear();
    transitions_.reserve(header.timecnt);
    for (uint32_t i = 0; i < header.timecnt; ++i) {
      size_t at = times_at + size_t{i} * static_cast<size_t>(time_bytes);
      TimeZone::Transition transition;
      transition.at = GetTime(at, time_bytes);
      if (i > 0 && transition.at <= transitions_.back().at) {
        return Error(at, "transition time " + std::to_string(transition.at) + " is not after the previous one, " +
                             std::to_string(transitions_.back().at));
      }
      auto type = static_cast<uint8_t>(data_[types_at + i]);
      if (type >= header.typecnt) {
        return Error(types_at + i, "transition type index " + std::to_string(type) + " is not below typecnt " +
                                       std::to_string(header.typecnt));
      }
      transition.type = type;
      transitions_.push_back(transition);
    }

    std::string_view designations = data_.substr(chars_at, header.charcnt);
    types_.clear();
    types_.reserve(header.typecnt);
    for (uint32_t i = 0; i < header.typecnt; ++i) {
      size_t at = infos_at + size_t{i} * 6;
      auto utc_offset = static_cast<int32_t>(GetUint32(at));
      if (utc_offset < kMinUtcOffset || utc_offset > kMaxUtcOffset) {
        return Error(at, "UT offset " + std::to_string(utc_offset) + " s of time type " + std::to_string(i) +
                             " is outside " + std::to_string(kMinUtcOffset) + " to " + std::to_string(kMaxUtcOffset));
      }
      auto is_dst = static_cast<uint8_t>(data_[at + 4]);
      if (is_dst > 1) {
        return Error(at + 4, "isdst of time type " + std::to_string(i) + " is " + std::to_string(is_dst) +
                                 ", expected 0 or 1");
      }
      auto designation = static_cast<uint8_t>(data_[at + 5]);
      if (designation >= header.charcnt || designations.find('\0', designation) == std::string_view::npos) {
        return Error(at + 5, "designation index " + std::to_string(designation) + " of time type " +
                                 std::to_string(i) + " does not start a NUL-terminated name within charcnt " +
                                 std::to_string(header.charcnt));
      }
      types_.push_back({utc_offset, is_dst == 1});
    }

    MOAT_RETURN_IF_ERROR(ReadLeapRecords(header, leaps_at, time_bytes));

    for (uint32_t i = 0; i < header.isstdcnt; ++i) {
      auto value = static_cast<uint8_t>(data_[isstd_at + i]);
      if (value > 1) {
        return Error(isstd_at + i, "standard/wall indicator " + std::to_string(i) + " is " + std::to_string(value) +
                                       ", expected 0 or 1");
      }
    }
    for (uint32_t i = 0; i < header.isutcnt; ++i) {
      auto value = static_cast<uint8_t>(data_[isut_at + i]);
      bool is_std = header.isstdcnt != 0 && data_[isstd_at + i] == 1;
      if (value > 1 || (value == 1 && !is_std)) {
        return Error(isut_at + i, "UT/local indicator " + std::to_string(i) + " is " + std::to_string(value) +
                                      ", expected 0, or 1 with the standard/wall indicator also 1");
      }
    }
    return OkStatus();
  }

  // Reads leap-second records, checked as RFC 8536 requires: occurrences
  // ascend at least 28 days apart and corrections change by exactly one
  // second. Version 4 (RFC 9636) also allows any first correction and a
  // last record that repeats the previous correction to mark an expiry date.
  Status ReadLeapRecords(const Header& header, size_t offset, int time_bytes) {
    leaps_.clear();
    leaps_.reserve(header.leapcnt);
    size_t record_bytes = static_cast<size_t>(time_bytes) + 4;
    for (uint32_t i = 0; i < header.leapcnt; ++i) {
      size_t at = offset + size_t{i} * record_bytes;
      LeapRecord record{GetTime(at, time_bytes), static_cast<int32_t>(GetUint32(at + static_cast<size_t>(time_bytes)))};
      if (i == 0) {
        if (header.version < 4 && record.occurrence < 0) {
          return Error(at, "the first leap second occurs at " + std::to_string(record.occurrence) +
                               ", before 1970");
        }
        if (header.version < 4 && record.correction != 1 && record.correction != -1) {
          return Error(at + static_cast<size_t>(time_bytes),
                       "the first leap second correction is " + std::to_string(record.correction) + ", expected 1 or -1");
        }
      } else {
        const LeapRecord& previous = leaps_.back();
        // The difference is taken unsigned because it may exceed int64_t.
        if (record.occurrence <= previous.occurrence ||
            static_cast<uint64_t>(record.occurrence) - static_cast<uint64_t>(previous.occurrence) <
                static_cast<uint64_t>(kMinLeapSpacing)) {
          return Error(at, "leap second at " + std::to_string(record.occurrence) + " is less than 28 days after " +
                               std::to_string(previous.occurrence));
        }
        int64_t step = int64_t{record.correction} - previous.correction;
        bool expiry = header.version >= 4 && i + 1 == header.leapcnt && step == 0;
        if (step != 1 && step != -1 && !expiry) {
          return Error(at + static_cast<size_t>(time_bytes),
                       "leap second correction " + std::to_string(record.correction) +
                           " differs from the previous one, " + std::to_string(previous.correction) +
                           ", by other than one second");
        }
      }
      leaps_.push_back(record);
    }
    return OkStatus();
  }

  StatusOr<std::string_view> ReadFooter(size_t offset) const {
    if (offset >= data_.size() || data_[offset] != '\n') {
      return Error(offset, "the footer does not start with a newline");
    }
    size_t end = data_.find('\n', offset + 1);
    if (end == std::string_view::npos) return Error(data_.size(), "the footer has no closing newline");
    if (end + 1 != data_.size()) {
      return Error(end + 1, std::to_string(data_.size() - end - 1) + " unexpected bytes after the footer");
    }
    return data_.substr(offset + 1, end - offset - 1);
  }

  StatusOr<std::shared_ptr<const TimeZone>> Build(std::string name, const TimeZone::PosixRule& footer,
                                                  bool has_footer) {
    // Files with leap seconds ("right/" zones) count transition times on a
    // scale that includes them; callers pass POSIX time, which does not.
    // Subtracting the correction in effect makes the transitions POSIX
    // times, so a leap second itself is folded into the second before it.
    if (!leaps_.empty()) {
      size_t leap = 0;
      int32_t correction = 0;
      for (TimeZone::Transition& transition : transitions_) {
        while (leap < leaps_.size() && leaps_[leap].occurrence <= transition.at) correction = leaps_[leap++].correction;
        // Saturates instead of overflowing for times near the int64_t ends.
        if (correction > 0 && transition.at < std::numeric_limits<int64_t>::min() + correction) {
          transition.at = std::numeric_limits<int64_t>::min();
        } else if (correction < 0 && transition.at > std::numeric_limits<int64_t>::max() + correction) {
          transition.at = std::numeric_limits<int64_t>::max();
        } else {
          transition.at -= correction;
        }
      }
    }
    if (has_footer) AppendFooterTransitions(footer, types_, transitions_);
    return std::make_shared<const TimeZone>(std::move(name), std::move(types_), std::move(transitions_), footer,
                                            has_footer);
  }

  std::string_view label_;
  std::string_view data_;
  std::vector<TimeZone::LocalType> types_;
  std::vector<TimeZone::Transition> transitions_;
  std::vector<LeapRecord> leaps_;
};

Status CheckZoneName(std::string_view name) {
  auto invalid = [&](const std::string& why) {
    return InvalidArgumentError("invalid time zone name " + Quote(name) + ": " + why +
                                "; use a tz database name such as \"Europe/Berlin\" or \"UTC\"");
  };
  if (name.empty()) return invalid("it is empty");
  if (name.size() > kMaxZoneNameBytes) return invalid("it is longer than " + std::to_string(kMaxZoneNameBytes) + " bytes");
  if (name.front() == '/') return invalid("it is an absolute path");
  if (name.find("..") != std::string_view::npos) return invalid("it contains \"..\"");
  if (name.find('\\') != std::string_view::npos) return invalid("it contains a backslash");
  for (char c : name) {
    bool allowed = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '/' ||
                   c == '_' || c == '+' || c == '-';
    if (!allowed) return invalid("it contains " + Quote(std::string_view(&c, 1)) + ", outside [A-Za-z0-9/_+-]");
  }
  if (name.back() == '/' || name.find("//") != std::string_view::npos) return invalid("it has an empty path component");
  return OkStatus();
}

}  // namespace

StatusOr<std::shared_ptr<const TimeZone>> TimeZone::Load(std::string_view name, const std::string& zoneinfo_dir) {
  MOAT_RETURN_IF_ERROR(CheckZoneName(name));
  std::filesystem::path path = std::filesystem::path(zoneinfo_dir) / std::string(name);

  // Debian's zoneinfo links many names ("UTC", "US/Eastern") to others, and
  // ReadFile does not follow symbolic links, so the link is resolved first.
  // The zone name alone cannot leave the folder; links inside it are the
  // administrator's.
  std::error_code error;
  std::filesystem::path resolved = std::filesystem::canonical(path, error);
  if (error == std::errc::no_such_file_or_directory || error == std::errc::not_a_directory) {
    return NotFoundError("time zone " + Quote(name) + " not found: no file " + path.string());
  }
  if (error) return FailedPreconditionError("time zone " + Quote(name) + ": cannot resolve " + path.string() + ": " + error.message());
  if (std::filesystem::is_directory(resolved, error)) {
    return NotFoundError("time zone " + Quote(name) + " not found: " + path.string() + " is a folder of zones");
  }

  MOAT_ASSIGN_OR_RETURN(std::string bytes, ReadFile(resolved.string(), kMaxZoneFileBytes));
  return TzifParser("time zone file " + path.string(), bytes).Parse(std::string(name));
}

StatusOr<std::shared_ptr<const TimeZone>> TimeZone::Parse(std::string_view name, std::string_view tzif) {
  return TzifParser("time zone " + Quote(name), tzif).Parse(std::string(name));
}

std::shared_ptr<const TimeZone> TimeZone::Utc() {
  static const std::shared_ptr<const TimeZone> utc =
      std::make_shared<const TimeZone>("UTC", std::vector<LocalType>{{0, false}}, std::vector<Transition>{},
                                       PosixRule{}, false);
  return utc;
}

LocalTime TimeZone::ToLocal(int64_t unix_seconds) const {
  unix_seconds = ClampSeconds(unix_seconds);
  int32_t offset = types_.front().utc_offset;
  if (transitions_.empty() || unix_seconds > transitions_.back().at) {
    // RFC 8536: the footer covers the time after the last transition, or all
    // time when there are none. Without a footer, the last transition's type
    // stays in effect.
    if (has_footer_) {
      offset = PosixOffsetAt(footer_, unix_seconds);
    } else if (!transitions_.empty()) {
      offset = types_[transitions_.back().type].utc_offset;
    }
  } else if (unix_seconds >= transitions_.front().at) {
    auto next = std::upper_bound(transitions_.begin(), transitions_.end(), unix_seconds,
                                 [](int64_t t, const Transition& transition) { return t < transition.at; });
    offset = types_[std::prev(next)->type].utc_offset;
  }
  // Before the first transition, time type 0 applies, as RFC 8536 specifies.
  // glibc 2.36 picks the first type without isdst instead. The two agree on
  // every zone the tests compare, because zic writes the earliest type,
  // standard time, as type 0.
  return CivilFromUnix(unix_seconds, offset);
}

LocalTime CivilFromUnix(int64_t unix_seconds, int32_t utc_offset) {
  int64_t local = ClampSeconds(ClampSeconds(unix_seconds) + utc_offset);
  int64_t days = FloorDiv(local, kSecondsPerDay);
  CivilDate date = CivilFromDays(days);
  LocalTime time;
  time.year = static_cast<int>(date.year);
  time.month = date.month;
  time.day = date.day;
  time.weekday = WeekdayFromDays(days);
  time.second_of_day = static_cast<int>(local - days * kSecondsPerDay);
  time.utc_offset = utc_offset;
  return time;
}

}  // namespace moat::policy
