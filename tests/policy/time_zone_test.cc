#include "policy/time_zone.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "common/file.h"

namespace moat::policy {
namespace {

constexpr char kZoneinfo[] = "/usr/share/zoneinfo";
constexpr int64_t kHour = 3600;
constexpr int64_t kDay = 86400;

int64_t UnixFromCivil(int year, int month, int day, int hour, int minute, int second) {
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  return static_cast<int64_t>(timegm(&tm));
}

std::string ReadZoneFile(const std::string& name) {
  StatusOr<std::string> bytes = ReadFile(std::filesystem::canonical(std::string(kZoneinfo) + "/" + name).string());
  EXPECT_TRUE(bytes.ok()) << bytes.status().ToString();
  return bytes.ok() ? *bytes : std::string();
}

std::shared_ptr<const TimeZone> LoadOrDie(const std::string& name) {
  StatusOr<std::shared_ptr<const TimeZone>> zone = TimeZone::Load(name);
  EXPECT_TRUE(zone.ok()) << zone.status().ToString();
  return zone.ok() ? *zone : TimeZone::Utc();
}

// Sets TZ for the C library's localtime_r and restores it afterwards. Tests
// only: the product never reads TZ.
class ScopedTz {
 public:
  explicit ScopedTz(const std::string& value) {
    if (const char* old = std::getenv("TZ")) old_ = old;
    ::setenv("TZ", value.c_str(), 1);
    ::tzset();
  }
  ~ScopedTz() {
    if (old_) {
      ::setenv("TZ", old_->c_str(), 1);
    } else {
      ::unsetenv("TZ");
    }
    ::tzset();
  }

 private:
  std::optional<std::string> old_;
};

LocalTime FromCLibrary(int64_t unix_seconds) {
  auto t = static_cast<time_t>(unix_seconds);
  std::tm tm{};
  localtime_r(&t, &tm);
  LocalTime local;
  local.year = tm.tm_year + 1900;
  local.month = tm.tm_mon + 1;
  local.day = tm.tm_mday;
  local.weekday = tm.tm_wday;
  local.second_of_day = tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
  local.utc_offset = static_cast<int32_t>(tm.tm_gmtoff);
  return local;
}

std::string Describe(const LocalTime& t) {
  std::ostringstream out;
  out << t.year << "-" << t.month << "-" << t.day << " wd" << t.weekday << " s" << t.second_of_day << " off"
      << t.utc_offset;
  return out.str();
}

// Returns the first difference from the C library at `unix_seconds`, or an
// empty string.
std::string CompareAt(const TimeZone& zone, int64_t unix_seconds) {
  std::string ours = Describe(zone.ToLocal(unix_seconds));
  std::string theirs = Describe(FromCLibrary(unix_seconds));
  if (ours == theirs) return "";
  return zone.name() + " at " + std::to_string(unix_seconds) + ": ours " + ours + ", C library " + theirs;
}

// Compares every hour from `first_year` to `last_year` (inclusive). Where
// the offset changes between two hours, the exact second of the change is
// found by bisection and both sides of it are compared as well.
int CompareHourly(const TimeZone& zone, int first_year, int last_year, std::vector<std::string>& failures) {
  int64_t begin = UnixFromCivil(first_year, 1, 1, 0, 0, 0);
  int64_t end = UnixFromCivil(last_year + 1, 1, 1, 0, 0, 0);
  int changes = 0;
  int32_t previous_offset = zone.ToLocal(begin).utc_offset;
  for (int64_t t = begin; t < end && failures.size() < 10; t += kHour) {
    std::string failure = CompareAt(zone, t);
    if (!failure.empty()) failures.push_back(failure);
    int32_t offset = zone.ToLocal(t).utc_offset;
    if (offset != previous_offset) {
      ++changes;
      int64_t low = t - kHour;  // old offset
      int64_t high = t;         // new offset
      while (high - low > 1) {
        int64_t middle = low + (high - low) / 2;
        (zone.ToLocal(middle).utc_offset == previous_offset ? low : high) = middle;
      }
      for (int64_t edge : {low, high}) {
        failure = CompareAt(zone, edge);
        if (!failure.empty()) failures.push_back(failure);
      }
      previous_offset = offset;
    }
  }
  return changes;
}

// TZif bytes for hand-made zones. Version 2 and later files get a 32-bit
// block with the same records, as zic writes them.
struct TzifSpec {
  char version = '2';
  struct Type {
    int32_t utc_offset;
    uint8_t is_dst;
    uint8_t designation;
  };
  std::vector<Type> types = {{0, 0, 0}};
  std::string designations = std::string("UTC\0", 4);
  std::vector<std::pair<int64_t, uint8_t>> transitions;
  std::vector<std::pair<int64_t, int32_t>> leaps;
  std::vector<uint8_t> is_std;
  std::vector<uint8_t> is_ut;
  std::string footer = "UTC0";
};

void PutBig(std::string& out, uint64_t value, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

void PutBlock(std::string& out, const TzifSpec& spec, char version, int time_bytes) {
  out += "TZif";
  out.push_back(version);
  out += std::string(15, '\0');
  PutBig(out, spec.is_ut.size(), 4);
  PutBig(out, spec.is_std.size(), 4);
  PutBig(out, spec.leaps.size(), 4);
  PutBig(out, spec.transitions.size(), 4);
  PutBig(out, spec.types.size(), 4);
  PutBig(out, spec.designations.size(), 4);
  for (const auto& [at, type] : spec.transitions) PutBig(out, static_cast<uint64_t>(at), time_bytes);
  for (const auto& [at, type] : spec.transitions) out.push_back(static_cast<char>(type));
  for (const TzifSpec::Type& type : spec.types) {
    PutBig(out, static_cast<uint32_t>(type.utc_offset), 4);
    out.push_back(static_cast<char>(type.is_dst));
    out.push_back(static_cast<char>(type.designation));
  }
  out += spec.designations;
  for (const auto& [at, correction] : spec.leaps) {
    PutBig(out, static_cast<uint64_t>(at), time_bytes);
    PutBig(out, static_cast<uint32_t>(correction), 4);
  }
  for (uint8_t value : spec.is_std) out.push_back(static_cast<char>(value));
  for (uint8_t value : spec.is_ut) out.push_back(static_cast<char>(value));
}

std::string BuildTzif(const TzifSpec& spec) {
  std::string out;
  if (spec.version == '\0') {
    PutBlock(out, spec, '\0', 4);
    return out;
  }
  PutBlock(out, spec, spec.version, 4);
  PutBlock(out, spec, spec.version, 8);
  out += "\n" + spec.footer + "\n";
  return out;
}

// A zone with no transitions whose footer alone decides every instant.
StatusOr<std::shared_ptr<const TimeZone>> FooterZone(const std::string& footer, char version = '3') {
  TzifSpec spec;
  spec.version = version;
  spec.footer = footer;
  return TimeZone::Parse("footer", BuildTzif(spec));
}

// The offset of the second header in a version 2+ file, which is where its
// version 1 part ends.
size_t EndOfVersion1Part(const std::string& bytes) {
  auto count = [&](size_t at) {
    return (uint32_t{static_cast<uint8_t>(bytes[at])} << 24) | (uint32_t{static_cast<uint8_t>(bytes[at + 1])} << 16) |
           (uint32_t{static_cast<uint8_t>(bytes[at + 2])} << 8) | uint32_t{static_cast<uint8_t>(bytes[at + 3])};
  };
  uint32_t isut = count(20), isstd = count(24), leap = count(28), time = count(32), type = count(36),
           chars = count(40);
  return 44 + time * 5 + type * 6 + chars + leap * 8 + isstd + isut;
}

// The fields of a LocalTime, for checking all of them in one call.
struct Civil {
  int year, month, day, weekday, second_of_day;
  int32_t utc_offset;
};

void ExpectCivil(const LocalTime& actual, const Civil& expected) {
  EXPECT_EQ(actual.year, expected.year);
  EXPECT_EQ(actual.month, expected.month);
  EXPECT_EQ(actual.day, expected.day);
  EXPECT_EQ(actual.weekday, expected.weekday);
  EXPECT_EQ(actual.second_of_day, expected.second_of_day);
  EXPECT_EQ(actual.utc_offset, expected.utc_offset);
}

void ExpectDataLoss(const std::string& bytes, const std::string& message_part) {
  StatusOr<std::shared_ptr<const TimeZone>> zone = TimeZone::Parse("Test/Zone", bytes);
  ASSERT_FALSE(zone.ok()) << "accepted; expected an error containing: " << message_part;
  EXPECT_EQ(zone.status().code(), StatusCode::kDataLoss) << zone.status().ToString();
  EXPECT_NE(zone.status().message().find(message_part), std::string::npos) << zone.status().ToString();
  EXPECT_NE(zone.status().message().find("Test/Zone"), std::string::npos) << zone.status().ToString();
  EXPECT_NE(zone.status().message().find("byte offset"), std::string::npos) << zone.status().ToString();
}

// ---------------------------------------------------------------------------
// Agreement with the C library (glibc reading the same files).

class CLibraryComparison : public ::testing::TestWithParam<const char*> {};

TEST_P(CLibraryComparison, MatchesEveryHour) {
  std::string name = GetParam();
  std::shared_ptr<const TimeZone> zone = LoadOrDie(name);
  ScopedTz tz(":" + name);
  std::vector<std::string> failures;
  int changes = CompareHourly(*zone, 2020, 2027, failures);
  // 2037 to 2045 lie past the last stored transition, so the footer rule
  // decides them.
  changes += CompareHourly(*zone, 2036, 2045, failures);
  for (const std::string& failure : failures) ADD_FAILURE() << failure;
  if (name == "UTC" || name == "Asia/Kolkata" || name == "America/Sao_Paulo") {
    EXPECT_EQ(changes, 0);
  } else {
    EXPECT_GE(changes, 2 * 17);
  }
}

TEST_P(CLibraryComparison, MatchesAcrossCenturies) {
  std::string name = GetParam();
  std::shared_ptr<const TimeZone> zone = LoadOrDie(name);
  ScopedTz tz(":" + name);
  std::vector<std::string> failures;
  // An odd step lands on every time of day and weekday over the run.
  int64_t end = UnixFromCivil(2200, 1, 1, 0, 0, 0);
  for (int64_t t = UnixFromCivil(1850, 1, 1, 0, 0, 0); t < end && failures.size() < 10; t += 3 * kDay + 4567) {
    std::string failure = CompareAt(*zone, t);
    if (!failure.empty()) failures.push_back(failure);
  }
  CompareHourly(*zone, 1940, 1950, failures);
  for (const std::string& failure : failures) ADD_FAILURE() << failure;
}

INSTANTIATE_TEST_SUITE_P(Zones, CLibraryComparison,
                         ::testing::Values("Europe/Berlin", "America/New_York", "Australia/Sydney",
                                           "Australia/Lord_Howe", "Asia/Kolkata", "Pacific/Chatham",
                                           "America/Sao_Paulo", "UTC"),
                         [](const ::testing::TestParamInfo<const char*>& param_info) {
                           std::string name = param_info.param;
                           for (char& c : name) {
                             if (c == '/') c = '_';
                           }
                           return name;
                         });

// Footers alone, compared with the C library reading the same POSIX TZ
// string. These rules keep their changes away from new year, where glibc
// 2.36 picks the rule's year by UTC rather than local time.
TEST(TimeZoneFooter, MatchesCLibraryRules) {
  for (const char* rule : {"CET-1CEST,M3.5.0,M10.5.0/3", "EST5EDT,M3.2.0,M11.1.0", "AEST-10AEDT,M10.1.0,M4.1.0/3",
                           "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0", "<+1245>-12:45<+1345>,M9.5.0/2:45,M4.1.0/3:45",
                           "IST-5:30", "<-03>3", "XXX-1YYY,J60/2,300/3", "XXX-1YYY,J59,59", "AAA+3BBB+1,M2.5.6/23:59:59,M11.4.1",
                           "WET0WEST,M3.5.0/1,M10.5.0", "NZST-12NZDT,M9.5.0,M4.1.0/3"}) {
    SCOPED_TRACE(rule);
    StatusOr<std::shared_ptr<const TimeZone>> zone = FooterZone(rule);
    ASSERT_TRUE(zone.ok()) << zone.status().ToString();
    ScopedTz tz(rule);
    std::vector<std::string> failures;
    CompareHourly(**zone, 2023, 2025, failures);
    CompareHourly(**zone, 1995, 1997, failures);
    for (const std::string& failure : failures) ADD_FAILURE() << failure;
  }
}

// ---------------------------------------------------------------------------
// Hand-checked instants.

TEST(TimeZoneBerlin, SpringForward2026) {
  std::shared_ptr<const TimeZone> berlin = LoadOrDie("Europe/Berlin");
  // 01:59:59 CET, then 03:00:00 CEST on Sunday 2026-03-29.
  ExpectCivil(berlin->ToLocal(UnixFromCivil(2026, 3, 29, 0, 59, 59)), {2026, 3, 29, 0, 1 * 3600 + 59 * 60 + 59, 3600});
  ExpectCivil(berlin->ToLocal(UnixFromCivil(2026, 3, 29, 1, 0, 0)), {2026, 3, 29, 0, 3 * 3600, 7200});
}

TEST(TimeZoneBerlin, FallBack2026) {
  std::shared_ptr<const TimeZone> berlin = LoadOrDie("Europe/Berlin");
  // 02:59:59 CEST, then 02:00:00 CET again on Sunday 2026-10-25.
  ExpectCivil(berlin->ToLocal(UnixFromCivil(2026, 10, 25, 0, 59, 59)),
              {2026, 10, 25, 0, 2 * 3600 + 59 * 60 + 59, 7200});
  ExpectCivil(berlin->ToLocal(UnixFromCivil(2026, 10, 25, 1, 0, 0)), {2026, 10, 25, 0, 2 * 3600, 3600});
}

TEST(TimeZoneBerlin, FooterYears) {
  std::shared_ptr<const TimeZone> berlin = LoadOrDie("Europe/Berlin");
  // 2044-03-27 and 2044-10-30 are the last Sundays of their months.
  EXPECT_EQ(berlin->ToLocal(UnixFromCivil(2044, 3, 27, 0, 59, 59)).utc_offset, 3600);
  EXPECT_EQ(berlin->ToLocal(UnixFromCivil(2044, 3, 27, 1, 0, 0)).utc_offset, 7200);
  EXPECT_EQ(berlin->ToLocal(UnixFromCivil(2044, 10, 30, 0, 59, 59)).utc_offset, 7200);
  EXPECT_EQ(berlin->ToLocal(UnixFromCivil(2044, 10, 30, 1, 0, 0)).utc_offset, 3600);
  // Far beyond the data, the footer still applies.
  EXPECT_EQ(berlin->ToLocal(UnixFromCivil(2400, 7, 1, 12, 0, 0)).utc_offset, 7200);
}

TEST(TimeZoneBerlin, MatchesCLibraryAroundYear2100) {
  // Footer changes are precomputed through 2100 and evaluated after it;
  // both must agree with the C library.
  for (const char* name : {"Europe/Berlin", "Australia/Sydney", "Pacific/Chatham"}) {
    std::shared_ptr<const TimeZone> zone = LoadOrDie(name);
    ScopedTz tz(std::string(":") + name);
    std::vector<std::string> failures;
    EXPECT_GE(CompareHourly(*zone, 2098, 2103, failures), 12) << name;
    for (const std::string& failure : failures) ADD_FAILURE() << failure;
  }
}

TEST(TimeZoneSouthern, DaylightTimeAcrossNewYear) {
  std::shared_ptr<const TimeZone> sydney = LoadOrDie("Australia/Sydney");
  // Past the stored data: 2043-12-31 and 2044-01-01 are both in AEDT.
  ExpectCivil(sydney->ToLocal(UnixFromCivil(2043, 12, 31, 13, 0, 0)), {2044, 1, 1, 5, 0, 11 * 3600});
  // Mid-year is standard time.
  EXPECT_EQ(sydney->ToLocal(UnixFromCivil(2044, 7, 1, 0, 0, 0)).utc_offset, 10 * 3600);

  std::shared_ptr<const TimeZone> lord_howe = LoadOrDie("Australia/Lord_Howe");
  EXPECT_EQ(lord_howe->ToLocal(UnixFromCivil(2044, 1, 1, 0, 0, 0)).utc_offset, 11 * 3600);
  EXPECT_EQ(lord_howe->ToLocal(UnixFromCivil(2044, 7, 1, 0, 0, 0)).utc_offset, 10 * 3600 + 1800);
}

TEST(TimeZoneFooter, ExtendedTimesInVersion3) {
  // Daylight time from the second Sunday of March at 01:00 less 2 hours,
  // that is Saturday 22:00 standard time, to the first Sunday of November
  // at 25:00 daylight time, Monday 01:00.
  StatusOr<std::shared_ptr<const TimeZone>> zone = FooterZone("<-03>3<-02>,M3.2.0/-2,M11.1.0/25");
  ASSERT_TRUE(zone.ok()) << zone.status().ToString();
  // 2030-03-09 is a Saturday; 22:00 at UTC-3 is 2030-03-10T01:00Z.
  EXPECT_EQ((*zone)->ToLocal(UnixFromCivil(2030, 3, 10, 0, 59, 59)).utc_offset, -3 * 3600);
  EXPECT_EQ((*zone)->ToLocal(UnixFromCivil(2030, 3, 10, 1, 0, 0)).utc_offset, -2 * 3600);
  // 2030-11-03 is a Sunday; Monday 01:00 at UTC-2 is 2030-11-04T03:00Z.
  EXPECT_EQ((*zone)->ToLocal(UnixFromCivil(2030, 11, 4, 2, 59, 59)).utc_offset, -2 * 3600);
  EXPECT_EQ((*zone)->ToLocal(UnixFromCivil(2030, 11, 4, 3, 0, 0)).utc_offset, -3 * 3600);

  StatusOr<std::shared_ptr<const TimeZone>> v2 = FooterZone("<-03>3<-02>,M3.2.0/-2,M11.1.0/25", '2');
  ASSERT_FALSE(v2.ok());
  EXPECT_EQ(v2.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(v2.status().message().find("must not be negative"), std::string::npos) << v2.status().ToString();

  StatusOr<std::shared_ptr<const TimeZone>> hours = FooterZone("AAA3BBB,M3.2.0/167,M11.1.0/-167");
  EXPECT_TRUE(hours.ok()) << hours.status().ToString();
  EXPECT_FALSE(FooterZone("AAA3BBB,M3.2.0/168,M11.1.0").ok());
}

TEST(TimeZoneFooter, DaylightTimeAllYear) {
  // zic's form for permanent daylight time: from January 1 00:00 standard
  // time to December 31 25:00 daylight time, which is the next start.
  StatusOr<std::shared_ptr<const TimeZone>> zone = FooterZone("EST5EDT,0/0,J365/25");
  ASSERT_TRUE(zone.ok()) << zone.status().ToString();
  for (int64_t t : {UnixFromCivil(2030, 1, 1, 4, 59, 59), UnixFromCivil(2030, 1, 1, 5, 0, 0),
                    UnixFromCivil(2030, 6, 1, 0, 0, 0), UnixFromCivil(2031, 1, 1, 4, 59, 59),
                    UnixFromCivil(2032, 1, 1, 5, 0, 0)}) {
    EXPECT_EQ((*zone)->ToLocal(t).utc_offset, -4 * 3600) << t;
  }
}

TEST(TimeZoneFooter, JulianDaysAroundLeapDay) {
  // "J60" is March 1 in every year; "59" (zero-based) is February 29 in a
  // leap year and March 1 otherwise.
  StatusOr<std::shared_ptr<const TimeZone>> julian = FooterZone("AAA0BBB,J60/0,J300/0");
  ASSERT_TRUE(julian.ok()) << julian.status().ToString();
  EXPECT_EQ((*julian)->ToLocal(UnixFromCivil(2028, 2, 29, 23, 59, 59)).utc_offset, 0);
  EXPECT_EQ((*julian)->ToLocal(UnixFromCivil(2028, 3, 1, 0, 0, 0)).utc_offset, 3600);

  StatusOr<std::shared_ptr<const TimeZone>> zero_based = FooterZone("AAA0BBB,59/0,300/0");
  ASSERT_TRUE(zero_based.ok()) << zero_based.status().ToString();
  EXPECT_EQ((*zero_based)->ToLocal(UnixFromCivil(2028, 2, 28, 23, 59, 59)).utc_offset, 0);
  EXPECT_EQ((*zero_based)->ToLocal(UnixFromCivil(2028, 2, 29, 0, 0, 0)).utc_offset, 3600);
  EXPECT_EQ((*zero_based)->ToLocal(UnixFromCivil(2027, 2, 28, 23, 59, 59)).utc_offset, 0);
  EXPECT_EQ((*zero_based)->ToLocal(UnixFromCivil(2027, 3, 1, 0, 0, 0)).utc_offset, 3600);
}

TEST(TimeZoneFooter, PrecomputedMatchesDirectRule) {
  // Parse precomputes the footer's changes; a zone constructed directly
  // evaluates the rule on each call. Both must agree at every hour.
  TzifSpec spec;
  spec.types = {{3600, 0, 0}};
  spec.designations = std::string("CET\0", 4);
  spec.transitions = {{UnixFromCivil(2000, 1, 1, 0, 0, 0), 0}};
  spec.footer = "CET-1CEST,M3.5.0,M10.5.0/3";
  StatusOr<std::shared_ptr<const TimeZone>> parsed = TimeZone::Parse("Test/Parsed", BuildTzif(spec));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();

  TimeZone::PosixRule rule;
  rule.std_offset = 3600;
  rule.has_dst = true;
  rule.dst_offset = 7200;
  rule.start = {3, 5, 0, 7200, false, false, 0};
  rule.end = {10, 5, 0, 3 * 3600, false, false, 0};
  TimeZone direct("Test/Direct", {{3600, false}}, {{UnixFromCivil(2000, 1, 1, 0, 0, 0), 0}}, rule, true);

  int64_t end = UnixFromCivil(2030, 1, 1, 0, 0, 0);
  int mismatches = 0;
  for (int64_t t = UnixFromCivil(1999, 1, 1, 0, 0, 0); t < end && mismatches < 10; t += kHour) {
    if (Describe((*parsed)->ToLocal(t)) != Describe(direct.ToLocal(t))) {
      ADD_FAILURE() << "at " << t << ": parsed " << Describe((*parsed)->ToLocal(t)) << ", direct "
                    << Describe(direct.ToLocal(t));
      ++mismatches;
    }
  }
  EXPECT_EQ(direct.ToLocal(UnixFromCivil(2026, 7, 1, 0, 0, 0)).utc_offset, 7200);
}

TEST(TimeZoneFooter, EmptyFooterKeepsLastType) {
  TzifSpec spec;
  spec.types = {{3600, 0, 0}, {7200, 1, 4}};
  spec.designations = std::string("AAA\0BBB\0", 8);
  spec.transitions = {{1000, 1}};
  spec.footer = "";
  StatusOr<std::shared_ptr<const TimeZone>> zone = TimeZone::Parse("Test/Empty", BuildTzif(spec));
  ASSERT_TRUE(zone.ok()) << zone.status().ToString();
  EXPECT_EQ((*zone)->ToLocal(999).utc_offset, 3600);
  EXPECT_EQ((*zone)->ToLocal(1000).utc_offset, 7200);
  EXPECT_EQ((*zone)->ToLocal(int64_t{1} << 40).utc_offset, 7200);
}

TEST(TimeZoneFooter, UsedForAllTimeWithoutTransitions) {
  StatusOr<std::shared_ptr<const TimeZone>> zone = FooterZone("<+03>-3");
  ASSERT_TRUE(zone.ok()) << zone.status().ToString();
  EXPECT_EQ((*zone)->ToLocal(-(int64_t{1} << 40)).utc_offset, 3 * 3600);
  EXPECT_EQ((*zone)->ToLocal(0).utc_offset, 3 * 3600);
  EXPECT_EQ((*zone)->ToLocal(int64_t{1} << 40).utc_offset, 3 * 3600);
}

TEST(TimeZoneFooter, BadRulesRejected) {
  for (const char* footer :
       {"UT0", "<UT>0", "<UTC0", "UTC", "UTC25", "UTC-25", "UTC1:60", "UTC1:00:60", "UTC+", "EST5EDT",
        "EST5EDT,M3.2.0", "EST5EDT,M13.2.0,M11.1.0", "EST5EDT,M0.2.0,M11.1.0", "EST5EDT,M3.6.0,M11.1.0",
        "EST5EDT,M3.0.0,M11.1.0", "EST5EDT,M3.2.7,M11.1.0", "EST5EDT,M3.2,M11.1.0", "EST5EDT,J0,J100",
        "EST5EDT,J366,J100", "EST5EDT,366,100", "EST5EDT,M3.2.0,M11.1.0,", "EST5EDT,M3.2.0,M11.1.0 ",
        "EST5EDT,M3.2.0/,M11.1.0", "EST5EDT,M3.2.0/1:2:3:4,M11.1.0", "EST5EDT;M3.2.0,M11.1.0", "EST5\tEDT",
        "EST 5"}) {
    SCOPED_TRACE(footer);
    StatusOr<std::shared_ptr<const TimeZone>> zone = FooterZone(footer);
    ASSERT_FALSE(zone.ok());
    EXPECT_EQ(zone.status().code(), StatusCode::kDataLoss);
    EXPECT_NE(zone.status().message().find("footer '"), std::string::npos) << zone.status().ToString();
  }
}

// ---------------------------------------------------------------------------
// File format: versions, leap seconds and every system zone.

TEST(TimeZoneFormat, Version1FileFromRealZone) {
  // The first part of a version 2 file, relabelled, is a complete version 1
  // file with 32-bit times that end in 2037.
  std::string bytes = ReadZoneFile("America/New_York");
  std::string v1 = bytes.substr(0, EndOfVersion1Part(bytes));
  v1[4] = '\0';
  StatusOr<std::shared_ptr<const TimeZone>> zone = TimeZone::Parse("America/New_York", v1);
  ASSERT_TRUE(zone.ok()) << zone.status().ToString();
  ScopedTz tz(":America/New_York");
  std::vector<std::string> failures;
  CompareHourly(**zone, 1970, 1972, failures);
  CompareHourly(**zone, 2030, 2036, failures);
  for (const std::string& failure : failures) ADD_FAILURE() << failure;
  // Without a footer the last type, EST, stays after 2037.
  EXPECT_EQ((*zone)->ToLocal(UnixFromCivil(2040, 7, 1, 0, 0, 0)).utc_offset, -5 * 3600);
}

TEST(TimeZoneFormat, Version1FileHandMade) {
  TzifSpec spec;
  spec.version = '\0';
  spec.types = {{-3600, 0, 0}, {1800, 1, 4}};
  spec.designations = std::string("AAA\0BBB\0", 8);
  spec.transitions = {{-100000, 1}, {500000, 0}};
  StatusOr<std::shared_ptr<const TimeZone>> zone = TimeZone::Parse("Test/V1", BuildTzif(spec));
  ASSERT_TRUE(zone.ok()) << zone.status().ToString();
  EXPECT_EQ((*zone)->ToLocal(-100001).utc_offset, -3600);
  EXPECT_EQ((*zone)->ToLocal(-100000).utc_offset, 1800);
  EXPECT_EQ((*zone)->ToLocal(499999).utc_offset, 1800);
  EXPECT_EQ((*zone)->ToLocal(500000).utc_offset, -3600);
  EXPECT_EQ((*zone)->name(), "Test/V1");

  std::string with_footer = BuildTzif(spec) + "\nUTC0\n";
  ExpectDataLoss(with_footer, "unexpected bytes after the version 1 data");
}

TEST(TimeZoneFormat, BeforeFirstTransitionUsesTypeZero) {
  TzifSpec spec;
  spec.types = {{1234, 0, 0}, {3600, 1, 4}, {0, 0, 0}};
  spec.designations = std::string("AAA\0BBB\0", 8);
  spec.transitions = {{0, 1}, {100, 2}};
  StatusOr<std::shared_ptr<const TimeZone>> zone = TimeZone::Parse("Test/First", BuildTzif(spec));
  ASSERT_TRUE(zone.ok()) << zone.status().ToString();
  EXPECT_EQ((*zone)->ToLocal(-1).utc_offset, 1234);
  EXPECT_EQ((*zone)->ToLocal(0).utc_offset, 3600);
  EXPECT_EQ((*zone)->ToLocal(99).utc_offset, 3600);
  EXPECT_EQ((*zone)->ToLocal(100).utc_offset, 0);
}

TEST(TimeZoneFormat, LeapSecondZoneMatchesPosixZone) {
  // "right/" zones count leap seconds in their transition times; for POSIX
  // input they must give the same civil times as the plain zone. The right
  // zone's data ends where its leap-second table expires (2026-06-28 in
  // Debian's tzdata 2025b) and its footer is empty, so the comparison stops
  // before that.
  std::shared_ptr<const TimeZone> plain = LoadOrDie("Europe/Berlin");
  std::shared_ptr<const TimeZone> right = LoadOrDie("right/Europe/Berlin");
  int64_t end = UnixFromCivil(2026, 6, 1, 0, 0, 0);
  int mismatches = 0;
  for (int64_t t = UnixFromCivil(1972, 1, 1, 0, 0, 0); t < end && mismatches < 10; t += kHour) {
    if (Describe(plain->ToLocal(t)) != Describe(right->ToLocal(t))) {
      ADD_FAILURE() << "at " << t << ": plain " << Describe(plain->ToLocal(t)) << ", right "
                    << Describe(right->ToLocal(t));
      ++mismatches;
    }
  }
}

TEST(TimeZoneFormat, Version4LeapExpiry) {
  TzifSpec spec;
  spec.version = '4';
  spec.leaps = {{78796800, 10}, {94694401, 11}, {126230402, 11}};
  EXPECT_TRUE(TimeZone::Parse("Test/V4", BuildTzif(spec)).ok());
  spec.version = '3';
  ExpectDataLoss(BuildTzif(spec), "the first leap second correction is 10");
  spec.leaps = {{78796800, 1}, {94694401, 2}, {126230402, 2}};
  ExpectDataLoss(BuildTzif(spec), "by other than one second");
  spec.leaps = {{78796800, 1}, {78796801, 2}};
  ExpectDataLoss(BuildTzif(spec), "less than 28 days after");
}

TEST(TimeZoneFormat, EverySystemZoneParses) {
  int parsed = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(kZoneinfo)) {
    if (!entry.is_regular_file() || entry.is_symlink()) continue;
    StatusOr<std::string> bytes = ReadFile(entry.path().string(), size_t{1} << 20);
    if (!bytes.ok() || bytes->substr(0, 4) != "TZif") continue;
    StatusOr<std::shared_ptr<const TimeZone>> zone = TimeZone::Parse(entry.path().string(), *bytes);
    EXPECT_TRUE(zone.ok()) << zone.status().ToString();
    ++parsed;
  }
  EXPECT_GT(parsed, 300);
}

// ---------------------------------------------------------------------------
// Broken files.

TEST(TimeZoneCorrupt, TruncatedAtEveryLength) {
  for (const char* name : {"Europe/Berlin", "Australia/Lord_Howe", "UTC"}) {
    std::string bytes = ReadZoneFile(name);
    for (size_t length = 0; length < bytes.size(); ++length) {
      StatusOr<std::shared_ptr<const TimeZone>> zone = TimeZone::Parse(name, bytes.substr(0, length));
      ASSERT_FALSE(zone.ok()) << name << " accepted at length " << length;
      ASSERT_EQ(zone.status().code(), StatusCode::kDataLoss) << zone.status().ToString();
    }
    EXPECT_TRUE(TimeZone::Parse(name, bytes).ok());
  }
}

TEST(TimeZoneCorrupt, EveryByteFlipped) {
  for (const char* name : {"Europe/Berlin", "Pacific/Chatham"}) {
    std::string bytes = ReadZoneFile(name);
    int rejected = 0;
    for (size_t i = 0; i < bytes.size(); ++i) {
      for (uint8_t pattern : {0xFF, 0x01, 0x80}) {
        std::string corrupted = bytes;
        corrupted[i] = static_cast<char>(static_cast<uint8_t>(corrupted[i]) ^ pattern);
        StatusOr<std::shared_ptr<const TimeZone>> zone = TimeZone::Parse(name, corrupted);
        if (!zone.ok()) {
          ASSERT_EQ(zone.status().code(), StatusCode::kDataLoss) << zone.status().ToString();
          ++rejected;
          continue;
        }
        // Whatever is accepted must still convert without failing.
        for (int64_t t : {std::numeric_limits<int64_t>::min(), int64_t{-1} << 40, int64_t{0},
                          int64_t{1800000000}, int64_t{2500000000}, std::numeric_limits<int64_t>::max()}) {
          LocalTime local = (*zone)->ToLocal(t);
          ASSERT_GE(local.second_of_day, 0);
          ASSERT_LT(local.second_of_day, 86400);
        }
      }
    }
    EXPECT_GT(rejected, 0) << name;
  }
}

TEST(TimeZoneCorrupt, HandMadeErrors) {
  TzifSpec good;
  good.types = {{3600, 0, 0}, {7200, 1, 4}};
  good.designations = std::string("AAA\0BBB\0", 8);
  good.transitions = {{100, 1}, {200, 0}};
  good.is_std = {0, 1};
  good.is_ut = {0, 1};
  good.footer = "AAA-1";
  ASSERT_TRUE(TimeZone::Parse("Test/Zone", BuildTzif(good)).ok());

  std::string bytes = BuildTzif(good);
  bytes[0] = 'X';
  ExpectDataLoss(bytes, "magic");

  bytes = BuildTzif(good);
  bytes[4] = '5';
  ExpectDataLoss(bytes, "unsupported version byte '5'");

  TzifSpec spec = good;
  spec.transitions = {{200, 1}, {200, 0}};
  ExpectDataLoss(BuildTzif(spec), "is not after the previous one");

  spec = good;
  spec.transitions = {{100, 1}, {200, 2}};
  ExpectDataLoss(BuildTzif(spec), "transition type index 2 is not below typecnt 2");

  spec = good;
  spec.types[1].utc_offset = 93600;
  ExpectDataLoss(BuildTzif(spec), "UT offset 93600");
  spec.types[1].utc_offset = -90000;
  ExpectDataLoss(BuildTzif(spec), "UT offset -90000");
  spec.types[1].utc_offset = 93599;
  EXPECT_TRUE(TimeZone::Parse("Test/Zone", BuildTzif(spec)).ok());

  spec = good;
  spec.types[1].is_dst = 2;
  ExpectDataLoss(BuildTzif(spec), "isdst of time type 1 is 2");

  spec = good;
  spec.types[1].designation = 8;
  ExpectDataLoss(BuildTzif(spec), "designation index 8");
  spec = good;
  spec.designations = std::string("AAA\0BBB", 7);
  ExpectDataLoss(BuildTzif(spec), "designation index 4");

  spec = good;
  spec.types.clear();
  spec.transitions.clear();
  spec.is_std.clear();
  spec.is_ut.clear();
  ExpectDataLoss(BuildTzif(spec), "typecnt is 0");

  spec = good;
  spec.designations.clear();
  spec.types = {{0, 0, 0}};
  spec.transitions.clear();
  spec.is_std.clear();
  spec.is_ut.clear();
  ExpectDataLoss(BuildTzif(spec), "charcnt is 0");

  spec = good;
  spec.is_ut = {1};
  ExpectDataLoss(BuildTzif(spec), "isutcnt is 1");
  spec = good;
  spec.is_std = {0, 0, 0};
  ExpectDataLoss(BuildTzif(spec), "isstdcnt is 3");
  spec = good;
  spec.is_std = {0, 2};
  ExpectDataLoss(BuildTzif(spec), "standard/wall indicator 1 is 2");
  spec = good;
  spec.is_std = {1, 0};
  ExpectDataLoss(BuildTzif(spec), "UT/local indicator 1 is 1");

  bytes = BuildTzif(good) + "x";
  ExpectDataLoss(bytes, "1 unexpected bytes after the footer");
  bytes = BuildTzif(good);
  bytes.pop_back();
  ExpectDataLoss(bytes, "no closing newline");
  bytes = BuildTzif(good);
  bytes[bytes.size() - 7] = ' ';
  ExpectDataLoss(bytes, "does not start with a newline");

  // A second header that disagrees with the first.
  bytes = BuildTzif(good);
  bytes[EndOfVersion1Part(bytes) + 4] = '3';
  ExpectDataLoss(bytes, "the second header has version 3");

  // Counts far beyond the data must fail on size, not read past the end.
  bytes = BuildTzif(good);
  for (size_t at : {size_t{32}, EndOfVersion1Part(bytes) + 32}) {
    std::string huge = bytes;
    huge[at] = '\xFF';
    huge[at + 1] = '\xFF';
    huge[at + 2] = '\xFF';
    huge[at + 3] = '\xFF';
    ExpectDataLoss(huge, "bytes but only");
  }
}

// ---------------------------------------------------------------------------
// Loading by name.

TEST(TimeZoneLoad, RejectsUnsafeNames) {
  for (std::string name : {std::string("../etc/passwd"), std::string("/etc/localtime"), std::string("Europe\\Berlin"),
                           std::string(""), std::string("Europe/Berlin\0x", 15), std::string("Europe/../UTC"),
                           std::string("Europe/Ber lin"), std::string("Europe//Berlin"), std::string("Europe/"),
                           std::string("zone.tab"), std::string(300, 'A')}) {
    StatusOr<std::shared_ptr<const TimeZone>> zone = TimeZone::Load(name);
    ASSERT_FALSE(zone.ok()) << name;
    EXPECT_EQ(zone.status().code(), StatusCode::kInvalidArgument) << zone.status().ToString();
    EXPECT_NE(zone.status().message().find("invalid time zone name"), std::string::npos);
  }
  StatusOr<std::shared_ptr<const TimeZone>> nul = TimeZone::Load(std::string("UTC\0", 4));
  ASSERT_FALSE(nul.ok());
  EXPECT_NE(nul.status().message().find("\\x00"), std::string::npos) << nul.status().ToString();
}

TEST(TimeZoneLoad, MissingZoneNotFound) {
  for (const char* name : {"Europe/Atlantis", "Mars/Olympus_Mons", "UTC/Extra", "Europe"}) {
    StatusOr<std::shared_ptr<const TimeZone>> zone = TimeZone::Load(name);
    ASSERT_FALSE(zone.ok()) << name;
    EXPECT_EQ(zone.status().code(), StatusCode::kNotFound) << zone.status().ToString();
    EXPECT_NE(zone.status().message().find(name), std::string::npos) << zone.status().ToString();
  }
}

TEST(TimeZoneLoad, FollowsLinksAndKeepsName) {
  std::shared_ptr<const TimeZone> utc = LoadOrDie("UTC");  // a link to Etc/UTC on Debian
  EXPECT_EQ(utc->name(), "UTC");
  EXPECT_EQ(utc->ToLocal(1700000000).utc_offset, 0);
  std::shared_ptr<const TimeZone> kolkata = LoadOrDie("Asia/Kolkata");
  EXPECT_EQ(kolkata->ToLocal(1700000000).utc_offset, 5 * 3600 + 1800);
}

class TimeZoneLoadDir : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("moat_tz_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_ / "Test");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void Write(const std::string& name, const std::string& bytes) {
    std::ofstream(dir_ / name, std::ios::binary) << bytes;
  }

  std::filesystem::path dir_;
};

TEST_F(TimeZoneLoadDir, CorruptFileNamesPathAndOffset) {
  TzifSpec spec;
  spec.types = {{3600, 0, 0}, {7200, 1, 4}};
  spec.designations = std::string("AAA\0BBB\0", 8);
  spec.transitions = {{100, 1}, {50, 0}};
  std::string bytes = BuildTzif(spec);
  Write("Test/Broken", bytes);
  // The second transition time of the 64-bit block, after its 44-byte header.
  std::string offset = "byte offset " + std::to_string(EndOfVersion1Part(bytes) + 44 + 8) + ":";
  StatusOr<std::shared_ptr<const TimeZone>> zone = TimeZone::Load("Test/Broken", dir_.string());
  ASSERT_FALSE(zone.ok());
  EXPECT_EQ(zone.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(zone.status().message().find((dir_ / "Test/Broken").string()), std::string::npos)
      << zone.status().ToString();
  EXPECT_NE(zone.status().message().find(offset), std::string::npos) << zone.status().ToString();
}

TEST_F(TimeZoneLoadDir, LinkInsideFolderAndSizeLimit) {
  TzifSpec spec;
  spec.footer = "<+03>-3";
  Write("Test/Real", BuildTzif(spec));
  std::filesystem::create_symlink("Real", dir_ / "Test/Alias");
  StatusOr<std::shared_ptr<const TimeZone>> alias = TimeZone::Load("Test/Alias", dir_.string());
  ASSERT_TRUE(alias.ok()) << alias.status().ToString();
  EXPECT_EQ((*alias)->name(), "Test/Alias");
  EXPECT_EQ((*alias)->ToLocal(0).utc_offset, 3 * 3600);

  Write("Test/Huge", std::string((size_t{1} << 20) + 1, 'x'));
  StatusOr<std::shared_ptr<const TimeZone>> huge = TimeZone::Load("Test/Huge", dir_.string());
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(huge.status().code(), StatusCode::kResourceExhausted) << huge.status().ToString();
}

// ---------------------------------------------------------------------------
// Civil time arithmetic.

TEST(CivilFromUnix, KnownDates) {
  ExpectCivil(CivilFromUnix(0, 0), {1970, 1, 1, 4, 0, 0});
  ExpectCivil(CivilFromUnix(-1, 0), {1969, 12, 31, 3, 86399, 0});
  ExpectCivil(CivilFromUnix(951782400, 0), {2000, 2, 29, 2, 0, 0});      // a Tuesday
  ExpectCivil(CivilFromUnix(-62135596800, 0), {1, 1, 1, 1, 0, 0});       // a Monday
  ExpectCivil(CivilFromUnix(-62135596801, 0), {0, 12, 31, 0, 86399, 0});  // year 0, a leap year
  // The offset moves the date: 23:30Z at +01:00 is 00:30 the next day.
  ExpectCivil(CivilFromUnix(UnixFromCivil(2025, 12, 31, 23, 30, 0), 3600), {2026, 1, 1, 4, 1800, 3600});
  ExpectCivil(CivilFromUnix(UnixFromCivil(2026, 1, 1, 0, 30, 0), -3600), {2025, 12, 31, 3, 84600, -3600});
}

TEST(CivilFromUnix, EveryDayMatchesCounting) {
  // Walks the calendar one day at a time from 1600-01-01 (a Saturday) to
  // 2400 and checks each day's noon, so that every era boundary and both
  // kinds of century year are crossed.
  int year = 1600, month = 1, day = 1, weekday = 6;
  int64_t t = UnixFromCivil(1600, 1, 1, 12, 0, 0);
  auto days_in = [](int y, int m) {
    static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : kDays[m - 1];
  };
  while (year < 2400) {
    LocalTime local = CivilFromUnix(t, 0);
    ASSERT_EQ(local.year, year) << t;
    ASSERT_EQ(local.month, month) << t;
    ASSERT_EQ(local.day, day) << t;
    ASSERT_EQ(local.weekday, weekday) << t;
    ASSERT_EQ(local.second_of_day, 43200) << t;
    t += kDay;
    weekday = (weekday + 1) % 7;
    if (++day > days_in(year, month)) {
      day = 1;
      if (++month > 12) {
        month = 1;
        ++year;
      }
    }
  }
}

TEST(CivilFromUnix, ExtremesDoNotOverflow) {
  for (int64_t t : {std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(), int64_t{1} << 55,
                    -(int64_t{1} << 55)}) {
    for (int32_t offset : {-89999, 0, 93599}) {
      LocalTime local = CivilFromUnix(t, offset);
      EXPECT_GE(local.month, 1);
      EXPECT_LE(local.month, 12);
      EXPECT_GE(local.day, 1);
      EXPECT_LE(local.day, 31);
      EXPECT_GE(local.weekday, 0);
      EXPECT_LE(local.weekday, 6);
      EXPECT_GE(local.second_of_day, 0);
      EXPECT_LT(local.second_of_day, 86400);
      EXPECT_EQ(t > 0, local.year > 1000000) << t;
    }
  }
}

TEST(TimeZoneUtc, WithoutFile) {
  std::shared_ptr<const TimeZone> utc = TimeZone::Utc();
  EXPECT_EQ(utc->name(), "UTC");
  EXPECT_EQ(utc, TimeZone::Utc());
  ExpectCivil(utc->ToLocal(UnixFromCivil(2026, 12, 5, 7, 30, 15)), {2026, 12, 5, 6, 7 * 3600 + 30 * 60 + 15, 0});
}

int64_t ThreadCpuNanoseconds() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return int64_t{now.tv_sec} * 1000000000 + now.tv_nsec;
}

// Prints the cost of ToLocal for a zone with transitions and for one past
// them (footer rule); the numbers are for the reader, not checked.
TEST(TimeZonePerformance, ToLocalCost) {
  std::shared_ptr<const TimeZone> berlin = LoadOrDie("Europe/Berlin");
  // 2026: stored transitions; 2040: changes precomputed from the footer;
  // 2300: the footer rule evaluated on each call.
  for (int64_t start : {UnixFromCivil(2026, 1, 1, 0, 0, 0), UnixFromCivil(2040, 1, 1, 0, 0, 0),
                        UnixFromCivil(2300, 1, 1, 0, 0, 0)}) {
    constexpr int kCalls = 1000000;
    int64_t checksum = 0;
    // Thread CPU time, so that other processes on a busy machine do not
    // count.
    int64_t begin = ThreadCpuNanoseconds();
    for (int i = 0; i < kCalls; ++i) checksum += berlin->ToLocal(start + int64_t{i} * 631).second_of_day;
    double ns = static_cast<double>(ThreadCpuNanoseconds() - begin) / kCalls;
    std::cout << "ToLocal(Europe/Berlin) from " << start << ": " << ns << " ns per call (checksum " << checksum
              << ")\n";
    EXPECT_GT(checksum, 0);
  }
}

}  // namespace
}  // namespace moat::policy
