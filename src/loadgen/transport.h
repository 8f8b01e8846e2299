// The interface between the measurement engine and a protocol. The engine
// times calls to Transport::Infer and does not depend on the wire format.
#pragma once

#include <memory>

#include "common/status.h"

namespace moat::loadgen {

// One connection (or channel, or in-process handle) used by one worker thread
// at a time. Not required to be thread-safe.
class Transport {
 public:
  virtual ~Transport() = default;

  // Sends one inference request prepared at creation and waits for the whole
  // response. Returns the request's error status, which the engine counts.
  virtual Status Infer() = 0;
};

// Makes one Transport per worker thread. Create is called from one thread
// before a step's workers start.
class TransportFactory {
 public:
  virtual ~TransportFactory() = default;

  // `worker` numbers the workers of a step from 0. Errors end the step: the
  // transport could not be set up (server unreachable, shared memory failure).
  virtual StatusOr<std::unique_ptr<Transport>> Create(int worker) = 0;
};

}  // namespace moat::loadgen
