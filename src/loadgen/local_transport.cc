#include "loadgen/local_transport.h"

#include <dlfcn.h>
#include <unistd.h>

#include <filesystem>
#include <limits>
#include <optional>
#include <utility>

#include "bundle/manifest.h"
#include "bundle/paths.h"
#include "common/file.h"
#include "core/model_version.h"
#include "moat/moat.h"
#include "runtime/onnx_runtime.h"

namespace moat::loadgen {

namespace {

namespace fs = std::filesystem;

// Model files of several hundred MiB are common; the limit only stops a
// wrong path (a device, a huge archive) from being read whole.
constexpr size_t kMaxModelFileBytes = size_t{4} << 30;
constexpr size_t kMaxManifestBytes = size_t{16} << 20;

class OnnxTransport final : public Transport {
 public:
  OnnxTransport(std::shared_ptr<runtime::ModelInstance> instance, std::shared_ptr<const std::vector<Tensor>> inputs,
                std::shared_ptr<const std::vector<std::string>> outputs)
      : instance_(std::move(instance)), inputs_(std::move(inputs)), outputs_(std::move(outputs)) {}

  Status Infer() override { return instance_->Execute(*inputs_, *outputs_).status(); }

 private:
  std::shared_ptr<runtime::ModelInstance> instance_;
  std::shared_ptr<const std::vector<Tensor>> inputs_;
  std::shared_ptr<const std::vector<std::string>> outputs_;
};

class OnnxTransportFactory final : public TransportFactory {
 public:
  OnnxTransportFactory(std::shared_ptr<runtime::ModelInstance> instance, std::vector<Tensor> inputs)
      : instance_(std::move(instance)), inputs_(std::make_shared<const std::vector<Tensor>>(std::move(inputs))) {
    std::vector<std::string> names;
    for (const TensorSpec& output : instance_->signature().outputs) names.push_back(output.name);
    outputs_ = std::make_shared<const std::vector<std::string>>(std::move(names));
  }

  StatusOr<std::unique_ptr<Transport>> Create(int) override {
    return std::unique_ptr<Transport>(new OnnxTransport(instance_, inputs_, outputs_));
  }

 private:
  std::shared_ptr<runtime::ModelInstance> instance_;
  std::shared_ptr<const std::vector<Tensor>> inputs_;
  std::shared_ptr<const std::vector<std::string>> outputs_;
};

StatusOr<std::shared_ptr<runtime::ModelInstance>> LoadOnnxFile(const OnnxFileTarget& target) {
  runtime::OnnxRuntimeOptions options;
  options.intra_op_threads = target.intra_op_threads;
  MOAT_RETURN_IF_ERROR(runtime::InitOnnxRuntime(options));
  MOAT_ASSIGN_OR_RETURN(std::string bytes, ReadFile(target.model_file, kMaxModelFileBytes));
  MOAT_ASSIGN_OR_RETURN(std::unique_ptr<runtime::ModelInstance> instance,
                        runtime::LoadOnnxModel(std::make_shared<const std::string>(std::move(bytes)),
                                               "model file '" + target.model_file + "'"));
  return std::shared_ptr<runtime::ModelInstance>(std::move(instance));
}

// The functions of moat.h that the transport calls, resolved with dlsym so
// that the load tool runs without libmoat when this transport is not used.
struct CapiFunctions {
#define MOAT_CAPI_FUNCTIONS(X)                                                                               \
  X(moat_abi_version)                                                                                        \
  X(moat_error_code) X(moat_error_message) X(moat_error_free) X(moat_options_create) X(moat_options_free) \
  X(moat_options_set_repository) X(moat_options_set_trust_dir) X(moat_options_set_audit_dir)                   \
  X(moat_options_set_audit_sync) X(moat_options_set_intra_op_threads) X(moat_runtime_open)                     \
  X(moat_runtime_close) X(moat_runtime_infer) X(moat_request_create) X(moat_request_free)                      \
  X(moat_request_add_input) X(moat_response_free)
#define MOAT_CAPI_MEMBER(name) decltype(&::name) name = nullptr;
  MOAT_CAPI_FUNCTIONS(MOAT_CAPI_MEMBER)
#undef MOAT_CAPI_MEMBER
};

std::string DefaultLibraryPath() {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    fs::path beside = self.parent_path() / "libmoat.so.1";
    if (fs::exists(beside, ec)) return beside.string();
  }
  return "libmoat.so.1";
}

StatusOr<CapiFunctions> LoadCapi(const std::string& requested) {
  std::string path = requested.empty() ? DefaultLibraryPath() : requested;
  // The handle is never closed: the runtime and its threads live until exit.
  void* library = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    const char* reason = ::dlerror();
    return NotFoundError("cannot load the C API library '" + path + "': " + (reason ? reason : "unknown error"));
  }
  CapiFunctions functions;
#define MOAT_CAPI_RESOLVE(name)                                                                     \
  functions.name = reinterpret_cast<decltype(&::name)>(::dlsym(library, #name));                   \
  if (functions.name == nullptr) {                                                                  \
    return FailedPreconditionError("the C API library '" + path + "' has no function " #name);      \
  }
  MOAT_CAPI_FUNCTIONS(MOAT_CAPI_RESOLVE)
#undef MOAT_CAPI_RESOLVE
  if (functions.moat_abi_version() != MOAT_ABI_VERSION) {
    return FailedPreconditionError("the C API library '" + path + "' has ABI version " +
                                   std::to_string(functions.moat_abi_version()) + ", this tool needs " +
                                   std::to_string(MOAT_ABI_VERSION));
  }
  return functions;
}

// Converts a moat_error into a Status and frees it. Null is OK. The C API's
// codes are the same numbers as StatusCode's.
Status TakeError(const CapiFunctions& capi, moat_error* error) {
  if (error == nullptr) return OkStatus();
  int code = capi.moat_error_code(error);
  std::string message = capi.moat_error_message(error);
  capi.moat_error_free(error);
  if (code <= 0 || code > static_cast<int>(StatusCode::kUnauthenticated)) {
    return Status(StatusCode::kUnknown, "C API error code " + std::to_string(code) + ": " + message);
  }
  return Status(static_cast<StatusCode>(code), message);
}

class CapiTransport final : public Transport {
 public:
  CapiTransport(std::shared_ptr<const CapiFunctions> capi, std::shared_ptr<moat_runtime> runtime,
                moat_request* request)
      : capi_(std::move(capi)), runtime_(std::move(runtime)), request_(request) {}
  ~CapiTransport() override { capi_->moat_request_free(request_); }
  CapiTransport(const CapiTransport&) = delete;
  CapiTransport& operator=(const CapiTransport&) = delete;

  Status Infer() override {
    moat_response* response = nullptr;
    Status status = TakeError(*capi_, capi_->moat_runtime_infer(runtime_.get(), request_, &response));
    capi_->moat_response_free(response);
    return status;
  }

 private:
  std::shared_ptr<const CapiFunctions> capi_;
  std::shared_ptr<moat_runtime> runtime_;
  moat_request* request_;
};

class CapiTransportFactory final : public TransportFactory {
 public:
  CapiTransportFactory(std::shared_ptr<const CapiFunctions> capi, std::shared_ptr<moat_runtime> runtime,
                       std::string model, int64_t version, std::vector<Tensor> inputs)
      : capi_(std::move(capi)),
        runtime_(std::move(runtime)),
        model_(std::move(model)),
        version_(version),
        inputs_(std::move(inputs)) {}

  StatusOr<std::unique_ptr<Transport>> Create(int) override {
    moat_request* request = nullptr;
    MOAT_RETURN_IF_ERROR(TakeError(*capi_, capi_->moat_request_create(model_.c_str(), version_, &request)));
    auto transport = std::make_unique<CapiTransport>(capi_, runtime_, request);
    for (const Tensor& input : inputs_) {
      // The request borrows the bytes; inputs_ outlives every transport.
      std::string datatype(DataTypeName(input.datatype));
      MOAT_RETURN_IF_ERROR(TakeError(
          *capi_, capi_->moat_request_add_input(request, input.name.c_str(), datatype.c_str(),
                                                input.shape.empty() ? nullptr : input.shape.data(),
                                                input.shape.size(), input.data.data(), input.data.size())));
    }
    return std::unique_ptr<Transport>(std::move(transport));
  }

 private:
  std::shared_ptr<const CapiFunctions> capi_;
  std::shared_ptr<moat_runtime> runtime_;
  std::string model_;
  int64_t version_;
  std::vector<Tensor> inputs_;
};

// Returns the highest version folder of `model_dir`.
StatusOr<int64_t> LatestVersionFolder(const fs::path& model_dir) {
  std::error_code ec;
  std::optional<int64_t> latest;
  for (const auto& entry : fs::directory_iterator(model_dir, ec)) {
    std::optional<int64_t> number = ParseVersionNumber(entry.path().filename().string());
    if (number && (!latest || *number > *latest)) latest = number;
  }
  if (ec) return NotFoundError("cannot read model folder '" + model_dir.string() + "': " + ec.message());
  if (!latest) return NotFoundError("model folder '" + model_dir.string() + "' has no version folder");
  return *latest;
}

}  // namespace

StatusOr<ModelMetadata> InspectOnnxFile(const OnnxFileTarget& target) {
  MOAT_ASSIGN_OR_RETURN(std::shared_ptr<runtime::ModelInstance> instance, LoadOnnxFile(target));
  ModelMetadata metadata;
  metadata.name = fs::path(target.model_file).stem().string();
  metadata.platform = "onnxruntime_onnx";
  metadata.inputs = instance->signature().inputs;
  metadata.outputs = instance->signature().outputs;
  return metadata;
}

StatusOr<std::unique_ptr<TransportFactory>> MakeOnnxRuntimeTransportFactory(const OnnxFileTarget& target,
                                                                            std::vector<Tensor> inputs) {
  MOAT_ASSIGN_OR_RETURN(std::shared_ptr<runtime::ModelInstance> instance, LoadOnnxFile(target));
  return std::unique_ptr<TransportFactory>(new OnnxTransportFactory(std::move(instance), std::move(inputs)));
}

StatusOr<ModelMetadata> ReadBundleMetadata(const CapiTarget& target) {
  MOAT_RETURN_IF_ERROR(bundle::ValidateModelName(target.model));
  fs::path model_dir = fs::path(target.repository_dir) / target.model;
  int64_t version = target.version;
  if (version == 0) {
    MOAT_ASSIGN_OR_RETURN(version, LatestVersionFolder(model_dir));
  }
  fs::path manifest_path = model_dir / std::to_string(version) / bundle::kManifestFileName;
  MOAT_ASSIGN_OR_RETURN(std::string bytes, ReadFile(manifest_path.string(), kMaxManifestBytes));
  auto manifest = bundle::ParseManifest(bytes);
  if (!manifest.ok()) {
    return Status(manifest.status().code(), manifest_path.string() + ": " + manifest.status().message());
  }
  ModelMetadata metadata;
  metadata.name = manifest->name;
  metadata.versions = {manifest->version};
  metadata.platform = "onnxruntime_onnx";
  metadata.inputs = manifest->inputs;
  metadata.outputs = manifest->outputs;
  return metadata;
}

StatusOr<std::unique_ptr<TransportFactory>> MakeCapiTransportFactory(const CapiTarget& target,
                                                                     std::vector<Tensor> inputs) {
  MOAT_ASSIGN_OR_RETURN(CapiFunctions loaded, LoadCapi(target.library));
  auto capi = std::make_shared<const CapiFunctions>(loaded);
  moat_options* options = nullptr;
  MOAT_RETURN_IF_ERROR(TakeError(*capi, capi->moat_options_create(&options)));
  std::unique_ptr<moat_options, decltype(capi->moat_options_free)> owned(options, capi->moat_options_free);
  MOAT_RETURN_IF_ERROR(TakeError(*capi, capi->moat_options_set_repository(options, target.repository_dir.c_str())));
  MOAT_RETURN_IF_ERROR(TakeError(*capi, capi->moat_options_set_trust_dir(options, target.trust_dir.c_str())));
  MOAT_RETURN_IF_ERROR(TakeError(*capi, capi->moat_options_set_audit_dir(options, target.audit_dir.c_str())));
  MOAT_RETURN_IF_ERROR(TakeError(*capi, capi->moat_options_set_audit_sync(options, target.audit_sync ? 1 : 0)));
  MOAT_RETURN_IF_ERROR(
      TakeError(*capi, capi->moat_options_set_intra_op_threads(options, target.intra_op_threads)));
  moat_runtime* opened = nullptr;
  MOAT_RETURN_IF_ERROR(TakeError(*capi, capi->moat_runtime_open(MOAT_ABI_VERSION, options, &opened)));
  std::shared_ptr<moat_runtime> runtime(opened, [capi](moat_runtime* r) { capi->moat_runtime_close(r); });
  return std::unique_ptr<TransportFactory>(
      new CapiTransportFactory(capi, std::move(runtime), target.model, target.version, std::move(inputs)));
}

}  // namespace moat::loadgen
