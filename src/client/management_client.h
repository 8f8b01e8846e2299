// A synchronous client for Moat's management API, over REST (/moat/v1/) or
// gRPC (moat.management.v1.Management), for the `moat` access commands.
// Results are the messages of proto/management.proto whichever transport
// carried them: the REST bodies use the same field names.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "management.pb.h"
#include "tls/tls_context.h"

namespace moat::client {

enum class ManagementProtocol { kHttp, kGrpc };

struct ManagementClientOptions {
  ManagementProtocol protocol = ManagementProtocol::kHttp;
  // http://HOST:PORT or https://HOST:PORT for REST; HOST:PORT, grpc://
  // or grpcs:// for gRPC.
  std::string url = "http://127.0.0.1:8000";
  tls::TlsClientOptions tls;  // for https:// and grpcs://
  std::string token;          // sent as "Bearer TOKEN"; never printed
  std::string one_time_code;  // Moat-OTP header / moat-otp metadata
  std::string approval_id;    // Moat-Approval header / moat-approval metadata
  std::chrono::milliseconds timeout{30'000};
};

// Thread-compatible: one caller at a time (the CLI). Errors carry the
// server's status code and message. When an operation waits for approvals,
// the error is FAILED_PRECONDITION and pending_approval() names the
// approval to send with the retry.
class ManagementClient {
 public:
  // Parses the URL and reads the TLS files without connecting.
  static StatusOr<std::unique_ptr<ManagementClient>> Create(const ManagementClientOptions& options);
  ~ManagementClient();
  ManagementClient(const ManagementClient&) = delete;
  ManagementClient& operator=(const ManagementClient&) = delete;

  StatusOr<management::v1::WhoAmIResponse> WhoAmI();

  StatusOr<management::v1::ListAccountsResponse> ListAccounts();
  StatusOr<management::v1::AccountResponse> AddAccount(const management::v1::AddAccountRequest& request);
  StatusOr<management::v1::AccountResponse> DisableAccount(const std::string& name);
  StatusOr<management::v1::AccountResponse> EnableAccount(const std::string& name);
  StatusOr<management::v1::AccountResponse> SetRoles(const management::v1::SetRolesRequest& request);

  StatusOr<management::v1::ListGroupsResponse> ListGroups();
  StatusOr<management::v1::GroupResponse> AddGroup(const std::string& name);
  StatusOr<management::v1::GroupResponse> RemoveGroup(const std::string& name);
  StatusOr<management::v1::GroupResponse> AddMember(const std::string& group, const std::string& account);
  StatusOr<management::v1::GroupResponse> RemoveMember(const std::string& group, const std::string& account);

  StatusOr<management::v1::CreateTokenResponse> CreateToken(const management::v1::CreateTokenRequest& request);
  StatusOr<management::v1::ListTokensResponse> ListTokens(const management::v1::ListTokensRequest& request);
  StatusOr<management::v1::TokenResponse> RevokeToken(const std::string& id);

  // `account` empty: the caller's own account.
  StatusOr<management::v1::EnrolTotpResponse> EnrolTotp(const std::string& account);

  StatusOr<management::v1::ListApprovalsResponse> ListApprovals(bool all);
  StatusOr<management::v1::ApprovalResponse> Approve(const std::string& id, const std::string& digest);
  StatusOr<management::v1::ApprovalResponse> Reject(const std::string& id, const std::string& reason);

  StatusOr<management::v1::ReloadPolicyResponse> ReloadPolicy();

  // The approval that the last call is waiting for; empty unless that call
  // failed with FAILED_PRECONDITION for want of approvals.
  const std::string& pending_approval() const;

 private:
  struct RestCall;
  struct Connection;

  explicit ManagementClient(std::unique_ptr<Connection> connection);

  // Makes one call over the configured transport: `rest` over REST, the
  // stub's `method` over gRPC.
  template <typename Response, typename Request, typename Method>
  StatusOr<Response> Call(const char* rpc, const RestCall& rest, const Request& request, Method method);

  std::unique_ptr<Connection> connection_;
};

}  // namespace moat::client
