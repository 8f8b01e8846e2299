// The access control part of `moat serve`: its flags, the refusal to
// listen beyond loopback without authentication, and opening the state
// and policy that AccessControl needs.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "auth/access_control.h"
#include "common/status.h"

namespace moat::cli {

struct ServeAccessFlags {
  std::string policy;  // empty: no access control, every request is "anonymous"
  std::string data_dir = "moat-data";
  std::string certificate_identity = "cn";
  bool allow_unauthenticated = false;
};

void AddServeAccessOptions(CLI::App& serve, ServeAccessFlags& flags);

// True for 127.0.0.0/8, ::1 and ::ffff:127.x.y.z; false for every other
// address, the wildcard addresses included.
bool IsLoopbackAddress(const std::string& host);

// Refuses, with a message that says how to configure authentication or how
// to opt out, to listen on any host in `hosts` that is not loopback unless
// requests are authenticated: a policy, or `require_client_cert` (only
// clients with a certificate from the client CA complete the handshake).
Status CheckListenExposure(const ServeAccessFlags& flags, bool require_client_cert,
                           const std::vector<std::string>& hosts);

// Opens the state database and the policy when --policy is set; null
// otherwise.
StatusOr<std::unique_ptr<auth::AccessControl>> OpenAccessControl(const ServeAccessFlags& flags);

}  // namespace moat::cli
