#include <pthread.h>
#include <signal.h>

#include <charconv>
#include <iostream>
#include <memory>
#include <string>

#include <spdlog/spdlog.h>

#include "cli/commands.h"
#include "common/file.h"
#include "repository/model_service.h"
#include "runtime/onnx_runtime.h"
#include "server/http_server.h"

namespace moat::cli {

namespace {

struct ServeFlags {
  std::string repository;
  std::string trust;
  std::string listen = "127.0.0.1:8000";
  std::string audit_log = "moat-audit.log";
  std::string port_file;
  int intra_op_threads = 0;
  int workers = 1;
  int io_threads = 1;
  size_t max_body_bytes = size_t{64} << 20;
  bool audit_no_sync = false;
  bool intra_op_spinning = false;
};

// Splits "HOST:PORT" or "[IPV6]:PORT".
StatusOr<std::pair<std::string, uint16_t>> ParseListen(const std::string& text) {
  std::string host;
  std::string port;
  if (!text.empty() && text[0] == '[') {
    size_t close = text.find("]:");
    if (close == std::string::npos) {
      return InvalidArgumentError("--listen '" + text + "': expected [IPV6]:PORT");
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string::npos || text.find(':') != colon) {
      return InvalidArgumentError("--listen '" + text + "': expected HOST:PORT or [IPV6]:PORT");
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (host.empty() || port.empty() || ec != std::errc() || end != port.data() + port.size() || value > 65535) {
    return InvalidArgumentError("--listen '" + text + "': invalid host or port (port 0 lets the OS pick one)");
  }
  return std::make_pair(host, static_cast<uint16_t>(value));
}

// Waits for SIGINT or SIGTERM. The signals are blocked in every thread (the
// mask is inherited from here), so only this sigwait receives them.
int WaitForStopSignal(const sigset_t& signals) {
  int signal_number = 0;
  sigwait(&signals, &signal_number);
  return signal_number;
}

int RunServe(const ServeFlags& flags) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto listen = ParseListen(flags.listen);
  if (!listen.ok()) {
    std::cerr << "moat serve: " << listen.status().message() << "\n";
    return 2;
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
  service_options.audit_log_path = flags.audit_log;
  service_options.audit_sync = !flags.audit_no_sync;
  auto service = repository::ModelService::Create(service_options);
  if (!service.ok()) {
    std::cerr << "moat serve: " << service.status().message() << "\n";
    return 1;
  }
  spdlog::info("model versions served: {} from {}; audit log {}", (*service)->loaded_version_count(),
               flags.repository, flags.audit_log);

  server::HttpServerOptions http_options;
  http_options.address = listen->first;
  http_options.port = listen->second;
  http_options.max_body_bytes = flags.max_body_bytes;
  http_options.io_threads = flags.io_threads;
  http_options.worker_threads = flags.workers;
  server::HttpServer http(**service, http_options);
  if (Status status = http.Start(); !status.ok()) {
    std::cerr << "moat serve: " << status.message() << "\n";
    return 1;
  }
  spdlog::info("thread plan: {} inference workers x {} ONNX Runtime {} intra-op threads, {} I/O threads",
               flags.workers, runtime::OnnxIntraOpThreads(), runtime::OnnxRuntimeVersion(), flags.io_threads);
  if (!flags.port_file.empty()) {
    if (Status status = WriteFileAtomic(flags.port_file, std::to_string(http.port()) + "\n"); !status.ok()) {
      std::cerr << "moat serve: " << status.message() << "\n";
      http.Stop();
      return 1;
    }
  }

  int signal_number = WaitForStopSignal(signals);
  spdlog::info("received signal {}, stopping", signal_number);
  http.Stop();
  return 0;
}

}  // namespace

void AddServeCommand(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<ServeFlags>();
  CLI::App* serve = app.add_subcommand("serve", "Verify every bundle of a repository and serve KServe v2 over HTTP");
  serve->add_option("--repository", flags->repository, "Model repository: <root>/<model>/<version>/ bundles")
      ->required();
  serve->add_option("--trust", flags->trust, "Folder of trusted publisher public keys (*.pem)")->required();
  serve->add_option("--listen", flags->listen, "Address to listen on, HOST:PORT or [IPV6]:PORT; port 0 picks one")
      ->capture_default_str();
  serve->add_option("--audit-log", flags->audit_log, "Audit log file, created with mode 0600 if missing")
      ->capture_default_str();
  serve->add_option("--port-file", flags->port_file, "Write the bound port to this file once listening");
  serve->add_option("--intra-op-threads", flags->intra_op_threads,
                    "ONNX Runtime threads shared by all models; 0 means one per usable core")
      ->capture_default_str();
  serve->add_flag("--intra-op-spinning", flags->intra_op_spinning,
                  "Let idle ONNX Runtime threads spin for work (lower latency on an otherwise idle machine, "
                  "but they compete with request handling for cores)");
  serve->add_option("--workers", flags->workers,
                    "Requests run at once; with the default 1, workers x intra-op threads stays within the cores")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  serve->add_option("--io-threads", flags->io_threads, "Threads that read and write sockets")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  serve->add_option("--max-body-bytes", flags->max_body_bytes, "Largest request body accepted, in bytes")
      ->capture_default_str();
  serve->add_flag("--audit-no-sync", flags->audit_no_sync,
                  "Do not fdatasync each audit record (faster; a crash can lose the last records)");
  serve->callback([flags, &exit_code] { exit_code = RunServe(*flags); });
}

}  // namespace moat::cli
