// Crash test: a child process appends in sync mode from several threads and
// reports each acknowledged record through a pipe; the parent kills it with
// SIGKILL after a seeded random number of acknowledgements, reopens the log
// and checks that it verifies and contains every acknowledged record.
// MOAT_CRASH_ROUNDS sets the number of rounds (default 20), and
// MOAT_CRASH_SEED the seed (default 1).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <random>
#include <thread>

#include "audit/segment_writer.h"
#include "audit_test_util.h"
#include "segment_test_util.h"

namespace moat::audit {
namespace {

using testing::TempFolder;

constexpr int kChildThreads = 4;

// One acknowledgement through the pipe: 8 bytes of sequence number, then the
// chain hash. 40 bytes is under PIPE_BUF, so writes from threads never interleave.
struct Acknowledgement {
  uint64_t sequence;
  Sha256Digest chain_hash;
};

uint64_t EnvOr(const char* name, uint64_t fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::strtoull(value, nullptr, 10) : fallback;
}

SegmentWriterOptions CrashOptions() {
  SegmentWriterOptions options;
  options.max_segment_bytes = 4096;  // small, so that rotation happens under the kill too
  return options;
}

// Runs in the child: appends until killed. Exits 2 when the log does not open.
[[noreturn]] void AppendUntilKilled(const std::string& folder, int pipe_fd, int round) {
  auto writer = SegmentWriter::Open(folder, CrashOptions());
  if (!writer.ok()) ::_exit(2);
  std::vector<std::thread> threads;
  for (int t = 0; t < kChildThreads; ++t) {
    threads.emplace_back([&, t] {
      for (uint64_t i = 0;; ++i) {
        std::string record = "round " + std::to_string(round) + " thread " + std::to_string(t) + " record " +
                             std::to_string(i) + std::string(i % 97, '*');
        StatusOr<AppendResult> result = (*writer)->Append(std::move(record)).get();
        if (!result.ok()) ::_exit(3);
        Acknowledgement ack{result->sequence, result->chain_hash};
        if (::write(pipe_fd, &ack, sizeof ack) != static_cast<ssize_t>(sizeof ack)) ::_exit(4);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  ::_exit(0);
}

// Reads acknowledgements until `count` have arrived or the pipe ends.
void ReadAcknowledgements(int fd, size_t count, std::map<uint64_t, Sha256Digest>& acked) {
  Acknowledgement ack{};
  while (acked.size() < count) {
    ssize_t n = ::read(fd, &ack, sizeof ack);
    if (n == 0) return;
    ASSERT_EQ(n, static_cast<ssize_t>(sizeof ack)) << "short read from the child's pipe";
    acked[ack.sequence] = ack.chain_hash;
  }
}

TEST(SegmentCrash, AcknowledgedRecordsSurviveKill) {
  uint64_t rounds = EnvOr("MOAT_CRASH_ROUNDS", 20);
  std::mt19937_64 random(EnvOr("MOAT_CRASH_SEED", 1));
  TempFolder temp;
  std::string folder = temp.File("log");
  std::map<uint64_t, Sha256Digest> acked;
  uint64_t cuts = 0;

  for (uint64_t round = 0; round < rounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      ::close(fds[0]);
      AppendUntilKilled(folder, fds[1], static_cast<int>(round));
    }
    ::close(fds[1]);

    size_t target = acked.size() + std::uniform_int_distribution<size_t>(0, 60)(random);
    ReadAcknowledgements(fds[0], target, acked);
    ::kill(child, SIGKILL);
    int wait_status = 0;
    ASSERT_EQ(::waitpid(child, &wait_status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(wait_status)) << "the child ended by itself with status " << wait_status;
    // Acknowledgements already in the pipe count as well.
    ReadAcknowledgements(fds[0], SIZE_MAX, acked);
    ::close(fds[0]);

    RecoveryReport report;
    auto writer = SegmentWriter::Open(folder, CrashOptions(), &report);
    ASSERT_TRUE(writer.ok()) << writer.status().ToString();
    if (report.cut_bytes > 0) ++cuts;
    writer->reset();

    std::vector<testing::StoredRecord> records = testing::ReadSegmentLog(folder);
    for (const auto& [sequence, chain_hash] : acked) {
      ASSERT_LT(sequence, records.size()) << "acknowledged record " << sequence << " is missing";
      EXPECT_EQ(records[sequence].chain_hash, chain_hash) << "record " << sequence << " differs";
    }
  }
  std::cout << rounds << " rounds, " << acked.size() << " acknowledged records, " << cuts
            << " torn tails cut\n";
}

}  // namespace
}  // namespace moat::audit
