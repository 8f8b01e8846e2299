#include <pthread.h>
#include <signal.h>

#include <charconv>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include <spdlog/spdlog.h>

#include "audit/audit_keys.h"
#include "cli/commands.h"
#include "cli/serve_access.h"
#include "common/file.h"
#include "config/serving_config.h"
#include "grpc/grpc_server.h"
#include "hardware/inventory.h"
#include "hardware/thread_plan.h"
#include "repository/model_service.h"
#include "runtime/onnx_runtime.h"
#include "server/http_server.h"
#include "shm/shared_memory.h"
#include "tls/tls_context.h"

namespace moat::cli {

namespace {

struct ServeFlags {
  std::string repository;
  std::string trust;
  std::string listen = "127.0.0.1:8000";
  std::string audit_dir = "moat-audit";
  std::string audit_key_file;  // empty: beside the audit folder
  std::string node_key;        // empty: beside the audit folder
  std::string audit_durability = "sync";
  uint64_t audit_batch_records = 1000;
  int64_t audit_batch_ms = 100;
  uint64_t audit_checkpoint_records = 10000;
  int64_t audit_checkpoint_ms = 5000;
  uint64_t audit_segment_mib = 64;
  int64_t audit_segment_minutes = 60;
  int64_t audit_retention_days = 0;
  std::string audit_on_failure = "closed";
  bool sign_responses = false;
  bool no_audit_for_benchmark = false;
  std::string port_file;
  std::string grpc_listen;  // empty: no gRPC front end
  std::string grpc_port_file;
  std::string config;  // empty: moat-serving.conf beside the repository, if present
  int intra_op_threads = 0;
  // Each HTTP request that reaches a model occupies a worker while it waits in
  // the model's queue, so the workers bound how many can queue at all. The
  // number of executions at once is the models' instances.
  int workers = 64;
  int io_threads = 1;
  std::string log_level = "info";
  size_t max_body_bytes = size_t{64} << 20;
  size_t max_header_bytes = size_t{16} << 10;
  size_t max_body_chunks = 100000;
  size_t max_connections = 1024;
  int64_t idle_timeout_ms = 60000;
  int64_t request_timeout_ms = 30000;
  bool intra_op_spinning = false;
  bool allow_shared_memory = false;
  bool allow_model_control = false;
  // TLS for both the HTTP and the gRPC front end; all empty: plaintext.
  std::string tls_cert;
  std::string tls_key;
  std::string client_ca;
  bool require_client_cert = false;
  ServeAccessFlags access;
};

// Checks the TLS flags and reads their files, so that a mistake stops
// `moat serve` before it loads any model. Nullopt without --tls-cert.
StatusOr<std::optional<tls::TlsServerOptions>> TlsOptionsFromFlags(const ServeFlags& flags) {
  if (flags.tls_cert.empty() != flags.tls_key.empty()) {
    return InvalidArgumentError("--tls-cert and --tls-key must be given together");
  }
  if (flags.tls_cert.empty()) {
    if (!flags.client_ca.empty()) return InvalidArgumentError("--client-ca needs --tls-cert and --tls-key");
    if (flags.require_client_cert) {
      return InvalidArgumentError("--require-client-cert needs --tls-cert, --tls-key and --client-ca");
    }
    return std::optional<tls::TlsServerOptions>();
  }
  if (flags.require_client_cert && flags.client_ca.empty()) {
    return InvalidArgumentError(
        "--require-client-cert needs --client-ca, the CA that client certificates must chain to");
  }
  tls::TlsServerOptions options;
  options.cert_file = flags.tls_cert;
  options.key_file = flags.tls_key;
  options.client_ca_file = flags.client_ca;
  options.require_client_cert = flags.require_client_cert;
  MOAT_RETURN_IF_ERROR(tls::LoadTlsServerFiles(options).status());
  return std::optional<tls::TlsServerOptions>(options);
}

// Splits "HOST:PORT" or "[IPV6]:PORT"; `flag` names the option in errors.
StatusOr<std::pair<std::string, uint16_t>> ParseListen(const std::string& text, const std::string& flag) {
  std::string host;
  std::string port;
  if (!text.empty() && text[0] == '[') {
    size_t close = text.find("]:");
    if (close == std::string::npos) {
      return InvalidArgumentError(flag + " '" + text + "': expected [IPV6]:PORT");
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string::npos || text.find(':') != colon) {
      return InvalidArgumentError(flag + " '" + text + "': expected HOST:PORT or [IPV6]:PORT");
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (host.empty() || port.empty() || ec != std::errc() || end != port.data() + port.size() ||
      value > 65535) {
    return InvalidArgumentError(flag + " '" + text + "': invalid host or port (port 0 lets the OS pick one)");
  }
  return std::make_pair(host, static_cast<uint16_t>(value));
}

// Waits for SIGINT or SIGTERM and returns it; reloads the policy on each
// SIGHUP meanwhile. The signals are blocked in every thread (the mask is
// inherited from here), so only this sigwait receives them.
int WaitForStopSignal(const sigset_t& signals, auth::AccessControl* access_control) {
  while (true) {
    int signal_number = 0;
    sigwait(&signals, &signal_number);
    if (signal_number != SIGHUP) return signal_number;
    if (access_control == nullptr) {
      spdlog::info("SIGHUP: no --policy to reload");
      continue;
    }
    // A policy that does not load leaves the running one in place; the
    // reason is logged and audited.
    (void)access_control->ReloadPolicy();
  }
}

// Logs the thread plan of the served versions. A version with intra_op_threads
// set has a pool of that size of its own; the others share the global pool of
// --intra-op-threads, so the plan's share for them is a budget, not a pool size.
void LogThreadPlan(const repository::ModelService& service) {
  hardware::ThreadPlan plan =
      hardware::PlanThreads(hardware::ReadHardwareInventory().usable_cores, service.ThreadRequests());
  spdlog::info("{}", plan.Describe());
  for (const hardware::ThreadAssignment& assignment : plan.assignments) {
    if (assignment.explicit_threads) {
      spdlog::info("{}, in a pool of its own", assignment.Describe());
    } else {
      spdlog::info(
          "{} version {}: {} instance(s) on the shared pool of {} intra-op threads (planned share: {} "
          "per instance)",
          assignment.model, assignment.version, assignment.instances, runtime::OnnxIntraOpThreads(),
          assignment.intra_op_threads);
    }
  }
  for (const std::string& warning : plan.warnings) spdlog::warn("{}", warning);
}

int RunServe(const ServeFlags& flags) {
  spdlog::set_level(spdlog::level::from_str(flags.log_level));
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto listen = ParseListen(flags.listen, "--listen");
  if (!listen.ok()) {
    std::cerr << "moat serve: " << listen.status().message() << "\n";
    return 2;
  }
  std::optional<std::pair<std::string, uint16_t>> grpc_listen;
  if (!flags.grpc_listen.empty()) {
    auto parsed = ParseListen(flags.grpc_listen, "--grpc-listen");
    if (!parsed.ok()) {
      std::cerr << "moat serve: " << parsed.status().message() << "\n";
      return 2;
    }
    grpc_listen = *parsed;
  }
  StatusOr<std::optional<tls::TlsServerOptions>> tls_options = TlsOptionsFromFlags(flags);
  if (!tls_options.ok()) {
    std::cerr << "moat serve: " << tls_options.status().message() << "\n";
    return 2;
  }
  {
    std::vector<std::string> hosts{listen->first};
    if (grpc_listen) hosts.push_back(grpc_listen->first);
    if (Status exposure = CheckListenExposure(flags.access, flags.require_client_cert, hosts); !exposure.ok()) {
      std::cerr << "moat serve: " << exposure.message() << "\n";
      return 2;
    }
  }
  StatusOr<std::unique_ptr<auth::AccessControl>> access_control = OpenAccessControl(flags.access);
  if (!access_control.ok()) {
    std::cerr << "moat serve: " << access_control.status().message() << "\n";
    return 1;
  }
  config::ServingConfig serving_config;
  {
    bool explicit_config = !flags.config.empty();
    std::filesystem::path repository(flags.repository);
    if (!repository.has_filename()) repository = repository.parent_path();  // "repo/"
    std::string config_path =
        explicit_config ? flags.config : (repository.parent_path() / "moat-serving.conf").string();
    auto loaded = config::LoadServingConfig(config_path);
    if (loaded.ok()) {
      serving_config = std::move(loaded).value();
      spdlog::info("serving configuration read from {}", config_path);
    } else if (explicit_config || loaded.status().code() != StatusCode::kNotFound) {
      std::cerr << "moat serve: " << loaded.status().message() << "\n";
      return 2;
    }
  }
  runtime::OnnxRuntimeOptions runtime_options;
  runtime_options.intra_op_threads = flags.intra_op_threads;
  runtime_options.allow_spinning = flags.intra_op_spinning;
  if (Status status = runtime::InitOnnxRuntime(runtime_options); !status.ok()) {
    std::cerr << "moat serve: " << status.message() << "\n";
    return 1;
  }

  repository::ModelServiceOptions service_options;
  service_options.repository_dir = flags.repository;
  service_options.trust_dir = flags.trust;
  audit::AuditKeyPaths key_paths = audit::DefaultAuditKeyPaths(flags.audit_dir);
  if (!flags.audit_key_file.empty()) key_paths.master_key_file = flags.audit_key_file;
  if (!flags.node_key.empty()) key_paths.node_key_file = flags.node_key;
  StatusOr<audit::AuditKeys> keys = audit::LoadAuditKeys(key_paths, /*create_missing=*/true);
  if (!keys.ok()) {
    std::cerr << "moat serve: " << keys.status().message() << "\n";
    return 1;
  }
  if (keys->created_master_key_file) {
    spdlog::warn("created the audit master key file {}: without it the audit records cannot be read, so keep "
                 "a copy apart from this machine",
                 key_paths.master_key_file);
  }
  if (keys->created_node_key) {
    spdlog::warn("created the node key {} (public key {}.pub), which signs audit checkpoints",
                 key_paths.node_key_file, key_paths.node_key_file);
  }
  audit::AuditLogOptions& audit = service_options.audit;
  audit.folder = flags.audit_dir;
  audit.durability = flags.audit_durability == "sync" ? audit::AuditDurability::kSync
                                                      : audit::AuditDurability::kBatched;
  audit.batch_max_records = flags.audit_batch_records;
  audit.batch_max_delay = std::chrono::milliseconds(flags.audit_batch_ms);
  audit.checkpoint_every_records = flags.audit_checkpoint_records;
  audit.checkpoint_every = std::chrono::milliseconds(flags.audit_checkpoint_ms);
  audit.max_segment_bytes = flags.audit_segment_mib << 20;
  audit.max_segment_age = std::chrono::minutes(flags.audit_segment_minutes);
  audit.retention = std::chrono::hours(24 * flags.audit_retention_days);
  audit.keys = keys->master_keys;
  audit.signing_key = keys->node_key;
  service_options.audit_fail_open = flags.audit_on_failure == "open";
  service_options.sign_responses = flags.sign_responses;
  service_options.audit_disabled_for_benchmark = flags.no_audit_for_benchmark;
  service_options.allow_model_control = flags.allow_model_control;
  service_options.serving_config = serving_config;
  auto service = repository::ModelService::Create(service_options);
  if (!service.ok()) {
    std::cerr << "moat serve: " << service.status().message() << "\n";
    return 1;
  }
  spdlog::info("model versions served: {} from {}; audit log {} ({}, fail-{}, node key {})",
               (*service)->loaded_version_count(), flags.repository, flags.audit_dir, flags.audit_durability,
               flags.audit_on_failure, keys->node_key->key_id());
  LogThreadPlan(**service);
  if (*access_control) {
    repository::ModelService* audited = service->get();
    (*access_control)->SetAuditSink([audited](const audit::AuditEvent& event) { audited->RecordAccessEvent(event); });
  } else {
    spdlog::warn("no --policy: every request is served as 'anonymous' without authentication");
  }

  server::HttpServerOptions http_options;
  http_options.address = listen->first;
  http_options.port = listen->second;
  http_options.max_body_bytes = flags.max_body_bytes;
  http_options.max_header_bytes = flags.max_header_bytes;
  http_options.max_body_chunks = flags.max_body_chunks;
  http_options.max_connections = flags.max_connections;
  http_options.idle_timeout = std::chrono::milliseconds(flags.idle_timeout_ms);
  http_options.request_timeout = std::chrono::milliseconds(flags.request_timeout_ms);
  http_options.io_threads = flags.io_threads;
  http_options.worker_threads = flags.workers;
  http_options.tls = *tls_options;
  http_options.access_control = access_control->get();
  shm::SharedMemoryManager shared_memory(flags.allow_shared_memory);
  server::HttpServer http(**service, shared_memory, http_options);
  if (Status status = http.Start(); !status.ok()) {
    std::cerr << "moat serve: " << status.message() << "\n";
    return 1;
  }
  spdlog::info(
      "HTTP threads: {} inference workers, {} I/O threads; ONNX Runtime {} shared pool: {} intra-op threads",
      flags.workers, flags.io_threads, runtime::OnnxRuntimeVersion(), runtime::OnnxIntraOpThreads());
  std::unique_ptr<grpc_server::GrpcServer> grpc;
  if (grpc_listen) {
    grpc_server::GrpcServerOptions grpc_options;
    grpc_options.address = grpc_listen->first;
    grpc_options.port = grpc_listen->second;
    grpc_options.max_message_bytes = flags.max_body_bytes;
    grpc_options.tls = *tls_options;
    grpc_options.access_control = access_control->get();
    grpc = std::make_unique<grpc_server::GrpcServer>(**service, shared_memory, grpc_options);
    if (Status status = grpc->Start(); !status.ok()) {
      std::cerr << "moat serve: " << status.message() << "\n";
      http.Stop();
      return 1;
    }
  }
  const std::pair<const std::string*, uint16_t> port_files[] = {
      {&flags.port_file, http.port()}, {&flags.grpc_port_file, grpc ? grpc->port() : uint16_t{0}}};
  for (const auto& [path, port] : port_files) {
    if (path->empty()) continue;
    if (Status status = WriteFileAtomic(*path, std::to_string(port) + "\n"); !status.ok()) {
      std::cerr << "moat serve: " << status.message() << "\n";
      if (grpc) grpc->Stop();
      http.Stop();
      return 1;
    }
  }

  int signal_number = WaitForStopSignal(signals, access_control->get());
  spdlog::info("received signal {}, stopping", signal_number);
  if (grpc) grpc->Stop();
  http.Stop();
  return 0;
}

}  // namespace

void AddServeCommand(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<ServeFlags>();
  CLI::App* serve = app.add_subcommand(
      "serve", "Verify every bundle of a repository and serve KServe v2 over HTTP and gRPC");
  serve->add_option("--repository", flags->repository, "Model repository: <root>/<model>/<version>/ bundles")
      ->required();
  serve->add_option("--config", flags->config,
                    "Serving configuration (instances, batching, queues); default: moat-serving.conf in "
                    "the repository's parent folder when it exists");
  serve->add_option("--trust", flags->trust, "Folder of trusted publisher public keys (*.pem)")->required();
  serve
      ->add_option("--listen", flags->listen,
                   "Address to listen on, HOST:PORT or [IPV6]:PORT; port 0 picks one")
      ->capture_default_str();
  serve->add_option("--audit-dir", flags->audit_dir, "Audit log folder, created with mode 0700 if missing")
      ->capture_default_str();
  serve->add_option("--audit-key-file", flags->audit_key_file,
                    "Master key file that seals the audit records, created if missing (default: DIR.keys "
                    "beside the audit folder)");
  serve->add_option("--node-key", flags->node_key,
                    "This node's Ed25519 private key (PEM), which signs audit checkpoints and responses; "
                    "created if missing (default: DIR.node-key beside the audit folder)");
  serve
      ->add_option("--audit-durability", flags->audit_durability,
                   "sync: a response leaves only after its audit record is on disk; batched: records are "
                   "synced in groups, and a crash can lose the last --audit-batch-records or "
                   "--audit-batch-ms of them")
      ->capture_default_str()
      ->check(CLI::IsMember({"sync", "batched"}));
  serve->add_option("--audit-batch-records", flags->audit_batch_records, "Batched mode: sync after this many records")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{1}, uint64_t{1000000}));
  serve->add_option("--audit-batch-ms", flags->audit_batch_ms, "Batched mode: sync at least this often, in ms")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{60000}));
  serve
      ->add_option("--audit-checkpoint-records", flags->audit_checkpoint_records,
                   "Sign a checkpoint after this many records (0: only by time and at stop)")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{0}, uint64_t{100000000}));
  serve
      ->add_option("--audit-checkpoint-ms", flags->audit_checkpoint_ms,
                   "Sign a checkpoint this long after the last one when records were added (0: only by count "
                   "and at stop)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{86400000}));
  serve->add_option("--audit-segment-mib", flags->audit_segment_mib, "Start a new audit segment after this many MiB")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{1}, uint64_t{4096}));
  serve
      ->add_option("--audit-segment-minutes", flags->audit_segment_minutes,
                   "Start a new audit segment after this many minutes")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{525600}));
  serve
      ->add_option("--audit-retention-days", flags->audit_retention_days,
                   "Delete audit segments last written this many days ago, once a signed checkpoint covers "
                   "them; export them first (moat audit export). 0 keeps every segment")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{36500}));
  serve
      ->add_option("--audit-on-failure", flags->audit_on_failure,
                   "When the audit log cannot be written: closed answers inference with 503 until it can; open "
                   "serves on without records, counted in /metrics and the server log")
      ->capture_default_str()
      ->check(CLI::IsMember({"closed", "open"}));
  serve->add_flag("--sign-responses", flags->sign_responses,
                  "Sign each inference response's audit receipt and output digest with the node key");
  serve->add_flag("--no-audit-for-benchmark", flags->no_audit_for_benchmark,
                  "Write no audit records at all, only to measure what auditing costs; never for serving");
  serve->add_option("--port-file", flags->port_file, "Write the bound HTTP port to this file once listening");
  serve->add_option("--grpc-listen", flags->grpc_listen,
                    "Also serve KServe v2 gRPC on HOST:PORT or [IPV6]:PORT; port 0 picks one (default: off)");
  serve
      ->add_option("--grpc-port-file", flags->grpc_port_file,
                   "Write the bound gRPC port to this file once listening")
      ->needs("--grpc-listen");
  serve
      ->add_option("--intra-op-threads", flags->intra_op_threads,
                   "ONNX Runtime threads shared by all models; 0 means one per usable core")
      ->capture_default_str();
  serve->add_flag("--intra-op-spinning", flags->intra_op_spinning,
                  "Let idle ONNX Runtime threads spin for work (lower latency on an otherwise idle machine, "
                  "but they compete with request handling for cores)");
  serve
      ->add_option(
          "--workers", flags->workers,
          "HTTP requests handled at once, each waiting in its model's queue or running; the serving "
          "configuration's instances decide how many executions run at once")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  serve
      ->add_option("--log-level", flags->log_level,
                   "Least severe log lines written: debug adds one line per successful request")
      ->capture_default_str()
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));
  serve->add_option("--io-threads", flags->io_threads, "Threads that read and write sockets")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  serve
      ->add_option("--max-body-bytes", flags->max_body_bytes,
                   "Largest request body accepted, in bytes, both as received and after decompression")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  serve
      ->add_option("--max-header-bytes", flags->max_header_bytes,
                   "Largest request header (request line and fields) accepted, in bytes; larger ones get 431")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{0xFFFFFFFF}));
  serve
      ->add_option("--max-body-chunks", flags->max_body_chunks,
                   "Most chunks accepted in one chunked request body; more get 413")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  serve
      ->add_option("--max-connections", flags->max_connections,
                   "Most open HTTP connections; further ones get 503 and are closed")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  serve
      ->add_option("--idle-timeout-ms", flags->idle_timeout_ms,
                   "Milliseconds an open connection may wait for its next request before it is closed")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  serve
      ->add_option("--request-timeout-ms", flags->request_timeout_ms,
                   "Milliseconds allowed to receive one request (header and body), and again to send its "
                   "response; a slower client is disconnected")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  serve->add_flag("--allow-shared-memory", flags->allow_shared_memory,
                  "Let clients register POSIX shared memory regions and pass tensors through them");
  serve->add_option("--tls-cert", flags->tls_cert,
                    "Serve HTTPS and gRPC over TLS with this PEM certificate chain (needs --tls-key)");
  serve->add_option("--tls-key", flags->tls_key, "Unencrypted PEM private key of --tls-cert");
  serve->add_option("--client-ca", flags->client_ca,
                    "PEM CA certificates: ask clients for a certificate and accept only one that chains to "
                    "them and is within its validity dates");
  serve->add_flag("--require-client-cert", flags->require_client_cert,
                  "Reject TLS clients without a certificate from --client-ca");
  serve->add_flag("--allow-model-control", flags->allow_model_control,
                  "Let clients load and unload models through the repository endpoints");
  AddServeAccessOptions(*serve, flags->access);
  serve->callback([flags, &exit_code] { exit_code = RunServe(*flags); });
}

}  // namespace moat::cli
