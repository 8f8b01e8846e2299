#include "cli/serve_access.h"

#include <arpa/inet.h>

#include <cstring>

namespace moat::cli {

void AddServeAccessOptions(CLI::App& serve, ServeAccessFlags& flags) {
  serve.add_option("--policy", flags.policy,
                   "Access policy file (docs/policy.md). With it every request must authenticate with a token "
                   "or a client certificate unless the policy allows anonymous callers; SIGHUP reloads it");
  serve
      .add_option("--data-dir", flags.data_dir,
                  "Folder of the node's state: accounts, tokens, second factors and approvals (state.db), "
                  "created with mode 0700 if missing")
      ->capture_default_str();
  serve
      .add_option("--certificate-identity", flags.certificate_identity,
                  "Which field of a verified client certificate names the account: cn, san-email, san-dns or "
                  "san-uri")
      ->capture_default_str()
      ->check(CLI::IsMember({"cn", "san-email", "san-dns", "san-uri"}));
  serve.add_flag("--allow-unauthenticated", flags.allow_unauthenticated,
                 "Serve anyone who can reach a non-loopback address without authentication. Without this "
                 "flag, --policy or --require-client-cert, moat serve listens on loopback only");
}

bool IsLoopbackAddress(const std::string& host) {
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, host.c_str(), &v6) != 1) return false;
  static const unsigned char kLoopback[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  if (std::memcmp(v6.s6_addr, kLoopback, sizeof(kLoopback)) == 0) return true;
  static const unsigned char kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::memcmp(v6.s6_addr, kMappedPrefix, sizeof(kMappedPrefix)) == 0 && v6.s6_addr[12] == 127;
}

Status CheckListenExposure(const ServeAccessFlags& flags, bool require_client_cert,
                           const std::vector<std::string>& hosts) {
  if (!flags.policy.empty() || require_client_cert || flags.allow_unauthenticated) return OkStatus();
  for (const std::string& host : hosts) {
    if (IsLoopbackAddress(host)) continue;
    return FailedPreconditionError(
        "refusing to listen on " + host +
        " without authentication: anyone who reaches it could run every model. Configure access control "
        "with --policy FILE (see docs/policy.md; create the first administrator with `moat init`), or "
        "require client certificates with --client-ca FILE --require-client-cert (docs/tls.md), or pass "
        "--allow-unauthenticated to serve everyone on purpose");
  }
  return OkStatus();
}

StatusOr<std::unique_ptr<auth::AccessControl>> OpenAccessControl(const ServeAccessFlags& flags) {
  if (flags.policy.empty()) return std::unique_ptr<auth::AccessControl>();
  auth::AccessControlOptions options;
  options.policy_file = flags.policy;
  options.data_dir = flags.data_dir;
  MOAT_ASSIGN_OR_RETURN(options.certificate_identity,
                        tls::ParseCertificateIdentityField(flags.certificate_identity));
  return auth::AccessControl::Open(options);
}

}  // namespace moat::cli
