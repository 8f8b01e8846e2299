// Transports that run inside the load tool's own process, with no network:
//  - "onnxruntime": a model file run directly on ONNX Runtime, the baseline
//    that a server's throughput is compared against;
//  - "capi": Moat's C API (libmoat.so.1), loaded at run time, so the whole
//    in-process request path (verification at start, validation, scheduler,
//    audit) is measured without a transport.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "core/inference.h"
#include "loadgen/transport.h"

namespace moat::loadgen {

struct OnnxFileTarget {
  std::string model_file;
  // Threads of ONNX Runtime's one intra-op pool; 0 means one per usable
  // core, as `moat serve` chooses by default.
  int intra_op_threads = 0;
};

// Loads the model file on ONNX Runtime (global thread pool, spinning off,
// full graph optimisation: the settings `moat serve` uses) and returns its
// signature as metadata named after the file. Errors: the file cannot be
// read, or ONNX Runtime rejects it.
StatusOr<ModelMetadata> InspectOnnxFile(const OnnxFileTarget& target);

// Makes transports that all run `inputs` on one session of the model file,
// each worker calling it directly. Every output is fetched.
StatusOr<std::unique_ptr<TransportFactory>> MakeOnnxRuntimeTransportFactory(const OnnxFileTarget& target,
                                                                            std::vector<Tensor> inputs);

struct CapiTarget {
  // libmoat.so.1 to load; empty means the one beside the running executable,
  // then the dynamic loader's search path.
  std::string library;
  std::string repository_dir;
  std::string trust_dir;
  std::string audit_dir;
  bool audit_sync = true;
  int intra_op_threads = 0;
  std::string model;
  int64_t version = 0;  // 0: the latest version the runtime serves
};

// Reads the inputs and outputs from the manifest of the model's bundle in
// the repository (the highest version folder when target.version is 0). The
// manifest is only parsed here; the C API verifies the bundle when it opens.
StatusOr<ModelMetadata> ReadBundleMetadata(const CapiTarget& target);

// Loads the library, opens one runtime for the whole run, and makes
// transports that each hold their own request over `inputs`. Errors: the
// library or one of its functions cannot be found, or its ABI version
// differs, or the runtime does not open (with the C API's message).
StatusOr<std::unique_ptr<TransportFactory>> MakeCapiTransportFactory(const CapiTarget& target,
                                                                     std::vector<Tensor> inputs);

}  // namespace moat::loadgen
