// Cost of one policy decision (Policy::Decide) against a policy of 100
// rules shaped like a real deployment. It has per-team inference and
// deployment rules with model patterns and office hours in two time zones,
// service accounts bound to certificates and networks, a few deny rules,
// and admin rules that require approvals.
//
//   build/bench/policy_decision
//
// BM_CommonInference is the request the servers see most: a team member
// running inference on a team model in office hours.
// BM_NoMatchWorstCase is a member of every team asking for a model that no
// rule names. Every inference rule passes the principal check and fails
// later. BM_NoMatchSecondFactor does the same for `load` by a lead of every
// team without a one-time code. The deploy rules require a code, so the
// engine scans the rules a second time to decide needs_second_factor.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "policy/policy.h"

namespace moat::policy {
namespace {

constexpr int kTeams = 20;
constexpr int kServices = 10;
// 2026-05-06T08:00:00Z, a Wednesday: 10:00 in Berlin, 04:00 in New York.
constexpr int64_t kWednesdayMorning = 1778054400;

std::string RealisticPolicy() {
  std::string text = "# A deployment with 20 teams, 10 service accounts and an admin group.\n";
  for (int team = 0; team < kTeams; ++team) {
    std::string name = "team-" + std::to_string(team);
    // Even teams work in Berlin, odd ones in New York.
    std::string zone = team % 2 == 0 ? "Europe/Berlin" : "America/New_York";
    text += "[rule " + name + "-infer]\neffect = allow\nprincipals = group:" + name +
            "\nactions = infer, read_metadata\nmodels = " + name + "-*, shared-*\ntimezone = " + zone +
            "\nhours = 07:00-20:00\nweekdays = mon-fri\n\n";
    text += "[rule " + name + "-stats]\neffect = allow\nprincipals = group:" + name +
            "\nactions = read_statistics\nmodels = " + name + "-*\n\n";
    text += "[rule " + name + "-deploy]\neffect = allow\nprincipals = role:" + name +
            "-lead\nactions = load, unload, activate_version, rollback\nmodels = " + name +
            "-*\nsecond_factor = true\napprovals = 1\napproval_timeout = 4h\n\n";
  }
  for (int service = 0; service < kServices; ++service) {
    std::string name = "svc-" + std::to_string(service);
    text += "[rule " + name + "]\neffect = allow\nprincipals = user:" + name +
            "\nactions = infer\nmodels = team-" + std::to_string(service) + "-*\nclient_certificate = true\n" +
            "client_addresses = 10." + std::to_string(service) + ".0.0/16\n\n";
  }
  text +=
      "[rule deny-legacy]\neffect = deny\nprincipals = *\nactions = *\nmodels = *-legacy*\n\n"
      "[rule deny-quarantine]\neffect = deny\nprincipals = *\nactions = infer, load\nmodels = quarantine-*\n\n"
      "[rule deny-guest-net]\neffect = deny\nprincipals = *\nactions = *\nclient_addresses = 192.168.77.0/24\n\n"
      "[rule deny-anonymous-admin]\neffect = deny\nprincipals = anonymous\n"
      "actions = load, unload, manage_users, change_policy, approve, export_audit\n\n"
      "[rule deny-old-fraud]\neffect = deny\nprincipals = *\nactions = infer\nmodels = team-3-fraud\n"
      "versions = <2\n\n";
  // Admin rules: 25 more, for 100 in all.
  const char* admin_rules[] = {
      "[rule admin-users]\neffect = allow\nprincipals = role:admin\nactions = manage_users\napprovals = 2\n",
      "[rule admin-policy]\neffect = allow\nprincipals = role:admin\nactions = change_policy\nsecond_factor = true\n"
      "approvals = 2\napproval_timeout = 1d\n",
      "[rule admin-audit]\neffect = allow\nprincipals = role:auditor\nactions = read_audit, export_audit\n",
      "[rule admin-approve]\neffect = allow\nprincipals = role:approver\nactions = approve\n"
      "targets = user:*, group:team-*\n",
      "[rule admin-shm]\neffect = allow\nprincipals = group:platform\nactions = register_shared_memory\n",
      "[rule admin-load]\neffect = allow\nprincipals = role:admin\nactions = load, unload, rollback\n"
      "second_factor = true\napprovals = 1\n",
      "[rule admin-stats]\neffect = allow\nprincipals = role:admin, group:platform\nactions = read_statistics\n",
      "[rule public-metadata]\neffect = allow\nprincipals = *\nactions = read_metadata\nmodels = shared-*\n",
  };
  for (const char* rule : admin_rules) text += std::string(rule) + "\n";
  for (int night = 0; night < 17; ++night) {
    std::string zone = night % 2 == 0 ? "Europe/Berlin" : "America/New_York";
    text += "[rule oncall-" + std::to_string(night) + "]\neffect = allow\nprincipals = group:oncall-" +
            std::to_string(night) + "\nactions = infer, read_statistics, rollback\nmodels = team-" +
            std::to_string(night) + "-*\ntimezone = " + zone + "\nhours = 20:00-07:00\n\n";
  }
  return text;
}

std::shared_ptr<const Policy> LoadPolicy() {
  StatusOr<std::shared_ptr<const Policy>> policy = Policy::Parse(RealisticPolicy(), "benchmark");
  if (!policy.ok()) {
    std::fprintf(stderr, "policy_decision: %s\n", policy.status().ToString().c_str());
    std::exit(1);
  }
  if ((*policy)->rule_count() != 100) {
    std::fprintf(stderr, "policy_decision: expected 100 rules, got %zu\n", (*policy)->rule_count());
    std::exit(1);
  }
  return *policy;
}

// Checks that `request` gets the expected decision once, then measures
// Decide on it.
void MeasureDecide(benchmark::State& state, const AccessRequest& request, bool expect_allowed,
                   std::string_view expect_rule) {
  std::shared_ptr<const Policy> policy = LoadPolicy();
  Decision decision = policy->Decide(request);
  if (decision.allowed != expect_allowed || decision.rule != expect_rule) {
    std::string message = "expected " + std::string(expect_allowed ? "allow " : "deny ") + std::string(expect_rule) +
                          ", got rule " + std::string(decision.rule);
    state.SkipWithError(message.c_str());
    return;
  }
  for (auto _ : state) {
    benchmark::DoNotOptimize(policy->Decide(request));
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_CommonInference(benchmark::State& state) {
  Subject subject;
  subject.account = "alice";
  subject.groups = {"ml", "team-12"};
  AccessRequest request;
  request.subject = &subject;
  request.action = Action::kInfer;
  request.model = "team-12-fraud";
  request.version = 3;
  request.unix_seconds = kWednesdayMorning;
  request.client_address = *ParseIpAddress("10.12.1.2");
  MeasureDecide(state, request, true, "team-12-infer");
}
BENCHMARK(BM_CommonInference);

void BM_NoMatchWorstCase(benchmark::State& state) {
  Subject subject;
  subject.account = "mallory";
  for (int team = 0; team < kTeams; ++team) subject.groups.push_back("team-" + std::to_string(team));
  for (int night = 0; night < 17; ++night) subject.groups.push_back("oncall-" + std::to_string(night));
  std::sort(subject.groups.begin(), subject.groups.end());
  AccessRequest request;
  request.subject = &subject;
  request.action = Action::kInfer;
  request.model = "unlisted-model";
  request.version = 3;
  request.unix_seconds = kWednesdayMorning;
  request.client_address = *ParseIpAddress("10.200.1.2");
  MeasureDecide(state, request, false, "default-deny");
}
BENCHMARK(BM_NoMatchWorstCase);

void BM_NoMatchSecondFactor(benchmark::State& state) {
  Subject subject;
  subject.account = "mallory";
  for (int team = 0; team < kTeams; ++team) subject.roles.push_back("team-" + std::to_string(team) + "-lead");
  std::sort(subject.roles.begin(), subject.roles.end());
  AccessRequest request;
  request.subject = &subject;
  request.action = Action::kLoad;
  request.model = "unlisted-model";
  request.unix_seconds = kWednesdayMorning;
  MeasureDecide(state, request, false, "default-deny");
}
BENCHMARK(BM_NoMatchSecondFactor);

}  // namespace
}  // namespace moat::policy

BENCHMARK_MAIN();
