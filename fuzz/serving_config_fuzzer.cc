// Feeds arbitrary bytes to the serving configuration parser, which must
// return a configuration or an error without crashing.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/serving_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  moat::StatusOr<moat::config::ServingConfig> config = moat::config::ParseServingConfig(text, "fuzz");
  if (config.ok()) {
    for (const std::string& name : config->ModelNames()) (void)config->For(name, 1);
  }
  return 0;
}
