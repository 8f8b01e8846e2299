// `moat audit verify|prove|verify-receipt|export|query`: the reader side of
// the audit log, for operators and auditors. None of them writes to the log.
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "audit/audit_export.h"
#include "audit/log_reader.h"
#include "audit/receipt.h"
#include "cli/audit_cli.h"
#include "cli/commands.h"
#include "common/crypto.h"
#include "common/file.h"

namespace moat::cli {

namespace {

// Exit codes: the log or proof is damaged or does not verify (1), or the
// input cannot be read or is invalid (2).
constexpr int kExitDamaged = 1;
constexpr int kExitUnreadable = 2;
constexpr size_t kMaxSmallFileBytes = 64 << 20;

StatusOr<bundle::PublicKey> LoadPublicKey(const std::string& path) {
  StatusOr<std::string> pem = ReadFile(path, kMaxSmallFileBytes);
  if (!pem.ok()) return FailedPreconditionError(pem.status().message());
  StatusOr<bundle::PublicKey> key = bundle::PublicKey::FromPem(*pem, path);
  if (!key.ok()) return FailedPreconditionError(key.status().message());
  return key;
}

void PrintReport(const std::string& path, const audit::AuditLogReport& report) {
  std::cout << "audit log " << path << ": verified\n";
  std::cout << "log id: " << (report.log_id ? HexEncode(*report.log_id) : "none (no segment)") << "\n";
  uint64_t records = report.record_count - report.first_sequence;
  std::cout << "records: " << records;
  if (records > 0) std::cout << ", sequence numbers " << report.first_sequence << " to " << report.record_count - 1;
  std::cout << "\nsegments: " << report.segment_indexes.size();
  if (!report.segment_indexes.empty()) {
    std::cout << ", indexes " << report.segment_indexes.front() << " to " << report.segment_indexes.back();
  }
  std::cout << "\n";
  std::cout << "checkpoints: " << report.checkpoint_count << ", the latest covering " << report.checkpointed_size
            << " records\n";
  if (report.checkpoints_before_first_record > 0) {
    std::cout << "checkpoints before the first record present: " << report.checkpoints_before_first_record
              << " (signatures and links checked, roots not)\n";
  }
  std::cout << "uncovered records: " << report.uncovered_records
            << " (chained but not yet covered by a signed checkpoint)\n";
  if (report.torn_segment_bytes > 0 || !report.torn_segment.empty()) {
    std::cout << "torn tail: " << report.torn_segment_bytes << " bytes at the end of " << report.torn_segment
              << " (a write cut short by a crash; not part of the log)\n";
  }
  if (report.opened_records > 0) std::cout << "decrypted records: " << report.opened_records << "\n";
  for (const std::string& warning : report.warnings) std::cerr << "warning: " << warning << "\n";
}

struct VerifyOptions {
  std::string path, public_key, key_file;
};

void AddVerify(CLI::App& audit, int& exit_code) {
  auto options = std::make_shared<VerifyOptions>();
  CLI::App* command = audit.add_subcommand(
      "verify",
      "Verify an audit folder or export archive: segments, hash chain, checkpoint signatures and roots. "
      "Exit 1 if it is damaged, 2 if it cannot be read");
  command->add_option("PATH", options->path, "Audit folder or export archive")->required();
  command
      ->add_option("--public-key", options->public_key,
                   "The node's Ed25519 public key (PEM) from a trusted channel; node.pub in the log is not trusted")
      ->required();
  command->add_option("--key-file", options->key_file,
                      "Master key file: also decrypt every record and check its inner sequence number");
  command->callback([options, &exit_code] {
    StatusOr<bundle::PublicKey> key = LoadPublicKey(options->public_key);
    if (!key.ok()) return ReportAuditFailure("verify", key.status(), exit_code);
    StatusOr<std::optional<audit::KeyFileProvider>> keys = LoadAuditKeyFile(options->key_file);
    if (!keys.ok()) return ReportAuditFailure("verify", keys.status(), exit_code);
    StatusOr<audit::AuditSource> source = audit::AuditSource::Open(options->path);
    if (!source.ok()) return ReportAuditFailure("verify", source.status(), exit_code);
    audit::AuditVerifyOptions verify;
    if (*keys) verify.keys = &**keys;
    StatusOr<audit::AuditLogReport> report = audit::VerifyAuditLog(*source, *key, verify);
    if (!report.ok()) return ReportAuditFailure("verify", report.status(), exit_code);
    PrintReport(options->path, *report);
  });
}

struct ProveOptions {
  uint64_t sequence = 0;
  std::string folder, out;
};

void AddProve(CLI::App& audit, int& exit_code) {
  auto options = std::make_shared<ProveOptions>();
  CLI::App* command = audit.add_subcommand(
      "prove", "Print the inclusion proof of one record against the latest checkpoint, as JSON");
  command->add_option("SEQ", options->sequence, "Sequence number of the record")->required();
  command->add_option("--audit-dir", options->folder, "Audit folder")->required();
  command->add_option("--out", options->out, "Write the proof to this file instead of standard output");
  command->callback([options, &exit_code] {
    StatusOr<audit::AuditSource> source = audit::AuditSource::Open(options->folder);
    if (!source.ok()) return ReportAuditFailure("prove", source.status(), exit_code);
    StatusOr<audit::InclusionProofDocument> proof = audit::ProveRecord(*source, options->sequence);
    if (!proof.ok()) return ReportAuditFailure("prove", proof.status(), exit_code);
    std::string json = audit::EncodeProofDocument(*proof);
    if (options->out.empty()) {
      std::cout << json;
      return;
    }
    Status written = WriteFileAtomic(options->out, json, 0644);
    if (!written.ok()) return ReportAuditFailure("prove", written, exit_code);
    std::cout << "proof of record " << proof->sequence << " against the checkpoint of size "
              << proof->checkpoint.fields.tree_size << " written to " << options->out << "\n";
  });
}

struct VerifyReceiptOptions {
  std::string receipt, proof, public_key, key_file;
};

void AddVerifyReceipt(CLI::App& audit, int& exit_code) {
  auto options = std::make_shared<VerifyReceiptOptions>();
  CLI::App* command = audit.add_subcommand(
      "verify-receipt",
      "Check a response's audit receipt against a proof document from `moat audit prove`. "
      "Exit 1 if it does not verify, 2 if an input cannot be read");
  command->add_option("--receipt", options->receipt, "Receipt string, moat-receipt-v1:LOG_ID:SEQ:RECORD_HASH")
      ->required();
  command->add_option("--proof", options->proof, "Proof document (JSON)")->required();
  command->add_option("--public-key", options->public_key, "The node's Ed25519 public key (PEM)")->required();
  command->add_option("--key-file", options->key_file, "Master key file: also decrypt and print the record");
  command->callback([options, &exit_code] {
    StatusOr<audit::Receipt> receipt = audit::ParseReceipt(options->receipt);
    if (!receipt.ok()) return ReportAuditFailure("verify-receipt", receipt.status(), exit_code);
    StatusOr<bundle::PublicKey> key = LoadPublicKey(options->public_key);
    if (!key.ok()) return ReportAuditFailure("verify-receipt", key.status(), exit_code);
    StatusOr<std::optional<audit::KeyFileProvider>> keys = LoadAuditKeyFile(options->key_file);
    if (!keys.ok()) return ReportAuditFailure("verify-receipt", keys.status(), exit_code);
    StatusOr<std::string> text = ReadFile(options->proof, kMaxSmallFileBytes);
    if (!text.ok()) return ReportAuditFailure("verify-receipt", FailedPreconditionError(text.status().message()), exit_code);
    StatusOr<audit::InclusionProofDocument> proof = audit::ParseProofDocument(*text);
    if (!proof.ok()) {
      return ReportAuditFailure("verify-receipt", Status(proof.status().code(), options->proof + ": " + proof.status().message()),
                           exit_code);
    }
    Status verified = audit::VerifyReceiptProof(*receipt, *proof, *key);
    if (!verified.ok()) return ReportAuditFailure("verify-receipt", verified, exit_code);
    std::optional<std::string> plaintext;
    if (*keys) {
      audit::RecordCipher cipher(**keys, proof->log_id);
      StatusOr<audit::OpenedRecord> opened = cipher.Open(proof->sequence, proof->record);
      if (!opened.ok()) return ReportAuditFailure("verify-receipt", opened.status(), exit_code);
      plaintext = std::move(opened->plaintext);
    }
    std::cout << "receipt verified: record " << proof->sequence << " of log " << HexEncode(proof->log_id)
              << " is in the checkpoint of size " << proof->checkpoint.fields.tree_size << " signed by key "
              << key->key_id() << "\n";
    if (plaintext) std::cout << "record: " << *plaintext << "\n";
  });
}

}  // namespace

void ReportAuditFailure(std::string_view command, const Status& status, int& exit_code) {
  std::cerr << "moat audit " << command << ": " << status.message() << "\n";
  bool damaged = status.code() == StatusCode::kDataLoss || status.code() == StatusCode::kPermissionDenied;
  exit_code = damaged ? kExitDamaged : kExitUnreadable;
}

StatusOr<std::optional<audit::KeyFileProvider>> LoadAuditKeyFile(const std::string& path) {
  if (path.empty()) return std::optional<audit::KeyFileProvider>();
  StatusOr<audit::KeyFileProvider> keys = audit::KeyFileProvider::Load(path);
  if (!keys.ok()) return FailedPreconditionError(keys.status().message());
  return std::optional<audit::KeyFileProvider>(std::move(*keys));
}

StatusOr<RecordBound> ParseRecordBound(const std::string& text, std::string_view option) {
  RecordBound bound;
  uint64_t sequence = 0;
  if (audit::ParseDecimalUint64(text, sequence)) {
    bound.sequence = sequence;
    return bound;
  }
  StatusOr<int64_t> time = audit::ParseRfc3339Micros(text);
  if (!time.ok()) {
    return InvalidArgumentError(std::string(option) + ": \"" + text +
                                "\" is neither a sequence number nor an RFC 3339 time");
  }
  bound.time_micros = *time;
  return bound;
}

void AddAuditCommands(CLI::App& app, int& exit_code) {
  CLI::App* audit = app.add_subcommand("audit", "Verify, prove, export and query audit logs");
  audit->require_subcommand(1);
  AddVerify(*audit, exit_code);
  AddProve(*audit, exit_code);
  AddVerifyReceipt(*audit, exit_code);
  AddAuditExport(*audit, exit_code);
  AddAuditQuery(*audit, exit_code);
}

}  // namespace moat::cli
