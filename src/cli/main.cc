#include <cstdlib>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "cli/commands.h"

int main(int argc, char** argv) {
  // The official ONNX Runtime builds start a telemetry uploader unless this
  // variable is set before the first Ort::Env; Moat never sends anything out.
  ::setenv("ORT_DISABLE_TELEMETRY", "1", 1);

  // Diagnostics go to stderr so that command output on stdout stays parseable.
  spdlog::set_default_logger(spdlog::stderr_color_mt("moat"));

  CLI::App app{"Moat: an inference server that runs only signed models and keeps verifiable evidence"};
  app.require_subcommand(1);
  app.set_version_flag("--version", MOAT_VERSION_STRING);
  int exit_code = 0;
  moat::cli::AddBundleCommands(app, exit_code);
  moat::cli::AddServeCommand(app, exit_code);
  moat::cli::AddInferCommand(app, exit_code);
  moat::cli::AddAuditCommands(app, exit_code);
  moat::cli::AddDoctorCommand(app, exit_code);
  moat::cli::AddBenchCommand(app, exit_code);
  moat::cli::AddAccessCommands(app, exit_code);
  CLI11_PARSE(app, argc, argv);
  return exit_code;
}
