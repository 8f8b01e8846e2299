// `moat doctor`: a fast, read-only check of the machine, the serving
// configuration and the repository. It reads manifests for file sizes but
// verifies no signature and loads no model.
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bundle/manifest.h"
#include "bundle/paths.h"
#include "cli/commands.h"
#include "common/file.h"
#include "config/serving_config.h"
#include "core/model_version.h"
#include "hardware/inventory.h"
#include "hardware/memory_estimate.h"
#include "hardware/thread_plan.h"

namespace moat::cli {

namespace {

namespace fs = std::filesystem;

// Exit code when the configuration is invalid, a version cannot be read, or
// the planned versions would not fit in memory.
constexpr int kExitProblems = 1;

struct DoctorOptions {
  std::string repository;
  std::string config;
};

// One version folder: the total of its manifest's file sizes, or the reason
// they could not be read.
struct VersionEntry {
  std::string model;
  std::string folder;
  int64_t version = 0;
  uint64_t bundle_bytes = 0;
  Status problem;
};

void PrintInventory(const hardware::HardwareInventory& inventory) {
  std::cout << "hardware:\n";
  std::cout << "  cores: " << inventory.usable_cores << " usable (affinity " << inventory.affinity_cores
            << ", ";
  if (inventory.cgroup_cpus) {
    std::cout << "cgroup quota " << *inventory.cgroup_cpus << " CPUs)\n";
  } else {
    std::cout << "no cgroup CPU quota)\n";
  }
  std::cout << "  memory: " << hardware::ToMiB(inventory.available_memory_bytes) << " MiB available of "
            << hardware::ToMiB(inventory.total_memory_bytes) << " MiB";
  if (inventory.cgroup_memory_max) {
    std::cout << " (cgroup memory.max " << hardware::ToMiB(*inventory.cgroup_memory_max) << " MiB)";
  }
  std::cout << "\n  cpu: " << inventory.cpu_model << "\n";
  for (const hardware::GpuInfo& gpu : inventory.gpus.gpus) {
    std::cout << "  gpu " << gpu.index << ": " << gpu.name << ", " << hardware::ToMiB(gpu.total_memory_bytes)
              << " MiB total, " << hardware::ToMiB(gpu.free_memory_bytes) << " MiB free\n";
  }
  if (inventory.gpus.gpus.empty()) std::cout << "  gpus: none\n";
  if (!inventory.gpus.note.empty()) std::cout << "  note: " << inventory.gpus.note << "\n";
  for (const std::string& problem : inventory.problems) std::cout << "  note: " << problem << "\n";
}

// Loads the configuration named by --config; no option means the defaults.
// Prints the result and returns nullopt when the file is missing or invalid,
// adding one to `problems` per problem found in it.
std::optional<config::ServingConfig> CheckConfig(const std::string& path, int& problems) {
  if (path.empty()) {
    std::cout << "config: none given, so the defaults apply\n";
    return config::ServingConfig();
  }
  StatusOr<config::ServingConfig> loaded = config::LoadServingConfig(path);
  if (!loaded.ok()) {
    if (loaded.status().code() != StatusCode::kInvalidArgument) {
      std::cout << "config: " << loaded.status().message() << "\n";
      ++problems;
      return std::nullopt;
    }
    std::cout << "config: " << path << " is invalid:\n";
    std::string message = loaded.status().message();
    size_t pos = 0;
    while (pos < message.size()) {
      size_t end = std::min(message.find('\n', pos), message.size());
      std::cout << "  " << message.substr(pos, end - pos) << "\n";
      ++problems;
      pos = end + 1;
    }
    return std::nullopt;
  }
  std::cout << "config: " << path << ": OK\n";
  return std::move(loaded).value();
}

std::vector<fs::path> SortedEntries(const fs::path& dir, std::error_code& ec) {
  std::vector<fs::path> entries;
  for (const auto& entry : fs::directory_iterator(dir, ec)) entries.push_back(entry.path());
  std::sort(entries.begin(), entries.end());
  return entries;
}

// Sums the file sizes the manifest lists; reads nothing else of the bundle.
VersionEntry ReadVersion(const fs::path& folder, const std::string& model) {
  VersionEntry entry;
  entry.model = model;
  entry.folder = folder.filename().string();
  std::optional<int64_t> version = ParseVersionNumber(entry.folder);
  if (!version) {
    entry.problem = InvalidArgumentError("folder name is not a version number");
    return entry;
  }
  entry.version = *version;
  StatusOr<std::string> bytes =
      ReadFile((folder / bundle::kManifestFileName).string(), bundle::kMaxManifestBytes);
  if (!bytes.ok()) {
    entry.problem = bytes.status();
    return entry;
  }
  StatusOr<bundle::Manifest> manifest = bundle::ParseManifest(*bytes);
  if (!manifest.ok()) {
    entry.problem = InvalidArgumentError("manifest.json is invalid: " + manifest.status().message());
    return entry;
  }
  for (const bundle::FileEntry& file : manifest->files) entry.bundle_bytes += file.size;
  return entry;
}

// Lists every version folder of the repository, in name order. Returns an
// error only when the repository folder itself cannot be read.
StatusOr<std::vector<VersionEntry>> ScanRepository(const std::string& root) {
  std::error_code ec;
  if (!fs::is_directory(fs::symlink_status(root, ec))) {
    return NotFoundError("model repository " + root + " is not a directory");
  }
  std::vector<VersionEntry> versions;
  std::vector<fs::path> models = SortedEntries(root, ec);
  if (ec) return FailedPreconditionError("cannot read model repository " + root + ": " + ec.message());
  for (const fs::path& model_dir : models) {
    std::string model = model_dir.filename().string();
    std::vector<fs::path> folders = SortedEntries(model_dir, ec);
    if (ec) {
      versions.push_back(
          {model, "", 0, 0, FailedPreconditionError("cannot read model folder: " + ec.message())});
      ec.clear();
      continue;
    }
    for (const fs::path& folder : folders) versions.push_back(ReadVersion(folder, model));
  }
  return versions;
}

// Prints each version with its memory estimate and returns the number of
// problems (unreadable versions and versions that would not fit).
int CheckRepository(const std::vector<VersionEntry>& versions, const config::ServingConfig& config,
                    const hardware::HardwareInventory& inventory,
                    std::vector<hardware::ThreadRequest>& threads) {
  int problems = 0;
  uint64_t planned = 0;
  for (const VersionEntry& entry : versions) {
    std::cout << "  " << entry.model << " version " << (entry.folder.empty() ? "?" : entry.folder) << ": ";
    if (!entry.problem.ok()) {
      std::cout << "cannot be read: " << entry.problem.message() << "\n";
      ++problems;
      continue;
    }
    config::ModelSettings settings = config.For(entry.model, entry.version);
    uint64_t per_instance = hardware::EstimateModelMemory(entry.bundle_bytes);
    uint64_t estimate = per_instance > UINT64_MAX / static_cast<uint64_t>(settings.instances)
                            ? UINT64_MAX
                            : per_instance * static_cast<uint64_t>(settings.instances);
    std::cout << "bundle " << hardware::ToMiB(entry.bundle_bytes) << " MiB, " << settings.instances
              << " instance(s), about " << hardware::ToMiB(estimate) << " MiB of memory";
    Status fits =
        hardware::CheckFits(entry.model, entry.version, estimate, inventory.available_memory_bytes, planned);
    if (fits.ok()) {
      std::cout << ": fits\n";
      planned += estimate;
    } else {
      std::cout << ": does not fit\n    " << fits.message() << "\n";
      ++problems;
    }
    threads.push_back({entry.model, entry.version, settings.instances, settings.intra_op_threads});
  }
  return problems;
}

void WarnUnknownModels(const std::vector<VersionEntry>& versions, const config::ServingConfig& config) {
  for (const std::string& name : config.ModelNames()) {
    bool present = std::any_of(versions.begin(), versions.end(),
                               [&](const VersionEntry& entry) { return entry.model == name; });
    if (!present) {
      std::cout << "  warning: the configuration has settings for model " << name
                << ", which the repository does not contain\n";
    }
  }
}

int RunDoctor(const DoctorOptions& options) {
  int problems = 0;
  hardware::HardwareInventory inventory = hardware::ReadHardwareInventory();
  PrintInventory(inventory);

  std::optional<config::ServingConfig> config = CheckConfig(options.config, problems);

  if (!options.repository.empty()) {
    std::cout << "repository: " << options.repository << "\n";
    StatusOr<std::vector<VersionEntry>> versions = ScanRepository(options.repository);
    if (!versions.ok()) {
      std::cout << "  " << versions.status().message() << "\n";
      ++problems;
    } else {
      // An invalid configuration still lets the repository be checked with
      // the defaults, so one run shows every problem.
      config::ServingConfig effective = config.value_or(config::ServingConfig());
      std::vector<hardware::ThreadRequest> requests;
      problems += CheckRepository(*versions, effective, inventory, requests);
      WarnUnknownModels(*versions, effective);
      hardware::ThreadPlan plan = hardware::PlanThreads(inventory.usable_cores, requests);
      std::cout << plan.Describe() << "\n";
      for (const hardware::ThreadAssignment& assignment : plan.assignments) {
        std::cout << "  " << assignment.Describe() << "\n";
      }
      for (const std::string& warning : plan.warnings) std::cout << "  warning: " << warning << "\n";
    }
  }

  if (problems == 0) {
    std::cout << "doctor: no problems found\n";
    return 0;
  }
  std::cout << "doctor: " << problems << " problem(s) found\n";
  return kExitProblems;
}

}  // namespace

void AddDoctorCommand(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<DoctorOptions>();
  CLI::App* doctor = app.add_subcommand(
      "doctor",
      "Print the hardware inventory, check the serving configuration and estimate whether each model version "
      "in the repository fits in memory; exit 1 on any problem. Read-only and fast: it reads manifests for "
      "file sizes but verifies no signature and loads no model, so `moat serve` can still reject a version");
  doctor->add_option("--repository", options->repository, "Model repository folder to check");
  doctor->add_option("--config", options->config,
                     "Serving configuration file to check (default: none, defaults apply)");
  doctor->callback([options, &exit_code] { exit_code = RunDoctor(*options); });
}

}  // namespace moat::cli
