#include "client/management_client.h"

#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <climits>
#include <optional>
#include <utility>

#include "client/grpc_client.h"
#include "client/http_exchange.h"
#include "client/kserve_client.h"
#include "client/kserve_messages.h"
#include "client/server_url.h"
#include "common/status_mapping.h"
#include "management.grpc.pb.h"

namespace moat::client {
namespace {

namespace pb = moat::management::v1;
using Stub = pb::Management::Stub;

constexpr std::string_view kRestPrefix = "/moat/v1/";
constexpr int kPreconditionRequired = 428;
constexpr char kApprovalIdMetadata[] = "moat-approval";

// Escapes one path segment with the client's model-name escaping, which
// percent-encodes every byte outside A-Z a-z 0-9 - . _ ~.
std::string PathSegment(std::string_view text) {
  constexpr std::string_view kModelsPrefix = "/v2/models/";
  return ModelPath(text, std::nullopt).substr(kModelsPrefix.size());
}

// The status code of an HTTP error status: the first code that the shared
// mapping sends to it, so that the mapping has one definition. 428 (an
// operation that waits for approvals) is FAILED_PRECONDITION.
StatusCode CodeOfHttpStatus(int http_status) {
  if (http_status == kPreconditionRequired) return StatusCode::kFailedPrecondition;
  for (int code = 1; code <= static_cast<int>(StatusCode::kUnauthenticated); ++code) {
    const auto status_code = static_cast<StatusCode>(code);
    if (status_code != StatusCode::kUnknown && HttpStatusFor(status_code) == static_cast<unsigned>(http_status)) {
      return status_code;
    }
  }
  return StatusCode::kUnknown;
}

StatusCode CodeOfGrpcStatus(const grpc::Status& status) {
  const int code = static_cast<int>(status.error_code());
  for (int candidate = 0; candidate <= static_cast<int>(StatusCode::kUnauthenticated); ++candidate) {
    if (GrpcStatusFor(static_cast<StatusCode>(candidate)) == code) return static_cast<StatusCode>(candidate);
  }
  return StatusCode::kUnknown;
}

// The "approval_id" string of a JSON error body, empty when it has none.
std::string ApprovalIdOfBody(std::string_view body) {
  rapidjson::Document document;
  document.Parse(body.data(), body.size());
  if (document.HasParseError() || !document.IsObject()) return "";
  auto member = document.FindMember("approval_id");
  if (member == document.MemberEnd() || !member->value.IsString()) return "";
  return std::string(member->value.GetString(), member->value.GetStringLength());
}

}  // namespace

// The REST form of one management call: the method, the path after
// /moat/v1/ and the message whose JSON form is the body (none when null).
struct ManagementClient::RestCall {
  std::string method;
  std::string path;
  const google::protobuf::Message* body = nullptr;
};

struct ManagementClient::Connection {
  ManagementClientOptions options;
  std::shared_ptr<HttpConnection> http;  // REST
  std::unique_ptr<Stub> stub;            // gRPC
  std::string host;                      // for messages
  std::string pending_approval;
};

ManagementClient::ManagementClient(std::unique_ptr<Connection> connection) : connection_(std::move(connection)) {}
ManagementClient::~ManagementClient() = default;

StatusOr<std::unique_ptr<ManagementClient>> ManagementClient::Create(const ManagementClientOptions& options) {
  auto connection = std::make_unique<Connection>();
  connection->options = options;
  if (options.protocol == ManagementProtocol::kHttp) {
    MOAT_ASSIGN_OR_RETURN(ServerAddress address, ParseServerUrl(options.url));
    connection->host = address.HttpUrl();
    HttpOptions http_options;
    http_options.timeout = options.timeout;
    http_options.tls = options.tls;
    http_options.bearer_token = options.token;
    MOAT_ASSIGN_OR_RETURN(connection->http, HttpConnection::Create(std::move(address), std::move(http_options)));
  } else {
    MOAT_ASSIGN_OR_RETURN(ServerAddress address, ParseGrpcTarget(options.url));
    connection->host = address.HostHeader();
    GrpcOptions grpc_options;
    grpc_options.tls = options.tls;
    MOAT_ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel, CreateGrpcChannel(address, grpc_options));
    connection->stub = pb::Management::NewStub(channel);
  }
  return std::unique_ptr<ManagementClient>(new ManagementClient(std::move(connection)));
}

const std::string& ManagementClient::pending_approval() const { return connection_->pending_approval; }

template <typename Response, typename Request, typename Method>
StatusOr<Response> ManagementClient::Call(const char* rpc, const RestCall& rest, const Request& request,
                                          Method method) {
  Connection& connection = *connection_;
  connection.pending_approval.clear();
  Response response;
  if (connection.stub != nullptr) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + connection.options.timeout);
    if (!connection.options.token.empty()) context.AddMetadata("authorization", "Bearer " + connection.options.token);
    if (!connection.options.one_time_code.empty()) context.AddMetadata("moat-otp", connection.options.one_time_code);
    if (!connection.options.approval_id.empty()) context.AddMetadata("moat-approval", connection.options.approval_id);
    const grpc::Status status = ((*connection.stub).*method)(&context, request, &response);
    if (status.ok()) return response;
    const auto& trailers = context.GetServerTrailingMetadata();
    if (auto found = trailers.find(kApprovalIdMetadata); found != trailers.end()) {
      connection.pending_approval.assign(found->second.data(), found->second.size());
    }
    const StatusCode code = CodeOfGrpcStatus(status);
    return Status(code, std::string(rpc) + " on " + connection.host + ": " + status.error_message());
  }

  HttpRequest http_request;
  if (!connection.options.one_time_code.empty()) {
    http_request.headers.emplace_back("Moat-OTP", connection.options.one_time_code);
  }
  if (!connection.options.approval_id.empty()) {
    http_request.headers.emplace_back("Moat-Approval", connection.options.approval_id);
  }
  http_request.method = rest.method;
  http_request.target = std::string(kRestPrefix) + rest.path;
  if (rest.body != nullptr) {
    google::protobuf::util::JsonPrintOptions print;
    print.preserve_proto_field_names = true;
    std::string body;
    if (!google::protobuf::util::MessageToJsonString(*rest.body, &body, print).ok()) {
      return InternalError(std::string(rpc) + ": the request cannot be written as JSON");
    }
    http_request.content_type = "application/json";
    http_request.body = std::move(body);
  }
  const std::string request_line = http_request.method + " " + http_request.target;
  MOAT_ASSIGN_OR_RETURN(HttpResponse http_response, connection.http->Send(std::move(http_request)));
  if (http_response.status != 200) {
    if (http_response.status == kPreconditionRequired) {
      connection.pending_approval = ApprovalIdOfBody(http_response.body);
    }
    return Status(CodeOfHttpStatus(http_response.status),
                  request_line + " on " + connection.host + ": HTTP " + std::to_string(http_response.status) + ": " +
                      ErrorMessageFromBody(http_response.body));
  }
  google::protobuf::util::JsonParseOptions parse;
  parse.ignore_unknown_fields = true;
  if (!google::protobuf::util::JsonStringToMessage(http_response.body, &response, parse).ok()) {
    return InvalidArgumentError(request_line + ": the response is not the JSON of a " +
                                std::string(Response::descriptor()->name()));
  }
  return response;
}

StatusOr<pb::WhoAmIResponse> ManagementClient::WhoAmI() {
  return Call<pb::WhoAmIResponse>("WhoAmI", {"GET", "whoami"}, pb::WhoAmIRequest(), &Stub::WhoAmI);
}

StatusOr<pb::ListAccountsResponse> ManagementClient::ListAccounts() {
  return Call<pb::ListAccountsResponse>("ListAccounts", {"GET", "accounts"}, pb::ListAccountsRequest(),
                                        &Stub::ListAccounts);
}

StatusOr<pb::AccountResponse> ManagementClient::AddAccount(const pb::AddAccountRequest& request) {
  return Call<pb::AccountResponse>("AddAccount", {"POST", "accounts", &request}, request, &Stub::AddAccount);
}

StatusOr<pb::AccountResponse> ManagementClient::DisableAccount(const std::string& name) {
  pb::AccountNameRequest request;
  request.set_name(name);
  return Call<pb::AccountResponse>("DisableAccount", {"POST", "accounts/" + PathSegment(name) + "/disable"}, request,
                                   &Stub::DisableAccount);
}

StatusOr<pb::AccountResponse> ManagementClient::EnableAccount(const std::string& name) {
  pb::AccountNameRequest request;
  request.set_name(name);
  return Call<pb::AccountResponse>("EnableAccount", {"POST", "accounts/" + PathSegment(name) + "/enable"}, request,
                                   &Stub::EnableAccount);
}

StatusOr<pb::AccountResponse> ManagementClient::SetRoles(const pb::SetRolesRequest& request) {
  pb::SetRolesRequest body = request;
  body.clear_name();  // in the path
  return Call<pb::AccountResponse>("SetRoles", {"PUT", "accounts/" + PathSegment(request.name()) + "/roles", &body},
                                   request, &Stub::SetRoles);
}

StatusOr<pb::ListGroupsResponse> ManagementClient::ListGroups() {
  return Call<pb::ListGroupsResponse>("ListGroups", {"GET", "groups"}, pb::ListGroupsRequest(), &Stub::ListGroups);
}

StatusOr<pb::GroupResponse> ManagementClient::AddGroup(const std::string& name) {
  pb::GroupNameRequest request;
  request.set_name(name);
  return Call<pb::GroupResponse>("AddGroup", {"POST", "groups", &request}, request, &Stub::AddGroup);
}

StatusOr<pb::GroupResponse> ManagementClient::RemoveGroup(const std::string& name) {
  pb::GroupNameRequest request;
  request.set_name(name);
  return Call<pb::GroupResponse>("RemoveGroup", {"DELETE", "groups/" + PathSegment(name)}, request,
                                 &Stub::RemoveGroup);
}

StatusOr<pb::GroupResponse> ManagementClient::AddMember(const std::string& group, const std::string& account) {
  pb::MemberRequest request;
  request.set_group(group);
  request.set_account(account);
  return Call<pb::GroupResponse>("AddMember",
                                 {"PUT", "groups/" + PathSegment(group) + "/members/" + PathSegment(account)},
                                 request, &Stub::AddMember);
}

StatusOr<pb::GroupResponse> ManagementClient::RemoveMember(const std::string& group, const std::string& account) {
  pb::MemberRequest request;
  request.set_group(group);
  request.set_account(account);
  return Call<pb::GroupResponse>("RemoveMember",
                                 {"DELETE", "groups/" + PathSegment(group) + "/members/" + PathSegment(account)},
                                 request, &Stub::RemoveMember);
}

StatusOr<pb::CreateTokenResponse> ManagementClient::CreateToken(const pb::CreateTokenRequest& request) {
  return Call<pb::CreateTokenResponse>("CreateToken", {"POST", "tokens", &request}, request, &Stub::CreateToken);
}

StatusOr<pb::ListTokensResponse> ManagementClient::ListTokens(const pb::ListTokensRequest& request) {
  std::string path = "tokens";
  if (request.all()) {
    path += "?all=true";
  } else if (!request.account().empty()) {
    path += "?account=" + PathSegment(request.account());
  }
  return Call<pb::ListTokensResponse>("ListTokens", {"GET", path}, request, &Stub::ListTokens);
}

StatusOr<pb::TokenResponse> ManagementClient::RevokeToken(const std::string& id) {
  pb::RevokeTokenRequest request;
  request.set_id(id);
  return Call<pb::TokenResponse>("RevokeToken", {"POST", "tokens/" + PathSegment(id) + "/revoke"}, request,
                                 &Stub::RevokeToken);
}

StatusOr<pb::EnrolTotpResponse> ManagementClient::EnrolTotp(const std::string& account) {
  pb::EnrolTotpRequest request;
  request.set_account(account);
  std::string path_account = account;
  if (path_account.empty() && connection_->http != nullptr) {
    // The REST route names the account in its path.
    MOAT_ASSIGN_OR_RETURN(pb::WhoAmIResponse self, WhoAmI());
    path_account = self.account();
  }
  return Call<pb::EnrolTotpResponse>("EnrolTotp", {"POST", "accounts/" + PathSegment(path_account) + "/totp"},
                                     request, &Stub::EnrolTotp);
}

StatusOr<pb::ListApprovalsResponse> ManagementClient::ListApprovals(bool all) {
  pb::ListApprovalsRequest request;
  request.set_all(all);
  return Call<pb::ListApprovalsResponse>("ListApprovals", {"GET", all ? "approvals?all=true" : "approvals"}, request,
                                         &Stub::ListApprovals);
}

StatusOr<pb::ApprovalResponse> ManagementClient::Approve(const std::string& id, const std::string& digest) {
  pb::ApproveRequest request;
  request.set_id(id);
  request.set_digest(digest);
  pb::ApproveRequest body;
  body.set_digest(digest);
  return Call<pb::ApprovalResponse>("Approve", {"POST", "approvals/" + PathSegment(id) + "/approve", &body}, request,
                                    &Stub::Approve);
}

StatusOr<pb::ApprovalResponse> ManagementClient::Reject(const std::string& id, const std::string& reason) {
  pb::RejectRequest request;
  request.set_id(id);
  request.set_reason(reason);
  pb::RejectRequest body;
  body.set_reason(reason);
  return Call<pb::ApprovalResponse>("Reject", {"POST", "approvals/" + PathSegment(id) + "/reject", &body}, request,
                                    &Stub::Reject);
}

StatusOr<pb::ReloadPolicyResponse> ManagementClient::ReloadPolicy() {
  return Call<pb::ReloadPolicyResponse>("ReloadPolicy", {"POST", "policy/reload"}, pb::ReloadPolicyRequest(),
                                        &Stub::ReloadPolicy);
}

}  // namespace moat::client
