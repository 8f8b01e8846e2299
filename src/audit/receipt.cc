#include "audit/receipt.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <iterator>

#include "audit/audit_base.h"
#include "common/crypto.h"

namespace moat::audit {

namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void WriteKey(JsonWriter& writer, std::string_view key) {
  writer.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
}

void WriteString(JsonWriter& writer, std::string_view key, std::string_view value) {
  WriteKey(writer, key);
  writer.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

StatusOr<std::string_view> StringMember(const rapidjson::Value& object, const char* name) {
  auto member = object.FindMember(name);
  if (member == object.MemberEnd() || !member->value.IsString()) {
    return InvalidArgumentError(std::string("proof document: member \"") + name + "\" is missing or not a string");
  }
  return std::string_view(member->value.GetString(), member->value.GetStringLength());
}

StatusOr<MerkleHash> HashMember(std::string_view text, const std::string& what) {
  MerkleHash hash{};
  if (!ParseHashHex(text, hash)) {
    return InvalidArgumentError("proof document: " + what + " is not 64 lower-case hex digits");
  }
  return hash;
}

}  // namespace

std::string FormatReceipt(const Receipt& receipt) {
  return std::string(kReceiptPrefix) + ":" + HexEncode(receipt.log_id) + ":" + std::to_string(receipt.sequence) +
         ":" + HexEncode(receipt.record_hash);
}

StatusOr<Receipt> ParseReceipt(std::string_view text) {
  auto invalid = [&](const std::string& reason) {
    return InvalidArgumentError("receipt \"" + std::string(text) + "\": " + reason);
  };
  std::vector<std::string_view> fields;
  size_t start = 0;
  while (true) {
    size_t colon = text.find(':', start);
    fields.push_back(text.substr(start, colon == std::string_view::npos ? std::string_view::npos : colon - start));
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  if (fields.size() != 4) {
    return invalid("expected 4 fields separated by ':' (" + std::string(kReceiptPrefix) +
                   ":LOG_ID:SEQ:RECORD_HASH), got " + std::to_string(fields.size()));
  }
  if (fields[0] != kReceiptPrefix) return invalid("does not start with \"" + std::string(kReceiptPrefix) + ":\"");
  Receipt receipt;
  if (!ParseLowerHex(fields[1], receipt.log_id)) return invalid("log id is not 32 lower-case hex digits");
  if (!ParseDecimalUint64(fields[2], receipt.sequence)) {
    return invalid("sequence number is not a decimal number without leading zeros");
  }
  if (!ParseHashHex(fields[3], receipt.record_hash)) return invalid("record hash is not 64 lower-case hex digits");
  return receipt;
}

std::string EncodeProofDocument(const InclusionProofDocument& proof) {
  rapidjson::StringBuffer buffer;
  JsonWriter writer(buffer);
  writer.StartObject();
  WriteString(writer, "format", kProofFormat);
  WriteString(writer, "log_id", HexEncode(proof.log_id));
  WriteKey(writer, "seq");
  writer.Uint64(proof.sequence);
  WriteString(writer, "record_hash", HexEncode(proof.record_hash));
  WriteString(writer, "record", Base64Encode(AsBytes(proof.record)));
  WriteString(writer, "checkpoint", CheckpointToLine(proof.checkpoint));
  WriteKey(writer, "path");
  writer.StartArray();
  for (const MerkleHash& hash : proof.path) {
    std::string hex = HexEncode(hash);
    writer.String(hex.data(), static_cast<rapidjson::SizeType>(hex.size()));
  }
  writer.EndArray();
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize()) + "\n";
}

StatusOr<InclusionProofDocument> ParseProofDocument(std::string_view json) {
  rapidjson::Document document;
  document.Parse(json.data(), json.size());
  if (document.HasParseError() || !document.IsObject()) {
    return InvalidArgumentError("proof document: not a JSON object");
  }
  static constexpr std::string_view kMembers[] = {"format", "log_id", "seq", "record_hash",
                                                  "record", "checkpoint", "path"};
  for (const auto& member : document.GetObject()) {
    std::string_view name(member.name.GetString(), member.name.GetStringLength());
    if (std::find(std::begin(kMembers), std::end(kMembers), name) == std::end(kMembers)) {
      return InvalidArgumentError("proof document: unknown member \"" + std::string(name) + "\"");
    }
  }
  if (document.MemberCount() != std::size(kMembers)) {
    return InvalidArgumentError("proof document: expected exactly the members format, log_id, seq, record_hash, "
                                "record, checkpoint and path, each once");
  }

  MOAT_ASSIGN_OR_RETURN(std::string_view format, StringMember(document, "format"));
  if (format != kProofFormat) {
    return InvalidArgumentError("proof document: format is \"" + std::string(format) + "\", expected \"" +
                                std::string(kProofFormat) + "\"");
  }
  InclusionProofDocument proof;
  MOAT_ASSIGN_OR_RETURN(std::string_view log_id, StringMember(document, "log_id"));
  if (!ParseLowerHex(log_id, proof.log_id)) {
    return InvalidArgumentError("proof document: log_id is not 32 lower-case hex digits");
  }
  const rapidjson::Value& seq = document["seq"];
  if (!seq.IsUint64()) return InvalidArgumentError("proof document: member \"seq\" is not an unsigned integer");
  proof.sequence = seq.GetUint64();
  MOAT_ASSIGN_OR_RETURN(std::string_view record_hash, StringMember(document, "record_hash"));
  MOAT_ASSIGN_OR_RETURN(proof.record_hash, HashMember(record_hash, "record_hash"));
  MOAT_ASSIGN_OR_RETURN(std::string_view record, StringMember(document, "record"));
  StatusOr<std::string> record_bytes = Base64Decode(record);
  if (!record_bytes.ok()) return InvalidArgumentError("proof document: record is not base64");
  proof.record = std::move(*record_bytes);
  MOAT_ASSIGN_OR_RETURN(std::string_view checkpoint_line, StringMember(document, "checkpoint"));
  StatusOr<Checkpoint> checkpoint = CheckpointFromLine(checkpoint_line);
  if (!checkpoint.ok()) return InvalidArgumentError("proof document: " + checkpoint.status().message());
  proof.checkpoint = std::move(*checkpoint);
  const rapidjson::Value& path = document["path"];
  if (!path.IsArray()) return InvalidArgumentError("proof document: member \"path\" is not an array");
  for (rapidjson::SizeType i = 0; i < path.Size(); ++i) {
    const std::string what = "path[" + std::to_string(i) + "]";
    if (!path[i].IsString()) return InvalidArgumentError("proof document: " + what + " is not a string");
    MOAT_ASSIGN_OR_RETURN(MerkleHash hash,
                          HashMember(std::string_view(path[i].GetString(), path[i].GetStringLength()), what));
    proof.path.push_back(hash);
  }
  return proof;
}

Status VerifyReceiptProof(const Receipt& receipt, const InclusionProofDocument& proof, const bundle::PublicKey& key) {
  if (receipt.log_id != proof.log_id) {
    return DataLossError("the receipt names log " + HexEncode(receipt.log_id) + ", but the proof is for log " +
                         HexEncode(proof.log_id));
  }
  if (receipt.sequence != proof.sequence) {
    return DataLossError("the receipt names record " + std::to_string(receipt.sequence) +
                         ", but the proof is for record " + std::to_string(proof.sequence));
  }
  if (receipt.record_hash != proof.record_hash) {
    return DataLossError("the receipt names record hash " + HexEncode(receipt.record_hash) +
                         ", but the proof states " + HexEncode(proof.record_hash));
  }

  MerkleHash computed = LeafHash(proof.record);
  if (computed != proof.record_hash) {
    return DataLossError("the record in the proof hashes to " + HexEncode(computed) + ", not to the record hash " +
                         HexEncode(proof.record_hash));
  }
  const CheckpointFields& fields = proof.checkpoint.fields;
  if (fields.log_id != proof.log_id) {
    return DataLossError("the checkpoint is of log " + HexEncode(fields.log_id) + ", not of log " +
                         HexEncode(proof.log_id));
  }

  MOAT_RETURN_IF_ERROR(VerifyCheckpoint(proof.checkpoint, key));
  if (proof.sequence >= fields.tree_size) {
    return DataLossError("the checkpoint covers records 0 to " + std::to_string(fields.tree_size) +
                         " (exclusive), which does not include record " + std::to_string(proof.sequence));
  }
  Status included = VerifyInclusion(proof.record_hash, proof.sequence, fields.tree_size, proof.path, fields.root);
  if (!included.ok()) {
    return DataLossError("the inclusion path does not lead to the checkpoint's root: " + included.message());
  }
  return OkStatus();
}

}  // namespace moat::audit
