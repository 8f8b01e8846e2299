// The interface every runtime (ONNX Runtime now, others later) sits behind.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"
#include "core/tensor.h"

namespace moat::runtime {

// The inputs and outputs a loaded model declares, in the model's order.
struct ModelSignature {
  std::vector<TensorSpec> inputs;
  std::vector<TensorSpec> outputs;
};

// A loaded model ready to run. Execute is thread-safe: the server calls it
// from several worker threads at once.
class ModelInstance {
 public:
  virtual ~ModelInstance() = default;

  virtual const ModelSignature& signature() const = 0;

  // Runs the model. REQUIRES: `inputs` name each model input once, with the
  // declared datatype, a matching shape and a byte size that fits the shape
  // (the caller validates). Returns `output_names` in that order; their data
  // stays valid as long as the returned tensors (their `owner`) live.
  virtual StatusOr<std::vector<Tensor>> Execute(std::span<const Tensor> inputs,
                                                std::span<const std::string> output_names) = 0;
};

}  // namespace moat::runtime
