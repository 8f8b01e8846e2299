// A thin layer over SQLite 3 for the node's state (accounts, tokens,
// second factors, approvals): one connection in WAL mode, prepared
// statements with typed binds, and transactions that roll back on error.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace moat::auth {

class Database;

// One prepared statement. Bind indexes start at 1, column indexes at 0, as
// in SQLite. Not thread-safe; use it under its database's lock.
class Statement {
 public:
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  Statement& Bind(int index, int64_t value);
  Statement& Bind(int index, std::string_view text);
  Statement& Bind(int index, const char* text) { return Bind(index, std::string_view(text)); }
  Statement& BindBlob(int index, std::string_view bytes);
  Statement& BindNull(int index);
  Statement& Bind(int index, const std::optional<int64_t>& value) {
    return value ? Bind(index, *value) : BindNull(index);
  }

  // Runs one step: true when a row is ready, false when the statement is
  // done. An error names the SQL and SQLite's message; a bind error from
  // before is reported here.
  StatusOr<bool> Step();
  // Steps to the end, for statements that return no rows.
  Status Run();
  // Clears the bindings and rewinds, so that the statement can run again.
  void Reset();

  int64_t ColumnInt(int column) const;
  std::string ColumnText(int column) const;  // also for blobs
  bool ColumnIsNull(int column) const;
  std::optional<int64_t> ColumnOptionalInt(int column) const;

 private:
  friend class Database;
  Statement(sqlite3* db, sqlite3_stmt* statement, std::string sql);

  sqlite3* db_ = nullptr;
  sqlite3_stmt* statement_ = nullptr;
  std::string sql_;
  Status bind_error_;
};

// Not thread-safe: callers serialise access (each store holds a mutex).
class Database {
 public:
  // Opens or creates the file at `path` (mode 0600 when created), in WAL
  // mode with synchronous=FULL, foreign keys on and a 5 s busy timeout, so
  // that a `moat` command and the server can share it. UNAVAILABLE naming
  // the path and SQLite's message when it cannot be opened; ":memory:"
  // opens a private in-memory database.
  static StatusOr<std::unique_ptr<Database>> Open(const std::string& path);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Runs one or more statements that take no parameters.
  Status Exec(std::string_view sql);
  StatusOr<Statement> Prepare(std::string_view sql);

  // Runs `body` between BEGIN IMMEDIATE and COMMIT; any error from `body`
  // or the commit rolls everything back and is returned. Not reentrant.
  Status Transaction(const std::function<Status()>& body);

  // Rows changed by the last INSERT, UPDATE or DELETE.
  int64_t changes() const;
  int64_t last_insert_rowid() const;

  // The schema version kept in PRAGMA user_version, for migrations.
  StatusOr<int64_t> UserVersion();
  Status SetUserVersion(int64_t version);

  const std::string& path() const { return path_; }

 private:
  Database(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  Status Error(std::string_view what) const;

  sqlite3* db_ = nullptr;
  std::string path_;
};

}  // namespace moat::auth
