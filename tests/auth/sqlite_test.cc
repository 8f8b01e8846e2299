#include "auth/sqlite.h"

#include <gtest/gtest.h>

#include <string>

#include "auth_test_util.h"

namespace moat::auth {
namespace {

using testing::FileMode;
using testing::TempDir;

std::unique_ptr<Database> OpenOrDie(const std::string& path) {
  StatusOr<std::unique_ptr<Database>> database = Database::Open(path);
  EXPECT_TRUE(database.ok()) << database.status().ToString();
  return database.ok() ? std::move(*database) : nullptr;
}

// Steps once and expects a row.
bool StepToRow(Statement& statement) {
  StatusOr<bool> row = statement.Step();
  EXPECT_TRUE(row.ok()) << row.status().ToString();
  if (!row.ok()) return false;
  EXPECT_TRUE(*row) << "the statement returned no row";
  return *row;
}

int64_t CountRows(Database& database, const std::string& table) {
  StatusOr<Statement> count = database.Prepare("SELECT count(*) FROM " + table);
  EXPECT_TRUE(count.ok()) << count.status().ToString();
  if (!count.ok() || !StepToRow(*count)) return -1;
  return count->ColumnInt(0);
}

// A database in a fresh folder, opened before each test.
class SqliteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    database_ = OpenOrDie(dir_.File("state.db"));
    ASSERT_NE(database_, nullptr);
  }

  // Creates table t with the given columns.
  void CreateTable(const std::string& columns) {
    Status created = database_->Exec("CREATE TABLE t (" + columns + ")");
    ASSERT_TRUE(created.ok()) << created.ToString();
  }

  TempDir dir_;
  std::unique_ptr<Database> database_;
};

TEST(Sqlite, CreatesFileWithMode0600) {
  TempDir dir;
  std::string path = dir.File("state.db");
  std::unique_ptr<Database> database = OpenOrDie(path);
  ASSERT_NE(database, nullptr);
  EXPECT_EQ(FileMode(path), 0600);
  EXPECT_EQ(database->path(), path);
}

TEST_F(SqliteTest, UsesWalJournalAndForeignKeys) {
  StatusOr<Statement> mode = database_->Prepare("PRAGMA journal_mode");
  ASSERT_TRUE(mode.ok()) << mode.status().ToString();
  ASSERT_TRUE(StepToRow(*mode));
  EXPECT_EQ(mode->ColumnText(0), "wal");

  StatusOr<Statement> keys = database_->Prepare("PRAGMA foreign_keys");
  ASSERT_TRUE(keys.ok());
  ASSERT_TRUE(StepToRow(*keys));
  EXPECT_EQ(keys->ColumnInt(0), 1);
}

TEST(Sqlite, OpenReportsPathOfMissingFolder) {
  TempDir dir;
  std::string path = dir.File("missing/state.db");
  StatusOr<std::unique_ptr<Database>> database = Database::Open(path);
  ASSERT_FALSE(database.ok());
  EXPECT_EQ(database.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(database.status().message().find(path), std::string::npos) << database.status().message();
}

TEST_F(SqliteTest, BindsAndReadsTypedValues) {
  CreateTable("i INTEGER, s TEXT, b BLOB, n INTEGER");
  StatusOr<Statement> insert = database_->Prepare("INSERT INTO t VALUES (?, ?, ?, ?)");
  ASSERT_TRUE(insert.ok()) << insert.status().ToString();
  std::string blob("a\0b", 3);
  Status inserted = insert->Bind(1, int64_t{-7}).Bind(2, "text").BindBlob(3, blob).Bind(4, std::optional<int64_t>()).Run();
  ASSERT_TRUE(inserted.ok()) << inserted.ToString();
  EXPECT_EQ(database_->changes(), 1);
  EXPECT_EQ(database_->last_insert_rowid(), 1);

  StatusOr<Statement> select = database_->Prepare("SELECT i, s, b, n FROM t");
  ASSERT_TRUE(select.ok());
  ASSERT_TRUE(StepToRow(*select));
  EXPECT_EQ(select->ColumnInt(0), -7);
  EXPECT_EQ(select->ColumnText(1), "text");
  EXPECT_EQ(select->ColumnText(2), blob);
  EXPECT_TRUE(select->ColumnIsNull(3));
  EXPECT_EQ(select->ColumnOptionalInt(3), std::nullopt);
  EXPECT_EQ(select->ColumnOptionalInt(0), -7);
  StatusOr<bool> row = select->Step();
  ASSERT_TRUE(row.ok()) << row.status().ToString();
  EXPECT_FALSE(*row);
}

TEST_F(SqliteTest, StatementRunsAgainAfterReset) {
  CreateTable("i INTEGER");
  StatusOr<Statement> insert = database_->Prepare("INSERT INTO t VALUES (?)");
  ASSERT_TRUE(insert.ok());
  for (int64_t i = 0; i < 3; ++i) {
    ASSERT_TRUE(insert->Bind(1, i).Run().ok());
    insert->Reset();
  }
  EXPECT_EQ(CountRows(*database_, "t"), 3);
}

TEST_F(SqliteTest, BindErrorReportedByStep) {
  CreateTable("i INTEGER");
  StatusOr<Statement> insert = database_->Prepare("INSERT INTO t VALUES (?)");
  ASSERT_TRUE(insert.ok());
  // Parameter 2 does not exist; the error waits for Step and names it.
  Status status = insert->Bind(1, int64_t{1}).Bind(2, int64_t{2}).Run();
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("parameter 2"), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("INSERT INTO t"), std::string::npos) << status.message();
  EXPECT_EQ(CountRows(*database_, "t"), 0);

  // Reset clears the error, and the statement works with valid binds.
  insert->Reset();
  EXPECT_TRUE(insert->Bind(1, int64_t{1}).Run().ok());
  EXPECT_EQ(CountRows(*database_, "t"), 1);
}

TEST_F(SqliteTest, PrepareErrorNamesSql) {
  StatusOr<Statement> statement = database_->Prepare("SELECT * FROM no_such_table");
  ASSERT_FALSE(statement.ok());
  EXPECT_NE(statement.status().message().find("no_such_table"), std::string::npos)
      << statement.status().message();
}

TEST_F(SqliteTest, ConstraintViolationIsAlreadyExists) {
  CreateTable("k TEXT PRIMARY KEY); INSERT INTO t VALUES ('a'");
  StatusOr<Statement> insert = database_->Prepare("INSERT INTO t VALUES ('a')");
  ASSERT_TRUE(insert.ok());
  EXPECT_EQ(insert->Run().code(), StatusCode::kAlreadyExists);
}

TEST_F(SqliteTest, TransactionCommitsOnSuccess) {
  CreateTable("i INTEGER");
  Status status = database_->Transaction([&]() { return database_->Exec("INSERT INTO t VALUES (1); INSERT INTO t VALUES (2)"); });
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(CountRows(*database_, "t"), 2);
}

TEST_F(SqliteTest, TransactionRollsBackOnBodyError) {
  CreateTable("i INTEGER");
  Status status = database_->Transaction([&]() -> Status {
    MOAT_RETURN_IF_ERROR(database_->Exec("INSERT INTO t VALUES (1)"));
    return NotFoundError("body failed");
  });
  EXPECT_EQ(status.code(), StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "body failed");
  EXPECT_EQ(CountRows(*database_, "t"), 0);

  // The connection is usable afterwards: a new transaction commits.
  ASSERT_TRUE(database_->Transaction([&]() { return database_->Exec("INSERT INTO t VALUES (3)"); }).ok());
  EXPECT_EQ(CountRows(*database_, "t"), 1);
}

TEST_F(SqliteTest, TransactionRollsBackOnFailedStatement) {
  CreateTable("k TEXT PRIMARY KEY");
  Status status = database_->Transaction([&]() -> Status {
    MOAT_RETURN_IF_ERROR(database_->Exec("INSERT INTO t VALUES ('a')"));
    return database_->Exec("INSERT INTO t VALUES ('a')");
  });
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(CountRows(*database_, "t"), 0);
}

TEST(Sqlite, SecondConnectionSeesCommittedRows) {
  TempDir dir;
  std::unique_ptr<Database> writer = OpenOrDie(dir.File("state.db"));
  std::unique_ptr<Database> reader = OpenOrDie(dir.File("state.db"));
  ASSERT_NE(writer, nullptr);
  ASSERT_NE(reader, nullptr);
  ASSERT_TRUE(writer->Exec("CREATE TABLE t (i INTEGER); INSERT INTO t VALUES (1)").ok());
  EXPECT_EQ(CountRows(*reader, "t"), 1);
  // SQLite creates the WAL file with the database file's permissions.
  EXPECT_EQ(FileMode(dir.File("state.db-wal")), 0600);
}

TEST_F(SqliteTest, UserVersionRoundTrips) {
  StatusOr<int64_t> version = database_->UserVersion();
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(*version, 0);
  ASSERT_TRUE(database_->SetUserVersion(5).ok());
  version = database_->UserVersion();
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(*version, 5);
}

TEST(Sqlite, InMemoryDatabaseOpens) {
  std::unique_ptr<Database> database = OpenOrDie(":memory:");
  ASSERT_NE(database, nullptr);
  EXPECT_TRUE(database->Exec("CREATE TABLE t (i INTEGER)").ok());
}

}  // namespace
}  // namespace moat::auth
