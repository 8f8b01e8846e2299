#include "bundle/signature.h"

#include <rapidjson/document.h>

#include "bundle/json.h"
#include "bundle/keys.h"
#include "bundle/paths.h"
#include "common/crypto.h"

namespace moat::bundle {

std::string SerializeSignatureFile(const SignatureFile& file) {
  std::string out = "{\"algorithm\":";
  AppendJsonString(out, file.algorithm);
  out += ",\"key_id\":";
  AppendJsonString(out, file.key_id);
  out += ",\"signature\":";
  AppendJsonString(out, Base64Encode(AsBytes(file.signature)));
  out += "}\n";
  return out;
}

StatusOr<SignatureFile> ParseSignatureFile(std::string_view bytes, std::string_view source_name) {
  std::string name(source_name);
  if (bytes.size() > kMaxSignatureFileBytes) {
    return InvalidArgumentError(name + ": signature file is " + std::to_string(bytes.size()) +
                                " bytes, above the limit of " + std::to_string(kMaxSignatureFileBytes) +
                                " bytes");
  }
  rapidjson::Document doc;
  MOAT_RETURN_IF_ERROR(ParseJson(bytes, name, doc));
  MOAT_RETURN_IF_ERROR(CheckObjectKeys(doc, name, {"algorithm", "key_id", "signature"}));

  std::string prefix = name + ": field ";
  SignatureFile file;
  MOAT_ASSIGN_OR_RETURN(file.algorithm, GetStringMember(doc, prefix, "algorithm"));
  if (file.algorithm != kEd25519AlgorithmName) {
    return InvalidArgumentError(name + ": unsupported algorithm " + QuoteForMessage(file.algorithm) +
                                " (expected \"ed25519\")");
  }
  MOAT_ASSIGN_OR_RETURN(file.key_id, GetStringMember(doc, prefix, "key_id"));
  if (!IsValidKeyId(file.key_id)) {
    return InvalidArgumentError(name + ": key_id " + QuoteForMessage(file.key_id) +
                                " is not 64 lower-case hex digits");
  }
  MOAT_ASSIGN_OR_RETURN(std::string encoded, GetStringMember(doc, prefix, "signature"));
  StatusOr<std::string> decoded = Base64Decode(encoded);
  if (!decoded.ok()) {
    return InvalidArgumentError(name + ": signature is not valid base64: " + decoded.status().message());
  }
  if (decoded->size() != kEd25519SignatureBytes) {
    return InvalidArgumentError(name + ": signature is " + std::to_string(decoded->size()) +
                                " bytes, but an Ed25519 signature is 64 bytes");
  }
  file.signature = std::move(decoded).value();
  return file;
}

std::string SignatureFilePath(std::string_view key_id) {
  return std::string(kSignaturesDirName) + "/" + std::string(key_id) + ".json";
}

bool IsValidKeyId(std::string_view key_id) {
  if (key_id.size() != 64) return false;
  for (char c : key_id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace moat::bundle
