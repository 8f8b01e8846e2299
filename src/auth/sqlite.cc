#include "auth/sqlite.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace moat::auth {
namespace {

// How long a writer waits for another connection's lock (a `moat` command
// beside the server) before SQLITE_BUSY.
constexpr int kBusyTimeoutMs = 5000;

std::string ErrorText(sqlite3* db) { return db != nullptr ? sqlite3_errmsg(db) : "out of memory"; }

}  // namespace

Statement::Statement(sqlite3* db, sqlite3_stmt* statement, std::string sql)
    : db_(db), statement_(statement), sql_(std::move(sql)) {}

Statement::Statement(Statement&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)),
      statement_(std::exchange(other.statement_, nullptr)),
      sql_(std::move(other.sql_)),
      bind_error_(std::move(other.bind_error_)) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(statement_);
    db_ = std::exchange(other.db_, nullptr);
    statement_ = std::exchange(other.statement_, nullptr);
    sql_ = std::move(other.sql_);
    bind_error_ = std::move(other.bind_error_);
  }
  return *this;
}

Statement::~Statement() { sqlite3_finalize(statement_); }

namespace {
Status BindResult(int rc, sqlite3* db, int index, const std::string& sql) {
  if (rc == SQLITE_OK) return OkStatus();
  return InternalError("cannot bind parameter " + std::to_string(index) + " of '" + sql + "': " + ErrorText(db));
}
}  // namespace

Statement& Statement::Bind(int index, int64_t value) {
  Status status = BindResult(sqlite3_bind_int64(statement_, index, value), db_, index, sql_);
  if (bind_error_.ok()) bind_error_ = std::move(status);
  return *this;
}

Statement& Statement::Bind(int index, std::string_view text) {
  Status status = BindResult(
      sqlite3_bind_text64(statement_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8), db_,
      index, sql_);
  if (bind_error_.ok()) bind_error_ = std::move(status);
  return *this;
}

Statement& Statement::BindBlob(int index, std::string_view bytes) {
  Status status =
      BindResult(sqlite3_bind_blob64(statement_, index, bytes.data(), bytes.size(), SQLITE_TRANSIENT), db_,
                 index, sql_);
  if (bind_error_.ok()) bind_error_ = std::move(status);
  return *this;
}

Statement& Statement::BindNull(int index) {
  Status status = BindResult(sqlite3_bind_null(statement_, index), db_, index, sql_);
  if (bind_error_.ok()) bind_error_ = std::move(status);
  return *this;
}

StatusOr<bool> Statement::Step() {
  if (!bind_error_.ok()) return bind_error_;
  int rc = sqlite3_step(statement_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  StatusCode code = rc == SQLITE_BUSY || rc == SQLITE_LOCKED || rc == SQLITE_FULL || rc == SQLITE_IOERR
                        ? StatusCode::kUnavailable
                        : rc == SQLITE_CONSTRAINT ? StatusCode::kAlreadyExists
                                                  : StatusCode::kInternal;
  return Status(code, "state database: '" + sql_ + "' failed: " + ErrorText(db_));
}

Status Statement::Run() {
  while (true) {
    StatusOr<bool> row = Step();
    if (!row.ok()) return row.status();
    if (!*row) return OkStatus();
  }
}

void Statement::Reset() {
  sqlite3_reset(statement_);
  sqlite3_clear_bindings(statement_);
  bind_error_ = OkStatus();
}

int64_t Statement::ColumnInt(int column) const { return sqlite3_column_int64(statement_, column); }

std::string Statement::ColumnText(int column) const {
  const void* data = sqlite3_column_blob(statement_, column);
  int size = sqlite3_column_bytes(statement_, column);
  if (data == nullptr || size <= 0) return {};
  return std::string(static_cast<const char*>(data), static_cast<size_t>(size));
}

bool Statement::ColumnIsNull(int column) const { return sqlite3_column_type(statement_, column) == SQLITE_NULL; }

std::optional<int64_t> Statement::ColumnOptionalInt(int column) const {
  if (ColumnIsNull(column)) return std::nullopt;
  return ColumnInt(column);
}

StatusOr<std::unique_ptr<Database>> Database::Open(const std::string& path) {
  if (path != ":memory:") {
    // Create the file with mode 0600 before SQLite does (it would use 0644):
    // it holds token hashes and second-factor secrets.
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
      return UnavailableError("cannot open the state database '" + path + "': " + std::strerror(errno));
    }
    ::close(fd);
  }
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    std::string message = ErrorText(db);
    sqlite3_close(db);
    return UnavailableError("cannot open the state database '" + path + "': " + message);
  }
  std::unique_ptr<Database> database(new Database(db, path));
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  sqlite3_extended_result_codes(db, 0);
  // WAL lets readers (a `moat` command) run beside the server's writes;
  // synchronous=FULL makes each commit durable before it returns, because
  // a revoked token must stay revoked after a power cut.
  if (path != ":memory:") {
    StatusOr<Statement> wal = database->Prepare("PRAGMA journal_mode=WAL");
    if (!wal.ok()) return wal.status();
    StatusOr<bool> row = wal->Step();
    if (!row.ok()) return row.status();
    if (!*row || wal->ColumnText(0) != "wal") {
      return UnavailableError("the state database '" + path + "' cannot use WAL mode");
    }
  }
  MOAT_RETURN_IF_ERROR(database->Exec("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"));
  return database;
}

Database::~Database() { sqlite3_close_v2(db_); }

Status Database::Error(std::string_view what) const {
  return InternalError("state database '" + path_ + "': " + std::string(what) + ": " + ErrorText(db_));
}

Status Database::Exec(std::string_view sql) {
  std::string text(sql);
  char* message = nullptr;
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message);
  if (rc == SQLITE_OK) return OkStatus();
  std::string reason = message != nullptr ? message : ErrorText(db_);
  sqlite3_free(message);
  StatusCode code = rc == SQLITE_BUSY || rc == SQLITE_LOCKED || rc == SQLITE_FULL || rc == SQLITE_IOERR
                        ? StatusCode::kUnavailable
                        : StatusCode::kInternal;
  return Status(code, "state database '" + path_ + "': '" + text + "' failed: " + reason);
}

StatusOr<Statement> Database::Prepare(std::string_view sql) {
  sqlite3_stmt* statement = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &statement, nullptr);
  if (rc != SQLITE_OK) return Error("cannot prepare '" + std::string(sql) + "'");
  return Statement(db_, statement, std::string(sql));
}

Status Database::Transaction(const std::function<Status()>& body) {
  MOAT_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  Status status = body();
  if (status.ok()) status = Exec("COMMIT");
  if (!status.ok()) {
    // After a failed COMMIT SQLite may already have rolled back; a second
    // rollback then fails harmlessly.
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  return status;
}

int64_t Database::changes() const { return sqlite3_changes64(db_); }

int64_t Database::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }

StatusOr<int64_t> Database::UserVersion() {
  MOAT_ASSIGN_OR_RETURN(Statement statement, Prepare("PRAGMA user_version"));
  MOAT_ASSIGN_OR_RETURN(bool row, statement.Step());
  if (!row) return Error("PRAGMA user_version returned nothing");
  return statement.ColumnInt(0);
}

Status Database::SetUserVersion(int64_t version) {
  return Exec("PRAGMA user_version=" + std::to_string(version));
}

}  // namespace moat::auth
