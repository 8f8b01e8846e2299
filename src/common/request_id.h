// Request ids for requests whose client sent no "id".
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace moat {

// Generates ids of the form "<16 hex digits>-<counter>": a random 64-bit
// prefix drawn once per generator, then a counter. Ids from one generator
// never repeat. Thread-safe.
class RequestIdGenerator {
 public:
  RequestIdGenerator();

  std::string Next();

 private:
  std::string prefix_;
  std::atomic<uint64_t> counter_{0};
};

}  // namespace moat
