#include "runtime/onnx_runtime.h"

#include <sched.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>
#include <utility>

#include <onnxruntime_cxx_api.h>
#include <spdlog/spdlog.h>

#include "runtime/onnx_types.h"

namespace moat::runtime {

namespace {

struct EnvState {
  std::mutex mutex;
  std::unique_ptr<Ort::Env> env;
  OnnxRuntimeOptions options;
  int intra_op_threads = 0;
};

EnvState& State() {
  static EnvState state;
  return state;
}

int UsableCores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int count = CPU_COUNT(&set);
    if (count > 0) return count;
  }
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

// REQUIRES: state.mutex held.
Status CreateEnvLocked(EnvState& state, const OnnxRuntimeOptions& options) {
  // Must happen before the first Ort::Env: the official builds read it then.
  ::setenv("ORT_DISABLE_TELEMETRY", "1", 0);
  int intra = options.intra_op_threads > 0 ? options.intra_op_threads : UsableCores();
  try {
    Ort::ThreadingOptions threading;
    threading.SetGlobalIntraOpNumThreads(intra);
    threading.SetGlobalInterOpNumThreads(options.inter_op_threads > 0 ? options.inter_op_threads : 1);
    threading.SetGlobalSpinControl(options.allow_spinning ? 1 : 0);
    state.env = std::make_unique<Ort::Env>(threading, ORT_LOGGING_LEVEL_WARNING, "moat");
  } catch (const Ort::Exception& e) {
    return InternalError(std::string("cannot create the ONNX Runtime environment: ") + e.what());
  }
  state.options = options;
  state.intra_op_threads = intra;
  spdlog::debug("ONNX Runtime {}: {} intra-op threads shared by all models", Ort::GetVersionString(), intra);
  return OkStatus();
}

// Returns the environment, created with the defaults if needed, and the
// options it was created with.
StatusOr<std::pair<Ort::Env*, OnnxRuntimeOptions>> GetEnv() {
  EnvState& state = State();
  std::lock_guard lock(state.mutex);
  if (!state.env) MOAT_RETURN_IF_ERROR(CreateEnvLocked(state, OnnxRuntimeOptions{}));
  return std::make_pair(state.env.get(), state.options);
}

// Sets where the session's intra-op work runs: a pool of its own when
// `session_options` sizes one, else the environment's shared pool.
void SetSessionThreads(Ort::SessionOptions& options, const SessionOptions& session_options,
                       const OnnxRuntimeOptions& runtime_options) {
  if (session_options.intra_op_threads <= 0) {
    options.DisablePerSessionThreads();
    return;
  }
  options.SetIntraOpNumThreads(session_options.intra_op_threads);
  // The default sequential execution mode runs no inter-op work, so that pool stays at one thread.
  options.SetInterOpNumThreads(1);
  options.AddConfigEntry("session.intra_op.allow_spinning", runtime_options.allow_spinning ? "1" : "0");
}

Status OrtError(const std::string& label, const Ort::Exception& e) {
  StatusCode code = e.GetOrtErrorCode() == ORT_INVALID_ARGUMENT ? StatusCode::kInvalidArgument
                                                                 : StatusCode::kInternal;
  return {code, label + ": ONNX Runtime: " + e.what()};
}

StatusOr<TensorSpec> ReadSpec(const std::string& name, const Ort::TypeInfo& info, const std::string& label) {
  if (info.GetONNXType() != ONNX_TYPE_TENSOR) {
    return UnimplementedError(label + ": '" + name + "' is not a tensor; only tensor inputs and outputs are served");
  }
  auto tensor_info = info.GetTensorTypeAndShapeInfo();
  std::optional<DataType> datatype = FromOnnxElementType(tensor_info.GetElementType());
  if (!datatype) {
    return UnimplementedError(label + ": '" + name + "' has ONNX element type " +
                              std::to_string(static_cast<int>(tensor_info.GetElementType())) +
                              ", which has no KServe v2 datatype");
  }
  TensorSpec spec;
  spec.name = name;
  spec.datatype = *datatype;
  spec.shape = tensor_info.GetShape();
  // ONNX Runtime reports symbolic and unknown dimensions as -1 already; any
  // other negative value is normalised to the same meaning.
  for (int64_t& dim : spec.shape) {
    if (dim < 0) dim = -1;
  }
  return spec;
}

StatusOr<ModelSignature> ReadSignature(const Ort::Session& session, const std::string& label) {
  ModelSignature signature;
  Ort::AllocatorWithDefaultOptions allocator;
  for (size_t i = 0; i < session.GetInputCount(); ++i) {
    std::string name = session.GetInputNameAllocated(i, allocator).get();
    MOAT_ASSIGN_OR_RETURN(TensorSpec spec, ReadSpec(name, session.GetInputTypeInfo(i), label));
    signature.inputs.push_back(std::move(spec));
  }
  for (size_t i = 0; i < session.GetOutputCount(); ++i) {
    std::string name = session.GetOutputNameAllocated(i, allocator).get();
    MOAT_ASSIGN_OR_RETURN(TensorSpec spec, ReadSpec(name, session.GetOutputTypeInfo(i), label));
    signature.outputs.push_back(std::move(spec));
  }
  return signature;
}

// Serialises a string tensor into the length-prefixed BYTES form.
Tensor StringOutput(const std::string& name, std::vector<int64_t> shape, const Ort::Value& value) {
  size_t count = value.GetTensorTypeAndShapeInfo().GetElementCount();
  std::string bytes;
  for (size_t i = 0; i < count; ++i) {
    std::string element = value.GetStringTensorElement(i);
    uint32_t len = static_cast<uint32_t>(element.size());
    for (int b = 0; b < 4; ++b) bytes.push_back(static_cast<char>((len >> (8 * b)) & 0xff));
    bytes += element;
  }
  return MakeOwnedTensor(name, DataType::kBytes, std::move(shape), std::move(bytes));
}

class OnnxModel final : public ModelInstance {
 public:
  OnnxModel(std::shared_ptr<const std::string> bytes, std::unique_ptr<Ort::Session> session,
            ModelSignature signature, std::string label)
      : bytes_(std::move(bytes)),
        session_(std::move(session)),
        signature_(std::move(signature)),
        label_(std::move(label)) {}

  const ModelSignature& signature() const override { return signature_; }

  StatusOr<std::vector<Tensor>> Execute(std::span<const Tensor> inputs,
                                        std::span<const std::string> output_names) override {
    try {
      return Run(inputs, output_names);
    } catch (const Ort::Exception& e) {
      return OrtError(label_, e);
    }
  }

 private:
  StatusOr<std::vector<Tensor>> Run(std::span<const Tensor> inputs, std::span<const std::string> output_names) {
    static const Ort::MemoryInfo kCpu = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
    Ort::AllocatorWithDefaultOptions allocator;

    std::vector<Ort::Value> values;
    std::vector<const char*> input_names;
    values.reserve(inputs.size());
    for (const Tensor& input : inputs) {
      input_names.push_back(input.name.c_str());
      values.push_back(MakeInputValue(input, kCpu, allocator));
    }
    std::vector<const char*> outputs;
    for (const std::string& name : output_names) outputs.push_back(name.c_str());

    std::vector<Ort::Value> results = session_->Run(Ort::RunOptions{nullptr}, input_names.data(), values.data(),
                                                    values.size(), outputs.data(), outputs.size());

    std::vector<Tensor> out;
    out.reserve(results.size());
    for (size_t i = 0; i < results.size(); ++i) {
      MOAT_ASSIGN_OR_RETURN(Tensor tensor, WrapOutput(output_names[i], std::move(results[i])));
      out.push_back(std::move(tensor));
    }
    return out;
  }

  // Fixed-size inputs are wrapped in place, without a copy. ONNX Runtime does
  // not write to input buffers, which makes the const_cast safe.
  static Ort::Value MakeInputValue(const Tensor& input, const Ort::MemoryInfo& cpu,
                                   Ort::AllocatorWithDefaultOptions& allocator) {
    if (input.datatype == DataType::kBytes) {
      Ort::Value value = Ort::Value::CreateTensor(allocator, input.shape.data(), input.shape.size(),
                                                  ONNX_TENSOR_ELEMENT_DATA_TYPE_STRING);
      // Execute REQUIRES validated inputs (ValidateRequest checks the BYTES
      // layout with CheckTensorByteSize), so splitting cannot fail here.
      std::vector<std::string_view> elements = SplitBytesElements(input).value();
      for (size_t i = 0; i < elements.size(); ++i) {
        char* buffer = value.GetResizedStringTensorElementBuffer(i, elements[i].size());
        if (!elements[i].empty()) std::memcpy(buffer, elements[i].data(), elements[i].size());
      }
      return value;
    }
    return Ort::Value::CreateTensor(cpu, const_cast<uint8_t*>(input.data.data()), input.data.size(),
                                    input.shape.data(), input.shape.size(), ToOnnxElementType(input.datatype));
  }

  StatusOr<Tensor> WrapOutput(const std::string& name, Ort::Value value) {
    if (!value.IsTensor()) return InternalError(label_ + ": output '" + name + "' is not a tensor");
    auto info = value.GetTensorTypeAndShapeInfo();
    std::optional<DataType> datatype = FromOnnxElementType(info.GetElementType());
    if (!datatype) return InternalError(label_ + ": output '" + name + "' has an unsupported element type");
    std::vector<int64_t> shape = info.GetShape();
    if (*datatype == DataType::kBytes) return StringOutput(name, std::move(shape), value);

    // The tensor keeps the Ort::Value alive and points into its buffer: no copy.
    auto holder = std::make_shared<Ort::Value>(std::move(value));
    size_t bytes = info.GetElementCount() * DataTypeSize(*datatype);
    Tensor tensor;
    tensor.name = name;
    tensor.datatype = *datatype;
    tensor.shape = std::move(shape);
    const auto* data = bytes == 0 ? nullptr : static_cast<const uint8_t*>(holder->GetTensorRawData());
    tensor.data = {data, bytes};
    tensor.owner = std::move(holder);
    return tensor;
  }

  std::shared_ptr<const std::string> bytes_;  // kept for the session's lifetime
  std::unique_ptr<Ort::Session> session_;
  ModelSignature signature_;
  std::string label_;
};

}  // namespace

Status InitOnnxRuntime(const OnnxRuntimeOptions& options) {
  EnvState& state = State();
  std::lock_guard lock(state.mutex);
  if (state.env) {
    if (state.options.intra_op_threads == options.intra_op_threads &&
        state.options.inter_op_threads == options.inter_op_threads &&
        state.options.allow_spinning == options.allow_spinning) {
      return OkStatus();
    }
    return FailedPreconditionError("ONNX Runtime is already initialised with other thread options");
  }
  return CreateEnvLocked(state, options);
}

std::string OnnxRuntimeVersion() { return Ort::GetVersionString(); }

int OnnxIntraOpThreads() {
  EnvState& state = State();
  std::lock_guard lock(state.mutex);
  return state.intra_op_threads;
}

StatusOr<std::unique_ptr<ModelInstance>> LoadOnnxModel(std::shared_ptr<const std::string> model_bytes,
                                                       const std::string& model_label) {
  return LoadOnnxModel(std::move(model_bytes), model_label, SessionOptions{});
}

StatusOr<std::unique_ptr<ModelInstance>> LoadOnnxModel(std::shared_ptr<const std::string> model_bytes,
                                                       const std::string& model_label,
                                                       const SessionOptions& session_options) {
  MOAT_ASSIGN_OR_RETURN(auto env, GetEnv());
  try {
    Ort::SessionOptions options;
    SetSessionThreads(options, session_options, env.second);
    options.SetGraphOptimizationLevel(GraphOptimizationLevel::ORT_ENABLE_ALL);
    auto session =
        std::make_unique<Ort::Session>(*env.first, model_bytes->data(), model_bytes->size(), options);
    MOAT_ASSIGN_OR_RETURN(ModelSignature signature, ReadSignature(*session, model_label));
    return std::unique_ptr<ModelInstance>(
        new OnnxModel(std::move(model_bytes), std::move(session), std::move(signature), model_label));
  } catch (const Ort::Exception& e) {
    return OrtError(model_label, e);
  }
}

StatusOr<ModelSignature> InspectOnnxModel(std::string_view model_bytes) {
  MOAT_ASSIGN_OR_RETURN(auto env, GetEnv());
  try {
    Ort::SessionOptions options;
    options.DisablePerSessionThreads();
    options.SetGraphOptimizationLevel(GraphOptimizationLevel::ORT_DISABLE_ALL);
    Ort::Session session(*env.first, model_bytes.data(), model_bytes.size(), options);
    return ReadSignature(session, "model");
  } catch (const Ort::Exception& e) {
    return OrtError("model", e);
  }
}

}  // namespace moat::runtime
