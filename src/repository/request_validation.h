// Checks an inference request against a model's signed manifest before it
// reaches a runtime, so every front end gets the same checks and messages.
#pragma once

#include <string>
#include <vector>

#include "bundle/manifest.h"
#include "core/inference.h"

namespace moat::repository {

struct ValidatedRequest {
  std::vector<Tensor> inputs;             // in the manifest's input order
  std::vector<std::string> output_names;  // the requested outputs, or all in manifest order
};

// Returns INVALID_ARGUMENT naming the tensor when an input is unknown,
// missing or repeated, or differs from the manifest in datatype or shape. The
// same holds when its bytes do not fit its shape, a BOOL element is neither 0
// nor 1, or a requested output is unknown or repeated.
StatusOr<ValidatedRequest> ValidateRequest(const bundle::Manifest& manifest, const InferenceRequest& request);

}  // namespace moat::repository
