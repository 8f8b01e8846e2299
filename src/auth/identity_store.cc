#include "auth/identity_store.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "auth/identity_snapshot.h"
#include "auth/names.h"

namespace moat::auth {
namespace {

// Creates the data folder with mode 0700 when it is missing. Its parent must
// exist, so a mistyped path fails instead of creating a tree of folders.
Status EnsureDataDir(const std::string& data_dir) {
  if (data_dir.empty()) return InvalidArgumentError("the data folder path is empty");
  if (::mkdir(data_dir.c_str(), 0700) == 0) return OkStatus();
  int error = errno;
  struct stat info {};
  if (error == EEXIST && ::stat(data_dir.c_str(), &info) == 0) {
    if (S_ISDIR(info.st_mode)) return OkStatus();
    return FailedPreconditionError("the data folder '" + data_dir + "' exists but is not a folder");
  }
  return UnavailableError("cannot create the data folder '" + data_dir + "': " + std::strerror(error));
}

Status InsertRoles(Database& database, std::string_view account, const std::vector<std::string>& roles) {
  MOAT_ASSIGN_OR_RETURN(Statement insert,
                        database.Prepare("INSERT INTO identity_account_roles (account, role) VALUES (?, ?)"));
  for (const std::string& role : roles) {
    MOAT_RETURN_IF_ERROR(insert.Bind(1, account).Bind(2, role).Run());
    insert.Reset();
  }
  return OkStatus();
}

template <typename Value>
std::vector<Value> ValuesInNameOrder(const std::map<std::string, Value, std::less<>>& by_name) {
  std::vector<Value> values;
  values.reserve(by_name.size());
  for (const auto& [name, value] : by_name) values.push_back(value);
  return values;
}

Status ValidateMembership(std::string_view group, std::string_view account) {
  MOAT_RETURN_IF_ERROR(ValidateName("group", group));
  return ValidateName("account", account);
}

// NOT_FOUND naming the group or the account that does not exist.
Status RequireGroupAndAccount(Database& database, std::string_view group, std::string_view account) {
  MOAT_ASSIGN_OR_RETURN(bool found, HasRow(database, "SELECT 1 FROM identity_groups WHERE name = ?", {group}));
  if (!found) return NotFoundError("group " + Quoted(group) + " not found");
  return IsAccountDisabled(database, account).status();
}

}  // namespace

std::string_view AccountKindName(AccountKind kind) { return kind == AccountKind::kService ? "service" : "user"; }

StatusOr<AccountKind> ParseAccountKind(std::string_view text) {
  if (text == "user") return AccountKind::kUser;
  if (text == "service") return AccountKind::kService;
  return InvalidArgumentError("invalid account kind " + Quoted(text) + ": expected 'user' or 'service'");
}

IdentityStore::IdentityStore(std::unique_ptr<Database> database) : database_(std::move(database)) {}

IdentityStore::~IdentityStore() = default;

StatusOr<std::unique_ptr<IdentityStore>> IdentityStore::Open(const std::string& data_dir) {
  MOAT_RETURN_IF_ERROR(EnsureDataDir(data_dir));
  MOAT_ASSIGN_OR_RETURN(std::unique_ptr<Database> database, Database::Open(data_dir + "/state.db"));
  MOAT_RETURN_IF_ERROR(CreateIdentitySchema(*database));
  std::unique_ptr<IdentityStore> store(new IdentityStore(std::move(database)));
  {
    std::lock_guard lock(store->mutex_);
    MOAT_RETURN_IF_ERROR(store->Reload());
  }
  return store;
}

Status IdentityStore::Reload() {
  // Read the version first: a commit between the two steps is then either
  // in the loaded tables or seen as a new version by the next Refresh.
  MOAT_ASSIGN_OR_RETURN(int64_t version, DataVersion(*database_));
  std::shared_ptr<const IdentitySnapshot> loaded;
  Status status = database_->Transaction([&]() -> Status {
    MOAT_ASSIGN_OR_RETURN(loaded, LoadIdentitySnapshot(*database_));
    return OkStatus();
  });
  MOAT_RETURN_IF_ERROR(status);
  data_version_ = version;
  Publish(std::move(loaded));
  return OkStatus();
}

Status IdentityStore::Refresh() {
  std::lock_guard lock(mutex_);
  MOAT_ASSIGN_OR_RETURN(int64_t version, DataVersion(*database_));
  if (version == data_version_) return OkStatus();
  return Reload();
}

Status IdentityStore::Write(const std::function<Status(Database&)>& body) {
  std::lock_guard lock(mutex_);
  std::shared_ptr<const IdentitySnapshot> loaded;
  Status status = database_->Transaction([&]() -> Status {
    MOAT_RETURN_IF_ERROR(body(*database_));
    MOAT_ASSIGN_OR_RETURN(loaded, LoadIdentitySnapshot(*database_));
    return OkStatus();
  });
  MOAT_RETURN_IF_ERROR(status);
  Publish(std::move(loaded));
  return OkStatus();
}

std::shared_ptr<const IdentitySnapshot> IdentityStore::snapshot() const {
  std::lock_guard lock(snapshot_mutex_);
  return snapshot_;
}

void IdentityStore::Publish(std::shared_ptr<const IdentitySnapshot> next) {
  // `previous` is destroyed after the lock is released, so the old
  // snapshot is never freed while readers wait for the lock.
  std::shared_ptr<const IdentitySnapshot> previous;
  {
    std::lock_guard lock(snapshot_mutex_);
    previous = std::exchange(snapshot_, std::move(next));
  }
}

Status IdentityStore::AddAccount(std::string_view name, AccountKind kind, const std::vector<std::string>& roles,
                                 int64_t now) {
  MOAT_RETURN_IF_ERROR(ValidateName("account", name));
  MOAT_ASSIGN_OR_RETURN(std::vector<std::string> sorted_roles, NormalizeRoles(roles));
  return Write([&](Database& database) -> Status {
    MOAT_ASSIGN_OR_RETURN(bool exists,
                          HasRow(database, "SELECT 1 FROM identity_accounts WHERE name = ?", {name}));
    if (exists) return AlreadyExistsError("account " + Quoted(name) + " already exists");
    MOAT_ASSIGN_OR_RETURN(
        Statement insert,
        database.Prepare("INSERT INTO identity_accounts (name, kind, created_at, disabled) VALUES (?, ?, ?, 0)"));
    MOAT_RETURN_IF_ERROR(insert.Bind(1, name).Bind(2, AccountKindName(kind)).Bind(3, now).Run());
    return InsertRoles(database, name, sorted_roles);
  });
}

namespace {
Status SetDisabled(Database& database, std::string_view name, bool disabled) {
  MOAT_ASSIGN_OR_RETURN(Statement update, database.Prepare("UPDATE identity_accounts SET disabled = ? WHERE name = ?"));
  MOAT_RETURN_IF_ERROR(update.Bind(1, int64_t{disabled ? 1 : 0}).Bind(2, name).Run());
  if (database.changes() == 0) return NotFoundError("account " + Quoted(name) + " not found");
  return OkStatus();
}
}  // namespace

Status IdentityStore::DisableAccount(std::string_view name) {
  MOAT_RETURN_IF_ERROR(ValidateName("account", name));
  return Write([&](Database& database) { return SetDisabled(database, name, true); });
}

Status IdentityStore::EnableAccount(std::string_view name) {
  MOAT_RETURN_IF_ERROR(ValidateName("account", name));
  return Write([&](Database& database) { return SetDisabled(database, name, false); });
}

Status IdentityStore::SetRoles(std::string_view name, const std::vector<std::string>& roles) {
  MOAT_RETURN_IF_ERROR(ValidateName("account", name));
  MOAT_ASSIGN_OR_RETURN(std::vector<std::string> sorted_roles, NormalizeRoles(roles));
  return Write([&](Database& database) -> Status {
    MOAT_RETURN_IF_ERROR(IsAccountDisabled(database, name).status());
    MOAT_ASSIGN_OR_RETURN(Statement remove, database.Prepare("DELETE FROM identity_account_roles WHERE account = ?"));
    MOAT_RETURN_IF_ERROR(remove.Bind(1, name).Run());
    return InsertRoles(database, name, sorted_roles);
  });
}

StatusOr<AccountInfo> IdentityStore::GetAccount(std::string_view name) const {
  MOAT_RETURN_IF_ERROR(ValidateName("account", name));
  std::shared_ptr<const IdentitySnapshot> current = snapshot();
  auto account = current->accounts.find(name);
  if (account == current->accounts.end()) return NotFoundError("account " + Quoted(name) + " not found");
  return account->second;
}

std::vector<AccountInfo> IdentityStore::ListAccounts() const { return ValuesInNameOrder(snapshot()->accounts); }

Status IdentityStore::AddGroup(std::string_view name, int64_t now) {
  MOAT_RETURN_IF_ERROR(ValidateName("group", name));
  return Write([&](Database& database) -> Status {
    MOAT_ASSIGN_OR_RETURN(bool exists, HasRow(database, "SELECT 1 FROM identity_groups WHERE name = ?", {name}));
    if (exists) return AlreadyExistsError("group " + Quoted(name) + " already exists");
    MOAT_ASSIGN_OR_RETURN(Statement insert,
                          database.Prepare("INSERT INTO identity_groups (name, created_at) VALUES (?, ?)"));
    return insert.Bind(1, name).Bind(2, now).Run();
  });
}

Status IdentityStore::RemoveGroup(std::string_view name) {
  MOAT_RETURN_IF_ERROR(ValidateName("group", name));
  return Write([&](Database& database) -> Status {
    // The memberships go too: ON DELETE CASCADE, with foreign keys on.
    MOAT_ASSIGN_OR_RETURN(Statement remove, database.Prepare("DELETE FROM identity_groups WHERE name = ?"));
    MOAT_RETURN_IF_ERROR(remove.Bind(1, name).Run());
    if (database.changes() == 0) return NotFoundError("group " + Quoted(name) + " not found");
    return OkStatus();
  });
}

Status IdentityStore::AddMember(std::string_view group, std::string_view account) {
  MOAT_RETURN_IF_ERROR(ValidateMembership(group, account));
  return Write([&](Database& database) -> Status {
    MOAT_RETURN_IF_ERROR(RequireGroupAndAccount(database, group, account));
    MOAT_ASSIGN_OR_RETURN(
        bool member,
        HasRow(database, "SELECT 1 FROM identity_group_members WHERE group_name = ? AND account = ?", {group, account}));
    if (member) {
      return AlreadyExistsError("account " + Quoted(account) + " is already a member of group " + Quoted(group));
    }
    MOAT_ASSIGN_OR_RETURN(Statement insert,
                          database.Prepare("INSERT INTO identity_group_members (group_name, account) VALUES (?, ?)"));
    return insert.Bind(1, group).Bind(2, account).Run();
  });
}

Status IdentityStore::RemoveMember(std::string_view group, std::string_view account) {
  MOAT_RETURN_IF_ERROR(ValidateMembership(group, account));
  return Write([&](Database& database) -> Status {
    MOAT_RETURN_IF_ERROR(RequireGroupAndAccount(database, group, account));
    MOAT_ASSIGN_OR_RETURN(
        Statement remove,
        database.Prepare("DELETE FROM identity_group_members WHERE group_name = ? AND account = ?"));
    MOAT_RETURN_IF_ERROR(remove.Bind(1, group).Bind(2, account).Run());
    if (database.changes() == 0) {
      return NotFoundError("account " + Quoted(account) + " is not a member of group " + Quoted(group));
    }
    return OkStatus();
  });
}

std::vector<GroupInfo> IdentityStore::ListGroups() const { return ValuesInNameOrder(snapshot()->groups); }

}  // namespace moat::auth
