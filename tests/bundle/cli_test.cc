// Runs the real `moat` binary for keygen, pack, sign and verify.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "bundle_test_util.h"
#include "testing/run_command.h"
#include "common/crypto.h"

namespace moat::bundle {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using testing::ModelPath;
using testing::ReadText;
using testing::TempDir;
using testing::WriteText;

using moat::testing::RunResult;

// Runs `moat ARGS`. Every argument the tests pass is a temporary path or a
// plain word, so single quotes are enough.
RunResult RunMoat(const std::vector<std::string>& args) {
  std::string command = std::string("ORT_DISABLE_TELEMETRY=1 '") + MOAT_BINARY + "'";
  for (const std::string& arg : args) command += " '" + arg + "'";
  return moat::testing::RunCommand(command);
}

class MoatCli : public ::testing::Test {
 protected:
  void SetUp() override {
    RunResult keygen = RunMoat({"keygen", "--out", dir_.Child("publisher")});
    ASSERT_EQ(keygen.exit_code, 0) << keygen.output;
    size_t at = keygen.output.find("key id: ");
    ASSERT_NE(at, std::string::npos) << keygen.output;
    key_id_ = keygen.output.substr(at + 8, 64);
    std::filesystem::create_directory(dir_.Child("trust"));
    std::filesystem::copy_file(dir_.Child("publisher.public.pem"), dir_.Child("trust/publisher.pem"));
  }

  TempDir dir_;
  std::string key_id_;
};

TEST_F(MoatCli, KeygenWritesPrivateKey0600) {
  EXPECT_THAT(key_id_, MatchesRegex("[0-9a-f]{64}"));
  struct stat st {};
  ASSERT_EQ(::stat(dir_.Child("publisher.private.pem").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_THAT(ReadText(dir_.Child("publisher.private.pem")), HasSubstr("-----BEGIN PRIVATE KEY-----"));
  EXPECT_THAT(ReadText(dir_.Child("publisher.public.pem")), HasSubstr("-----BEGIN PUBLIC KEY-----"));
}

TEST_F(MoatCli, KeygenRefusesOverwrite) {
  std::string before = ReadText(dir_.Child("publisher.private.pem"));
  RunResult again = RunMoat({"keygen", "--out", dir_.Child("publisher")});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_THAT(again.output, HasSubstr("moat keygen: "));
  EXPECT_THAT(again.output, HasSubstr("publisher.private.pem: already exists"));
  EXPECT_EQ(ReadText(dir_.Child("publisher.private.pem")), before);
}

TEST_F(MoatCli, PackSignVerify) {
  std::string bundle = dir_.Child("bundle");
  RunResult pack =
      RunMoat({"pack", ModelPath("add_sub.onnx"), "--name", "add_sub", "--version", "2", "--out", bundle});
  ASSERT_EQ(pack.exit_code, 0) << pack.output;
  std::string manifest = ReadText(bundle + "/manifest.json");
  EXPECT_THAT(manifest, HasSubstr(R"({"datatype":"FP32","name":"INPUT1","shape":[-1,16]})"));
  EXPECT_THAT(manifest, HasSubstr(R"({"datatype":"FP32","name":"OUTPUT1","shape":[-1,16]})"));

  RunResult unsigned_verify = RunMoat({"verify", bundle, "--trust", dir_.Child("trust")});
  EXPECT_EQ(unsigned_verify.exit_code, 1);
  EXPECT_THAT(unsigned_verify.output, HasSubstr("moat verify: manifest.json has 0 valid signature(s)"));

  RunResult sign = RunMoat({"sign", bundle, "--key", dir_.Child("publisher.private.pem")});
  ASSERT_EQ(sign.exit_code, 0) << sign.output;
  EXPECT_THAT(sign.output, HasSubstr("signed with key " + key_id_));

  RunResult verify = RunMoat({"verify", bundle, "--trust", dir_.Child("trust")});
  ASSERT_EQ(verify.exit_code, 0) << verify.output;
  EXPECT_THAT(verify.output, HasSubstr("name: add_sub\n"));
  EXPECT_THAT(verify.output, HasSubstr("version: 2\n"));
  EXPECT_THAT(verify.output, HasSubstr("digest: sha256:" + Sha256Hex(manifest) + "\n"));
  EXPECT_THAT(verify.output, HasSubstr("signed by: " + key_id_ + "\n"));
}

TEST_F(MoatCli, PackWithSignKeyAndExtraFile) {
  std::string bundle = dir_.Child("bundle");
  std::string labels = dir_.Child("labels.txt");
  WriteText(labels, "a\nb\n");
  RunResult pack =
      RunMoat({"pack", ModelPath("identity_int8.onnx"), "--name", "ident", "--version", "1", "--out", bundle,
               "--file", labels, "--sign-key", dir_.Child("publisher.private.pem")});
  ASSERT_EQ(pack.exit_code, 0) << pack.output;
  EXPECT_THAT(ReadText(bundle + "/manifest.json"), HasSubstr(R"("path":"labels.txt")"));
  RunResult verify = RunMoat({"verify", bundle, "--trust", dir_.Child("trust")});
  EXPECT_EQ(verify.exit_code, 0) << verify.output;
}

TEST_F(MoatCli, VerifyReportsTampering) {
  std::string bundle = dir_.Child("bundle");
  RunResult pack = RunMoat({"pack", ModelPath("add_sub.onnx"), "--name", "add_sub", "--version", "1", "--out",
                            bundle, "--sign-key", dir_.Child("publisher.private.pem")});
  ASSERT_EQ(pack.exit_code, 0) << pack.output;
  std::string model = ReadText(bundle + "/add_sub.onnx");
  model[0] ^= 0x01;
  WriteText(bundle + "/add_sub.onnx", model);
  WriteText(bundle + "/extra.txt", "x");

  RunResult verify = RunMoat({"verify", bundle, "--trust", dir_.Child("trust")});
  EXPECT_EQ(verify.exit_code, 1);
  EXPECT_THAT(verify.output, HasSubstr("moat verify: \"add_sub.onnx\" has SHA-256"));
  EXPECT_THAT(verify.output, HasSubstr("moat verify: \"extra.txt\" is not listed in the manifest"));

  RunResult sign = RunMoat({"sign", bundle, "--key", dir_.Child("publisher.private.pem")});
  EXPECT_EQ(sign.exit_code, 1);
  EXPECT_THAT(sign.output, HasSubstr("moat sign: \"add_sub.onnx\" has SHA-256"));
}

TEST_F(MoatCli, VerifyRejectsEmptyTrustDirectory) {
  std::filesystem::create_directory(dir_.Child("empty-trust"));
  RunResult verify = RunMoat({"verify", dir_.Child("bundle"), "--trust", dir_.Child("empty-trust")});
  EXPECT_EQ(verify.exit_code, 1);
  EXPECT_THAT(verify.output, HasSubstr("moat verify: trust directory"));
  EXPECT_THAT(verify.output, HasSubstr("contains no public keys"));
}

TEST_F(MoatCli, PackRejectsNonModel) {
  std::string fake = dir_.Child("fake.onnx");
  WriteText(fake, "not an onnx model");
  RunResult pack = RunMoat({"pack", fake, "--name", "fake", "--version", "1", "--out", dir_.Child("bundle")});
  EXPECT_EQ(pack.exit_code, 1);
  EXPECT_THAT(pack.output, HasSubstr("moat pack: "));
  EXPECT_THAT(pack.output, HasSubstr("fake.onnx: cannot read the model's inputs and outputs"));
  EXPECT_FALSE(std::filesystem::exists(dir_.Child("bundle")));
}

TEST_F(MoatCli, PackRejectsBadName) {
  RunResult pack = RunMoat({"pack", ModelPath("add_sub.onnx"), "--name", "../up", "--version", "1", "--out",
                            dir_.Child("bundle")});
  EXPECT_EQ(pack.exit_code, 1);
  EXPECT_THAT(pack.output, HasSubstr("model name \"../up\" must not start with '.'"));
}

TEST_F(MoatCli, KeygenAndPackCreateMissingFolders) {
  RunResult keygen = RunMoat({"keygen", "--out", dir_.Child("new/keys/publisher")});
  ASSERT_EQ(keygen.exit_code, 0) << keygen.output;
  struct stat st {};
  ASSERT_EQ(::stat(dir_.Child("new/keys").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(::stat(dir_.Child("new/keys/publisher.private.pem").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  RunResult pack = RunMoat({"pack", ModelPath("identity_fp32.onnx"), "--name", "identity", "--version", "1",
                            "--out", dir_.Child("repo/identity/1")});
  ASSERT_EQ(pack.exit_code, 0) << pack.output;
  EXPECT_TRUE(std::filesystem::exists(dir_.Child("repo/identity/1/manifest.json")));
}

}  // namespace
}  // namespace moat::bundle
