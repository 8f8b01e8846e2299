#include "audit/log_reader.h"

#include <map>
#include <optional>
#include <set>

#include "common/crypto.h"

namespace moat::audit {

namespace {

std::string LinePrefix(const std::string& file_name, size_t index) {
  return file_name + ": line " + std::to_string(index + 1) + ": ";
}

// Compares node.pub with the key the caller trusts. A difference is reported,
// not fatal: verification uses the caller's key either way.
void CompareNodeKey(const AuditSource& source, const bundle::PublicKey& key, std::vector<std::string>& warnings) {
  std::string name = source.NameOf(kAuditNodeKeyFile);
  if (!source.node_public_key_pem()) {
    warnings.push_back(name + ": missing; verified with the given public key only");
    return;
  }
  StatusOr<bundle::PublicKey> node_key = bundle::PublicKey::FromPem(*source.node_public_key_pem(), name);
  if (!node_key.ok()) {
    warnings.push_back(name + ": not an Ed25519 public key (" + node_key.status().message() +
                       "); verified with the given public key only");
  } else if (node_key->raw() != key.raw()) {
    warnings.push_back(name + ": contains key " + node_key->key_id() + ", not the given public key " + key.key_id() +
                       "; verified with the given public key");
  }
}

// Checks what CheckpointChain checks, except consistency proofs and two
// roots for one size, for a log that starts after record 0. Consistency
// there follows from the root checks against the records.
Status CheckLink(const Checkpoint* previous, const Checkpoint& next, size_t number) {
  const std::string position = "checkpoint " + std::to_string(number);
  const CheckpointFields& fields = next.fields;
  if (previous == nullptr) {
    if (fields.previous_hash != MerkleHash{}) return DataLossError(position + " is the first but its previous hash is not zero");
    return OkStatus();
  }
  MerkleHash previous_hash = CheckpointHash(*previous);
  if (fields.previous_hash != previous_hash) {
    return DataLossError(position + " has previous hash " + HexEncode(fields.previous_hash) +
                         ", but the checkpoint before it hashes to " + HexEncode(previous_hash));
  }
  if (fields.tree_size < previous->fields.tree_size) {
    return DataLossError(position + " has size " + std::to_string(fields.tree_size) + ", smaller than the size " +
                         std::to_string(previous->fields.tree_size) + " before it");
  }
  if (fields.time_ms < previous->fields.time_ms) {
    return DataLossError(position + " has a time earlier than the checkpoint before it");
  }
  return OkStatus();
}

// Checks every checkpoint against `key`, its neighbours and the records.
// `roots` contains the records' root at each checkpoint size of at least
// scan.first_sequence. `tree` is set when the log starts at record 0.
Status CheckCheckpoints(const CheckpointsFile& file, const std::string& file_name, const bundle::PublicKey& key,
                        const AuditScan& scan, const std::map<uint64_t, MerkleHash>& roots, const MerkleTree* tree,
                        AuditLogReport& report) {
  CheckpointChain chain;
  for (size_t i = 0; i < file.checkpoints.size(); ++i) {
    const Checkpoint& checkpoint = file.checkpoints[i];
    const uint64_t size = checkpoint.fields.tree_size;
    const std::string line = LinePrefix(file_name, i);
    const std::string position = line + "checkpoint " + std::to_string(i) + " of size " + std::to_string(size);

    Status signature = VerifyCheckpoint(checkpoint, key);
    if (!signature.ok()) return DataLossError(line + signature.message());
    if (scan.log_id && checkpoint.fields.log_id != *scan.log_id) {
      return DataLossError(position + " is of log " + HexEncode(checkpoint.fields.log_id) +
                           ", but the segments are of log " + HexEncode(*scan.log_id));
    }
    if (size > scan.record_count) {
      return DataLossError(position + " covers more records than the log contains (" +
                           std::to_string(scan.record_count) + "): records were removed or cut after it was signed");
    }
    // Two roots for one size mean the signer vouched for two histories. That
    // is worse than a root that differs from the records, so it is named first.
    const Checkpoint* previous = i == 0 ? nullptr : &file.checkpoints[i - 1];
    if (previous && previous->fields.tree_size == size && previous->fields.root != checkpoint.fields.root) {
      return DataLossError(line + "two checkpoints of size " + std::to_string(size) + " with different roots");
    }
    if (size >= scan.first_sequence) {
      const MerkleHash& computed = roots.at(size);
      if (computed != checkpoint.fields.root) {
        return DataLossError(position + " has root " + HexEncode(checkpoint.fields.root) + ", but records 0 to " +
                             std::to_string(size) + " (exclusive) give root " + HexEncode(computed));
      }
    } else {
      ++report.checkpoints_before_first_record;
    }
    Status linked = tree ? chain.Append(checkpoint, *tree) : CheckLink(previous, checkpoint, i);
    if (!linked.ok()) return DataLossError(line + linked.message());
  }
  return OkStatus();
}

}  // namespace

StatusOr<AuditLogReport> VerifyAuditLog(const AuditSource& source, const bundle::PublicKey& key,
                                        const AuditVerifyOptions& options) {
  AuditLogReport report;
  const std::string checkpoints_name = source.NameOf(kAuditCheckpointsFile);
  CheckpointsFile checkpoints;
  if (source.checkpoints_text()) {
    MOAT_ASSIGN_OR_RETURN(checkpoints, ParseCheckpointsFile(*source.checkpoints_text(), checkpoints_name));
  } else {
    report.warnings.push_back(checkpoints_name + ": missing, so no record is covered by a signed checkpoint");
  }
  if (checkpoints.torn_bytes > 0) {
    report.warnings.push_back(checkpoints_name + ": the last " + std::to_string(checkpoints.torn_bytes) +
                              " bytes are a line without '\\n', a write cut short by a crash; ignored");
  }
  CompareNodeKey(source, key, report.warnings);

  std::set<uint64_t> sizes;
  for (const Checkpoint& checkpoint : checkpoints.checkpoints) sizes.insert(checkpoint.fields.tree_size);
  std::map<uint64_t, MerkleHash> roots;
  // The whole tree is kept only for consistency proofs between checkpoints,
  // which a log without its early records cannot give.
  // NOTE: it costs at least 64 bytes of memory per record (merkle.h).
  const bool from_record_zero = !source.base_text();
  MerkleTree tree;
  std::optional<RecordCipher> cipher;
  auto visit = [&](const AuditRecordView& record) -> Status {
    if (from_record_zero) tree.Append(record.leaf_hash);
    if (sizes.contains(record.merkle->size())) roots[record.merkle->size()] = record.merkle->Root();
    if (options.keys == nullptr) return OkStatus();
    if (!cipher) cipher.emplace(*options.keys, record.log_id);
    MOAT_ASSIGN_OR_RETURN(OpenedRecord opened, cipher->Open(record.sequence, record.bytes));
    ++report.opened_records;
    if (options.on_opened) options.on_opened(opened);
    return OkStatus();
  };
  MOAT_ASSIGN_OR_RETURN(AuditScan scan, ScanAuditSegments(source, visit, options.segments));
  if (scan.base) {
    MOAT_ASSIGN_OR_RETURN(MerkleFrontier start, MerkleFrontier::Restore(scan.base->sequence, scan.base->frontier));
    roots[start.size()] = start.Root();
  } else {
    roots[0] = EmptyTreeRoot();
  }
  MOAT_RETURN_IF_ERROR(
      CheckCheckpoints(checkpoints, checkpoints_name, key, scan, roots, from_record_zero ? &tree : nullptr, report));

  report.log_id = scan.log_id;
  report.first_sequence = scan.first_sequence;
  report.record_count = scan.record_count;
  for (const SegmentSummary& segment : scan.segments) report.segment_indexes.push_back(segment.index);
  report.checkpoint_count = checkpoints.checkpoints.size();
  if (!checkpoints.checkpoints.empty()) report.checkpointed_size = checkpoints.checkpoints.back().fields.tree_size;
  report.uncovered_records = scan.record_count - std::max(report.checkpointed_size, scan.first_sequence);
  report.torn_segment = scan.torn_name;
  report.torn_segment_bytes = scan.torn_bytes;
  report.torn_checkpoint_bytes = checkpoints.torn_bytes;
  return report;
}

StatusOr<InclusionProofDocument> ProveRecord(const AuditSource& source, uint64_t sequence) {
  if (source.base_text()) {
    return FailedPreconditionError(source.path() +
                                   ": the log starts after record 0 (it has a base file); an inclusion proof needs "
                                   "every record from 0");
  }
  const std::string checkpoints_name = source.NameOf(kAuditCheckpointsFile);
  CheckpointsFile checkpoints;
  if (source.checkpoints_text()) {
    MOAT_ASSIGN_OR_RETURN(checkpoints, ParseCheckpointsFile(*source.checkpoints_text(), checkpoints_name));
  }

  MerkleTree tree;
  std::string record;
  auto visit = [&](const AuditRecordView& view) -> Status {
    tree.Append(view.leaf_hash);
    if (view.sequence == sequence) record = std::string(view.bytes);
    return OkStatus();
  };
  MOAT_ASSIGN_OR_RETURN(AuditScan scan, ScanAuditSegments(source, visit));
  if (sequence >= scan.record_count) {
    return OutOfRangeError("record " + std::to_string(sequence) + " does not exist: " + source.path() +
                           " contains " + std::to_string(scan.record_count) + " records");
  }
  if (checkpoints.checkpoints.empty()) {
    return FailedPreconditionError("record " + std::to_string(sequence) + " is not yet covered by a checkpoint: " +
                                   checkpoints_name + " contains no checkpoint yet");
  }
  const Checkpoint& latest = checkpoints.checkpoints.back();
  const uint64_t size = latest.fields.tree_size;
  const std::string line = std::to_string(checkpoints.checkpoints.size());
  if (size > scan.record_count) {
    return DataLossError(checkpoints_name + ": line " + line + ": the latest checkpoint covers " +
                         std::to_string(size) + " records, but the log contains only " +
                         std::to_string(scan.record_count));
  }
  if (sequence >= size) {
    return FailedPreconditionError("record " + std::to_string(sequence) +
                                   " is not yet covered by a checkpoint: the latest checkpoint (" + checkpoints_name +
                                   " line " + line + ") has size " + std::to_string(size) + ", covering records 0 to " +
                                   std::to_string(size) + " (exclusive); retry after the next checkpoint");
  }
  MOAT_ASSIGN_OR_RETURN(MerkleHash root, tree.Root(size));
  if (root != latest.fields.root) {
    return DataLossError(checkpoints_name + ": line " + line + ": the latest checkpoint has root " +
                         HexEncode(latest.fields.root) + ", but the records give " + HexEncode(root));
  }
  InclusionProofDocument proof;
  proof.log_id = *scan.log_id;
  proof.sequence = sequence;
  proof.record_hash = tree.leaf_hash(sequence);
  proof.record = std::move(record);
  proof.checkpoint = latest;
  MOAT_ASSIGN_OR_RETURN(proof.path, tree.InclusionProof(sequence, size));
  return proof;
}

Status ReadAuditRecords(const AuditSource& source, const MasterKeyProvider& keys,
                        const std::function<Status(const OpenedRecord&)>& visit) {
  std::optional<RecordCipher> cipher;
  auto open = [&](const AuditRecordView& record) -> Status {
    if (!cipher) cipher.emplace(keys, record.log_id);
    MOAT_ASSIGN_OR_RETURN(OpenedRecord opened, cipher->Open(record.sequence, record.bytes));
    return visit(opened);
  };
  return ScanAuditSegments(source, open).status();
}

}  // namespace moat::audit
