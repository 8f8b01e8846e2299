#include "server/management_api.h"

#include <array>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "server/json.h"
#include "server/reply_builders.h"
#include "server/route.h"
#include "server/utf8.h"

namespace moat::server {
namespace {

// The HTTP status of an operation that waits for approvals.
constexpr unsigned kPreconditionRequired = 428;

std::vector<std::string_view> SplitSegments(std::string_view path) {
  std::vector<std::string_view> segments;
  size_t start = 0;
  while (true) {
    size_t slash = path.find('/', start);
    segments.push_back(path.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return segments;
}

// Decodes a path segment that contains a `kind` ("account name", "group
// name", ...) with the percent-decoding rules of the KServe routes.
StatusOr<std::string> DecodeName(std::string_view segment, std::string_view kind) {
  StatusOr<std::string> decoded = DecodeModelName(segment);
  if (decoded.ok()) return decoded;
  std::string message = decoded.status().message();
  // DecodeModelName's messages name a "model name", so name the right kind.
  for (size_t at = message.find("model name"); at != std::string::npos; at = message.find("model name", at)) {
    message.replace(at, 10, kind);
    at += kind.size();
  }
  return InvalidArgumentError(std::move(message));
}

// The value of query parameter `key` in `target`, percent-decoded; nullopt
// when absent.
StatusOr<std::optional<std::string>> QueryValue(std::string_view target, std::string_view key) {
  size_t question = target.find('?');
  if (question == std::string_view::npos) return std::optional<std::string>();
  std::string_view query = target.substr(question + 1);
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    size_t equals = pair.find('=');
    if (pair.substr(0, equals) != key) continue;
    if (equals == std::string_view::npos) return std::optional<std::string>("");
    MOAT_ASSIGN_OR_RETURN(std::string value, DecodeName(pair.substr(equals + 1), "query parameter " + std::string(key)));
    return std::optional<std::string>(std::move(value));
  }
  return std::optional<std::string>();
}

// Reads the query flag `key`: absent or "false" is false, "" or "true" true.
StatusOr<bool> QueryFlag(std::string_view target, std::string_view key) {
  MOAT_ASSIGN_OR_RETURN(std::optional<std::string> value, QueryValue(target, key));
  if (!value || *value == "false") return false;
  if (value->empty() || *value == "true") return true;
  return InvalidArgumentError("query parameter '" + std::string(key) + "' is " + Quote(*value) +
                              "; use true or false");
}

// The members of a JSON request body. An empty body is an empty object.
template <size_t N>
struct Body {
  rapidjson::Document document;
  std::array<const rapidjson::Value*, N> members{};
};

template <size_t N>
StatusOr<std::unique_ptr<Body<N>>> ParseBody(const HttpRequest& request, const std::array<std::string_view, N>& known) {
  auto body = std::make_unique<Body<N>>();
  std::string_view text = *request.body;
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) text = "{}";
  MOAT_RETURN_IF_ERROR(ParseJsonDocument(text, "request body", body->document));
  MOAT_ASSIGN_OR_RETURN(body->members, CollectMembers(body->document, known, "field", std::string("request body")));
  return body;
}

StatusOr<std::string> StringField(const rapidjson::Value* value, std::string_view name, bool required) {
  if (value == nullptr) {
    if (required) return InvalidArgumentError("request body: field '" + std::string(name) + "' is missing");
    return std::string();
  }
  if (!value->IsString()) {
    return InvalidArgumentError("request body: field '" + std::string(name) + "' must be a string, got " +
                                DescribeJsonValue(*value));
  }
  return std::string(StringOf(*value));
}

StatusOr<std::vector<std::string>> StringListField(const rapidjson::Value* value, std::string_view name) {
  std::vector<std::string> strings;
  if (value == nullptr) return strings;
  if (!value->IsArray()) {
    return InvalidArgumentError("request body: field '" + std::string(name) + "' must be an array of strings, got " +
                                DescribeJsonValue(*value));
  }
  for (const rapidjson::Value& item : value->GetArray()) {
    if (!item.IsString()) {
      return InvalidArgumentError("request body: field '" + std::string(name) +
                                  "' must hold only strings, got " + DescribeJsonValue(item));
    }
    strings.emplace_back(StringOf(item));
  }
  return strings;
}

void WriteStrings(JsonWriter& writer, std::string_view key, const std::vector<std::string>& strings) {
  writer.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
  writer.StartArray();
  for (const std::string& text : strings) WriteJsonString(writer, text);
  writer.EndArray();
}

void WriteInt(JsonWriter& writer, const char* key, int64_t value) {
  writer.Key(key);
  writer.Int64(value);
}

void WriteBool(JsonWriter& writer, const char* key, bool value) {
  writer.Key(key);
  writer.Bool(value);
}

void WriteAccount(JsonWriter& writer, const auth::AccountInfo& account) {
  writer.StartObject();
  WriteStringMember(writer, "name", account.name);
  WriteStringMember(writer, "kind", auth::AccountKindName(account.kind));
  WriteStrings(writer, "roles", account.roles);
  WriteStrings(writer, "groups", account.groups);
  WriteBool(writer, "disabled", account.disabled);
  WriteInt(writer, "created_at", account.created_at);
  WriteInt(writer, "token_count", account.token_count);
  writer.EndObject();
}

void WriteGroup(JsonWriter& writer, const auth::GroupInfo& group) {
  writer.StartObject();
  WriteStringMember(writer, "name", group.name);
  WriteStrings(writer, "members", group.members);
  writer.EndObject();
}

void WriteToken(JsonWriter& writer, const auth::TokenInfo& token) {
  writer.StartObject();
  WriteStringMember(writer, "id", token.id);
  WriteStringMember(writer, "account", token.account);
  WriteStringMember(writer, "description", token.description);
  WriteInt(writer, "created_at", token.created_at);
  WriteInt(writer, "expires_at", token.expires_at);
  WriteBool(writer, "revoked", token.revoked_at.has_value());
  writer.EndObject();
}

void WriteApproval(JsonWriter& writer, const auth::ApprovalRequest& request) {
  writer.StartObject();
  WriteStringMember(writer, "id", request.id);
  WriteStringMember(writer, "requester", request.requester);
  WriteStringMember(writer, "action", request.action);
  WriteStringMember(writer, "description", request.description);
  WriteStringMember(writer, "digest", request.digest);
  WriteInt(writer, "required", request.required);
  writer.Key("approvals");
  writer.StartArray();
  for (const auth::Approval& approval : request.approvals) {
    writer.StartObject();
    WriteStringMember(writer, "approver", approval.approver);
    WriteInt(writer, "time", approval.time);
    writer.EndObject();
  }
  writer.EndArray();
  WriteStringMember(writer, "state", auth::ApprovalStateName(request.state));
  WriteInt(writer, "created_at", request.created_at);
  WriteInt(writer, "expires_at", request.expires_at);
  WriteStringMember(writer, "rejected_by", request.rejected_by);
  WriteStringMember(writer, "reason", request.reason);
  writer.EndObject();
}

// Writes {"KEY": [items]}.
template <typename T, typename WriteItem>
std::string ListJson(const char* key, const std::vector<T>& items, WriteItem write_item) {
  return JsonText([&](JsonWriter& writer) {
    writer.StartObject();
    writer.Key(key);
    writer.StartArray();
    for (const T& item : items) write_item(writer, item);
    writer.EndArray();
    writer.EndObject();
  });
}

// Writes {"KEY": item}.
template <typename T, typename WriteItem>
std::string ObjectJson(const char* key, const T& item, WriteItem write_item) {
  return JsonText([&](JsonWriter& writer) {
    writer.StartObject();
    writer.Key(key);
    write_item(writer, item);
    writer.EndObject();
  });
}

std::string CallerJson(const auth::Caller& caller) {
  return JsonText([&](JsonWriter& writer) {
    writer.StartObject();
    WriteStringMember(writer, "account", caller.principal);
    WriteStrings(writer, "groups", caller.subject.groups);
    WriteStrings(writer, "roles", caller.subject.roles);
    WriteStringMember(writer, "token_id", caller.token_id);
    WriteBool(writer, "client_certificate", caller.subject.client_certificate);
    WriteBool(writer, "second_factor", caller.subject.second_factor);
    writer.EndObject();
  });
}

// Turns a management result into the reply: 200 with `to_json(value)`, or
// the error, 428 with the approval id when the operation waits for one.
template <typename T, typename ToJson>
HttpReply Finish(HttpReply reply, auth::ManagementResult<T> outcome, ToJson to_json) {
  if (outcome.result.ok()) return JsonReply(std::move(reply), to_json(*outcome.result));
  const Status& status = outcome.result.status();
  if (outcome.approval_id.empty()) return ErrorReply(std::move(reply), status);
  // AccessControl's message already says how to approve and how to retry.
  const std::string& message = status.message();
  reply.status = kPreconditionRequired;
  reply.error = message;
  reply.approval_id = outcome.approval_id;
  reply.content_type = "application/json";
  reply.body = JsonText([&](JsonWriter& writer) {
    writer.StartObject();
    WriteStringMember(writer, "error", message);
    WriteStringMember(writer, "approval_id", outcome.approval_id);
    writer.EndObject();
  });
  return reply;
}

HttpReply MethodNotAllowed(HttpReply reply, std::string_view method, std::string_view path, std::string allowed) {
  std::string message = "method " + SanitizeUtf8(method) + " is not allowed on '" + SanitizeUtf8(path) +
                        "'; use " + allowed;
  reply.allow = std::move(allowed);
  return ErrorReply(std::move(reply), 405, message);
}

}  // namespace

bool ManagementApi::Handles(std::string_view target) {
  std::string_view path = target.substr(0, target.find('?'));
  return path.starts_with(kManagementPathPrefix);
}

HttpReply ManagementApi::Handle(const HttpRequest& request, const auth::Caller& caller, HttpReply reply,
                                int64_t now_unix) {
  const std::string_view target = request.target;
  const std::string_view path = target.substr(0, target.find('?'));
  Status not_found = NotFoundError("no endpoint at path '" + SanitizeUtf8(path) + "'");
  if (!Handles(target)) return ErrorReply(std::move(reply), not_found);
  const std::vector<std::string_view> segments = SplitSegments(path.substr(kManagementPathPrefix.size()));
  const std::string& method = request.method;
  const auth::ManagementCall call{caller, now_unix, reply.request_id, "http", request.peer};
  auth::Management& management = management_;

  // Each route checks its method first, so that a wrong method is 405
  // whatever the body holds.
  auto expect = [&](std::string_view allowed) { return method == allowed; };
  auto wrong_method = [&](std::string allowed) {
    return MethodNotAllowed(std::move(reply), method, path, std::move(allowed));
  };
  auto account_json = [](const auth::AccountInfo& account) { return ObjectJson("account", account, WriteAccount); };
  auto group_json = [](const auth::GroupInfo& group) { return ObjectJson("group", group, WriteGroup); };
  auto token_json = [](const auth::TokenInfo& token) { return ObjectJson("token", token, WriteToken); };
  auto approval_json = [](const auth::ApprovalRequest& approval) {
    return ObjectJson("approval", approval, WriteApproval);
  };
  auto fail = [&](const Status& status) { return ErrorReply(std::move(reply), status); };

  const std::string_view first = segments[0];
  const size_t count = segments.size();

  if (first == "whoami" && count == 1) {
    if (!expect("GET")) return wrong_method("GET");
    return Finish(std::move(reply), management.WhoAmI(call), CallerJson);
  }

  if (first == "accounts") {
    if (count == 1) {
      if (method == "GET") {
        return Finish(std::move(reply), management.ListAccounts(call), [](const auto& accounts) {
          return ListJson("accounts", accounts, WriteAccount);
        });
      }
      if (!expect("POST")) return wrong_method("GET, POST");
      auto body = ParseBody(request, std::array<std::string_view, 3>{"name", "kind", "roles"});
      if (!body.ok()) return fail(body.status());
      auto name = StringField((*body)->members[0], "name", true);
      auto kind = StringField((*body)->members[1], "kind", false);
      auto roles = StringListField((*body)->members[2], "roles");
      if (!name.ok()) return fail(name.status());
      if (!kind.ok()) return fail(kind.status());
      if (!roles.ok()) return fail(roles.status());
      std::string kind_text = kind->empty() ? "user" : *kind;
      return Finish(std::move(reply), management.AddAccount(call, *name, kind_text, *roles), account_json);
    }
    if (count != 3) return fail(not_found);
    StatusOr<std::string> name = DecodeName(segments[1], "account name");
    const std::string_view verb = segments[2];
    if (verb == "disable" || verb == "enable" || verb == "totp") {
      if (!expect("POST")) return wrong_method("POST");
      if (!name.ok()) return fail(name.status());
      if (verb == "disable") return Finish(std::move(reply), management.DisableAccount(call, *name), account_json);
      if (verb == "enable") return Finish(std::move(reply), management.EnableAccount(call, *name), account_json);
      return Finish(std::move(reply), management.EnrolTotp(call, *name), [](const auth::TotpEnrolled& enrolled) {
        return JsonText([&](JsonWriter& writer) {
          writer.StartObject();
          WriteStringMember(writer, "account", enrolled.account);
          WriteStringMember(writer, "secret", enrolled.enrolment.secret_base32);
          WriteStringMember(writer, "uri", enrolled.enrolment.uri);
          writer.EndObject();
        });
      });
    }
    if (verb == "roles") {
      if (!expect("PUT")) return wrong_method("PUT");
      if (!name.ok()) return fail(name.status());
      auto body = ParseBody(request, std::array<std::string_view, 1>{"roles"});
      if (!body.ok()) return fail(body.status());
      auto roles = StringListField((*body)->members[0], "roles");
      if (!roles.ok()) return fail(roles.status());
      return Finish(std::move(reply), management.SetRoles(call, *name, *roles), account_json);
    }
    return fail(not_found);
  }

  if (first == "groups") {
    if (count == 1) {
      if (method == "GET") {
        return Finish(std::move(reply), management.ListGroups(call), [](const auto& groups) {
          return ListJson("groups", groups, WriteGroup);
        });
      }
      if (!expect("POST")) return wrong_method("GET, POST");
      auto body = ParseBody(request, std::array<std::string_view, 1>{"name"});
      if (!body.ok()) return fail(body.status());
      auto name = StringField((*body)->members[0], "name", true);
      if (!name.ok()) return fail(name.status());
      return Finish(std::move(reply), management.AddGroup(call, *name), group_json);
    }
    StatusOr<std::string> group = DecodeName(segments[1], "group name");
    if (count == 2) {
      if (!expect("DELETE")) return wrong_method("DELETE");
      if (!group.ok()) return fail(group.status());
      return Finish(std::move(reply), management.RemoveGroup(call, *group), group_json);
    }
    if (count != 4 || segments[2] != "members") return fail(not_found);
    if (method != "PUT" && method != "DELETE") return wrong_method("PUT, DELETE");
    if (!group.ok()) return fail(group.status());
    StatusOr<std::string> account = DecodeName(segments[3], "account name");
    if (!account.ok()) return fail(account.status());
    if (method == "PUT") return Finish(std::move(reply), management.AddMember(call, *group, *account), group_json);
    return Finish(std::move(reply), management.RemoveMember(call, *group, *account), group_json);
  }

  if (first == "tokens") {
    if (count == 1) {
      if (method == "GET") {
        StatusOr<std::optional<std::string>> account = QueryValue(target, "account");
        if (!account.ok()) return fail(account.status());
        StatusOr<bool> all = QueryFlag(target, "all");
        if (!all.ok()) return fail(all.status());
        return Finish(std::move(reply), management.ListTokens(call, account->value_or(""), *all),
                      [](const auto& tokens) { return ListJson("tokens", tokens, WriteToken); });
      }
      if (!expect("POST")) return wrong_method("GET, POST");
      auto body = ParseBody(request, std::array<std::string_view, 3>{"account", "days", "description"});
      if (!body.ok()) return fail(body.status());
      auto account = StringField((*body)->members[0], "account", false);
      if (!account.ok()) return fail(account.status());
      auto description = StringField((*body)->members[2], "description", false);
      if (!description.ok()) return fail(description.status());
      const rapidjson::Value* days = (*body)->members[1];
      if (days == nullptr) return fail(InvalidArgumentError("request body: field 'days' is missing"));
      if (!days->IsInt()) {
        return fail(InvalidArgumentError("request body: field 'days' must be an integer, got " +
                                         DescribeJsonValue(*days)));
      }
      return Finish(std::move(reply), management.CreateToken(call, *account, days->GetInt(), *description),
                    [](const auth::IssuedToken& issued) {
                      return JsonText([&](JsonWriter& writer) {
                        writer.StartObject();
                        writer.Key("token");
                        WriteToken(writer, issued.info);
                        WriteStringMember(writer, "secret", issued.text);
                        writer.EndObject();
                      });
                    });
    }
    if (count != 3 || segments[2] != "revoke") return fail(not_found);
    if (!expect("POST")) return wrong_method("POST");
    StatusOr<std::string> id = DecodeName(segments[1], "token id");
    if (!id.ok()) return fail(id.status());
    return Finish(std::move(reply), management.RevokeToken(call, *id), token_json);
  }

  if (first == "approvals") {
    if (count == 1) {
      if (!expect("GET")) return wrong_method("GET");
      StatusOr<bool> all = QueryFlag(target, "all");
      if (!all.ok()) return fail(all.status());
      return Finish(std::move(reply), management.ListApprovals(call, *all), [](const auto& approvals) {
        return ListJson("approvals", approvals, WriteApproval);
      });
    }
    if (count != 3 || (segments[2] != "approve" && segments[2] != "reject")) return fail(not_found);
    if (!expect("POST")) return wrong_method("POST");
    StatusOr<std::string> id = DecodeName(segments[1], "approval id");
    if (!id.ok()) return fail(id.status());
    if (segments[2] == "approve") {
      auto body = ParseBody(request, std::array<std::string_view, 1>{"digest"});
      if (!body.ok()) return fail(body.status());
      auto digest = StringField((*body)->members[0], "digest", true);
      if (!digest.ok()) return fail(digest.status());
      return Finish(std::move(reply), management.Approve(call, *id, *digest), approval_json);
    }
    auto body = ParseBody(request, std::array<std::string_view, 1>{"reason"});
    if (!body.ok()) return fail(body.status());
    auto reason = StringField((*body)->members[0], "reason", false);
    if (!reason.ok()) return fail(reason.status());
    return Finish(std::move(reply), management.Reject(call, *id, *reason), approval_json);
  }

  if (first == "policy" && count == 2 && segments[1] == "reload") {
    if (!expect("POST")) return wrong_method("POST");
    return Finish(std::move(reply), management.ReloadPolicy(call), [](const auth::PolicySummary& summary) {
      return JsonText([&](JsonWriter& writer) {
        writer.StartObject();
        WriteStringMember(writer, "digest", summary.digest);
        WriteInt(writer, "rule_count", summary.rule_count);
        writer.EndObject();
      });
    });
  }
  return fail(not_found);
}

}  // namespace moat::server
