// Audit receipts and inclusion proof documents. A receipt names one stored
// record. A proof document shows that record under a signed checkpoint, so
// a client can check its receipt offline with only the node's public key.
//
// Receipt (HTTP header Moat-Audit-Receipt, response parameter audit_receipt):
//   moat-receipt-v1:<32 hex log id>:<sequence, decimal>:<64 hex record hash>
// where the record hash is LeafHash(stored record bytes) of merkle.h and hex
// is lower case.
//
// Proof document: one JSON object
//   {"format":"moat-inclusion-proof-v1","log_id":hex,"seq":N,
//    "record_hash":hex,"record":base64 stored record,
//    "checkpoint":base64 checkpoint line,"path":[hex,...]}
// where "path" is PATH(seq, D[tree size]) of merkle.h, deepest sibling first,
// for the checkpoint's tree size.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "audit/checkpoint.h"
#include "audit/merkle.h"
#include "audit/segment.h"
#include "bundle/keys.h"
#include "common/status.h"

namespace moat::audit {

inline constexpr std::string_view kReceiptPrefix = "moat-receipt-v1";
inline constexpr std::string_view kProofFormat = "moat-inclusion-proof-v1";

struct Receipt {
  LogId log_id{};
  uint64_t sequence = 0;
  MerkleHash record_hash{};
};

std::string FormatReceipt(const Receipt& receipt);
// Parses a receipt string, rejecting upper-case hex, a sequence number with a
// sign, leading zeros or overflow, and extra fields. Errors: INVALID_ARGUMENT.
StatusOr<Receipt> ParseReceipt(std::string_view text);

struct InclusionProofDocument {
  LogId log_id{};
  uint64_t sequence = 0;
  MerkleHash record_hash{};
  std::string record;           // the stored (sealed) record bytes
  Checkpoint checkpoint;
  std::vector<MerkleHash> path;
};

// Returns the JSON text, ended by '\n'.
std::string EncodeProofDocument(const InclusionProofDocument& proof);
// Parses a proof document. Every member above is required, and no other is
// accepted. Errors: INVALID_ARGUMENT naming the member.
StatusOr<InclusionProofDocument> ParseProofDocument(std::string_view json);

// Checks, in this order, that the receipt names the document's log id,
// sequence number and record hash, and that the record bytes hash to that
// record hash. Then checks that the checkpoint is of the same log, signed by
// `key` and covers the sequence number, and that the path leads from the
// record to the checkpoint's root. Errors: DATA_LOSS, or PERMISSION_DENIED
// when another key signed the checkpoint. Messages name the values that differ.
Status VerifyReceiptProof(const Receipt& receipt, const InclusionProofDocument& proof, const bundle::PublicKey& key);

}  // namespace moat::audit
