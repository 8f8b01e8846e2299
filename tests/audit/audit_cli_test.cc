// Runs the real `moat audit` subcommands on logs built by AuditLogFixture.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>

#include "audit/receipt.h"
#include "audit_log_fixture.h"

extern char** environ;

namespace moat::audit {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing::FixtureRecord;
using testing::MakeStandardLog;
using testing::ReadAll;
using testing::TempFolder;

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

RunResult RunMoat(const TempFolder& temp, std::vector<std::string> args) {
  std::string out_path = temp.File("stdout.txt");
  std::string err_path = temp.File("stderr.txt");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);

  std::string binary = MOAT_BINARY;
  args.insert(args.begin(), {binary, "audit"});
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

TEST(AuditCli, VerifyGoodLog) {
  TempFolder temp;
  auto log = MakeStandardLog(temp);
  log->AppendSegment(2);
  RunResult result = RunMoat(temp, {"verify", log->folder(), "--public-key", log->public_key_file()});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "audit log " + log->folder() + ": verified\nlog id: " + HexEncode(log->log_id()) +
                            "\nrecords: 12, sequence numbers 0 to 11\nsegments: 4, indexes 1 to 4\n"
                            "checkpoints: 3, the latest covering 10 records\n"
                            "uncovered records: 2 (chained but not yet covered by a signed checkpoint)\n");
  EXPECT_EQ(result.err, "");
}

TEST(AuditCli, VerifyWithKeyFile) {
  TempFolder temp;
  auto log = MakeStandardLog(temp);
  RunResult result = RunMoat(
      temp, {"verify", log->folder(), "--public-key", log->public_key_file(), "--key-file", log->key_file()});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.out, HasSubstr("\ndecrypted records: 10\n"));
}

TEST(AuditCli, VerifyDamagedLog) {
  TempFolder temp;
  auto log = MakeStandardLog(temp);
  std::string data = ReadAll(log->segment_path(3));
  testing::WriteAll(log->segment_path(3), data.substr(0, data.size() - 1));
  RunResult result = RunMoat(temp, {"verify", log->folder(), "--public-key", log->public_key_file()});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.out, "");
  EXPECT_EQ(result.err, "moat audit verify: " + log->checkpoints_path() +
                            ": line 3: checkpoint 2 of size 10 covers more records than the log contains (9): "
                            "records were removed or cut after it was signed\n");
}

TEST(AuditCli, VerifyUnreadable) {
  TempFolder temp;
  auto log = MakeStandardLog(temp);
  RunResult missing = RunMoat(temp, {"verify", temp.File("missing"), "--public-key", log->public_key_file()});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.err, StartsWith("moat audit verify: " + temp.File("missing") + ": cannot open the audit log"));
  RunResult no_key = RunMoat(temp, {"verify", log->folder(), "--public-key", temp.File("missing.pem")});
  EXPECT_EQ(no_key.exit_code, 2);
}

TEST(AuditCli, ProveAndVerifyReceipt) {
  TempFolder temp;
  auto log = MakeStandardLog(temp);
  std::string proof_path = temp.File("proof.json");
  RunResult proved = RunMoat(temp, {"prove", "5", "--audit-dir", log->folder(), "--out", proof_path});
  ASSERT_EQ(proved.exit_code, 0) << proved.err;
  EXPECT_EQ(proved.out, "proof of record 5 against the checkpoint of size 10 written to " + proof_path + "\n");
  RunResult printed = RunMoat(temp, {"prove", "5", "--audit-dir", log->folder()});
  EXPECT_EQ(printed.out, ReadAll(proof_path));

  std::string receipt = FormatReceipt({log->log_id(), 5, LeafHash(log->stored()[5])});
  RunResult verified = RunMoat(temp, {"verify-receipt", "--receipt", receipt, "--proof", proof_path, "--public-key",
                                      log->public_key_file(), "--key-file", log->key_file()});
  EXPECT_EQ(verified.exit_code, 0) << verified.err;
  EXPECT_THAT(verified.out, StartsWith("receipt verified: record 5 of log " + HexEncode(log->log_id()) +
                                       " is in the checkpoint of size 10 signed by key " + log->node_key().key_id() +
                                       "\nrecord: {\"format\":2,\"seq\":5,"));
  EXPECT_THAT(verified.out, HasSubstr("\"output_digest\":\"" + std::string(64, 'd') + "\""));

  std::string other = FormatReceipt({log->log_id(), 6, LeafHash(log->stored()[6])});
  RunResult mismatch = RunMoat(
      temp, {"verify-receipt", "--receipt", other, "--proof", proof_path, "--public-key", log->public_key_file()});
  EXPECT_EQ(mismatch.exit_code, 1);
  EXPECT_EQ(mismatch.err, "moat audit verify-receipt: the receipt names record 6, but the proof is for record 5\n");

  RunResult malformed = RunMoat(
      temp, {"verify-receipt", "--receipt", "moat-receipt-v1:x", "--proof", proof_path, "--public-key",
             log->public_key_file()});
  EXPECT_EQ(malformed.exit_code, 2);
}

TEST(AuditCli, ProveUncoveredRecord) {
  TempFolder temp;
  auto log = MakeStandardLog(temp);
  log->AppendSegment(1);
  RunResult result = RunMoat(temp, {"prove", "10", "--audit-dir", log->folder()});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_EQ(result.err, "moat audit prove: record 10 is not yet covered by a checkpoint: the latest checkpoint (" +
                            log->checkpoints_path() +
                            " line 3) has size 10, covering records 0 to 10 (exclusive); retry after the next "
                            "checkpoint\n");
}

TEST(AuditCli, ExportThenVerify) {
  TempFolder temp;
  auto log = MakeStandardLog(temp);
  std::string archive = temp.File("part.tar");
  RunResult exported =
      RunMoat(temp, {"export", "--audit-dir", log->folder(), "--from", "4", "--to", "8", "--out", archive});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  EXPECT_EQ(exported.out, "exported records 4 to 8 to " + archive +
                              ": segments 2 to 3 (records 3 to 9), 3 checkpoints, with a base file\n");
  RunResult verified = RunMoat(temp, {"verify", archive, "--public-key", log->public_key_file()});
  EXPECT_EQ(verified.exit_code, 0) << verified.err;
  EXPECT_THAT(verified.out, HasSubstr("records: 7, sequence numbers 3 to 9\nsegments: 2, indexes 2 to 3\n"));
}

TEST(AuditCli, ExportByTime) {
  TempFolder temp;
  auto log = MakeStandardLog(temp);
  std::string archive = temp.File("timed.tar");
  std::vector<std::string> args = {"export", "--audit-dir", log->folder(), "--from", "2026-12-05T04:30:07Z",
                                   "--to", "2026-12-05T05:30:08.5+01:00", "--out", archive};
  RunResult no_keys = RunMoat(temp, args);
  EXPECT_EQ(no_keys.exit_code, 2);
  EXPECT_EQ(no_keys.err,
            "moat audit export: --from or --to is a time, which is stored encrypted: add --key-file\n");
  args.insert(args.end(), {"--key-file", log->key_file()});
  RunResult exported = RunMoat(temp, args);
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  EXPECT_THAT(exported.out, StartsWith("exported records 7 to 8 to " + archive + ": segments 3 to 3"));

  RunResult bad = RunMoat(temp, {"export", "--audit-dir", log->folder(), "--from", "yesterday", "--to", "3",
                                 "--out", temp.File("bad.tar")});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_EQ(bad.err, "moat audit export: --from: \"yesterday\" is neither a sequence number nor an RFC 3339 time\n");
}

TEST(AuditCli, QueryTableAndJson) {
  TempFolder temp;
  testing::AuditLogFixture log(temp.File("audit"));
  std::vector<FixtureRecord> records(3);
  records[1].model = "resnet";
  records[1].version = 4;
  log.AppendSegment(records);
  RunResult table = RunMoat(temp, {"query", "--audit-dir", log.folder(), "--key-file", log.key_file(), "--model",
                                   "resnet"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_EQ(table.out,
            "SEQ       TIME                         TYPE            MODEL             VERSION  PRINCIPAL     "
            "OUTCOME             RULE                  REQUEST_ID\n"
            "1         2026-12-05T04:30:01.000000Z  inference       resnet            4        anonymous     "
            "ok                  -                     req-1\n");

  RunResult json = RunMoat(temp, {"query", "--audit-dir", log.folder(), "--key-file", log.key_file(), "--json",
                                  "--until", "2026-12-05T04:30:01Z"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  EXPECT_EQ(json.out, testing::FixturePlaintext(0, records[0]) + "\n" + testing::FixturePlaintext(1, records[1]) +
                          "\n");
}

}  // namespace
}  // namespace moat::audit
