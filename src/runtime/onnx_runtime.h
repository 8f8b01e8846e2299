// The ONNX Runtime backend (CPU).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "runtime/backend.h"

namespace moat::runtime {

struct OnnxRuntimeOptions {
  // Threads of the one intra-op pool that all sessions share; 0 means one per
  // core this process may run on. Sessions share the pool, so loading more
  // models never multiplies threads.
  int intra_op_threads = 0;
  int inter_op_threads = 1;
  // Whether idle intra-op threads spin before sleeping. Spinning shortens the
  // start of the next parallel section but takes cores from the threads that
  // parse requests and send responses, so the server turns it off by default.
  bool allow_spinning = false;
};

// Creates the process-wide ONNX Runtime environment. Call once, before any
// model is loaded; later calls with other options return FAILED_PRECONDITION.
// Without a call, the first load uses the defaults. Sets
// ORT_DISABLE_TELEMETRY=1 first if it is unset, because the official builds
// otherwise start a telemetry uploader when the environment is created.
Status InitOnnxRuntime(const OnnxRuntimeOptions& options);

// The ONNX Runtime library version, for example "1.29.0".
std::string OnnxRuntimeVersion();

// Number of intra-op threads of the shared pool (after InitOnnxRuntime or the first load).
int OnnxIntraOpThreads();

// The thread settings of one model's session.
struct SessionOptions {
  // Threads of an intra-op pool that this session owns and that every
  // instance running on it shares. 0 runs the session on the shared pool of
  // InitOnnxRuntime. Idle threads spin only with OnnxRuntimeOptions::allow_spinning.
  int intra_op_threads = 0;
};

// Loads a model from the bytes in memory. The session is built from exactly
// these bytes, never from a path, so what runs is what was verified. The
// first overload runs the session on the shared pool.
StatusOr<std::unique_ptr<ModelInstance>> LoadOnnxModel(std::shared_ptr<const std::string> model_bytes,
                                                       const std::string& model_label);
StatusOr<std::unique_ptr<ModelInstance>> LoadOnnxModel(std::shared_ptr<const std::string> model_bytes,
                                                       const std::string& model_label,
                                                       const SessionOptions& session_options);

// Reads the inputs and outputs a model declares, without optimising it.
StatusOr<ModelSignature> InspectOnnxModel(std::string_view model_bytes);

}  // namespace moat::runtime
