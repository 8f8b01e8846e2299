// `moat init`, `moat whoami`, `moat user|group|token|totp|approvals ...` and
// `moat policy reload`: the operator's side of accounts, tokens, second
// factors and approvals. `init` works on the state database directly; the
// others go to a running server's management API over REST or gRPC.
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>

#include <chrono>
#include <ctime>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "auth/identity_store.h"
#include "auth/management.h"
#include "cli/client_flags.h"
#include "cli/commands.h"
#include "client/management_client.h"

namespace moat::cli {
namespace {

namespace pb = moat::management::v1;

// Exit codes: the operation failed or was refused (1); it waits for
// approvals and may be sent again with --approval once they are given (3).
constexpr int kExitFailed = 1;
constexpr int kExitApprovalNeeded = 3;
constexpr int64_t kSecondsPerDay = 24 * 3600;
constexpr int kDefaultInitTokenDays = 30;

struct ConnectionFlags {
  std::string url;  // empty: the default of the protocol
  std::string protocol = "http";
  tls::TlsClientOptions tls;
  std::string token;
  std::string one_time_code;
  std::string approval_id;
  bool json = false;
};

void AddConnectionFlags(CLI::App* command, ConnectionFlags& flags) {
  command->add_option("--url", flags.url,
                      "Server address (default http://127.0.0.1:8000, or 127.0.0.1:8001 with --protocol grpc): "
                      "http://HOST:PORT or https://HOST:PORT for REST, HOST:PORT, grpc://HOST:PORT or "
                      "grpcs://HOST:PORT for gRPC. https:// and grpcs:// use TLS and need --ca-cert");
  command->add_option("--protocol", flags.protocol, "Protocol to the server: http or grpc")
      ->capture_default_str()
      ->check(CLI::IsMember({"http", "grpc"}));
  AddClientCredentialOptions(*command, flags.tls, flags.token);
  command->add_option("--otp", flags.one_time_code, "One-time code from the account's authenticator app");
  command->add_option("--approval", flags.approval_id,
                      "Approval id to execute: send the same command again with it once it is approved");
  command->add_flag("--json", flags.json, "Print the server's answer as JSON");
}

StatusOr<std::unique_ptr<client::ManagementClient>> Connect(const ConnectionFlags& flags) {
  client::ManagementClientOptions options;
  const bool grpc = flags.protocol == "grpc";
  options.protocol = grpc ? client::ManagementProtocol::kGrpc : client::ManagementProtocol::kHttp;
  options.url = flags.url;
  if (options.url.empty()) options.url = grpc ? "127.0.0.1:8001" : "http://127.0.0.1:8000";
  options.tls = flags.tls;
  options.token = flags.token;
  options.one_time_code = flags.one_time_code;
  options.approval_id = flags.approval_id;
  return client::ManagementClient::Create(options);
}

std::string TimeText(int64_t unix_seconds) {
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(static_cast<std::time_t>(unix_seconds)));
}

std::string Joined(const google::protobuf::RepeatedPtrField<std::string>& names) {
  return names.empty() ? "-" : fmt::format("{}", fmt::join(names, ","));
}

void PrintJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.add_whitespace = true;
  options.always_print_primitive_fields = true;
  std::string text;
  if (google::protobuf::util::MessageToJsonString(message, &text, options).ok()) std::cout << text;
}

void PrintAccount(const pb::Account& account) {
  std::cout << fmt::format("{}\t{}\troles={}\tgroups={}\t{}\ttokens={}\tcreated={}\n", account.name(), account.kind(),
                           Joined(account.roles()), Joined(account.groups()),
                           account.disabled() ? "disabled" : "enabled", account.token_count(),
                           TimeText(account.created_at()));
}

void PrintGroup(const pb::Group& group) {
  std::cout << fmt::format("{}\tmembers={}\n", group.name(), Joined(group.members()));
}

void PrintToken(const pb::Token& token) {
  std::cout << fmt::format("{}\t{}\texpires={}\t{}\t{}\n", token.id(), token.account(), TimeText(token.expires_at()),
                           token.revoked() ? "revoked" : "active", token.description());
}

void PrintApproval(const pb::Approval& approval) {
  std::vector<std::string> approvers;
  for (const pb::ApprovalGiven& given : approval.approvals()) approvers.push_back(given.approver());
  std::cout << "approval " << approval.id() << "\n"
            << "  requester: " << approval.requester() << "\n"
            << "  operation: " << approval.description() << "\n"
            << "  digest:    " << approval.digest() << "\n"
            << "  state:     " << approval.state() << " (" << approval.approvals_size() << " of "
            << approval.required() << " approvals"
            << (approvers.empty() ? "" : fmt::format(": {}", fmt::join(approvers, ", "))) << ")\n"
            << "  expires:   " << TimeText(approval.expires_at()) << "\n";
  if (!approval.rejected_by().empty()) {
    std::cout << "  rejected by " << approval.rejected_by() << ": " << approval.reason() << "\n";
  }
}

// Reports a failed call: the message, and for an operation that waits for
// approvals how to go on.
void ReportFailure(std::string_view command, const Status& status, const client::ManagementClient* client,
                   int& exit_code) {
  std::cerr << "moat " << command << ": " << status.message() << "\n";
  if (client != nullptr && !client->pending_approval().empty()) {
    const std::string& id = client->pending_approval();
    std::cerr << "pending approval: " << id << " (once it is approved, run this command again with --approval "
              << id << ")\n";
    exit_code = kExitApprovalNeeded;
    return;
  }
  exit_code = kExitFailed;
}

// Registers a subcommand that connects, runs `call` and prints its result
// with `print` (or as JSON with --json).
template <typename Call, typename Print>
CLI::App* AddClientCommand(CLI::App& parent, const std::string& name, const std::string& description,
                           std::string full_name, std::shared_ptr<ConnectionFlags> flags, int& exit_code, Call call,
                           Print print) {
  CLI::App* command = parent.add_subcommand(name, description);
  AddConnectionFlags(command, *flags);
  command->callback([flags, &exit_code, call, print, full_name] {
    StatusOr<std::unique_ptr<client::ManagementClient>> connected = Connect(*flags);
    if (!connected.ok()) return ReportFailure(full_name, connected.status(), nullptr, exit_code);
    auto result = call(**connected);
    if (!result.ok()) return ReportFailure(full_name, result.status(), connected->get(), exit_code);
    if (flags->json) {
      PrintJson(*result);
    } else {
      print(*result);
    }
  });
  return command;
}

void AddUserCommands(CLI::App& app, int& exit_code) {
  CLI::App* user = app.add_subcommand("user", "Manage accounts (users and service accounts)");
  user->require_subcommand(1);

  auto add_flags = std::make_shared<ConnectionFlags>();
  auto add = std::make_shared<pb::AddAccountRequest>();
  auto add_kind = std::make_shared<std::string>("user");
  auto add_roles = std::make_shared<std::vector<std::string>>();
  CLI::App* add_command = AddClientCommand(
      *user, "add", "Add an account", "user add", add_flags, exit_code,
      [add, add_kind, add_roles](client::ManagementClient& client) {
        pb::AddAccountRequest request = *add;
        request.set_kind(*add_kind);
        for (const std::string& role : *add_roles) request.add_roles(role);
        return client.AddAccount(request);
      },
      [](const pb::AccountResponse& response) { PrintAccount(response.account()); });
  add_command->add_option_function<std::string>(
      "NAME", [add](const std::string& name) { add->set_name(name); }, "Account name")->required();
  add_command->add_option("--kind", *add_kind, "user or service")
      ->capture_default_str()
      ->check(CLI::IsMember({"user", "service"}));
  add_command->add_option("--role", *add_roles, "A role to give (repeatable)");

  AddClientCommand(
      *user, "list", "List the accounts", "user list", std::make_shared<ConnectionFlags>(), exit_code,
      [](client::ManagementClient& client) { return client.ListAccounts(); },
      [](const pb::ListAccountsResponse& response) {
        for (const pb::Account& account : response.accounts()) PrintAccount(account);
      });

  for (const bool disable : {true, false}) {
    auto name = std::make_shared<std::string>();
    const std::string verb = disable ? "disable" : "enable";
    CLI::App* command = AddClientCommand(
        *user, verb,
        disable ? "Disable an account: its tokens and certificate stop working until it is enabled"
                : "Enable a disabled account",
        "user " + verb, std::make_shared<ConnectionFlags>(), exit_code,
        [name, disable](client::ManagementClient& client) {
          return disable ? client.DisableAccount(*name) : client.EnableAccount(*name);
        },
        [](const pb::AccountResponse& response) { PrintAccount(response.account()); });
    command->add_option("NAME", *name, "Account name")->required();
  }

  auto roles = std::make_shared<pb::SetRolesRequest>();
  auto role_list = std::make_shared<std::vector<std::string>>();
  CLI::App* roles_command = AddClientCommand(
      *user, "roles", "Replace the roles of an account (no --role: none)", "user roles",
      std::make_shared<ConnectionFlags>(), exit_code,
      [roles, role_list](client::ManagementClient& client) {
        pb::SetRolesRequest request = *roles;
        for (const std::string& role : *role_list) request.add_roles(role);
        return client.SetRoles(request);
      },
      [](const pb::AccountResponse& response) { PrintAccount(response.account()); });
  roles_command->add_option_function<std::string>(
      "NAME", [roles](const std::string& name) { roles->set_name(name); }, "Account name")->required();
  roles_command->add_option("--role", *role_list, "A role the account is to have (repeatable)");
}

void AddGroupCommands(CLI::App& app, int& exit_code) {
  CLI::App* group = app.add_subcommand("group", "Manage groups of accounts");
  group->require_subcommand(1);
  auto print_group = [](const pb::GroupResponse& response) { PrintGroup(response.group()); };

  for (const bool adding : {true, false}) {
    auto name = std::make_shared<std::string>();
    const std::string verb = adding ? "add" : "remove";
    CLI::App* command = AddClientCommand(
        *group, verb, adding ? "Add a group" : "Remove a group and its memberships", "group " + verb,
        std::make_shared<ConnectionFlags>(), exit_code,
        [name, adding](client::ManagementClient& client) {
          return adding ? client.AddGroup(*name) : client.RemoveGroup(*name);
        },
        print_group);
    command->add_option("GROUP", *name, "Group name")->required();
  }

  for (const bool adding : {true, false}) {
    auto group_name = std::make_shared<std::string>();
    auto account = std::make_shared<std::string>();
    const std::string verb = adding ? "add-member" : "remove-member";
    CLI::App* command = AddClientCommand(
        *group, verb, adding ? "Add an account to a group" : "Remove an account from a group", "group " + verb,
        std::make_shared<ConnectionFlags>(), exit_code,
        [group_name, account, adding](client::ManagementClient& client) {
          return adding ? client.AddMember(*group_name, *account) : client.RemoveMember(*group_name, *account);
        },
        print_group);
    command->add_option("GROUP", *group_name, "Group name")->required();
    command->add_option("ACCOUNT", *account, "Account name")->required();
  }

  AddClientCommand(
      *group, "list", "List the groups and their members", "group list", std::make_shared<ConnectionFlags>(),
      exit_code, [](client::ManagementClient& client) { return client.ListGroups(); },
      [](const pb::ListGroupsResponse& response) {
        for (const pb::Group& each : response.groups()) PrintGroup(each);
      });
}

void AddTokenCommands(CLI::App& app, int& exit_code) {
  CLI::App* token = app.add_subcommand("token", "Manage API tokens");
  token->require_subcommand(1);

  auto create = std::make_shared<pb::CreateTokenRequest>();
  create->set_days(30);
  CLI::App* create_command = AddClientCommand(
      *token, "create",
      "Create an API token and print it on stdout, once: it cannot be shown again", "token create",
      std::make_shared<ConnectionFlags>(), exit_code,
      [create](client::ManagementClient& client) { return client.CreateToken(*create); },
      [](const pb::CreateTokenResponse& response) {
        std::cout << response.secret() << "\n";
        std::cerr << "token " << response.token().id() << " for " << response.token().account() << " expires "
                  << TimeText(response.token().expires_at())
                  << ". It is shown only now and cannot be shown again: store it in a safe place.\n";
      });
  create_command->add_option_function<std::string>(
      "--account", [create](const std::string& account) { create->set_account(account); },
      "Account the token is for (default: your own)");
  create_command
      ->add_option_function<int>(
          "--days", [create](const int& days) { create->set_days(days); },
          "Days until the token expires, 1 to " + std::to_string(auth::kMaxTokenDays) + " (default 30)")
      ->check(CLI::Range(1, auth::kMaxTokenDays));
  create_command->add_option_function<std::string>(
      "--description", [create](const std::string& text) { create->set_description(text); },
      "What the token is for, shown in lists");

  auto list = std::make_shared<pb::ListTokensRequest>();
  CLI::App* list_command = AddClientCommand(
      *token, "list", "List API tokens (ids only; secrets are never kept)", "token list",
      std::make_shared<ConnectionFlags>(), exit_code,
      [list](client::ManagementClient& client) { return client.ListTokens(*list); },
      [](const pb::ListTokensResponse& response) {
        for (const pb::Token& each : response.tokens()) PrintToken(each);
      });
  list_command->add_option_function<std::string>(
      "--account", [list](const std::string& account) { list->set_account(account); },
      "List this account's tokens (default: your own)");
  list_command->add_flag_function(
      "--all", [list](int64_t count) { list->set_all(count > 0); }, "List every account's tokens");

  auto id = std::make_shared<std::string>();
  CLI::App* revoke_command = AddClientCommand(
      *token, "revoke", "Revoke an API token", "token revoke", std::make_shared<ConnectionFlags>(), exit_code,
      [id](client::ManagementClient& client) { return client.RevokeToken(*id); },
      [](const pb::TokenResponse& response) { PrintToken(response.token()); });
  revoke_command->add_option("ID", *id, "Token id (the 16 hex digits after moat_)")->required();
}

void AddTotpCommands(CLI::App& app, int& exit_code) {
  CLI::App* totp = app.add_subcommand("totp", "Manage one-time code (TOTP) second factors");
  totp->require_subcommand(1);
  auto account = std::make_shared<std::string>();
  CLI::App* enrol = AddClientCommand(
      *totp, "enrol", "Draw a new TOTP secret for an account and print it once, replacing any earlier one",
      "totp enrol", std::make_shared<ConnectionFlags>(), exit_code,
      [account](client::ManagementClient& client) { return client.EnrolTotp(*account); },
      [](const pb::EnrolTotpResponse& response) {
        std::cout << "account: " << response.account() << "\n"
                  << "secret:  " << response.secret() << "\n"
                  << "uri:     " << response.uri() << "\n";
        std::cerr << "Enter the secret or the URI in the authenticator app now: it cannot be shown again.\n";
      });
  enrol->add_option("--account", *account, "Account to enrol (default: your own)");
}

void AddApprovalCommands(CLI::App& app, int& exit_code) {
  CLI::App* approvals = app.add_subcommand("approvals", "List, approve and reject operations that wait for approval");
  approvals->require_subcommand(1);

  auto all = std::make_shared<bool>(false);
  CLI::App* list = AddClientCommand(
      *approvals, "list", "List pending and approved requests", "approvals list", std::make_shared<ConnectionFlags>(),
      exit_code, [all](client::ManagementClient& client) { return client.ListApprovals(*all); },
      [](const pb::ListApprovalsResponse& response) {
        for (const pb::Approval& each : response.approvals()) PrintApproval(each);
      });
  list->add_flag("--all", *all, "Also list executed, rejected, cancelled and expired requests");

  // approve: shows the operation and its digest, then approves that digest.
  // With --digest the approver states the digest they read earlier, and the
  // server refuses the approval when the request is not that operation.
  auto id = std::make_shared<std::string>();
  auto digest = std::make_shared<std::string>();
  CLI::App* approve = AddClientCommand(
      *approvals, "approve", "Approve a request: shows the operation and its digest and approves exactly that",
      "approvals approve", std::make_shared<ConnectionFlags>(), exit_code,
      [id, digest](client::ManagementClient& client) -> StatusOr<pb::ApprovalResponse> {
        std::string seen = *digest;
        if (seen.empty()) {
          MOAT_ASSIGN_OR_RETURN(pb::ListApprovalsResponse listed, client.ListApprovals(false));
          for (const pb::Approval& each : listed.approvals()) {
            if (each.id() != *id) continue;
            std::cerr << "approving: " << each.description() << "\nrequested by " << each.requester()
                      << ", digest " << each.digest() << "\n";
            seen = each.digest();
          }
          if (seen.empty()) return NotFoundError("no pending approval with id '" + *id + "'");
        }
        return client.Approve(*id, seen);
      },
      [](const pb::ApprovalResponse& response) { PrintApproval(response.approval()); });
  approve->add_option("ID", *id, "Approval id")->required();
  approve->add_option("--digest", *digest,
                      "The digest you were shown (from `moat approvals list`); default: the one the server "
                      "shows now, which is printed before approving");

  auto reject_id = std::make_shared<std::string>();
  auto reason = std::make_shared<std::string>();
  CLI::App* reject = AddClientCommand(
      *approvals, "reject", "Reject a request; it can no longer run", "approvals reject",
      std::make_shared<ConnectionFlags>(), exit_code,
      [reject_id, reason](client::ManagementClient& client) { return client.Reject(*reject_id, *reason); },
      [](const pb::ApprovalResponse& response) { PrintApproval(response.approval()); });
  reject->add_option("ID", *reject_id, "Approval id")->required();
  reject->add_option("--reason", *reason, "Why, for the requester and the audit log");
}

void AddInitCommand(CLI::App& app, int& exit_code) {
  struct InitFlags {
    std::string data_dir;
    std::string admin;
    int token_days = kDefaultInitTokenDays;
  };
  auto flags = std::make_shared<InitFlags>();
  CLI::App* init = app.add_subcommand(
      "init",
      "Create the first account (role admin) in a new state database and print its first token. Works on the "
      "files directly, without a server; refuses when any account exists");
  init->add_option("--data-dir", flags->data_dir, "The server's state folder (holds state.db)")->required();
  init->add_option("--admin", flags->admin, "Name of the administrator account")->required();
  init->add_option("--token-days", flags->token_days, "Days until the first token expires")
      ->capture_default_str()
      ->check(CLI::Range(1, auth::kMaxTokenDays));
  init->callback([flags, &exit_code] {
    auto fail = [&exit_code](const Status& status) {
      std::cerr << "moat init: " << status.message() << "\n";
      exit_code = kExitFailed;
    };
    StatusOr<std::unique_ptr<auth::IdentityStore>> store = auth::IdentityStore::Open(flags->data_dir);
    if (!store.ok()) return fail(store.status());
    const std::vector<auth::AccountInfo> existing = (*store)->ListAccounts();
    if (!existing.empty()) {
      return fail(FailedPreconditionError(fmt::format(
          "{} already has {} account(s), '{}' among them; init only sets up an empty state database. Use "
          "`moat user add` and `moat token create` with an administrator's token instead",
          flags->data_dir, existing.size(), existing.front().name)));
    }
    const int64_t now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    if (Status added = (*store)->AddAccount(flags->admin, auth::AccountKind::kUser, {"admin"}, now); !added.ok()) {
      return fail(added);
    }
    StatusOr<auth::CreatedToken> token = (*store)->CreateToken(
        flags->admin, now + int64_t{flags->token_days} * kSecondsPerDay, "first token, from moat init", now);
    if (!token.ok()) return fail(token.status());
    std::cout << token->text << "\n";
    std::cerr << "created account " << flags->admin << " (role admin) in " << flags->data_dir << "; token "
              << token->id << " expires " << TimeText(now + int64_t{flags->token_days} * kSecondsPerDay)
              << ". It is shown only now and cannot be shown again: store it in a safe place.\n";
  });
}

}  // namespace

void AddAccessCommands(CLI::App& app, int& exit_code) {
  AddInitCommand(app, exit_code);
  AddClientCommand(
      app, "whoami", "Show the account, groups and roles the server sees for your credentials", "whoami",
      std::make_shared<ConnectionFlags>(), exit_code,
      [](client::ManagementClient& client) { return client.WhoAmI(); },
      [](const pb::WhoAmIResponse& response) {
        std::cout << "account: " << response.account() << "\n"
                  << "groups:  " << Joined(response.groups()) << "\n"
                  << "roles:   " << Joined(response.roles()) << "\n";
        if (!response.token_id().empty()) std::cout << "token:   " << response.token_id() << "\n";
        if (response.client_certificate()) std::cout << "authenticated by a client certificate\n";
        if (response.second_factor()) std::cout << "with a one-time code\n";
      });
  AddUserCommands(app, exit_code);
  AddGroupCommands(app, exit_code);
  AddTokenCommands(app, exit_code);
  AddTotpCommands(app, exit_code);
  AddApprovalCommands(app, exit_code);
  CLI::App* policy = app.add_subcommand("policy", "Manage the access policy of a running server");
  policy->require_subcommand(1);
  AddClientCommand(
      *policy, "reload", "Make the server read its policy file again; a file with errors changes nothing",
      "policy reload", std::make_shared<ConnectionFlags>(), exit_code,
      [](client::ManagementClient& client) { return client.ReloadPolicy(); },
      [](const pb::ReloadPolicyResponse& response) {
        std::cout << "policy reloaded: " << response.rule_count() << " rules, sha256 " << response.digest() << "\n";
      });
}

}  // namespace moat::cli
