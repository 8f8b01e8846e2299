// Kills `moat serve` with SIGKILL at random moments while clients send
// requests, then checks the audit folder: it still opens (the records match
// the latest signed checkpoint), and every request the server completed in
// sync mode is in the log under the receipt it returned.
//
// MOAT_CRASH_ROUNDS sets the number of kills (default 3; `make crash-test`
// runs many more), MOAT_CRASH_SEED the random seed (printed when it fails).
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "audit/audit_keys.h"
#include "audit/audit_log.h"
#include "audit/segment.h"
#include "client/kserve_client.h"
#include "common/crypto.h"
#include "common/file.h"
#include "testing/audit_records.h"
#include "testing/signed_repository.h"

extern char** environ;

namespace moat {
namespace {

constexpr int kClients = 4;

uint64_t EnvOr(const char* name, uint64_t fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::strtoull(value, nullptr, 10) : fallback;
}

// One `moat serve` process in sync mode with frequent checkpoints.
class ServerProcess {
 public:
  explicit ServerProcess(const testing::SignedRepository& repo) : port_file_(repo.root() + "/crash.port") {
    std::filesystem::remove(port_file_);
    std::vector<std::string> args = {MOAT_BINARY, "serve", "--repository", repo.repository_dir(), "--trust",
                                     repo.trust_dir(), "--audit-dir", repo.audit_dir(), "--audit-durability",
                                     "sync", "--audit-checkpoint-records", "16", "--audit-checkpoint-ms", "20",
                                     "--listen", "127.0.0.1:0", "--port-file", port_file_, "--log-level",
                                     "warn"};
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    setenv("ORT_DISABLE_TELEMETRY", "1", 1);
    if (posix_spawn(&pid_, MOAT_BINARY, nullptr, nullptr, argv.data(), environ) != 0) pid_ = -1;
  }
  ~ServerProcess() { Kill(); }

  // Waits up to 60 s for the port file; 0 when the server did not start.
  uint16_t WaitForPort() {
    for (int i = 0; i < 600 && pid_ > 0; ++i) {
      auto text = ReadFile(port_file_);
      if (text.ok() && !text->empty() && text->back() == '\n') return static_cast<uint16_t>(std::stoi(*text));
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return 0;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return 0;
  }

  void Kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

 private:
  std::string port_file_;
  pid_t pid_ = -1;
};

struct Acknowledged {
  uint64_t sequence = 0;
  std::string record_hash;  // hex
};

// Sends identity requests until `stop`, keeping the receipt of each success.
void RunClient(uint16_t port, const std::atomic<bool>& stop, std::mutex& mutex, std::vector<Acknowledged>& acked) {
  auto client = client::KServeClient::Create("http://127.0.0.1:" + std::to_string(port));
  if (!client.ok()) return;
  InferenceRequest request;
  request.model_name = "identity";
  std::string bytes(2 * sizeof(float), '\0');
  request.inputs = {MakeOwnedTensor("INPUT0", DataType::kFp32, {1, 2}, bytes)};
  while (!stop.load()) {
    auto result = client->Infer(request);
    if (!result.ok()) continue;  // the server is gone, or going
    const std::string& receipt = result->audit_receipt;
    size_t third = receipt.rfind(':');
    size_t second = receipt.rfind(':', third - 1);
    if (third == std::string::npos || second == std::string::npos) {
      ADD_FAILURE() << "a successful response without a receipt: '" << receipt << "'";
      continue;
    }
    std::lock_guard lock(mutex);
    acked.push_back({std::stoull(receipt.substr(second + 1, third - second - 1)), receipt.substr(third + 1)});
  }
}

TEST(AuditCrash, AcknowledgedRequestsSurviveSigkill) {
  const uint64_t rounds = EnvOr("MOAT_CRASH_ROUNDS", 3);
  const uint64_t seed = EnvOr("MOAT_CRASH_SEED", 20261205);
  SCOPED_TRACE("MOAT_CRASH_SEED=" + std::to_string(seed));
  std::mt19937_64 random(seed);
  testing::SignedRepository repo({{"identity", 1, testing::TestModelPath("identity_fp32.onnx")}});

  std::vector<Acknowledged> acked;
  for (uint64_t round = 0; round < rounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    ServerProcess server(repo);
    uint16_t port = server.WaitForPort();
    ASSERT_NE(port, 0) << "the server did not start; a damaged log stops it, see the test output";
    std::atomic<bool> stop{false};
    std::mutex mutex;
    std::vector<std::thread> clients;
    for (int i = 0; i < kClients; ++i) {
      clients.emplace_back(RunClient, port, std::cref(stop), std::ref(mutex), std::ref(acked));
    }
    // Kill at a random moment between 20 and 300 ms of load.
    std::this_thread::sleep_for(std::chrono::milliseconds(20 + random() % 281));
    server.Kill();
    stop = true;
    for (std::thread& client : clients) client.join();
  }
  ASSERT_FALSE(acked.empty());

  // The log opens as a restarted server would open it: records checked
  // against the latest checkpoint, a torn tail cut and recorded.
  auto options = audit::AuditLogOptionsWithDefaultKeys(repo.audit_dir(), audit::AuditDurability::kSync);
  ASSERT_TRUE(options.ok()) << options.status().ToString();
  {
    auto log = audit::AuditLog::Open(*options);
    ASSERT_TRUE(log.ok()) << log.status().ToString();
  }

  std::vector<std::string> stored;
  auto scan = audit::ScanSegmentFolder(repo.audit_dir(), {}, [&](const audit::SegmentRecordView& record) {
    stored.emplace_back(record.bytes);
  });
  ASSERT_TRUE(scan.ok()) << scan.status().ToString();
  size_t missing = 0;
  for (const Acknowledged& ack : acked) {
    if (ack.sequence >= stored.size() || HexEncode(audit::LeafHash(stored[ack.sequence])) != ack.record_hash) {
      ++missing;
    }
  }
  EXPECT_EQ(missing, 0u) << "of " << acked.size() << " acknowledged requests, over " << rounds << " kills";
  std::printf("audit crash test: %llu kills, %zu acknowledged requests, %zu missing, %zu records\n",
              static_cast<unsigned long long>(rounds), acked.size(), missing, stored.size());
  // Every record opens with the key file.
  EXPECT_EQ(testing::ReadAuditRecords(repo.audit_dir()).size(), stored.size());
}

}  // namespace
}  // namespace moat
