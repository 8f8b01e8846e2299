#include "repository/request_validation.h"

#include <algorithm>
#include <set>

namespace moat::repository {

namespace {

std::string Names(const std::vector<TensorSpec>& specs) {
  std::string out;
  for (const TensorSpec& spec : specs) {
    if (!out.empty()) out += ", ";
    out += "'" + spec.name + "'";
  }
  return out;
}

Status CheckInput(const TensorSpec& spec, const Tensor& tensor) {
  if (tensor.datatype != spec.datatype) {
    return InvalidArgumentError("input '" + spec.name + "': datatype " +
                                std::string(DataTypeName(tensor.datatype)) + " does not match the model's " +
                                std::string(DataTypeName(spec.datatype)));
  }
  MOAT_RETURN_IF_ERROR(CheckShapeMatches(spec, tensor.shape));
  MOAT_RETURN_IF_ERROR(CheckTensorByteSize(tensor));
  if (tensor.datatype == DataType::kBool) {
    auto bad = std::find_if(tensor.data.begin(), tensor.data.end(), [](uint8_t b) { return b > 1; });
    if (bad != tensor.data.end()) {
      return InvalidArgumentError("input '" + spec.name + "': BOOL element " +
                                  std::to_string(bad - tensor.data.begin()) + " has byte value " +
                                  std::to_string(*bad) + "; only 0 and 1 are valid");
    }
  }
  return OkStatus();
}

}  // namespace

StatusOr<ValidatedRequest> ValidateRequest(const bundle::Manifest& manifest,
                                           const InferenceRequest& request) {
  const std::string model = "model '" + manifest.name + "'";
  std::set<std::string> seen;
  for (const Tensor& tensor : request.inputs) {
    if (!seen.insert(tensor.name).second) {
      return InvalidArgumentError("input '" + tensor.name + "' appears more than once");
    }
    bool known = std::any_of(manifest.inputs.begin(), manifest.inputs.end(),
                             [&](const TensorSpec& spec) { return spec.name == tensor.name; });
    if (!known) {
      return InvalidArgumentError("unknown input '" + tensor.name + "' for " + model +
                                  "; expected inputs: " + Names(manifest.inputs));
    }
  }

  ValidatedRequest validated;
  for (const TensorSpec& spec : manifest.inputs) {
    auto it = std::find_if(request.inputs.begin(), request.inputs.end(),
                           [&](const Tensor& tensor) { return tensor.name == spec.name; });
    if (it == request.inputs.end()) {
      return InvalidArgumentError("missing input '" + spec.name + "' for " + model +
                                  "; expected inputs: " + Names(manifest.inputs));
    }
    MOAT_RETURN_IF_ERROR(CheckInput(spec, *it));
    validated.inputs.push_back(*it);
  }

  if (request.requested_outputs.empty()) {
    for (const TensorSpec& spec : manifest.outputs) validated.output_names.push_back(spec.name);
    return validated;
  }
  std::set<std::string> requested;
  for (const std::string& name : request.requested_outputs) {
    if (!requested.insert(name).second) {
      return InvalidArgumentError("output '" + name + "' is requested more than once");
    }
    bool known = std::any_of(manifest.outputs.begin(), manifest.outputs.end(),
                             [&](const TensorSpec& spec) { return spec.name == name; });
    if (!known) {
      return InvalidArgumentError("unknown output '" + name + "' for " + model +
                                  "; the model's outputs are " + Names(manifest.outputs));
    }
    validated.output_names.push_back(name);
  }
  return validated;
}

}  // namespace moat::repository
