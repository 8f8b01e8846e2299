// The `base` file of an audit folder or export archive: where the segments
// present begin when they do not begin at segment 1. docs/formats/audit.md
// defines the text layout:
//
//   moat-audit-base-v1
//   segment <index of the first segment present>
//   sequence <sequence number of that segment's first record>
//   chain <64 lower-case hex digits: the chain hash before that record>
//   frontier <64 hex digits>      (one line per set bit of the sequence)
//
// Nothing here is trusted on its own. A reader accepts the frontier only when
// the roots it yields together with the records match signed checkpoints,
// and the chain hash only when it equals the first segment's header field.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "audit/merkle.h"
#include "common/crypto.h"
#include "common/status.h"

namespace moat::audit {

inline constexpr std::string_view kAuditBaseMagic = "moat-audit-base-v1";
inline constexpr std::string_view kAuditBaseFile = "base";

struct AuditBase {
  uint64_t segment_index = 1;
  uint64_t sequence = 0;
  Sha256Digest chain_hash{};
  // MerkleFrontier::subtree_roots() of the tree of the first `sequence` records.
  std::vector<MerkleHash> frontier;
};

// Returns the text of the file, every line ended by '\n'.
std::string EncodeAuditBase(const AuditBase& base);

// Parses the text of a base file. The final '\n' may be missing. Errors:
// DATA_LOSS "<source_name>: line N: <reason>" for any other deviation from
// the layout, including a frontier whose length does not fit the sequence.
StatusOr<AuditBase> ParseAuditBase(std::string_view text, std::string_view source_name);

// Reads and parses `folder`/base. Returns nullopt when the folder has none.
// Errors: those of ReadFile and ParseAuditBase.
StatusOr<std::optional<AuditBase>> ReadAuditBaseFile(const std::string& folder);

// Parses a decimal uint64 without sign, blanks or leading zeros ("0" itself
// is allowed). Returns false on overflow or any other character.
bool ParseDecimalUint64(std::string_view text, uint64_t& value);

// Parses exactly 2 * out.size() lower-case hex digits into `out`.
bool ParseLowerHex(std::string_view text, std::span<uint8_t> out);
// Parses exactly 64 lower-case hex digits into a hash.
inline bool ParseHashHex(std::string_view text, Sha256Digest& hash) { return ParseLowerHex(text, hash); }

}  // namespace moat::audit
