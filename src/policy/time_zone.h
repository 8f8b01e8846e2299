// Named time zones read from the system's compiled tz database (TZif files
// under /usr/share/zoneinfo, Debian's tzdata), so that a policy can say
// "08:00 to 18:00 in Europe/Berlin" and stay right across daylight-saving
// changes. libstdc++ 12 has no std::chrono::tzdb, hence this reader.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace moat::policy {

// A civil time in some zone, as a rule's conditions see it.
struct LocalTime {
  int year = 1970;
  int month = 1;         // 1 to 12
  int day = 1;           // 1 to 31
  int weekday = 4;       // 0 Sunday to 6 Saturday (1970-01-01 was a Thursday)
  int second_of_day = 0; // 0 to 86399 (a leap second is folded into :59)
  int32_t utc_offset = 0;  // seconds east of UTC in effect at that instant
};

// Immutable once loaded; safe to share between threads.
class TimeZone {
 public:
  // Loads zone `name` ("Europe/Berlin", "UTC") from `zoneinfo_dir`.
  // INVALID_ARGUMENT naming the value for a name that is empty, absolute,
  // contains "..", a backslash or a byte outside [A-Za-z0-9/_+-] (so that a
  // policy cannot make the server read an arbitrary file); NOT_FOUND when
  // the file does not exist; DATA_LOSS naming the file and the offset of
  // the first bad byte when it is not a valid TZif file (versions 1 to 4);
  // RESOURCE_EXHAUSTED for a file over 1 MiB. Symbolic links inside
  // `zoneinfo_dir` ("UTC" to "Etc/UTC") are followed, and name() is `name`.
  static StatusOr<std::shared_ptr<const TimeZone>> Load(std::string_view name,
                                                        const std::string& zoneinfo_dir = "/usr/share/zoneinfo");

  // Parses TZif bytes; `name` is only for messages and name(). Version 1
  // files use the 32-bit data; later versions the 64-bit data and the
  // footer's POSIX TZ rule for instants after the last transition.
  static StatusOr<std::shared_ptr<const TimeZone>> Parse(std::string_view name, std::string_view tzif);

  // UTC itself, without reading a file.
  static std::shared_ptr<const TimeZone> Utc();

  const std::string& name() const { return name_; }

  // The civil time at `unix_seconds` (seconds since 1970-01-01T00:00:00Z,
  // may be negative). Never fails: instants outside the data use the
  // nearest known rule. Before the first transition, time type 0 applies
  // (RFC 8536). After the last one, the footer rule applies, or the last
  // transition's type when there is no footer. Instants beyond +-2^55 s
  // (about 1.1 billion years) are clamped to that range. Does not allocate.
  LocalTime ToLocal(int64_t unix_seconds) const;

  // Implementation state; public so that the parser in time_zone.cc can
  // build it. Transitions ascending; each names an index into `types`.
  struct LocalType {
    int32_t utc_offset = 0;
    bool is_dst = false;
  };
  struct Transition {
    int64_t at = 0;  // unix seconds
    uint8_t type = 0;
  };
  // A POSIX TZ rule such as "CET-1CEST,M3.5.0,M10.5.0/3" (the TZif footer).
  struct PosixRule {
    int32_t std_offset = 0;  // seconds east of UTC
    bool has_dst = false;
    int32_t dst_offset = 0;
    // Start and end of daylight time: month 1-12, week 1-5 (5 = last),
    // weekday 0-6, and the local time of the change in seconds (may be
    // negative or exceed 24 h, as POSIX allows).
    struct Change {
      int month = 0, week = 0, weekday = 0;
      int32_t time = 7200;
      bool julian = false;       // "Jn" or "n" forms: day of year instead
      bool julian_skips_feb29 = false;
      int day_of_year = 0;
    } start, end;
  };

  // Parse also appends the footer's changes through 2100 to `transitions`,
  // so that ToLocal finds them by binary search. A zone built directly
  // gives the same results, with the footer evaluated on each call.
  TimeZone(std::string name, std::vector<LocalType> types, std::vector<Transition> transitions,
           PosixRule footer, bool has_footer)
      : name_(std::move(name)), types_(std::move(types)), transitions_(std::move(transitions)),
        footer_(footer), has_footer_(has_footer) {}

 private:
  std::string name_;
  std::vector<LocalType> types_;  // never empty
  std::vector<Transition> transitions_;
  PosixRule footer_;
  bool has_footer_ = false;
};

// Splits unix seconds plus an offset into a civil date and time (proleptic
// Gregorian calendar). Exposed for tests and for the reference evaluator.
// Like ToLocal, it clamps instants to +-2^55 s so that the year fits in an
// int.
LocalTime CivilFromUnix(int64_t unix_seconds, int32_t utc_offset);

}  // namespace moat::policy
