// Feeds arbitrary bytes to the policy parser, which must return a policy or
// an error without crashing, and decides a fixed set of requests for every
// action against each policy that parses. Aborts when a decision breaks an
// invariant of Decision.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "policy/policy.h"

namespace {

using moat::policy::AccessRequest;
using moat::policy::Action;
using moat::policy::Decision;
using moat::policy::Subject;

void Check(bool condition) {
  if (!condition) std::abort();
}

void DecideAll(const moat::policy::Policy& policy, const Subject& subject, std::string_view model,
               std::string_view target, const std::vector<std::string>& grants, int64_t unix_seconds) {
  static const moat::policy::IpAddress kAddress = *moat::policy::ParseIpAddress("10.1.2.3");
  for (int action = 0; action < moat::policy::kActionCount; ++action) {
    AccessRequest request;
    request.subject = &subject;
    request.action = static_cast<Action>(action);
    request.model = model;
    request.version = action % 3 == 0 ? std::nullopt : std::optional<int64_t>(action);
    request.target = target;
    request.grants = grants;
    request.unix_seconds = unix_seconds;
    if (action % 2 == 0) request.client_address = kAddress;
    Decision decision = policy.Decide(request);
    Check(!decision.rule.empty());
    Check(decision.approvals >= 0 && decision.approvals <= 16);
    Check(decision.approvals > 0 || decision.approval_timeout.count() == 0);
    Check(decision.allowed || decision.approvals == 0);
    Check(!decision.allowed || !decision.needs_second_factor);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  moat::StatusOr<std::shared_ptr<const moat::policy::Policy>> policy = moat::policy::Policy::Parse(text, "fuzz");
  if (!policy.ok()) {
    Check(policy.status().code() == moat::StatusCode::kInvalidArgument);
    Check(policy.status().message().starts_with("fuzz:"));
    return 0;
  }
  Check((*policy)->digest().size() == 64);

  Subject anonymous;
  Subject member;
  member.account = "alice";
  member.groups = {"ml", "ops"};
  member.roles = {"admin", "viewer"};
  member.client_certificate = true;
  Subject coded = member;
  coded.second_factor = true;
  const std::vector<std::string> no_grants;
  const std::vector<std::string> grants = {"group:ops", "role:viewer"};

  // 2026-03-29T01:30:00Z falls in Berlin's daylight-saving change.
  DecideAll(**policy, anonymous, "", "", no_grants, 1774747800);
  DecideAll(**policy, member, "fraud-v2", "user:bob", grants, 1778054400);
  DecideAll(**policy, coded, "a", "role:admin", no_grants, 0);
  DecideAll(**policy, member, "fraud/", "bob", no_grants, -1);
  return 0;
}
