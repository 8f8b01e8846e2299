// Feeds arbitrary bytes both to the audit key file parser and, as a sealed
// payload, to PayloadCipher::Open(). Open() uses a fixed key file
// (key id "fuzz", log id "fuzz-log", segment 1, AAD "fuzz-aad"), so a seed
// sealed under it reaches the decryption path. Besides not crashing:
// - a parsed key file must name a current key that it contains and that
//   derives a key;
// - an opened payload must stop opening when one bit of it changes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "audit/payload_crypto.h"

namespace {

using moat::audit::KeyFileProvider;
using moat::audit::PayloadCipher;

constexpr std::string_view kFuzzKeyFile =
    "key fuzz 8f1e2d3c4b5a69788796a5b4c3d2e1f000112233445566778899aabbccddeeff\n"
    "current fuzz\n";
constexpr std::string_view kAad = "fuzz-aad";

void CheckKeyFile(std::string_view text) {
  moat::StatusOr<KeyFileProvider> provider = KeyFileProvider::Parse(text, "fuzz");
  if (!provider.ok()) return;
  std::string current = provider->CurrentKeyId();
  if (!moat::audit::IsValidKeyId(current) || !provider->HasKey(current)) std::abort();
  if (!provider->DeriveKey(current, {}, {}).ok()) std::abort();
}

void CheckOpen(std::string_view sealed) {
  static const KeyFileProvider* provider =
      new KeyFileProvider(KeyFileProvider::Parse(kFuzzKeyFile, "fuzz").value());
  static PayloadCipher* cipher = PayloadCipher::Create(*provider, "fuzz-log", 1).value().release();
  moat::StatusOr<std::string> opened = cipher->Open(sealed, kAad);
  if (!opened.ok()) return;
  // The changed bit depends on the input, so that over a run it covers the
  // header, the ciphertext and the tag.
  size_t position = 0;
  for (char c : sealed) position += static_cast<uint8_t>(c);
  std::string changed(sealed);
  changed[position % changed.size()] ^= static_cast<char>(1 << (position % 8));
  if (cipher->Open(changed, kAad).ok()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  CheckKeyFile(input);
  CheckOpen(input);
  return 0;
}
