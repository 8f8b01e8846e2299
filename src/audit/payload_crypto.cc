#include "audit/payload_crypto.h"

#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <vector>

#include "common/crypto.h"
#include "common/text.h"
#include "common/file.h"

namespace moat::audit {

namespace {

constexpr size_t kMaxKeyFileBytes = size_t{1} << 20;
constexpr size_t kSealedFixedBytes = 2 + kGcmNonceBytes + kGcmTagBytes;

struct KdfCtxDeleter {
  void operator()(EVP_KDF_CTX* ctx) const { EVP_KDF_CTX_free(ctx); }
};
struct CipherDeleter {
  void operator()(EVP_CIPHER* cipher) const { EVP_CIPHER_free(cipher); }
};
struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CipherPtr = std::unique_ptr<EVP_CIPHER, CipherDeleter>;
using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter>;

// OSSL_PARAM takes non-const pointers even for inputs it only reads.
void* Mutable(const void* data) { return const_cast<void*>(data); }

std::span<const uint8_t> Bytes(std::string_view text) { return AsBytes(text); }

void AppendUint64BigEndian(std::string& out, uint64_t value) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((value >> shift) & 0xff));
}

// Wipes a string that held key material before it is freed.
void Wipe(std::string& text) {
  OPENSSL_cleanse(text.data(), text.size());
  text.clear();
}

std::string ErrnoText(int err) { return std::strerror(err); }

}  // namespace

bool IsValidKeyId(std::string_view key_id) {
  if (key_id.empty() || key_id.size() > kMaxKeyIdBytes) return false;
  return std::all_of(key_id.begin(), key_id.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

DataKey::~DataKey() { OPENSSL_cleanse(bytes_.data(), bytes_.size()); }

// ---- Primitives ----

StatusOr<std::string> HkdfSha256(std::span<const uint8_t> ikm, std::span<const uint8_t> salt,
                                 std::span<const uint8_t> info, size_t length) {
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  if (kdf == nullptr) return InternalError("OpenSSL has no HKDF implementation: " + OpenSslErrors());
  std::unique_ptr<EVP_KDF_CTX, KdfCtxDeleter> ctx(EVP_KDF_CTX_new(kdf));
  EVP_KDF_free(kdf);
  if (!ctx) return InternalError("cannot allocate an HKDF context: " + OpenSslErrors());

  OSSL_PARAM params[5];
  size_t count = 0;
  params[count++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, const_cast<char*>("SHA256"), 0);
  params[count++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, Mutable(ikm.data()), ikm.size());
  // Without a salt parameter OpenSSL uses HashLen zero bytes, which is what
  // RFC 5869 prescribes for an absent salt.
  if (!salt.empty()) {
    params[count++] =
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, Mutable(salt.data()), salt.size());
  }
  if (!info.empty()) {
    params[count++] =
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, Mutable(info.data()), info.size());
  }
  params[count] = OSSL_PARAM_construct_end();

  std::string out(length, '\0');
  if (EVP_KDF_derive(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), out.size(), params) != 1) {
    Wipe(out);
    return InternalError("HKDF-SHA-256 derivation failed: " + OpenSslErrors());
  }
  return out;
}

namespace {

// Runs one AES-256-GCM operation. For decryption, `input` excludes the tag
// and `tag` is the expected tag. For encryption, the tag is appended.
StatusOr<std::string> RunGcm(bool encrypt, std::span<const uint8_t, kDataKeyBytes> key,
                             std::span<const uint8_t, kGcmNonceBytes> nonce, std::span<const uint8_t> aad,
                             std::span<const uint8_t> input, std::span<const uint8_t> tag) {
  if (input.size() > INT_MAX || aad.size() > INT_MAX) {
    return InvalidArgumentError("AES-256-GCM input of " + std::to_string(input.size()) +
                                " bytes and AAD of " + std::to_string(aad.size()) +
                                " bytes exceed the limit of " + std::to_string(INT_MAX) + " bytes each");
  }
  // Fetched once: a fetch takes locks and a provider lookup, a noticeable
  // share of sealing one small record. Kept for the life of the process.
  static const CipherPtr cipher(EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr));
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!cipher || !ctx) return InternalError("cannot set up AES-256-GCM: " + OpenSslErrors());
  // The default GCM nonce length in OpenSSL 3 is 12 bytes, the size used here.
  if (EVP_CipherInit_ex2(ctx.get(), cipher.get(), key.data(), nonce.data(), encrypt ? 1 : 0, nullptr) != 1) {
    return InternalError("AES-256-GCM initialisation failed: " + OpenSslErrors());
  }

  int written = 0;
  if (!aad.empty() &&
      EVP_CipherUpdate(ctx.get(), nullptr, &written, aad.data(), static_cast<int>(aad.size())) != 1) {
    return InternalError("AES-256-GCM failed on the AAD: " + OpenSslErrors());
  }
  std::string out(input.size() + (encrypt ? kGcmTagBytes : 0), '\0');
  auto* out_bytes = reinterpret_cast<unsigned char*>(out.data());
  if (!input.empty() &&
      EVP_CipherUpdate(ctx.get(), out_bytes, &written, input.data(), static_cast<int>(input.size())) != 1) {
    return InternalError("AES-256-GCM failed on the payload: " + OpenSslErrors());
  }
  if (!encrypt && EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(tag.size()),
                                      Mutable(tag.data())) != 1) {
    return InternalError("AES-256-GCM rejected the expected tag: " + OpenSslErrors());
  }
  int final_written = 0;
  if (EVP_CipherFinal_ex(ctx.get(), out_bytes + input.size(), &final_written) != 1) {
    Wipe(out);
    if (encrypt) return InternalError("AES-256-GCM encryption failed: " + OpenSslErrors());
    ERR_clear_error();
    return DataLossError(
        "AES-256-GCM tag mismatch: the sealed bytes, the key or the AAD differ from those used to seal");
  }
  if (encrypt && EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kGcmTagBytes),
                                     out_bytes + input.size()) != 1) {
    return InternalError("AES-256-GCM failed to output the tag: " + OpenSslErrors());
  }
  return out;
}

}  // namespace

StatusOr<std::string> Aes256GcmEncrypt(std::span<const uint8_t, kDataKeyBytes> key,
                                       std::span<const uint8_t, kGcmNonceBytes> nonce,
                                       std::span<const uint8_t> aad, std::span<const uint8_t> plaintext) {
  return RunGcm(/*encrypt=*/true, key, nonce, aad, plaintext, {});
}

StatusOr<std::string> Aes256GcmDecrypt(std::span<const uint8_t, kDataKeyBytes> key,
                                       std::span<const uint8_t, kGcmNonceBytes> nonce,
                                       std::span<const uint8_t> aad, std::span<const uint8_t> sealed) {
  if (sealed.size() < kGcmTagBytes) {
    return DataLossError("AES-256-GCM input of " + std::to_string(sealed.size()) +
                         " bytes is shorter than the 16-byte tag");
  }
  size_t body = sealed.size() - kGcmTagBytes;
  return RunGcm(/*encrypt=*/false, key, nonce, aad, sealed.first(body), sealed.subspan(body));
}

std::string RecordKeyInfo(std::string_view key_id, uint64_t segment) {
  std::string info(kRecordKeyLabel);
  info.push_back('\0');
  info.push_back(static_cast<char>(key_id.size()));
  info.append(key_id);
  AppendUint64BigEndian(info, segment);
  return info;
}

std::string RecordAad(uint64_t segment, uint64_t sequence) {
  std::string aad;
  AppendUint64BigEndian(aad, segment);
  AppendUint64BigEndian(aad, sequence);
  return aad;
}

// ---- Key file ----

namespace {

// Decodes 64 hex digits. Messages name lengths and offsets, never digits.
StatusOr<std::array<uint8_t, kMasterKeyBytes>> DecodeMasterKey(std::string_view hex) {
  if (hex.size() != 2 * kMasterKeyBytes) {
    return InvalidArgumentError("key material must be 64 hex digits (32 bytes), got " +
                                std::to_string(hex.size()) + " characters");
  }
  StatusOr<std::string> raw = HexDecode(hex);
  if (!raw.ok()) return InvalidArgumentError("key material is not hexadecimal: " + raw.status().message());
  std::array<uint8_t, kMasterKeyBytes> key{};
  std::copy(raw->begin(), raw->end(), key.begin());
  Wipe(*raw);
  return key;
}

std::string KeyIdRule() { return "key ids are 1 to 64 characters from A-Z a-z 0-9 . _ -"; }

}  // namespace

KeyFileProvider::~KeyFileProvider() {
  for (auto& [id, key] : keys_) OPENSSL_cleanse(key.data(), key.size());
}

StatusOr<KeyFileProvider> KeyFileProvider::Parse(std::string_view text, std::string_view source_name) {
  KeyFileProvider provider;
  size_t current_line = 0;
  size_t line_number = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    ++line_number;
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);

    auto error = [&](const std::string& reason) {
      return InvalidArgumentError(std::string(source_name) + ":" + std::to_string(line_number) + ": " +
                                  reason);
    };
    std::vector<std::string_view> fields = SplitOnBlanks(line);
    if (fields.empty() || fields[0].front() == '#') continue;

    std::string_view directive = fields[0];
    if (directive == "key") {
      if (fields.size() != 3) return error("expected `key <id> <64 hex digits>`");
      if (!IsValidKeyId(fields[1])) return error("invalid key id; " + KeyIdRule());
      std::string id(fields[1]);
      if (provider.keys_.contains(id)) return error("duplicate key id \"" + id + "\"");
      StatusOr<std::array<uint8_t, kMasterKeyBytes>> key = DecodeMasterKey(fields[2]);
      if (!key.ok()) return error("key \"" + id + "\": " + key.status().message());
      provider.keys_.emplace(id, *key);
      OPENSSL_cleanse(key->data(), key->size());
    } else if (directive == "current") {
      if (fields.size() != 2) return error("expected `current <id>`");
      if (current_line != 0) {
        return error("duplicate `current` line; the first is on line " + std::to_string(current_line));
      }
      if (!IsValidKeyId(fields[1])) return error("invalid key id; " + KeyIdRule());
      provider.current_key_id_ = std::string(fields[1]);
      current_line = line_number;
    } else {
      return error("unknown line; expected `key`, `current` or a `#` comment");
    }
  }

  if (current_line == 0) {
    return InvalidArgumentError(std::string(source_name) + ":" + std::to_string(line_number) +
                                ": missing `current <id>` line naming the key for new records");
  }
  if (!provider.keys_.contains(provider.current_key_id_)) {
    return InvalidArgumentError(std::string(source_name) + ":" + std::to_string(current_line) +
                                ": current key \"" + provider.current_key_id_ + "\" has no `key` line");
  }
  return provider;
}

StatusOr<KeyFileProvider> KeyFileProvider::Load(const std::string& path) {
  // NOTE: the mode is checked before ReadFile opens the file again, so a file
  // swapped in between is read unchecked. Only someone who can write the
  // folder can do that, and that person can replace the keys anyway.
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    int err = errno;
    if (err == ENOENT) return NotFoundError(path + ": audit key file not found");
    return FailedPreconditionError(path + ": cannot read the audit key file: " + ErrnoText(err));
  }
  if (S_ISREG(st.st_mode) && (st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return FailedPreconditionError(path + ": audit key file has mode " + mode +
                                   ", which lets group or others access it; run `chmod 600 " + path + "`");
  }
  MOAT_ASSIGN_OR_RETURN(std::string text, ReadFile(path, kMaxKeyFileBytes));
  StatusOr<KeyFileProvider> provider = Parse(text, path);
  Wipe(text);
  return provider;
}

StatusOr<DataKey> KeyFileProvider::DeriveKey(std::string_view key_id, std::span<const uint8_t> salt,
                                             std::span<const uint8_t> info) const {
  auto found = keys_.find(key_id);
  if (found == keys_.end()) return NotFoundError("audit key id \"" + std::string(key_id) + "\" not found");
  MOAT_ASSIGN_OR_RETURN(std::string derived, HkdfSha256(found->second, salt, info, kDataKeyBytes));
  DataKey key;
  std::copy(derived.begin(), derived.end(), key.mutable_bytes().begin());
  Wipe(derived);
  return key;
}

std::vector<std::string> KeyFileProvider::KeyIds() const {
  std::vector<std::string> ids;
  for (const auto& entry : keys_) ids.push_back(entry.first);
  return ids;
}

namespace {

// Returns "key <id> <hex>\n" for a new random key. The caller wipes it.
StatusOr<std::string> NewKeyLine(std::string_view key_id) {
  std::array<uint8_t, kMasterKeyBytes> key{};
  if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1) {
    return InternalError("random key generation failed: " + OpenSslErrors());
  }
  std::string hex = HexEncode(key);
  OPENSSL_cleanse(key.data(), key.size());
  std::string line = "key " + std::string(key_id) + " " + hex + "\n";
  Wipe(hex);
  return line;
}

Status WriteAll(int fd, std::string_view contents, const std::string& path) {
  size_t done = 0;
  while (done < contents.size()) {
    ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return FailedPreconditionError(path + ": write failed: " + ErrnoText(errno));
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return FailedPreconditionError(path + ": fsync failed: " + ErrnoText(errno));
  return OkStatus();
}

}  // namespace

Status GenerateKeyFile(const std::string& path, std::string_view key_id) {
  if (!IsValidKeyId(key_id))
    return InvalidArgumentError("invalid key id \"" + std::string(key_id) + "\"; " + KeyIdRule());
  MOAT_ASSIGN_OR_RETURN(std::string key_line, NewKeyLine(key_id));
  std::string contents = "# Moat audit master keys. Keep this file secret, with mode 0600.\n" + key_line +
                         "current " + std::string(key_id) + "\n";
  Wipe(key_line);

  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    int err = errno;
    Wipe(contents);
    if (err == EEXIST) return AlreadyExistsError(path + ": already exists; it was left unchanged");
    return FailedPreconditionError(path + ": cannot create: " + ErrnoText(err));
  }
  // The umask may have cleared bits of 0600; set them exactly.
  ::fchmod(fd, 0600);
  Status written = WriteAll(fd, contents, path);
  Wipe(contents);
  ::close(fd);
  if (!written.ok()) ::unlink(path.c_str());
  return written;
}

Status RotateKeyFile(const std::string& path, std::string_view new_key_id) {
  if (!IsValidKeyId(new_key_id)) {
    return InvalidArgumentError("invalid key id \"" + std::string(new_key_id) + "\"; " + KeyIdRule());
  }
  MOAT_ASSIGN_OR_RETURN(KeyFileProvider existing, KeyFileProvider::Load(path));
  if (existing.HasKey(new_key_id)) {
    return AlreadyExistsError(path + ": key id \"" + std::string(new_key_id) + "\" already exists");
  }
  MOAT_ASSIGN_OR_RETURN(std::string text, ReadFile(path, kMaxKeyFileBytes));

  // Keep every line except the old `current` line, then add the new key.
  std::string rotated;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    end = end == std::string::npos ? text.size() : end + 1;
    std::string_view line = std::string_view(text).substr(pos, end - pos);
    pos = end;
    std::vector<std::string_view> fields = SplitOnBlanks(line.substr(0, line.find_first_of("\r\n")));
    if (!fields.empty() && fields[0] == "current") continue;
    rotated.append(line);
    if (line.back() != '\n') rotated.push_back('\n');
  }
  Wipe(text);

  StatusOr<std::string> key_line = NewKeyLine(new_key_id);
  if (!key_line.ok()) {
    Wipe(rotated);
    return key_line.status();
  }
  rotated += *key_line + "current " + std::string(new_key_id) + "\n";
  Wipe(*key_line);
  Status written = WriteFileAtomic(path, rotated, 0600);
  Wipe(rotated);
  return written;
}

// ---- Payload sealing ----

StatusOr<std::unique_ptr<PayloadCipher>> PayloadCipher::Create(const MasterKeyProvider& provider,
                                                               std::string log_id, uint64_t segment) {
  if (log_id.empty() || log_id.size() > kMaxLogIdBytes) {
    return InvalidArgumentError("audit log id must be 1 to 255 bytes, got " + std::to_string(log_id.size()));
  }
  return std::unique_ptr<PayloadCipher>(new PayloadCipher(provider, std::move(log_id), segment));
}

PayloadCipher::PayloadCipher(const MasterKeyProvider& provider, std::string log_id, uint64_t segment)
    : provider_(provider), log_id_(std::move(log_id)), segment_(segment) {}

PayloadCipher::~PayloadCipher() = default;

StatusOr<PayloadCipher::CachedKey*> PayloadCipher::KeyFor(std::string_view key_id) const {
  auto found = keys_.find(key_id);
  if (found != keys_.end()) return &found->second;
  std::string info = RecordKeyInfo(key_id, segment_);
  MOAT_ASSIGN_OR_RETURN(DataKey key, provider_.DeriveKey(key_id, Bytes(log_id_), Bytes(info)));
  auto inserted = keys_.emplace(std::string(key_id), CachedKey{key, 0});
  return &inserted.first->second;
}

StatusOr<std::string> PayloadCipher::Seal(std::string_view plaintext, std::string_view aad) {
  std::string key_id = provider_.CurrentKeyId();
  if (!IsValidKeyId(key_id)) {
    return FailedPreconditionError("the master key provider returned an invalid current key id; " +
                                   KeyIdRule());
  }
  std::string header;
  header.push_back(static_cast<char>(kSealedFormatV1));
  header.push_back(static_cast<char>(key_id.size()));
  header.append(key_id);
  std::array<uint8_t, kGcmNonceBytes> nonce{};
  if (RAND_bytes(nonce.data(), static_cast<int>(nonce.size())) != 1) {
    return InternalError("random nonce generation failed: " + OpenSslErrors());
  }
  header.append(reinterpret_cast<const char*>(nonce.data()), nonce.size());
  std::string gcm_aad = header + std::string(aad);

  DataKey key;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    MOAT_ASSIGN_OR_RETURN(CachedKey * cached, KeyFor(key_id));
    if (cached->seal_count >= kMaxSealsPerDataKey) {
      return ResourceExhaustedError("data key for audit key id \"" + key_id + "\" has sealed " +
                                    std::to_string(kMaxSealsPerDataKey) +
                                    " payloads, the limit for random nonces; start a new segment");
    }
    ++cached->seal_count;
    key = cached->key;
  }
  MOAT_ASSIGN_OR_RETURN(std::string body,
                        Aes256GcmEncrypt(key.bytes(), nonce, Bytes(gcm_aad), Bytes(plaintext)));
  return header + body;
}

StatusOr<std::string> PayloadCipher::Open(std::string_view sealed, std::string_view aad) const {
  if (sealed.size() < kSealedFixedBytes + 1) {
    return DataLossError("sealed audit payload of " + std::to_string(sealed.size()) +
                         " bytes is shorter than the smallest valid one");
  }
  if (static_cast<uint8_t>(sealed[0]) != kSealedFormatV1) {
    return DataLossError("sealed audit payload has unsupported format " +
                         std::to_string(static_cast<uint8_t>(sealed[0])) + ", expected 1");
  }
  size_t key_id_size = static_cast<uint8_t>(sealed[1]);
  if (key_id_size == 0 || key_id_size > kMaxKeyIdBytes || sealed.size() < kSealedFixedBytes + key_id_size) {
    return DataLossError("sealed audit payload has an invalid key id length " + std::to_string(key_id_size));
  }
  std::string_view key_id = sealed.substr(2, key_id_size);
  if (!IsValidKeyId(key_id)) return DataLossError("sealed audit payload has an invalid key id");
  size_t header_size = 2 + key_id_size + kGcmNonceBytes;
  std::span<const uint8_t> nonce = Bytes(sealed.substr(2 + key_id_size, kGcmNonceBytes));

  DataKey key;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    StatusOr<CachedKey*> cached = KeyFor(key_id);
    if (!cached.ok()) return cached.status();
    key = (*cached)->key;
  }
  std::string gcm_aad = std::string(sealed.substr(0, header_size)) + std::string(aad);
  StatusOr<std::string> plaintext = Aes256GcmDecrypt(key.bytes(), nonce.first<kGcmNonceBytes>(),
                                                     Bytes(gcm_aad), Bytes(sealed.substr(header_size)));
  if (!plaintext.ok() && plaintext.status().code() == StatusCode::kDataLoss) {
    return DataLossError("sealed audit payload under key id \"" + std::string(key_id) +
                         "\" failed authentication: it was changed, or the AAD (segment, sequence) differs");
  }
  return plaintext;
}

}  // namespace moat::audit
