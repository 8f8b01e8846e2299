// Test helper: `moat serve` as a child process on 127.0.0.1 with a port the
// OS picks, stopped with SIGTERM when the object goes away.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "testing/signed_repository.h"

extern char** environ;

namespace moat::testing {

class ServeProcess {
 public:
  // Starts `moat serve` for `repository` with batched auditing and `flags`
  // after the common ones. With `log_file`, stdout and stderr go there.
  ServeProcess(const SignedRepository& repository, const std::vector<std::string>& flags,
               const std::string& log_file = "")
      : port_file_(repository.root() + "/port") {
    ::unlink(port_file_.c_str());
    setenv("ORT_DISABLE_TELEMETRY", "1", 1);
    std::vector<std::string> args = {MOAT_BINARY,       "serve",
                                     "--repository",    repository.repository_dir(),
                                     "--trust",         repository.trust_dir(),
                                     "--audit-dir",     repository.audit_dir(),
                                     "--audit-durability", "batched", "--listen",
                                     "127.0.0.1:0",     "--port-file",
                                     port_file_};
    args.insert(args.end(), flags.begin(), flags.end());
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    if (!log_file.empty()) {
      posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                       0600);
      posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    }
    if (posix_spawn(&pid_, MOAT_BINARY, &actions, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
  }

  ~ServeProcess() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
  }

  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  // Waits up to 60 s for the port file; 0 when the server did not start.
  uint16_t WaitForPort() {
    for (int i = 0; i < 600 && pid_ > 0; ++i) {
      std::ifstream in(port_file_);
      int port = 0;
      if (in >> port && port > 0) return static_cast<uint16_t>(port);
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return 0;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return 0;
  }

  // Sends `signal_number` to the server; false when it is not running.
  bool Signal(int signal_number) { return pid_ > 0 && kill(pid_, signal_number) == 0; }

 private:
  std::string port_file_;
  pid_t pid_ = -1;
};

}  // namespace moat::testing
