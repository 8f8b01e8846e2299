#include "bundle/verify.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "bundle/manifest.h"
#include "bundle/pack.h"
#include "bundle/signature.h"
#include "bundle_test_util.h"
#include "common/crypto.h"

namespace moat::bundle {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::ReadText;
using testing::TempDir;
using testing::WriteText;

class BundleVerify : public ::testing::Test {
 protected:
  void SetUp() override {
    bundle_ = scratch_.Child("bundle");
    testing::MakeSignedBundle(bundle_, key_, scratch_);
    trust_ = TrustStore::FromKeys({key_.public_key()});
  }

  std::string Path(const std::string& relative) const { return bundle_ + "/" + relative; }

  // Verifies the bundle and returns the failure message. A bundle that
  // verifies fails the test.
  std::string Rejection(const VerifyOptions& options = {}) {
    StatusOr<VerifiedBundle> verified = VerifyBundle(bundle_, trust_, options);
    EXPECT_FALSE(verified.ok()) << "bundle verified unexpectedly";
    return verified.ok() ? "" : verified.status().message();
  }

  // Writes a manifest of arbitrary bytes and signs them with `key_`, the way
  // a publisher with a broken tool would.
  void WriteSignedManifest(const std::string& bytes) {
    WriteText(Path("manifest.json"), bytes);
    SignatureFile file{key_.key_id(), "ed25519", *key_.Sign(bytes)};
    WriteText(Path(SignatureFilePath(key_.key_id())), SerializeSignatureFile(file));
  }

  // Adds a file to the bundle and to its manifest, then signs it again.
  void AddListedFile(const std::string& relative, const std::string& contents) {
    std::filesystem::create_directories(std::filesystem::path(Path(relative)).parent_path());
    WriteText(Path(relative), contents);
    StatusOr<Manifest> manifest = ParseManifest(ReadText(Path("manifest.json")));
    ASSERT_TRUE(manifest.ok()) << manifest.status().ToString();
    manifest->files.push_back({relative, contents.size(), Sha256Hex(contents)});
    WriteText(Path("manifest.json"), SerializeManifest(*manifest));
    StatusOr<std::string> signed_path = SignBundle(bundle_, key_);
    ASSERT_TRUE(signed_path.ok()) << signed_path.status().ToString();
  }

  TempDir scratch_;
  PrivateKey key_ = testing::NewKey();
  std::string bundle_;
  TrustStore trust_;
};

TEST_F(BundleVerify, AcceptsSignedBundle) {
  StatusOr<VerifiedBundle> verified = VerifyBundle(bundle_, trust_);
  ASSERT_TRUE(verified.ok()) << verified.status().ToString();
  std::string manifest_bytes = ReadText(Path("manifest.json"));
  EXPECT_EQ(verified->manifest_bytes, manifest_bytes);
  EXPECT_EQ(verified->digest, Sha256Hex(manifest_bytes));
  EXPECT_EQ(verified->manifest.name, "identity");
  EXPECT_EQ(verified->manifest.model_file, "identity_fp32.onnx");
  EXPECT_THAT(verified->signer_key_ids, ElementsAre(key_.key_id()));
  ASSERT_EQ(verified->files.size(), 2u);
  EXPECT_EQ(*verified->files.at("identity_fp32.onnx"), ReadText(testing::ModelPath("identity_fp32.onnx")));
  EXPECT_EQ(*verified->files.at("labels.txt"), "cat\ndog\n");
}

TEST_F(BundleVerify, AcceptsNestedFiles) {
  AddListedFile("vocab/words/en.txt", "hello\n");
  StatusOr<VerifiedBundle> verified = VerifyBundle(bundle_, trust_);
  ASSERT_TRUE(verified.ok()) << verified.status().ToString();
  EXPECT_EQ(*verified->files.at("vocab/words/en.txt"), "hello\n");
}

TEST_F(BundleVerify, RejectsFlippedByte) {
  std::string model = ReadText(Path("identity_fp32.onnx"));
  model[model.size() / 2] ^= 0x01;
  WriteText(Path("identity_fp32.onnx"), model);
  std::string message = Rejection();
  EXPECT_THAT(message, HasSubstr("\"identity_fp32.onnx\" has SHA-256 " + Sha256Hex(model)));
  EXPECT_THAT(message, HasSubstr("the manifest lists"));
}

TEST_F(BundleVerify, RejectsChangedSize) {
  WriteText(Path("labels.txt"), "cat\ndog\nbird\n");
  EXPECT_THAT(Rejection(), HasSubstr("\"labels.txt\" is 13 bytes, but the manifest lists 8"));
}

TEST_F(BundleVerify, RejectsAddedFile) {
  WriteText(Path("extra.bin"), "x");
  EXPECT_THAT(Rejection(), HasSubstr("\"extra.bin\" is not listed in the manifest"));
}

TEST_F(BundleVerify, RejectsAddedDirectory) {
  std::filesystem::create_directory(Path("empty"));
  std::filesystem::create_directory(Path("sub"));
  WriteText(Path("sub/extra.bin"), "x");
  std::string message = Rejection();
  EXPECT_THAT(message, HasSubstr("\"empty\" is a directory with no file listed in the manifest"));
  EXPECT_THAT(message, HasSubstr("\"sub/extra.bin\" is not listed in the manifest"));
}

TEST_F(BundleVerify, RejectsRemovedFile) {
  std::filesystem::remove(Path("labels.txt"));
  EXPECT_THAT(Rejection(), HasSubstr("\"labels.txt\" is listed in the manifest but missing"));
}

TEST_F(BundleVerify, RejectsRenamedFile) {
  std::filesystem::rename(Path("labels.txt"), Path("labels2.txt"));
  std::string message = Rejection();
  EXPECT_THAT(message, HasSubstr("\"labels2.txt\" is not listed in the manifest"));
  EXPECT_THAT(message, HasSubstr("\"labels.txt\" is listed in the manifest but missing"));
}

TEST_F(BundleVerify, ReportsEveryProblem) {
  WriteText(Path("labels.txt"), "cat\ndig\n");
  WriteText(Path("extra.bin"), "x");
  std::filesystem::remove(Path("identity_fp32.onnx"));
  std::string message = Rejection();
  EXPECT_THAT(message, HasSubstr("\"labels.txt\" has SHA-256"));
  EXPECT_THAT(message, HasSubstr("\"extra.bin\" is not listed"));
  EXPECT_THAT(message, HasSubstr("\"identity_fp32.onnx\" is listed in the manifest but missing"));
  EXPECT_EQ(std::count(message.begin(), message.end(), '\n'), 2);
}

TEST_F(BundleVerify, RejectsManifestEditedAfterSigning) {
  std::string manifest = ReadText(Path("manifest.json"));
  size_t at = manifest.find("\"version\":1}");
  ASSERT_NE(at, std::string::npos);
  manifest.replace(at, 12, "\"version\":2}");
  WriteText(Path("manifest.json"), manifest);
  std::string message = Rejection();
  EXPECT_THAT(message, HasSubstr("the signature by trusted key " + key_.key_id() + " does not verify"));
  EXPECT_THAT(message, HasSubstr("0 valid signature(s) by trusted keys, fewer than the 1 required"));
}

TEST_F(BundleVerify, RejectsReserializedManifest) {
  std::string manifest = ReadText(Path("manifest.json"));
  std::string spaced;
  for (char c : manifest) {
    spaced.push_back(c);
    if (c == ',') spaced.push_back(' ');
  }
  WriteText(Path("manifest.json"), spaced + "\n");
  EXPECT_THAT(Rejection(), HasSubstr("manifest is not in canonical form"));
}

TEST_F(BundleVerify, RejectsUntrustedSignature) {
  PrivateKey other = testing::NewKey();
  trust_ = TrustStore::FromKeys({other.public_key()});
  std::string message = Rejection();
  EXPECT_THAT(message, HasSubstr("0 valid signature(s) by trusted keys, fewer than the 1 required"));
  EXPECT_THAT(message, HasSubstr("Signatures by untrusted keys were ignored: " + key_.key_id()));
}

TEST_F(BundleVerify, IgnoresUntrustedBesideTrusted) {
  PrivateKey other = testing::NewKey();
  ASSERT_TRUE(SignBundle(bundle_, other).ok());
  StatusOr<VerifiedBundle> verified = VerifyBundle(bundle_, trust_);
  ASSERT_TRUE(verified.ok()) << verified.status().ToString();
  EXPECT_THAT(verified->signer_key_ids, ElementsAre(key_.key_id()));
}

TEST_F(BundleVerify, CountsDistinctTrustedSigners) {
  PrivateKey second = testing::NewKey();
  VerifyOptions options;
  options.min_signatures = 2;
  trust_ = TrustStore::FromKeys({key_.public_key(), second.public_key()});
  EXPECT_THAT(Rejection(options),
              HasSubstr("1 valid signature(s) by trusted keys, fewer than the 2 required"));

  ASSERT_TRUE(SignBundle(bundle_, second).ok());
  StatusOr<VerifiedBundle> verified = VerifyBundle(bundle_, trust_, options);
  ASSERT_TRUE(verified.ok()) << verified.status().ToString();
  EXPECT_EQ(verified->signer_key_ids.size(), 2u);
}

TEST_F(BundleVerify, RejectsZeroMinSignatures) {
  VerifyOptions options;
  options.min_signatures = 0;
  EXPECT_THAT(Rejection(options), HasSubstr("min_signatures is 0"));
}

TEST_F(BundleVerify, RejectsMissingSignatures) {
  std::filesystem::remove_all(Path("signatures"));
  EXPECT_THAT(Rejection(), HasSubstr("No signature files were found under signatures/"));
}

TEST_F(BundleVerify, RejectsTruncatedSignature) {
  std::string path = Path(SignatureFilePath(key_.key_id()));
  std::string signature = ReadText(path);
  WriteText(path, signature.substr(0, signature.size() / 2));
  std::string message = Rejection();
  EXPECT_THAT(message, HasSubstr("invalid signature file: \"signatures/" + key_.key_id() + ".json\""));
  EXPECT_THAT(message, HasSubstr("is not valid JSON"));
}

TEST_F(BundleVerify, RejectsGarbageSignature) {
  WriteText(Path(SignatureFilePath(key_.key_id())), std::string("\x89PNG\r\n\x1a\n\0\0", 10));
  EXPECT_THAT(Rejection(), HasSubstr("invalid signature file: \"signatures/" + key_.key_id() + ".json\""));
}

TEST_F(BundleVerify, RejectsCorruptSignatureBytes) {
  std::string path = Path(SignatureFilePath(key_.key_id()));
  StatusOr<SignatureFile> file = ParseSignatureFile(ReadText(path), path);
  ASSERT_TRUE(file.ok());
  file->signature[10] ^= 0x40;
  WriteText(path, SerializeSignatureFile(*file));
  EXPECT_THAT(Rejection(), HasSubstr("the signature by trusted key " + key_.key_id() + " does not verify"));
}

TEST_F(BundleVerify, RejectsMisnamedSignatureFiles) {
  WriteText(Path("signatures/notes.txt"), "hello");
  std::string renamed = std::string(64, 'c');
  std::filesystem::copy_file(Path(SignatureFilePath(key_.key_id())), Path(SignatureFilePath(renamed)));
  std::string message = Rejection();
  EXPECT_THAT(message, HasSubstr("\"signatures/notes.txt\" is not a signature file name"));
  EXPECT_THAT(message, HasSubstr("contains a signature by key " + key_.key_id() + ", which does not match"));
}

TEST_F(BundleVerify, RejectsSymlinkedFile) {
  std::string outside = scratch_.Child("labels-outside.txt");
  WriteText(outside, "cat\ndog\n");
  std::filesystem::remove(Path("labels.txt"));
  std::filesystem::create_symlink(outside, Path("labels.txt"));
  std::string message = Rejection();
  EXPECT_THAT(message, HasSubstr("\"labels.txt\" is a symbolic link"));
  EXPECT_THAT(message, Not(HasSubstr("\"labels.txt\" is listed in the manifest but missing")));
}

TEST_F(BundleVerify, RejectsSymlinkedDirectory) {
  AddListedFile("vocab/en.txt", "hello\n");
  std::string outside = scratch_.Child("vocab-outside");
  std::filesystem::rename(Path("vocab"), outside);
  std::filesystem::create_directory_symlink(outside, Path("vocab"));
  std::string message = Rejection();
  EXPECT_THAT(message, HasSubstr("\"vocab\" is a symbolic link"));
  EXPECT_THAT(message, HasSubstr("\"vocab/en.txt\" is listed in the manifest but missing"));
}

TEST_F(BundleVerify, RejectsDeepSymlinks) {
  AddListedFile("a/b/c.txt", "c");
  std::filesystem::create_symlink("c.txt", Path("a/b/link.txt"));
  std::filesystem::create_directory_symlink("/", Path("a/root"));
  std::filesystem::create_symlink(Path("manifest.json"),
                                  Path("signatures/" + std::string(64, 'd') + ".json"));
  std::string message = Rejection();
  EXPECT_THAT(message, HasSubstr("\"a/b/link.txt\" is a symbolic link"));
  EXPECT_THAT(message, HasSubstr("\"a/root\" is a symbolic link"));
  EXPECT_THAT(message, HasSubstr("\"signatures/" + std::string(64, 'd') + ".json\" is a symbolic link"));
}

TEST_F(BundleVerify, RejectsSymlinkedManifest) {
  std::string outside = scratch_.Child("manifest-outside.json");
  std::filesystem::rename(Path("manifest.json"), outside);
  std::filesystem::create_symlink(outside, Path("manifest.json"));
  EXPECT_THAT(Rejection(), HasSubstr("\"manifest.json\" is a symbolic link"));
}

TEST_F(BundleVerify, RejectsSymlinkedRoot) {
  std::string link = scratch_.Child("bundle-link");
  std::filesystem::create_directory_symlink(bundle_, link);
  StatusOr<VerifiedBundle> verified = VerifyBundle(link, trust_);
  ASSERT_FALSE(verified.ok());
  EXPECT_THAT(verified.status().message(), HasSubstr("bundle-link is a symbolic link"));
}

TEST_F(BundleVerify, RejectsSpecialFiles) {
  ASSERT_EQ(::mkfifo(Path("pipe").c_str(), 0644), 0);
  std::filesystem::remove(Path("labels.txt"));
  ASSERT_EQ(::mkfifo(Path("labels.txt").c_str(), 0644), 0);
  std::string message = Rejection();
  EXPECT_THAT(message, HasSubstr("\"pipe\" is not a regular file or directory"));
  EXPECT_THAT(message, HasSubstr("\"labels.txt\" is not a regular file or directory"));
}

TEST_F(BundleVerify, RejectsFifoManifest) {
  std::filesystem::remove(Path("manifest.json"));
  ASSERT_EQ(::mkfifo(Path("manifest.json").c_str(), 0644), 0);
  EXPECT_THAT(Rejection(), HasSubstr("\"manifest.json\" is not a regular file"));
}

TEST_F(BundleVerify, RejectsDotDotPath) {
  std::string manifest = ReadText(Path("manifest.json"));
  size_t at = manifest.find("\"path\":\"labels.txt\"");
  ASSERT_NE(at, std::string::npos);
  manifest.replace(at, 19, "\"path\":\"../labels.txt\"");
  WriteSignedManifest(manifest);
  EXPECT_THAT(Rejection(), HasSubstr("path \"../labels.txt\" contains a '..' segment"));
}

TEST_F(BundleVerify, RejectsAbsolutePath) {
  std::string manifest = ReadText(Path("manifest.json"));
  size_t at = manifest.find("\"path\":\"labels.txt\"");
  ASSERT_NE(at, std::string::npos);
  manifest.replace(at, 19, "\"path\":\"/etc/labels.txt\"");
  WriteSignedManifest(manifest);
  EXPECT_THAT(Rejection(), HasSubstr("path \"/etc/labels.txt\" is absolute"));
}

TEST_F(BundleVerify, RejectsTooDeepDirectories) {
  std::string deep = Path("d");
  for (int i = 0; i < 40; ++i) deep += "/d";
  std::filesystem::create_directories(deep);
  EXPECT_THAT(Rejection(), HasSubstr("is nested deeper than 32 levels"));
}

TEST_F(BundleVerify, EnforcesSizeLimit) {
  VerifyOptions options;
  options.max_bundle_bytes = 10;
  EXPECT_THAT(Rejection(options), HasSubstr("bytes of files, above the limit of 10 bytes"));
}

TEST_F(BundleVerify, RejectsMissingBundle) {
  StatusOr<VerifiedBundle> verified = VerifyBundle(scratch_.Child("absent"), trust_);
  ASSERT_FALSE(verified.ok());
  EXPECT_EQ(verified.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(verified.status().message(), HasSubstr("absent not found"));
}

TEST_F(BundleVerify, SignRefusesTamperedBundle) {
  WriteText(Path("labels.txt"), "cat\ndig\n");
  StatusOr<std::string> signed_path = SignBundle(bundle_, key_);
  ASSERT_FALSE(signed_path.ok());
  EXPECT_THAT(signed_path.status().message(), HasSubstr("\"labels.txt\" has SHA-256"));
}

TEST(BundlePack, RejectsNonEmptyOutput) {
  TempDir scratch;
  std::string out = scratch.Child("out");
  std::filesystem::create_directory(out);
  WriteText(out + "/existing", "x");
  StatusOr<Manifest> manifest = PackBundle(testing::IdentityRequest(), out);
  ASSERT_FALSE(manifest.ok());
  EXPECT_THAT(manifest.status().message(), HasSubstr("output directory exists and is not empty"));
}

TEST(BundlePack, ValidatesBeforeWriting) {
  TempDir scratch;
  std::string out = scratch.Child("out");
  StatusOr<Manifest> bad_name = PackBundle(testing::IdentityRequest("bad/name"), out);
  ASSERT_FALSE(bad_name.ok());
  EXPECT_THAT(bad_name.status().message(), HasSubstr("model name \"bad/name\""));
  StatusOr<Manifest> bad_version = PackBundle(testing::IdentityRequest("good", 0), out);
  ASSERT_FALSE(bad_version.ok());
  EXPECT_THAT(bad_version.status().message(), HasSubstr("version 0 is not a positive integer"));
  EXPECT_FALSE(std::filesystem::exists(out));
}

TEST(BundlePack, RejectsDuplicateBaseNames) {
  TempDir scratch;
  PackRequest request = testing::IdentityRequest();
  request.extra_paths = {testing::ModelPath("identity_fp32.onnx")};
  StatusOr<Manifest> manifest = PackBundle(request, scratch.Child("out"));
  ASSERT_FALSE(manifest.ok());
  EXPECT_THAT(manifest.status().message(),
              HasSubstr("another input file is also named \"identity_fp32.onnx\""));
}

}  // namespace
}  // namespace moat::bundle
