// `moat doctor` run as a program against signed repositories.
#include <gtest/gtest.h>

#include <string>

#include "bundle/manifest.h"
#include "common/file.h"
#include "testing/run_command.h"
#include "testing/signed_repository.h"

namespace moat {
namespace {

using testing::RunCommand;
using testing::RunResult;

std::string Doctor(const std::string& arguments) { return std::string(MOAT_BINARY) + " doctor " + arguments; }

TEST(Doctor, HardwareOnly) {
  RunResult result = RunCommand(Doctor(""));
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("cores: "), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("memory: "), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("cpu: "), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("config: none given"), std::string::npos) << result.output;
}

TEST(Doctor, RepositoryFits) {
  testing::SignedRepository repo({{"identity", 1, testing::TestModelPath("identity_fp32.onnx")},
                                  {"add_sub", 2, testing::TestModelPath("add_sub.onnx")}});
  std::string config = repo.root() + "/moat-serving.conf";
  ASSERT_TRUE(WriteFileAtomic(config, "[model add_sub]\ninstances = 2\nintra_op_threads = 1\n").ok());
  RunResult result = RunCommand(Doctor("--repository " + repo.repository_dir() + " --config " + config));
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("config: " + config + ": OK"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("add_sub version 2: bundle"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("2 instance(s), about 33 MiB of memory: fits"), std::string::npos)
      << result.output;
  EXPECT_NE(result.output.find("identity version 1: bundle"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("thread plan: 2 model versions, 3 instances"), std::string::npos)
      << result.output;
  EXPECT_NE(result.output.find(
                "add_sub version 2: 2 instance(s) x 1 intra-op thread(s) (set in the configuration)"),
            std::string::npos)
      << result.output;
  EXPECT_NE(result.output.find("doctor: no problems found"), std::string::npos) << result.output;
}

TEST(Doctor, InvalidConfigFails) {
  testing::SignedRepository repo({{"identity", 1, testing::TestModelPath("identity_fp32.onnx")}});
  std::string config = repo.root() + "/moat-serving.conf";
  ASSERT_TRUE(WriteFileAtomic(config, "[defaults]\ninstances = 0\nmax_batch = 8\nmax_queue_size = -1\n").ok());
  RunResult result = RunCommand(Doctor("--repository " + repo.repository_dir() + " --config " + config));
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_NE(result.output.find(config + ":2: instances must be between 1 and 256"), std::string::npos)
      << result.output;
  // Each line of the file with a problem counts once.
  EXPECT_NE(result.output.find("doctor: 3 problem(s) found"), std::string::npos) << result.output;
  // The repository is still checked, with the defaults.
  EXPECT_NE(result.output.find("identity version 1: bundle"), std::string::npos) << result.output;
}

TEST(Doctor, MissingConfigFails) {
  RunResult result = RunCommand(Doctor("--config /nonexistent/moat-serving.conf"));
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_NE(result.output.find("file not found"), std::string::npos) << result.output;
}

TEST(Doctor, HugeBundleDoesNotFit) {
  testing::SignedRepository repo({{"identity", 1, testing::TestModelPath("identity_fp32.onnx")}});
  // A manifest that lists a 1 PiB file: the doctor sizes bundles from the
  // manifest alone, so no machine has that much memory. The signature no
  // longer matches, which the doctor does not check.
  std::string manifest_path = repo.BundleDir("identity", 1) + "/manifest.json";
  StatusOr<std::string> bytes = ReadFile(manifest_path);
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  StatusOr<bundle::Manifest> manifest = bundle::ParseManifest(*bytes);
  ASSERT_TRUE(manifest.ok()) << manifest.status().ToString();
  ASSERT_FALSE(manifest->files.empty());
  manifest->files[0].size = uint64_t{1} << 50;
  ASSERT_TRUE(WriteFileAtomic(manifest_path, bundle::SerializeManifest(*manifest)).ok());

  RunResult result = RunCommand(Doctor("--repository " + repo.repository_dir()));
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_NE(result.output.find("identity version 1: bundle 1073741824 MiB"), std::string::npos)
      << result.output;
  EXPECT_NE(result.output.find("does not fit"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("model identity version 1 needs about 2147483664 MiB, "), std::string::npos)
      << result.output;
  EXPECT_NE(result.output.find("doctor: 1 problem(s) found"), std::string::npos) << result.output;
}

TEST(Doctor, UnreadableVersionFails) {
  testing::SignedRepository repo({{"identity", 1, testing::TestModelPath("identity_fp32.onnx")}});
  std::filesystem::create_directories(repo.repository_dir() + "/identity/2");
  std::filesystem::create_directories(repo.repository_dir() + "/identity/latest");
  RunResult result = RunCommand(Doctor("--repository " + repo.repository_dir()));
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_NE(result.output.find("identity version 2: cannot be read"), std::string::npos) << result.output;
  EXPECT_NE(
      result.output.find("identity version latest: cannot be read: folder name is not a version number"),
      std::string::npos)
      << result.output;
  EXPECT_NE(result.output.find("doctor: 2 problem(s) found"), std::string::npos) << result.output;
}

TEST(Doctor, WarnsAboutUnknownModel) {
  testing::SignedRepository repo({{"identity", 1, testing::TestModelPath("identity_fp32.onnx")}});
  std::string config = repo.root() + "/moat-serving.conf";
  ASSERT_TRUE(WriteFileAtomic(config, "[model ghost]\ninstances = 2\n").ok());
  RunResult result = RunCommand(Doctor("--repository " + repo.repository_dir() + " --config " + config));
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("settings for model ghost, which the repository does not contain"),
            std::string::npos)
      << result.output;
}

TEST(Doctor, MissingRepositoryFails) {
  RunResult result = RunCommand(Doctor("--repository /nonexistent/repo"));
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_NE(result.output.find("model repository /nonexistent/repo is not a directory"), std::string::npos)
      << result.output;
}

}  // namespace
}  // namespace moat
