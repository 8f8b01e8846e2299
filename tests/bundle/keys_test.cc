#include "bundle/keys.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include <string>

#include "bundle/signature.h"
#include "bundle/trust_store.h"
#include "bundle_test_util.h"
#include "common/crypto.h"

namespace moat::bundle {
namespace {

using ::testing::HasSubstr;
using testing::ReadText;
using testing::TempDir;
using testing::WriteText;

// Test 1 of RFC 8032, section 7.1: secret key, public key and the signature
// of the empty message, with the key wrapped in PKCS#8 and SubjectPublicKeyInfo.
constexpr char kRfcPrivatePem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
    "-----END PRIVATE KEY-----\n";
constexpr char kRfcPublicPem[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n"
    "-----END PUBLIC KEY-----\n";
constexpr char kRfcPublicHex[] = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
constexpr char kRfcSignatureHex[] =
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0"
    "595bbe24655141438e7a100b";
// SHA-256 of the 32 raw public key bytes above.
constexpr char kRfcKeyId[] = "21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9";

std::string EcPublicKeyPem() {
  EVP_PKEY* pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  EXPECT_NE(pkey, nullptr);
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, pkey);
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(size));
  BIO_free(bio);
  EVP_PKEY_free(pkey);
  return pem;
}

mode_t FileMode(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

TEST(Keys, KnownAnswerRfc8032) {
  StatusOr<PrivateKey> key = PrivateKey::FromPem(kRfcPrivatePem, "rfc.pem");
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_EQ(HexEncode(AsBytes(key->public_key().raw())), kRfcPublicHex);
  EXPECT_EQ(key->key_id(), kRfcKeyId);

  StatusOr<std::string> signature = key->Sign("");
  ASSERT_TRUE(signature.ok()) << signature.status().ToString();
  EXPECT_EQ(HexEncode(AsBytes(*signature)), kRfcSignatureHex);

  StatusOr<PublicKey> public_key = PublicKey::FromPem(kRfcPublicPem, "rfc.pub.pem");
  ASSERT_TRUE(public_key.ok()) << public_key.status().ToString();
  EXPECT_EQ(public_key->key_id(), kRfcKeyId);
  EXPECT_TRUE(public_key->Verify("", *signature));
  EXPECT_FALSE(public_key->Verify("x", *signature));
  EXPECT_FALSE(public_key->Verify("", signature->substr(1)));
}

TEST(Keys, KeyIdStableAcrossPem) {
  PrivateKey key = testing::NewKey();
  StatusOr<std::string> private_pem = key.ToPem();
  ASSERT_TRUE(private_pem.ok());
  EXPECT_THAT(*private_pem, HasSubstr("-----BEGIN PRIVATE KEY-----"));
  StatusOr<PrivateKey> reloaded = PrivateKey::FromPem(*private_pem, "key.pem");
  ASSERT_TRUE(reloaded.ok()) << reloaded.status().ToString();
  EXPECT_EQ(reloaded->key_id(), key.key_id());

  StatusOr<std::string> public_pem = key.public_key().ToPem();
  ASSERT_TRUE(public_pem.ok());
  EXPECT_THAT(*public_pem, HasSubstr("-----BEGIN PUBLIC KEY-----"));
  StatusOr<PublicKey> public_key = PublicKey::FromPem(*public_pem, "key.pub.pem");
  ASSERT_TRUE(public_key.ok()) << public_key.status().ToString();
  EXPECT_EQ(public_key->key_id(), key.key_id());
  EXPECT_EQ(key.key_id(), Sha256Hex(public_key->raw()));
  EXPECT_EQ(key.key_id().size(), 64u);
}

TEST(Keys, GenerateFilesModes) {
  TempDir dir;
  std::string private_path = dir.Child("k.private.pem");
  std::string public_path = dir.Child("k.public.pem");
  StatusOr<std::string> key_id = GenerateKeyFiles(private_path, public_path);
  ASSERT_TRUE(key_id.ok()) << key_id.status().ToString();
  EXPECT_EQ(FileMode(private_path), 0600u);
  EXPECT_EQ(FileMode(public_path), 0644u);

  StatusOr<PrivateKey> key = PrivateKey::LoadFile(private_path);
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_EQ(key->key_id(), *key_id);
  StatusOr<PublicKey> public_key = PublicKey::FromPem(ReadText(public_path), public_path);
  ASSERT_TRUE(public_key.ok());
  EXPECT_EQ(public_key->key_id(), *key_id);
}

TEST(Keys, GenerateRefusesOverwrite) {
  TempDir dir;
  std::string private_path = dir.Child("k.private.pem");
  WriteText(private_path, "existing");
  StatusOr<std::string> key_id = GenerateKeyFiles(private_path, dir.Child("k.public.pem"));
  ASSERT_FALSE(key_id.ok());
  EXPECT_EQ(key_id.status().code(), StatusCode::kAlreadyExists);
  EXPECT_THAT(key_id.status().message(), HasSubstr("k.private.pem: already exists"));
  EXPECT_EQ(ReadText(private_path), "existing");
}

TEST(Keys, RejectsBadPrivateKeys) {
  StatusOr<PrivateKey> garbage = PrivateKey::FromPem("not a key", "garbage.pem");
  ASSERT_FALSE(garbage.ok());
  EXPECT_THAT(garbage.status().message(), HasSubstr("garbage.pem: not a PEM private key"));

  StatusOr<PrivateKey> encrypted = PrivateKey::FromPem(
      "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n", "enc.pem");
  ASSERT_FALSE(encrypted.ok());
  EXPECT_THAT(encrypted.status().message(), HasSubstr("enc.pem: encrypted private keys are not supported"));

  StatusOr<PrivateKey> public_as_private = PrivateKey::FromPem(kRfcPublicPem, "pub.pem");
  ASSERT_FALSE(public_as_private.ok());
  EXPECT_THAT(public_as_private.status().message(), HasSubstr("pub.pem: not a PEM private key"));

  StatusOr<PrivateKey> missing = PrivateKey::LoadFile("/nonexistent/key.pem");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("/nonexistent/key.pem"));
}

TEST(Keys, RejectsNonEd25519PublicKey) {
  StatusOr<PublicKey> key = PublicKey::FromPem(EcPublicKeyPem(), "ec.pem");
  ASSERT_FALSE(key.ok());
  EXPECT_THAT(key.status().message(), HasSubstr("ec.pem: key type"));
  EXPECT_THAT(key.status().message(), HasSubstr("must be Ed25519"));
}

TEST(TrustStore, LoadsPemFilesOnly) {
  TempDir dir;
  PrivateKey first = testing::NewKey();
  PrivateKey second = testing::NewKey();
  WriteText(dir.Child("first.pem"), *first.public_key().ToPem());
  WriteText(dir.Child("second.pem"), *second.public_key().ToPem());
  WriteText(dir.Child("README"), "not a key, and not *.pem");
  StatusOr<TrustStore> store = TrustStore::LoadDirectory(dir.path());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ(store->size(), 2u);
  ASSERT_NE(store->Find(first.key_id()), nullptr);
  EXPECT_EQ(store->Find(first.key_id())->key_id(), first.key_id());
  EXPECT_NE(store->Find(second.key_id()), nullptr);
  EXPECT_EQ(store->Find(kRfcKeyId), nullptr);
}

TEST(TrustStore, RejectsBadDirectories) {
  TempDir empty;
  WriteText(empty.Child("notes.txt"), "no keys here");
  StatusOr<TrustStore> none = TrustStore::LoadDirectory(empty.path());
  ASSERT_FALSE(none.ok());
  EXPECT_THAT(none.status().message(), HasSubstr("contains no public keys"));

  StatusOr<TrustStore> missing = TrustStore::LoadDirectory(empty.Child("absent"));
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("absent: cannot list"));

  TempDir ec;
  WriteText(ec.Child("ec.pem"), EcPublicKeyPem());
  StatusOr<TrustStore> wrong_type = TrustStore::LoadDirectory(ec.path());
  ASSERT_FALSE(wrong_type.ok());
  EXPECT_THAT(wrong_type.status().message(), HasSubstr("ec.pem: key type"));

  TempDir garbage;
  WriteText(garbage.Child("good.pem"), kRfcPublicPem);
  WriteText(garbage.Child("junk.pem"), "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n");
  StatusOr<TrustStore> unreadable = TrustStore::LoadDirectory(garbage.path());
  ASSERT_FALSE(unreadable.ok());
  EXPECT_THAT(unreadable.status().message(), HasSubstr("junk.pem: not a PEM public key"));

  TempDir private_keys;
  WriteText(private_keys.Child("secret.pem"), kRfcPrivatePem);
  StatusOr<TrustStore> private_key = TrustStore::LoadDirectory(private_keys.path());
  ASSERT_FALSE(private_key.ok());
  EXPECT_THAT(private_key.status().message(), HasSubstr("secret.pem: not a PEM public key"));
}

TEST(SignatureFile, RoundTrip) {
  SignatureFile file{kRfcKeyId, "ed25519", std::string(64, '\x5a')};
  std::string bytes = SerializeSignatureFile(file);
  StatusOr<SignatureFile> parsed = ParseSignatureFile(bytes, "sig.json");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->key_id, file.key_id);
  EXPECT_EQ(parsed->algorithm, "ed25519");
  EXPECT_EQ(parsed->signature, file.signature);
}

TEST(SignatureFile, RejectsMalformed) {
  std::string valid = SerializeSignatureFile({kRfcKeyId, "ed25519", std::string(64, '\x5a')});
  struct Case {
    std::string bytes;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"", "sig.json is not valid JSON"},
      {valid.substr(0, valid.size() / 2), "sig.json is not valid JSON"},
      {"\x01\x02garbage", "sig.json is not valid JSON"},
      {"{}", "sig.json: missing key \"algorithm\""},
      {R"({"algorithm":"rsa","key_id":"x","signature":"AA=="})", "sig.json: unsupported algorithm \"rsa\""},
      {R"({"algorithm":"ed25519","key_id":"abc","signature":"AA=="})", "sig.json: key_id \"abc\" is not 64"},
      {R"({"algorithm":"ed25519","key_id":")" + std::string(kRfcKeyId) + R"(","signature":"AA=="})",
       "sig.json: signature is 1 bytes, but an Ed25519 signature is 64 bytes"},
      {R"({"algorithm":"ed25519","key_id":")" + std::string(kRfcKeyId) + R"(","signature":"!!!!"})",
       "sig.json: signature is not valid base64"},
      {R"({"algorithm":"ed25519","key_id":")" + std::string(kRfcKeyId) + R"(","signature":7})",
       "sig.json: field signature: expected a string"},
      {std::string(5000, ' '), "above the limit of 4096"},
  };
  for (const Case& test_case : cases) {
    SCOPED_TRACE(test_case.bytes.substr(0, 60));
    StatusOr<SignatureFile> parsed = ParseSignatureFile(test_case.bytes, "sig.json");
    ASSERT_FALSE(parsed.ok());
    EXPECT_THAT(parsed.status().message(), HasSubstr(test_case.expected));
  }
}

}  // namespace
}  // namespace moat::bundle
