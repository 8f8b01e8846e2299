#include "audit/payload_crypto.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>
#include <vector>

#include "audit_test_util.h"
#include "common/crypto.h"

namespace moat::audit {
namespace {

using testing::ReadAll;
using testing::TempFolder;
using testing::WriteAll;

std::string Hex(std::string_view hex) {
  StatusOr<std::string> bytes = HexDecode(hex);
  EXPECT_TRUE(bytes.ok()) << bytes.status().ToString();
  return bytes.ok() ? *bytes : std::string();
}

std::string Sequence(uint8_t first, size_t count) {
  std::string bytes;
  for (size_t i = 0; i < count; ++i) bytes.push_back(static_cast<char>(first + i));
  return bytes;
}

constexpr std::string_view kKeyA = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
constexpr std::string_view kKeyB = "f0e1d2c3b4a5968778695a4b3c2d1e0ff0e1d2c3b4a5968778695a4b3c2d1e0f";

std::string TwoKeyFile(std::string_view current) {
  return "# test keys\nkey old " + std::string(kKeyA) + "\nkey new " + std::string(kKeyB) + "\ncurrent " +
         std::string(current) + "\n";
}

KeyFileProvider ParseOrDie(std::string_view text) {
  StatusOr<KeyFileProvider> provider = KeyFileProvider::Parse(text, "keys.txt");
  EXPECT_TRUE(provider.ok()) << provider.status().ToString();
  return std::move(provider).value();
}

std::unique_ptr<PayloadCipher> CipherOrDie(const MasterKeyProvider& provider, uint64_t segment = 7) {
  StatusOr<std::unique_ptr<PayloadCipher>> cipher = PayloadCipher::Create(provider, "node-1/audit", segment);
  EXPECT_TRUE(cipher.ok()) << cipher.status().ToString();
  return std::move(cipher).value();
}

// ---- HKDF-SHA-256: RFC 5869, appendix A, test cases 1 to 3 ----

struct HkdfCase {
  std::string name;
  std::string ikm;
  std::string salt;
  std::string info;
  size_t length;
  std::string okm_hex;
};

TEST(HkdfSha256, Rfc5869TestCases) {
  std::vector<HkdfCase> cases = {
      {"case 1", std::string(22, '\x0b'), Sequence(0x00, 13), Sequence(0xf0, 10), 42,
       "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"},
      {"case 2", Sequence(0x00, 80), Sequence(0x60, 80), Sequence(0xb0, 80), 82,
       "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
       "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
       "cc30c58179ec3e87c14c01d5c1f3434f1d87"},
      {"case 3", std::string(22, '\x0b'), "", "", 42,
       "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"},
  };
  for (const HkdfCase& c : cases) {
    StatusOr<std::string> okm = HkdfSha256(AsBytes(c.ikm), AsBytes(c.salt), AsBytes(c.info), c.length);
    ASSERT_TRUE(okm.ok()) << c.name << ": " << okm.status().ToString();
    EXPECT_EQ(HexEncode(AsBytes(*okm)), c.okm_hex) << c.name;
  }
}

// ---- AES-256-GCM: "The Galois/Counter Mode of Operation (GCM)", McGrew and
// Viega, test case 16 (256-bit key, 96-bit IV, AAD, partial final block) ----

TEST(Aes256Gcm, GcmSpecTestCase16) {
  std::string key = Hex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
  std::string nonce = Hex("cafebabefacedbaddecaf888");
  std::string plaintext =
      Hex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
          "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39");
  std::string aad = Hex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
  std::string expected_hex =
      "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
      "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
      "76fc6ece0f4e1768cddf8853bb2d551b";
  std::span<const uint8_t, kDataKeyBytes> key_bytes(AsBytes(key).data(), kDataKeyBytes);
  std::span<const uint8_t, kGcmNonceBytes> nonce_bytes(AsBytes(nonce).data(), kGcmNonceBytes);

  StatusOr<std::string> sealed = Aes256GcmEncrypt(key_bytes, nonce_bytes, AsBytes(aad), AsBytes(plaintext));
  ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
  EXPECT_EQ(HexEncode(AsBytes(*sealed)), expected_hex);

  StatusOr<std::string> opened = Aes256GcmDecrypt(key_bytes, nonce_bytes, AsBytes(aad), AsBytes(*sealed));
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(*opened, plaintext);
}

// Test case 13 of the same document: 256-bit zero key and nonce, empty
// plaintext and AAD, so the output is the tag alone.
TEST(Aes256Gcm, GcmSpecTestCase13EmptyInput) {
  std::array<uint8_t, kDataKeyBytes> key{};
  std::array<uint8_t, kGcmNonceBytes> nonce{};
  StatusOr<std::string> sealed = Aes256GcmEncrypt(key, nonce, {}, {});
  ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
  EXPECT_EQ(HexEncode(AsBytes(*sealed)), "530f8afbc74536b9a963b4f1c4cb738b");
}

// ---- Key derivation ----

TEST(RecordKeyInfo, MatchesDocumentedLayout) {
  std::string info = RecordKeyInfo("k1", 0x0102030405060708);
  std::string expected = std::string("moat audit record v1") + '\0' + '\x02' + "k1" + Hex("0102030405060708");
  EXPECT_EQ(info, expected);
}

TEST(RecordAad, IsSegmentThenSequenceBigEndian) {
  EXPECT_EQ(HexEncode(AsBytes(RecordAad(1, 0x0203))), "00000000000000010000000000000203");
}

TEST(KeyFileProvider, DeriveKeyMatchesDocumentedHkdf) {
  KeyFileProvider provider = ParseOrDie(TwoKeyFile("old"));
  std::string info = RecordKeyInfo("old", 7);
  StatusOr<DataKey> derived = provider.DeriveKey("old", AsBytes("node-1/audit"), AsBytes(info));
  ASSERT_TRUE(derived.ok()) << derived.status().ToString();
  std::string master = Hex(kKeyA);
  StatusOr<std::string> expected = HkdfSha256(AsBytes(master), AsBytes("node-1/audit"), AsBytes(info), 32);
  ASSERT_TRUE(expected.ok());
  EXPECT_EQ(HexEncode(derived->bytes()), HexEncode(AsBytes(*expected)));
}

TEST(KeyFileProvider, DerivedKeysDifferPerSegmentAndLog) {
  KeyFileProvider provider = ParseOrDie(TwoKeyFile("old"));
  auto derive = [&](std::string_view log_id, uint64_t segment) {
    std::string info = RecordKeyInfo("old", segment);
    return HexEncode(provider.DeriveKey("old", AsBytes(log_id), AsBytes(info))->bytes());
  };
  EXPECT_NE(derive("log-a", 1), derive("log-a", 2));
  EXPECT_NE(derive("log-a", 1), derive("log-b", 1));
}

TEST(KeyFileProvider, DeriveKeyUnknownIdIsNotFound) {
  KeyFileProvider provider = ParseOrDie(TwoKeyFile("old"));
  StatusOr<DataKey> derived = provider.DeriveKey("missing", {}, {});
  ASSERT_FALSE(derived.ok());
  EXPECT_EQ(derived.status().code(), StatusCode::kNotFound);
  EXPECT_NE(derived.status().message().find("\"missing\""), std::string::npos);
}

// ---- Sealing ----

TEST(PayloadCipher, RoundTrip) {
  KeyFileProvider provider = ParseOrDie(TwoKeyFile("new"));
  std::unique_ptr<PayloadCipher> cipher = CipherOrDie(provider);
  for (std::string plaintext : {std::string(), std::string("x"), std::string(1000, 'r')}) {
    std::string aad = RecordAad(7, 42);
    StatusOr<std::string> sealed = cipher->Seal(plaintext, aad);
    ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
    EXPECT_EQ(sealed->size(), 2 + 3 + kGcmNonceBytes + plaintext.size() + kGcmTagBytes);
    EXPECT_EQ(static_cast<uint8_t>((*sealed)[0]), kSealedFormatV1);
    EXPECT_EQ((*sealed)[1], 3);
    EXPECT_EQ(sealed->substr(2, 3), "new");
    StatusOr<std::string> opened = cipher->Open(*sealed, aad);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    EXPECT_EQ(*opened, plaintext);
  }
}

TEST(PayloadCipher, SealUsesFreshNonces) {
  KeyFileProvider provider = ParseOrDie(TwoKeyFile("new"));
  std::unique_ptr<PayloadCipher> cipher = CipherOrDie(provider);
  StatusOr<std::string> first = cipher->Seal("same", "aad");
  StatusOr<std::string> second = cipher->Seal("same", "aad");
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(second.ok());
  EXPECT_NE(*first, *second);
}

TEST(PayloadCipher, OpenMatchesIndependentDecryption) {
  KeyFileProvider provider = ParseOrDie(TwoKeyFile("old"));
  std::unique_ptr<PayloadCipher> cipher = CipherOrDie(provider, 3);
  std::string aad = RecordAad(3, 9);
  StatusOr<std::string> sealed = cipher->Seal("payload", aad);
  ASSERT_TRUE(sealed.ok());

  // Recompute from the documented layout alone: derive the key with HKDF,
  // then decrypt with header || AAD as the GCM additional data.
  std::string master = Hex(kKeyA);
  StatusOr<std::string> key =
      HkdfSha256(AsBytes(master), AsBytes("node-1/audit"), AsBytes(RecordKeyInfo("old", 3)), 32);
  ASSERT_TRUE(key.ok());
  size_t header_size = 2 + 3 + kGcmNonceBytes;
  std::string gcm_aad = sealed->substr(0, header_size) + aad;
  std::string nonce = sealed->substr(5, kGcmNonceBytes);
  StatusOr<std::string> opened =
      Aes256GcmDecrypt(std::span<const uint8_t, kDataKeyBytes>(AsBytes(*key).data(), kDataKeyBytes),
                       std::span<const uint8_t, kGcmNonceBytes>(AsBytes(nonce).data(), kGcmNonceBytes),
                       AsBytes(gcm_aad), AsBytes(std::string_view(*sealed).substr(header_size)));
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(*opened, "payload");
}

TEST(PayloadCipher, EverySealedBitFlipIsRejected) {
  KeyFileProvider provider = ParseOrDie(TwoKeyFile("new"));
  std::unique_ptr<PayloadCipher> cipher = CipherOrDie(provider);
  std::string aad = RecordAad(7, 1);
  StatusOr<std::string> sealed = cipher->Seal("inference request digest", aad);
  ASSERT_TRUE(sealed.ok());
  size_t key_id_end = 2 + 3;
  for (size_t bit = 0; bit < sealed->size() * 8; ++bit) {
    std::string changed = *sealed;
    changed[bit / 8] = static_cast<char>(changed[bit / 8] ^ (1 << (bit % 8)));
    StatusOr<std::string> opened = cipher->Open(changed, aad);
    ASSERT_FALSE(opened.ok()) << "bit " << bit;
    if (bit / 8 >= key_id_end) {
      EXPECT_EQ(opened.status().code(), StatusCode::kDataLoss) << "bit " << bit;
    } else {
      // A changed key id or its length can name another, unknown key.
      EXPECT_TRUE(opened.status().code() == StatusCode::kDataLoss ||
                  opened.status().code() == StatusCode::kNotFound)
          << "bit " << bit << ": " << opened.status().ToString();
    }
  }
}

TEST(PayloadCipher, EveryAadBitFlipIsRejected) {
  KeyFileProvider provider = ParseOrDie(TwoKeyFile("new"));
  std::unique_ptr<PayloadCipher> cipher = CipherOrDie(provider);
  std::string aad = RecordAad(7, 1);
  StatusOr<std::string> sealed = cipher->Seal("payload", aad);
  ASSERT_TRUE(sealed.ok());
  for (size_t bit = 0; bit < aad.size() * 8; ++bit) {
    std::string changed = aad;
    changed[bit / 8] = static_cast<char>(changed[bit / 8] ^ (1 << (bit % 8)));
    StatusOr<std::string> opened = cipher->Open(*sealed, changed);
    ASSERT_FALSE(opened.ok()) << "bit " << bit;
    EXPECT_EQ(opened.status().code(), StatusCode::kDataLoss) << "bit " << bit;
  }
}

TEST(PayloadCipher, TruncatedPayloadIsDataLoss) {
  KeyFileProvider provider = ParseOrDie(TwoKeyFile("new"));
  std::unique_ptr<PayloadCipher> cipher = CipherOrDie(provider);
  StatusOr<std::string> sealed = cipher->Seal("payload", "aad");
  ASSERT_TRUE(sealed.ok());
  for (size_t size = 0; size < sealed->size(); ++size) {
    StatusOr<std::string> opened = cipher->Open(sealed->substr(0, size), "aad");
    ASSERT_FALSE(opened.ok()) << "size " << size;
    EXPECT_EQ(opened.status().code(), StatusCode::kDataLoss) << "size " << size;
  }
}

TEST(PayloadCipher, OtherSegmentCannotOpen) {
  KeyFileProvider provider = ParseOrDie(TwoKeyFile("new"));
  std::unique_ptr<PayloadCipher> segment7 = CipherOrDie(provider, 7);
  std::unique_ptr<PayloadCipher> segment8 = CipherOrDie(provider, 8);
  StatusOr<std::string> sealed = segment7->Seal("payload", "aad");
  ASSERT_TRUE(sealed.ok());
  StatusOr<std::string> opened = segment8->Open(*sealed, "aad");
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), StatusCode::kDataLoss);
}

// Seals a payload under the current key of `writer_key_file` and opens it
// with the keys of `reader_key_file`.
StatusOr<std::string> SealThenOpen(std::string_view writer_key_file, std::string_view reader_key_file) {
  KeyFileProvider writer_keys = ParseOrDie(writer_key_file);
  KeyFileProvider reader_keys = ParseOrDie(reader_key_file);
  std::unique_ptr<PayloadCipher> writer = CipherOrDie(writer_keys);
  std::unique_ptr<PayloadCipher> reader = CipherOrDie(reader_keys);
  StatusOr<std::string> sealed = writer->Seal("payload", "aad");
  EXPECT_TRUE(sealed.ok()) << sealed.status().ToString();
  if (!sealed.ok()) return sealed.status();
  return reader->Open(*sealed, "aad");
}

TEST(PayloadCipher, UnknownKeyIdIsNotFound) {
  StatusOr<std::string> opened =
      SealThenOpen(TwoKeyFile("new"), "key old " + std::string(kKeyA) + "\ncurrent old\n");
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), StatusCode::kNotFound);
  EXPECT_NE(opened.status().message().find("\"new\""), std::string::npos) << opened.status().message();
}

TEST(PayloadCipher, SameIdOtherKeyIsDataLoss) {
  StatusOr<std::string> opened = SealThenOpen("key k " + std::string(kKeyA) + "\ncurrent k\n",
                                              "key k " + std::string(kKeyB) + "\ncurrent k\n");
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), StatusCode::kDataLoss);
}

TEST(PayloadCipher, CreateRejectsInvalidLogId) {
  KeyFileProvider provider = ParseOrDie(TwoKeyFile("new"));
  EXPECT_EQ(PayloadCipher::Create(provider, "", 0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(PayloadCipher::Create(provider, std::string(256, 'l'), 0).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(PayloadCipher::Create(provider, std::string(255, 'l'), 0).ok());
}

// ---- Key files ----

TEST(KeyFile, GenerateLoadAndSeal) {
  TempFolder folder;
  std::string path = folder.File("audit.keys");
  ASSERT_TRUE(GenerateKeyFile(path, "2026-12").ok());

  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  StatusOr<KeyFileProvider> provider = KeyFileProvider::Load(path);
  ASSERT_TRUE(provider.ok()) << provider.status().ToString();
  EXPECT_EQ(provider->CurrentKeyId(), "2026-12");
  std::unique_ptr<PayloadCipher> cipher = CipherOrDie(*provider);
  StatusOr<std::string> sealed = cipher->Seal("payload", "aad");
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(*cipher->Open(*sealed, "aad"), "payload");
}

TEST(KeyFile, GenerateNeverReplaces) {
  TempFolder folder;
  std::string path = folder.File("audit.keys");
  ASSERT_TRUE(GenerateKeyFile(path, "first").ok());
  std::string before = ReadAll(path);
  Status again = GenerateKeyFile(path, "second");
  EXPECT_EQ(again.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(ReadAll(path), before);
}

TEST(KeyFile, GenerateRejectsInvalidKeyId) {
  TempFolder folder;
  EXPECT_EQ(GenerateKeyFile(folder.File("a.keys"), "bad id").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(GenerateKeyFile(folder.File("b.keys"), std::string(65, 'k')).code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(GenerateKeyFile(folder.File("c.keys"), std::string(64, 'k')).ok());
}

TEST(KeyFile, RotationKeepsOldRecordsReadable) {
  TempFolder folder;
  std::string path = folder.File("audit.keys");
  ASSERT_TRUE(GenerateKeyFile(path, "v1").ok());
  StatusOr<KeyFileProvider> before = KeyFileProvider::Load(path);
  ASSERT_TRUE(before.ok());
  std::unique_ptr<PayloadCipher> old_cipher = CipherOrDie(*before);
  StatusOr<std::string> old_record = old_cipher->Seal("old payload", RecordAad(7, 1));
  ASSERT_TRUE(old_record.ok());

  ASSERT_TRUE(RotateKeyFile(path, "v2").ok());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  StatusOr<KeyFileProvider> after = KeyFileProvider::Load(path);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(after->CurrentKeyId(), "v2");
  EXPECT_EQ(after->KeyIds(), (std::vector<std::string>{"v1", "v2"}));
  std::unique_ptr<PayloadCipher> cipher = CipherOrDie(*after);
  StatusOr<std::string> old_opened = cipher->Open(*old_record, RecordAad(7, 1));
  ASSERT_TRUE(old_opened.ok()) << old_opened.status().ToString();
  EXPECT_EQ(*old_opened, "old payload");

  StatusOr<std::string> new_record = cipher->Seal("new payload", RecordAad(7, 2));
  ASSERT_TRUE(new_record.ok());
  EXPECT_EQ(new_record->substr(2, 2), "v2");
  EXPECT_EQ(*cipher->Open(*new_record, RecordAad(7, 2)), "new payload");
}

TEST(KeyFile, RotationRejectsExistingId) {
  TempFolder folder;
  std::string path = folder.File("audit.keys");
  ASSERT_TRUE(GenerateKeyFile(path, "v1").ok());
  std::string before = ReadAll(path);
  EXPECT_EQ(RotateKeyFile(path, "v1").code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(ReadAll(path), before);
}

TEST(KeyFile, LoadRejectsGroupOrOtherAccess) {
  TempFolder folder;
  std::string path = folder.File("audit.keys");
  ASSERT_TRUE(GenerateKeyFile(path, "v1").ok());
  for (mode_t mode : {0644, 0640, 0604, 0660, 0601}) {
    ASSERT_EQ(::chmod(path.c_str(), mode), 0);
    StatusOr<KeyFileProvider> provider = KeyFileProvider::Load(path);
    ASSERT_FALSE(provider.ok()) << std::oct << mode;
    EXPECT_EQ(provider.status().code(), StatusCode::kFailedPrecondition);
    EXPECT_NE(provider.status().message().find("chmod 600"), std::string::npos)
        << provider.status().message();
  }
  EXPECT_EQ(RotateKeyFile(path, "v2").code(), StatusCode::kFailedPrecondition);
  ASSERT_EQ(::chmod(path.c_str(), 0400), 0);
  EXPECT_TRUE(KeyFileProvider::Load(path).ok());
}

TEST(KeyFile, LoadMissingFileIsNotFound) {
  TempFolder folder;
  EXPECT_EQ(KeyFileProvider::Load(folder.File("absent.keys")).status().code(), StatusCode::kNotFound);
}

TEST(KeyFile, LoadRejectsSymbolicLink) {
  TempFolder folder;
  std::string target = folder.File("audit.keys");
  ASSERT_TRUE(GenerateKeyFile(target, "v1").ok());
  std::string link = folder.File("link.keys");
  ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
  EXPECT_FALSE(KeyFileProvider::Load(link).ok());
}

TEST(KeyFile, CommentsBlankLinesAndCrlfAreAccepted) {
  std::string text =
      "# keys\r\n\r\n   # indented comment\r\n\tkey  a\t" + std::string(kKeyA) + "\r\ncurrent a\r\n";
  StatusOr<KeyFileProvider> provider = KeyFileProvider::Parse(text, "keys.txt");
  ASSERT_TRUE(provider.ok()) << provider.status().ToString();
  EXPECT_EQ(provider->CurrentKeyId(), "a");
}

struct ParseErrorCase {
  std::string name;
  std::string text;
  std::string expected_prefix;
  std::string expected_reason;
};

TEST(KeyFile, ParseErrorsNameLineAndReason) {
  const std::string key_a = "key a " + std::string(kKeyA) + "\n";
  std::vector<ParseErrorCase> cases = {
      {"unknown line", key_a + "current a\nkye b 00\n", "keys.txt:3: ", "unknown line"},
      {"bad hex digit", "# c\nkey b " + std::string(63, '0') + "g\ncurrent b\n",
       "keys.txt:2: ", "not hexadecimal"},
      {"short hex", "key b 0011\ncurrent b\n", "keys.txt:1: ", "64 hex digits"},
      {"duplicate id", key_a + "\n" + key_a + "current a\n", "keys.txt:3: ", "duplicate key id \"a\""},
      {"missing current", key_a + key_a.substr(0, 4) + "b" + key_a.substr(5),
       "keys.txt:2: ", "missing `current"},
      {"empty file", "", "keys.txt:0: ", "missing `current"},
      {"unknown current", key_a + "current zz\n", "keys.txt:2: ", "current key \"zz\" has no `key` line"},
      {"second current", key_a + "current a\ncurrent a\n", "keys.txt:3: ", "duplicate `current`"},
      {"invalid id", "key bad/id " + std::string(kKeyA) + "\ncurrent a\n", "keys.txt:1: ", "invalid key id"},
      {"extra field", "key a " + std::string(kKeyA) + " extra\n", "keys.txt:1: ", "expected `key"},
      {"current without id", key_a + "current\n", "keys.txt:2: ", "expected `current"},
  };
  for (const ParseErrorCase& c : cases) {
    StatusOr<KeyFileProvider> provider = KeyFileProvider::Parse(c.text, "keys.txt");
    ASSERT_FALSE(provider.ok()) << c.name;
    EXPECT_EQ(provider.status().code(), StatusCode::kInvalidArgument) << c.name;
    const std::string& message = provider.status().message();
    EXPECT_EQ(message.rfind(c.expected_prefix, 0), 0u) << c.name << ": " << message;
    EXPECT_NE(message.find(c.expected_reason), std::string::npos) << c.name << ": " << message;
  }
}

// Errors from parsing, loading, deriving and opening must not echo the key,
// in hex or as raw bytes.
TEST(KeyFile, ErrorsNeverContainKeyMaterial) {
  TempFolder folder;
  std::string path = folder.File("audit.keys");
  std::string secret_hex = std::string(kKeyB);
  std::vector<std::string> messages;

  WriteAll(path, "key a " + secret_hex + "\nkey a " + secret_hex + "\ncurrent a\n");
  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
  messages.push_back(KeyFileProvider::Load(path).status().message());
  WriteAll(path, "key a " + secret_hex + "\ncurrent b\n");
  messages.push_back(KeyFileProvider::Load(path).status().message());
  WriteAll(path, "key a " + secret_hex.substr(0, 63) + "x\ncurrent a\n");
  messages.push_back(KeyFileProvider::Load(path).status().message());
  WriteAll(path, "key a " + secret_hex + "00\ncurrent a\n");
  messages.push_back(KeyFileProvider::Load(path).status().message());
  WriteAll(path, "key a " + secret_hex + "\ncurrent a\n");
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  messages.push_back(KeyFileProvider::Load(path).status().message());
  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);

  StatusOr<KeyFileProvider> provider = KeyFileProvider::Load(path);
  ASSERT_TRUE(provider.ok());
  std::unique_ptr<PayloadCipher> cipher = CipherOrDie(*provider);
  StatusOr<std::string> sealed = cipher->Seal("payload", "aad");
  ASSERT_TRUE(sealed.ok());
  std::string changed = *sealed;
  changed.back() = static_cast<char>(changed.back() ^ 1);
  messages.push_back(cipher->Open(changed, "aad").status().message());
  messages.push_back(provider->DeriveKey("b", {}, {}).status().message());

  std::string secret_raw = Hex(secret_hex);
  for (const std::string& message : messages) {
    EXPECT_FALSE(message.empty());
    for (size_t start = 0; start + 8 <= secret_hex.size(); start += 8) {
      EXPECT_EQ(message.find(secret_hex.substr(start, 8)), std::string::npos) << message;
    }
    EXPECT_EQ(message.find(secret_raw.substr(0, 4)), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace moat::audit
