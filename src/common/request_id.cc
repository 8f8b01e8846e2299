#include "common/request_id.h"

#include <fmt/format.h>

#include <random>

namespace moat {

RequestIdGenerator::RequestIdGenerator() {
  std::random_device device;
  uint64_t prefix = (static_cast<uint64_t>(device()) << 32) | device();
  prefix_ = fmt::format("{:016x}", prefix);
}

std::string RequestIdGenerator::Next() {
  return fmt::format("{}-{}", prefix_, counter_.fetch_add(1, std::memory_order_relaxed) + 1);
}

}  // namespace moat
