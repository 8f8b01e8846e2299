// Runs the real `moat audit verify` on logs written by AuditLog.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>

#include "audit_test_util.h"

extern char** environ;

namespace moat::audit {
namespace {

using testing::ReadAll;
using testing::TempFolder;

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

RunResult RunVerify(const TempFolder& folder, const std::string& log_path) {
  std::string out_path = folder.File("stdout.txt");
  std::string err_path = folder.File("stderr.txt");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);

  std::string binary = MOAT_BINARY;
  std::vector<std::string> args = {binary, "audit", "verify", log_path};
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  RunResult result;
  pid_t pid = 0;
  int spawned = posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  EXPECT_EQ(spawned, 0) << "cannot start " << binary;
  if (spawned != 0) return result;

  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status));
  result.exit_code = WEXITSTATUS(status);
  result.out = ReadAll(out_path);
  result.err = ReadAll(err_path);
  return result;
}

TEST(AuditVerifyCommand, GoodLog) {
  TempFolder folder;
  std::string path = folder.File("audit.log");
  testing::WriteTestLog(path, 3);

  RunResult result = RunVerify(folder, path);
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.out, "audit log: verified (3 records)\n");
  EXPECT_EQ(result.err, "");
}

TEST(AuditVerifyCommand, TamperedLog) {
  TempFolder folder;
  std::string path = folder.File("audit.log");
  std::string contents = testing::WriteTestLog(path, 3);
  contents.replace(contents.find("req-1"), 5, "req-9");
  testing::WriteAll(path, contents);

  RunResult result = RunVerify(folder, path);
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.out, "");
  EXPECT_THAT(result.err, ::testing::StartsWith("audit log: record 2 (line 3): previous-hash mismatch: "));
  EXPECT_EQ(result.err.find('\n'), result.err.size() - 1);
}

TEST(AuditVerifyCommand, EmptyLog) {
  TempFolder folder;
  std::string path = folder.File("audit.log");
  testing::WriteAll(path, "");

  RunResult result = RunVerify(folder, path);
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.out, "audit log: verified (0 records)\n");
}

TEST(AuditVerifyCommand, MissingFile) {
  TempFolder folder;
  std::string path = folder.File("missing.log");

  RunResult result = RunVerify(folder, path);
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_EQ(result.err, "audit log: " + path + ": file not found\n");
}

}  // namespace
}  // namespace moat::audit
