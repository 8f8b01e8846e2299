// Checks that Policy::Decide does not allocate, by counting calls to the
// global operator new while a decision runs. The replacement operators
// below serve the whole test executable; they count only on a thread that
// has switched counting on.
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <new>
#include <string>

#include "policy/policy.h"

// AddressSanitizer brings its own operator new and reports a replacement
// that frees through malloc's free as a mismatch, so sanitizer builds skip
// the count.
#if defined(__SANITIZE_ADDRESS__)
#define MOAT_POLICY_COUNT_ALLOCATIONS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MOAT_POLICY_COUNT_ALLOCATIONS 0
#endif
#endif
#ifndef MOAT_POLICY_COUNT_ALLOCATIONS
#define MOAT_POLICY_COUNT_ALLOCATIONS 1
#endif

namespace {

thread_local bool counting = false;
thread_local size_t allocations = 0;

}  // namespace

#if MOAT_POLICY_COUNT_ALLOCATIONS
// GCC 12 reports free() on memory from operator new as mismatched, even in
// the replacement operators that pair them on purpose.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

void* operator new(size_t size) {
  if (counting) ++allocations;
  void* memory = std::malloc(size == 0 ? 1 : size);
  if (memory == nullptr) throw std::bad_alloc();
  return memory;
}

void operator delete(void* memory) noexcept { std::free(memory); }
void operator delete(void* memory, size_t) noexcept { std::free(memory); }
#endif

namespace moat::policy {
namespace {

constexpr std::string_view kPolicy =
    "[rule team-infer]\neffect = allow\nprincipals = group:ml, user:bob\nactions = infer\n"
    "models = fraud*, *-shared\nversions = 1-3, >=10\ntimezone = Europe/Berlin\nhours = 08:00-18:00\n"
    "weekdays = mon-fri\nclient_addresses = 10.0.0.0/8\n"
    "[rule legacy]\neffect = deny\nprincipals = *\nactions = *\nmodels = *legacy*\n"
    "[rule deploy]\neffect = allow\nprincipals = role:lead\nactions = load\nsecond_factor = true\n"
    "approvals = 2\n";

TEST(PolicyAllocation, CounterSeesAllocations) {
  if (!MOAT_POLICY_COUNT_ALLOCATIONS) GTEST_SKIP() << "allocation counting is off under AddressSanitizer";
  counting = true;
  auto text = std::make_unique<std::string>(100, 'x');
  counting = false;
  EXPECT_GE(allocations, 1u);
  allocations = 0;
}

TEST(PolicyAllocation, DecideDoesNotAllocate) {
  if (!MOAT_POLICY_COUNT_ALLOCATIONS) GTEST_SKIP() << "allocation counting is off under AddressSanitizer";
  allocations = 0;
  StatusOr<std::shared_ptr<const Policy>> policy = Policy::Parse(kPolicy, "p");
  ASSERT_TRUE(policy.ok()) << policy.status().ToString();
  Subject subject;
  subject.account = "alice";
  subject.groups = {"ml", "ops"};
  subject.roles = {"lead"};
  std::vector<std::string> grants = {"role:lead"};
  StatusOr<IpAddress> address = ParseIpAddress("10.1.2.3");
  ASSERT_TRUE(address.ok());

  AccessRequest infer;
  infer.subject = &subject;
  infer.model = "fraud-v2";
  infer.version = 2;
  infer.unix_seconds = 1778054400;  // a Wednesday, 10:00 in Berlin
  infer.client_address = *address;
  AccessRequest load = infer;
  load.action = Action::kLoad;  // denied for want of a code: scans twice
  AccessRequest manage = infer;
  manage.action = Action::kManageUsers;
  manage.target = "user:carol";
  manage.grants = grants;

  counting = true;
  Decision allowed = (*policy)->Decide(infer);
  Decision needs_code = (*policy)->Decide(load);
  Decision denied = (*policy)->Decide(manage);
  counting = false;

  EXPECT_EQ(allocations, 0u);
  EXPECT_TRUE(allowed.allowed);
  EXPECT_EQ(allowed.rule, "team-infer");
  EXPECT_TRUE(needs_code.needs_second_factor);
  EXPECT_EQ(denied.rule, "default-deny");
}

}  // namespace
}  // namespace moat::policy
