// `moat audit export` and `moat audit query`: copy a record range out of an
// audit log, and list decrypted records that match a filter.
#include <iomanip>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "audit/audit_export.h"
#include "audit/log_reader.h"
#include "cli/audit_cli.h"

namespace moat::cli {

namespace {

struct ExportOptions {
  std::string folder, from, to, out, key_file;
};

// Resolves the bounds to sequence numbers; times need the key file because
// a record's time is inside its sealed payload.
StatusOr<audit::SequenceRange> ResolveRange(const audit::AuditSource& source, const ExportOptions& options,
                                            const std::optional<audit::KeyFileProvider>& keys) {
  MOAT_ASSIGN_OR_RETURN(RecordBound from, ParseRecordBound(options.from, "--from"));
  MOAT_ASSIGN_OR_RETURN(RecordBound to, ParseRecordBound(options.to, "--to"));
  audit::SequenceRange range;
  if (from.time_micros || to.time_micros) {
    if (!keys) {
      return InvalidArgumentError("--from or --to is a time, which is stored encrypted: add --key-file");
    }
    MOAT_ASSIGN_OR_RETURN(range, audit::FindTimeRange(source, *keys, from.time_micros, to.time_micros));
  }
  if (from.sequence) range.first = *from.sequence;
  if (to.sequence) range.last = *to.sequence;
  return range;
}

void AddExport(CLI::App& audit, int& exit_code) {
  auto options = std::make_shared<ExportOptions>();
  CLI::App* command = audit.add_subcommand(
      "export",
      "Write the records of a range, with the checkpoints that cover them, to a self-contained ustar "
      "archive that `moat audit verify` accepts");
  command->add_option("--audit-dir", options->folder, "Audit folder or export archive")->required();
  command
      ->add_option("--from", options->from,
                   "First record, inclusive: a sequence number (digits only) or an RFC 3339 time such as "
                   "2026-12-05T04:30:00Z, meaning the first record written at or after it")
      ->required();
  command
      ->add_option("--to", options->to,
                   "Last record, inclusive: a sequence number or an RFC 3339 time, meaning the last record "
                   "written at or before it")
      ->required();
  command->add_option("--out", options->out, "Archive file to create; an existing file is not replaced")
      ->required();
  command->add_option("--key-file", options->key_file, "Master key file, required when --from or --to is a time");
  command->callback([options, &exit_code] {
    StatusOr<std::optional<audit::KeyFileProvider>> keys = LoadAuditKeyFile(options->key_file);
    if (!keys.ok()) return ReportAuditFailure("export", keys.status(), exit_code);
    StatusOr<audit::AuditSource> source = audit::AuditSource::Open(options->folder);
    if (!source.ok()) return ReportAuditFailure("export", source.status(), exit_code);
    StatusOr<audit::SequenceRange> range = ResolveRange(*source, *options, *keys);
    if (!range.ok()) return ReportAuditFailure("export", range.status(), exit_code);
    StatusOr<audit::ExportSummary> summary =
        audit::ExportAuditLog(*source, range->first, range->last, options->out);
    if (!summary.ok()) return ReportAuditFailure("export", summary.status(), exit_code);
    std::cout << "exported records " << range->first << " to " << range->last << " to " << options->out
              << ": segments " << summary->first_segment << " to " << summary->last_segment << " (records "
              << summary->first_sequence << " to " << summary->record_count - 1 << "), "
              << summary->checkpoint_count << " checkpoints" << (summary->has_base ? ", with a base file" : "")
              << "\n";
  });
}

struct QueryOptions {
  std::string source, key_file, since, until;
  std::optional<std::string> model, principal, rule, outcome, type;
  std::optional<int64_t> version;
  bool json = false;
};

StatusOr<audit::RecordFilter> MakeFilter(const QueryOptions& options) {
  audit::RecordFilter filter;
  filter.type = options.type;
  filter.model = options.model;
  filter.version = options.version;
  filter.principal = options.principal;
  filter.rule = options.rule;
  filter.outcome = options.outcome;
  if (!options.since.empty()) {
    StatusOr<int64_t> since = audit::ParseRfc3339Micros(options.since);
    if (!since.ok()) return InvalidArgumentError("--since: " + since.status().message());
    filter.since_micros = *since;
  }
  if (!options.until.empty()) {
    StatusOr<int64_t> until = audit::ParseRfc3339Micros(options.until);
    if (!until.ok()) return InvalidArgumentError("--until: " + until.status().message());
    filter.until_micros = *until;
  }
  return filter;
}

void PrintTableRow(const audit::RecordSummary& record) {
  std::cout << std::left << std::setw(8) << record.sequence << "  " << std::setw(27) << record.time << "  "
            << std::setw(14) << record.type << "  " << std::setw(16) << record.model << "  " << std::setw(7)
            << record.version << "  " << std::setw(12) << record.principal << "  " << std::setw(18)
            << record.outcome << "  " << std::setw(20) << (record.rule.empty() ? "-" : record.rule) << "  "
            << record.request_id << "\n";
}

void AddQuery(CLI::App& audit, int& exit_code) {
  auto options = std::make_shared<QueryOptions>();
  CLI::App* command = audit.add_subcommand(
      "query",
      "Decrypt the records of an audit folder or export archive and list those that match every filter "
      "given. It checks the segments and hash chain but not the checkpoints: run `moat audit verify` for that");
  command->add_option("--audit-dir", options->source, "Audit folder or export archive")->required();
  command->add_option("--key-file", options->key_file, "Master key file")->required();
  command->add_option("--model", options->model, "Only records of this model name");
  command->add_option("--version", options->version, "Only records of this model version");
  command->add_option("--principal", options->principal, "Only records of this principal");
  command->add_option("--rule", options->rule, "Only records that this policy rule decided");
  command->add_option("--outcome", options->outcome, "Only records with this outcome, e.g. ok or NOT_FOUND");
  command->add_option("--type", options->type, "Only records of this type, e.g. inference or server_start");
  command->add_option("--since", options->since, "Only records written at or after this RFC 3339 time");
  command->add_option("--until", options->until, "Only records written at or before this RFC 3339 time");
  command->add_flag("--json", options->json, "Print each matching record's plaintext as one JSON line");

  command->callback([options, &exit_code] {
    StatusOr<audit::RecordFilter> filter = MakeFilter(*options);
    if (!filter.ok()) return ReportAuditFailure("query", filter.status(), exit_code);
    StatusOr<std::optional<audit::KeyFileProvider>> keys = LoadAuditKeyFile(options->key_file);
    if (!keys.ok()) return ReportAuditFailure("query", keys.status(), exit_code);
    StatusOr<audit::AuditSource> source = audit::AuditSource::Open(options->source);
    if (!source.ok()) return ReportAuditFailure("query", source.status(), exit_code);

    if (!options->json) {
      std::cout << std::left << std::setw(8) << "SEQ" << "  " << std::setw(27) << "TIME" << "  " << std::setw(14)
                << "TYPE" << "  " << std::setw(16) << "MODEL" << "  " << std::setw(7) << "VERSION" << "  "
                << std::setw(12) << "PRINCIPAL" << "  " << std::setw(18) << "OUTCOME" << "  " << std::setw(20)
                << "RULE" << "  " << "REQUEST_ID\n";
    }
    uint64_t read_count = 0, matched = 0;
    Status read = audit::ReadAuditRecords(*source, **keys, [&](const audit::OpenedRecord& record) {
      ++read_count;
      if (!audit::MatchesFilter(record.summary, *filter)) return OkStatus();
      ++matched;
      if (options->json) {
        std::cout << record.plaintext << "\n";
      } else {
        PrintTableRow(record.summary);
      }
      return OkStatus();
    });
    if (!read.ok()) return ReportAuditFailure("query", read, exit_code);
    // On stderr, so that --json output stays one record per line. Outcomes
    // are "ok" or upper-case status code names, and types are lower case.
    if (matched == 0) {
      std::cerr << "query: none of the " << read_count
                << " records matches the filters; outcomes are 'ok' or a status code name such as NOT_FOUND, "
                   "types are names such as inference or server_start\n";
    }
  });
}

}  // namespace

void AddAuditExport(CLI::App& audit, int& exit_code) { AddExport(audit, exit_code); }
void AddAuditQuery(CLI::App& audit, int& exit_code) { AddQuery(audit, exit_code); }

}  // namespace moat::cli
