// Signature files: signatures/<key id>.json, one per publisher key, each an
// Ed25519 signature over the exact bytes of manifest.json.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace moat::bundle {

inline constexpr std::string_view kEd25519AlgorithmName = "ed25519";
inline constexpr size_t kMaxSignatureFileBytes = 4096;

struct SignatureFile {
  std::string key_id;     // 64 lower-case hex digits
  std::string algorithm;  // "ed25519"
  std::string signature;  // the raw 64 signature bytes (base64 in the file)
};

// Returns the JSON form: {"algorithm":...,"key_id":...,"signature":base64}.
std::string SerializeSignatureFile(const SignatureFile& file);

// Parses a signature file strictly (exact keys, types, 64-byte signature).
// `source_name` names the file in errors. Any JSON whitespace is accepted.
StatusOr<SignatureFile> ParseSignatureFile(std::string_view bytes, std::string_view source_name);

// Returns "signatures/<key_id>.json".
std::string SignatureFilePath(std::string_view key_id);

// True for a 64-digit lower-case hex key id.
bool IsValidKeyId(std::string_view key_id);

}  // namespace moat::bundle
