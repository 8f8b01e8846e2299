// Feeds arbitrary bytes to TimeZone::Parse. A rejected input must be
// DATA_LOSS; an accepted zone must convert every instant, including the
// extremes of int64_t, to a valid civil time that matches CivilFromUnix
// with the offset ToLocal reports.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string_view>

#include "policy/time_zone.h"

namespace {

void CheckInstant(const moat::policy::TimeZone& zone, int64_t unix_seconds) {
  moat::policy::LocalTime local = zone.ToLocal(unix_seconds);
  // RFC 8536's UT offset range, which the parser enforces for types and
  // footer offsets alike.
  if (local.utc_offset < -89999 || local.utc_offset > 93599) std::abort();
  if (local.month < 1 || local.month > 12 || local.day < 1 || local.day > 31) std::abort();
  if (local.weekday < 0 || local.weekday > 6) std::abort();
  if (local.second_of_day < 0 || local.second_of_day > 86399) std::abort();
  moat::policy::LocalTime civil = moat::policy::CivilFromUnix(unix_seconds, local.utc_offset);
  if (civil.year != local.year || civil.month != local.month || civil.day != local.day ||
      civil.weekday != local.weekday || civil.second_of_day != local.second_of_day) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  moat::StatusOr<std::shared_ptr<const moat::policy::TimeZone>> zone = moat::policy::TimeZone::Parse("fuzz", bytes);
  if (!zone.ok()) {
    if (zone.status().code() != moat::StatusCode::kDataLoss) std::abort();
    return 0;
  }

  const moat::policy::TimeZone& parsed = **zone;
  for (int64_t t : {std::numeric_limits<int64_t>::min(), int64_t{-1} << 59, int64_t{-2208988800}, int64_t{-1},
                    int64_t{0}, int64_t{1774746000}, int64_t{1792890000}, int64_t{2147483647},
                    int64_t{4102444800}, int64_t{1} << 40, std::numeric_limits<int64_t>::max()}) {
    CheckInstant(parsed, t);
  }
  // Instants taken from the input itself often land on its own transition
  // times, where off-by-one mistakes show.
  for (size_t at = 44; at + 8 <= size && at < 44 + 8 * 16; at += 8) {
    uint64_t value = 0;
    std::memcpy(&value, data + at, sizeof value);
    int64_t t = static_cast<int64_t>(__builtin_bswap64(value));
    CheckInstant(parsed, t);
    if (t != std::numeric_limits<int64_t>::min()) CheckInstant(parsed, t - 1);
  }
  return 0;
}
