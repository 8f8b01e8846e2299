// The moat_runtime functions of the C API: a thin layer over ModelService.
#include <unistd.h>

#include <fmt/format.h>

#include <memory>
#include <string>

#include "error.h"
#include "moat/moat.h"
#include "audit/audit_keys.h"
#include "runtime/onnx_runtime.h"

namespace {

using moat::capi::Guard;
using moat::capi::NullArgument;
using moat::capi::ToError;

moat::Status CheckAbiVersion(int abi_version) {
  if (abi_version == MOAT_ABI_VERSION) return moat::OkStatus();
  return moat::FailedPreconditionError(
      "moat_runtime_open: the program was built against Moat C API version " + std::to_string(abi_version) +
      ", but this libmoat implements version " + std::to_string(MOAT_ABI_VERSION) +
      "; rebuild the program with the moat.h installed beside this library");
}

moat::Status CheckRequired(const std::string& value, const char* what, const char* setter) {
  if (!value.empty()) return moat::OkStatus();
  return moat::InvalidArgumentError(std::string("moat_runtime_open: no ") + what + " set; call " + setter +
                                    " before opening");
}

// The intra-op thread pool belongs to the process, so a later runtime may
// only confirm the setting of the first.
moat::Status InitThreads(const moat_options& options) {
  if (!options.intra_op_threads) return moat::OkStatus();
  moat::runtime::OnnxRuntimeOptions runtime_options;
  runtime_options.intra_op_threads = *options.intra_op_threads;
  moat::Status status = moat::runtime::InitOnnxRuntime(runtime_options);
  if (status.code() != moat::StatusCode::kFailedPrecondition) return status;
  return moat::FailedPreconditionError(
      "moat_runtime_open: intra-op threads " + std::to_string(*options.intra_op_threads) +
      " differ from the setting ONNX Runtime already runs with in this process (" +
      std::to_string(moat::runtime::OnnxIntraOpThreads()) +
      " threads); the thread pool is shared by the process, so leave the option unset or pass the same "
      "value");
}

}  // namespace

extern "C" {

moat_error* moat_runtime_open(int abi_version, const moat_options* options, moat_runtime** out) {
  const std::string_view function = __func__;
  return Guard(function, [&]() -> moat_error* {
    if (moat_error* error = ToError(CheckAbiVersion(abi_version))) return error;
    if (options == nullptr) return NullArgument(function, "options");
    if (out == nullptr) return NullArgument(function, "out");
    if (moat_error* error = ToError(
            CheckRequired(options->repository_dir, "repository folder", "moat_options_set_repository"))) {
      return error;
    }
    if (moat_error* error =
            ToError(CheckRequired(options->trust_dir, "trust folder", "moat_options_set_trust_dir"))) {
      return error;
    }
    if (moat_error* error =
            ToError(CheckRequired(options->audit_dir, "audit folder", "moat_options_set_audit_dir"))) {
      return error;
    }
    if (moat_error* error = ToError(InitThreads(*options))) return error;

    moat::repository::ModelServiceOptions service_options;
    service_options.repository_dir = options->repository_dir;
    service_options.trust_dir = options->trust_dir;
    moat::audit::AuditKeyPaths key_paths = moat::audit::DefaultAuditKeyPaths(options->audit_dir);
    if (!options->audit_key_file.empty()) key_paths.master_key_file = options->audit_key_file;
    if (!options->node_key_file.empty()) key_paths.node_key_file = options->node_key_file;
    auto keys = moat::audit::LoadAuditKeys(key_paths, /*create_missing=*/true);
    if (!keys.ok()) return ToError(keys.status());
    service_options.audit.folder = options->audit_dir;
    service_options.audit.durability =
        options->audit_sync ? moat::audit::AuditDurability::kSync : moat::audit::AuditDurability::kBatched;
    service_options.audit.keys = keys->master_keys;
    service_options.audit.signing_key = keys->node_key;
    // NOTE: ModelService logs each model version loaded or rejected through
    // spdlog's default logger, which writes to the host program's stdout.
    auto service = moat::repository::ModelService::Create(service_options);
    if (!service.ok()) return ToError(service.status());
    auto runtime = std::make_unique<moat_runtime>();
    runtime->service = std::move(service).value();
    *out = runtime.release();
    return nullptr;
  });
}

void moat_runtime_close(moat_runtime* runtime) { delete runtime; }

moat_error* moat_runtime_infer(moat_runtime* runtime, const moat_request* request, moat_response** out) {
  const std::string_view function = __func__;
  return Guard(function, [&]() -> moat_error* {
    if (runtime == nullptr) return NullArgument(function, "runtime");
    if (request == nullptr) return NullArgument(function, "request");
    if (out == nullptr) return NullArgument(function, "out");

    moat::RequestContext context;
    context.request_id = request->request.id.empty() ? runtime->request_ids.Next() : request->request.id;
    context.protocol = "c-api";
    context.peer = "pid " + std::to_string(::getpid());
    auto result = runtime->service->Infer(request->request, context);
    if (!result.ok()) return ToError(result.status());

    auto response = std::make_unique<moat_response>();
    response->request_id = std::move(context.request_id);
    response->response = std::move(result).value();
    for (const moat::Tensor& output : response->response.outputs) {
      response->datatypes.emplace_back(moat::DataTypeName(output.datatype));
    }
    *out = response.release();
    return nullptr;
  });
}

}  // extern "C"
