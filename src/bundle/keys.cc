#include "bundle/keys.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include <cerrno>

#include "common/crypto.h"
#include "common/file.h"

namespace moat::bundle {

namespace {

struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

BioPtr MemoryBio(std::string_view bytes) {
  return BioPtr(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
}

StatusOr<std::string> BioContents(BIO* bio) {
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  if (size < 0 || data == nullptr) return InternalError("cannot read an OpenSSL memory buffer");
  return std::string(data, static_cast<size_t>(size));
}

constexpr size_t kMaxPrivateKeyFileBytes = size_t{64} * 1024;

// Refuses to prompt for a passphrase: keys are read non-interactively.
int NoPassphrase(char*, int, int, void*) { return -1; }

StatusOr<std::string> RawPublicKey(EVP_PKEY* pkey) {
  std::string raw(kEd25519PublicKeyBytes, '\0');
  size_t size = raw.size();
  if (EVP_PKEY_get_raw_public_key(pkey, reinterpret_cast<unsigned char*>(raw.data()), &size) != 1 ||
      size != kEd25519PublicKeyBytes) {
    return InternalError("cannot extract the raw Ed25519 public key: " + OpenSslErrors());
  }
  return raw;
}

bool PathExists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 || errno != ENOENT;
}

}  // namespace

std::string KeyIdOf(std::string_view raw_public_key) { return Sha256Hex(raw_public_key); }

StatusOr<PublicKey> PublicKey::FromRaw(std::string_view raw) {
  if (raw.size() != kEd25519PublicKeyBytes) {
    return InvalidArgumentError("an Ed25519 public key is 32 bytes, got " + std::to_string(raw.size()));
  }
  PublicKey key;
  key.raw_ = std::string(raw);
  key.key_id_ = KeyIdOf(raw);
  return key;
}

StatusOr<PublicKey> PublicKey::FromPem(std::string_view pem, std::string_view source_name) {
  BioPtr bio = MemoryBio(pem);
  if (!bio) return InternalError("cannot allocate an OpenSSL buffer");
  EVP_PKEY* pkey = PEM_read_bio_PUBKEY(bio.get(), nullptr, NoPassphrase, nullptr);
  if (pkey == nullptr) {
    return InvalidArgumentError(std::string(source_name) +
                                ": not a PEM public key (SubjectPublicKeyInfo): " + OpenSslErrors());
  }
  std::unique_ptr<EVP_PKEY, void (*)(EVP_PKEY*)> owner(pkey, EVP_PKEY_free);
  if (EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
    return InvalidArgumentError(std::string(source_name) + ": key type " + OBJ_nid2sn(EVP_PKEY_get_id(pkey)) +
                                " is not supported, because publisher keys must be Ed25519");
  }
  MOAT_ASSIGN_OR_RETURN(std::string raw, RawPublicKey(pkey));
  return FromRaw(raw);
}

StatusOr<std::string> PublicKey::ToPem() const {
  EVP_PKEY* pkey = EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(raw_.data()), raw_.size());
  if (pkey == nullptr) return InternalError("cannot build an Ed25519 public key: " + OpenSslErrors());
  std::unique_ptr<EVP_PKEY, void (*)(EVP_PKEY*)> owner(pkey, EVP_PKEY_free);
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), pkey) != 1) {
    return InternalError("cannot encode the public key as PEM: " + OpenSslErrors());
  }
  return BioContents(bio.get());
}

bool PublicKey::Verify(std::string_view message, std::string_view signature) const {
  if (signature.size() != kEd25519SignatureBytes || raw_.size() != kEd25519PublicKeyBytes) return false;
  EVP_PKEY* pkey = EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(raw_.data()), raw_.size());
  if (pkey == nullptr) {
    OpenSslErrors();
    return false;
  }
  std::unique_ptr<EVP_PKEY, void (*)(EVP_PKEY*)> owner(pkey, EVP_PKEY_free);
  MdCtxPtr ctx(EVP_MD_CTX_new());
  // Ed25519 hashes internally, so no digest is named.
  bool valid =
      ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey) == 1 &&
      EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                       reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
  OpenSslErrors();
  return valid;
}

void PrivateKey::PkeyDeleter::operator()(EVP_PKEY* pkey) const { EVP_PKEY_free(pkey); }

StatusOr<PrivateKey> PrivateKey::Generate() {
  EVP_PKEY* pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (pkey == nullptr) return InternalError("Ed25519 key generation failed: " + OpenSslErrors());
  std::unique_ptr<EVP_PKEY, PkeyDeleter> owner(pkey);
  MOAT_ASSIGN_OR_RETURN(std::string raw, RawPublicKey(pkey));
  MOAT_ASSIGN_OR_RETURN(PublicKey public_key, PublicKey::FromRaw(raw));
  return PrivateKey(std::move(owner), std::move(public_key));
}

StatusOr<PrivateKey> PrivateKey::FromPem(std::string_view pem, std::string_view source_name) {
  if (pem.find("ENCRYPTED") != std::string_view::npos) {
    return InvalidArgumentError(std::string(source_name) +
                                ": encrypted private keys are not supported. Use an unencrypted PKCS#8 "
                                "key such as `moat keygen` writes");
  }
  BioPtr bio = MemoryBio(pem);
  if (!bio) return InternalError("cannot allocate an OpenSSL buffer");
  EVP_PKEY* pkey = PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr);
  if (pkey == nullptr) {
    return InvalidArgumentError(std::string(source_name) + ": not a PEM private key: " + OpenSslErrors());
  }
  std::unique_ptr<EVP_PKEY, PkeyDeleter> owner(pkey);
  if (EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
    return InvalidArgumentError(std::string(source_name) + ": key type " + OBJ_nid2sn(EVP_PKEY_get_id(pkey)) +
                                " is not supported, because signing keys must be Ed25519");
  }
  MOAT_ASSIGN_OR_RETURN(std::string raw, RawPublicKey(pkey));
  MOAT_ASSIGN_OR_RETURN(PublicKey public_key, PublicKey::FromRaw(raw));
  return PrivateKey(std::move(owner), std::move(public_key));
}

StatusOr<PrivateKey> PrivateKey::LoadFile(const std::string& path) {
  MOAT_ASSIGN_OR_RETURN(std::string pem, ReadFile(path, kMaxPrivateKeyFileBytes));
  StatusOr<PrivateKey> key = FromPem(pem, path);
  OPENSSL_cleanse(pem.data(), pem.size());
  return key;
}

StatusOr<std::string> PrivateKey::Sign(std::string_view message) const {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  std::string signature(kEd25519SignatureBytes, '\0');
  size_t size = signature.size();
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, pkey_.get()) != 1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &size,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1 ||
      size != kEd25519SignatureBytes) {
    return InternalError("Ed25519 signing failed: " + OpenSslErrors());
  }
  return signature;
}

StatusOr<std::string> PrivateKey::ToPem() const {
  // The secure-heap BIO wipes its buffer when it is freed.
  BioPtr bio(BIO_new(BIO_s_secmem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), pkey_.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return InternalError("cannot encode the private key as PEM: " + OpenSslErrors());
  }
  return BioContents(bio.get());
}

StatusOr<std::string> GenerateKeyFiles(const std::string& private_path, const std::string& public_path) {
  // Checked first so that neither file is written when one exists; the
  // no-replace writes below also hold if a file appears in between.
  for (const std::string& path : {private_path, public_path}) {
    if (PathExists(path))
      return AlreadyExistsError(path + ": already exists, and keys are never overwritten");
  }
  MOAT_ASSIGN_OR_RETURN(PrivateKey key, PrivateKey::Generate());
  MOAT_ASSIGN_OR_RETURN(std::string private_pem, key.ToPem());
  MOAT_ASSIGN_OR_RETURN(std::string public_pem, key.public_key().ToPem());
  Status written = WriteFileAtomic(private_path, private_pem, 0600, /*replace=*/false);
  OPENSSL_cleanse(private_pem.data(), private_pem.size());
  MOAT_RETURN_IF_ERROR(written);
  MOAT_RETURN_IF_ERROR(WriteFileAtomic(public_path, public_pem, 0644, /*replace=*/false));
  return key.key_id();
}

}  // namespace moat::bundle
