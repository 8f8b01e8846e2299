// Unit tests of the policy parser (every kind of error, with its exact
// message), of Load, and of request checks that the case files cannot
// express.
#include <gtest/gtest.h>

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "common/crypto.h"
#include "common/file.h"
#include "policy/policy.h"

namespace moat::policy {
namespace {

// A rule with the three required keys, so that each error test adds only
// the line under test (which lands on line 5).
constexpr std::string_view kRuleStart =
    "[rule r]\n"
    "effect = allow\n"
    "principals = *\n"
    "actions = infer\n";

std::string ParseError(std::string_view text) {
  StatusOr<std::shared_ptr<const Policy>> policy = Policy::Parse(text, "p.policy");
  if (policy.ok()) return "(parsed)";
  EXPECT_EQ(policy.status().code(), StatusCode::kInvalidArgument);
  return policy.status().message();
}

std::string KeyError(std::string_view line) { return ParseError(std::string(kRuleStart) + std::string(line) + "\n"); }

struct ErrorCase {
  std::string_view line;
  std::string_view message;
};

TEST(PolicyParse, ValueErrorsNameKeyAndValue) {
  const ErrorCase cases[] = {
      {"effect2 = allow", "p.policy:5: unknown key \"effect2\" in rule \"r\""},
      {"models =", "p.policy:5: invalid models \"\": value is empty"},
      {"models = a,", "p.policy:5: invalid models \"a,\": the list has an empty item"},
      {"models = a b", "p.policy:5: invalid models item \"a b\": expected a pattern of at most 128 bytes of "
                       "[A-Za-z0-9._-] and the wildcards * and ?"},
      {"targets = user:a/b", "p.policy:5: invalid targets item \"user:a/b\": expected a pattern over user:NAME, "
                             "group:NAME or role:NAME made of [A-Za-z0-9._@:-] and the wildcards * and ?"},
      {"versions = 1-", "p.policy:5: invalid versions item \"1-\": expected N, N-M, >=N, <=N, >N, <N or * with "
                        "decimal integers"},
      {"versions = -3", "p.policy:5: invalid versions item \"-3\": expected N, N-M, >=N, <=N, >N, <N or * with "
                        "decimal integers"},
      {"versions = >9223372036854775807",
       "p.policy:5: invalid versions item \">9223372036854775807\": expected N, N-M, >=N, <=N, >N, <N or * with "
       "decimal integers"},
      {"versions = 0", "p.policy:5: invalid versions item \"0\": matches no version (versions start at 1)"},
      {"hours = 8:00-18:00", "p.policy:5: invalid hours item \"8:00-18:00\": expected HH:MM-HH:MM with times from "
                             "00:00 to 23:59 (24:00 as an end)"},
      {"hours = 08:00", "p.policy:5: invalid hours item \"08:00\": expected HH:MM-HH:MM with times from 00:00 to "
                        "23:59 (24:00 as an end)"},
      {"hours = 08:60-09:00", "p.policy:5: invalid hours item \"08:60-09:00\": expected HH:MM-HH:MM with times from "
                              "00:00 to 23:59 (24:00 as an end)"},
      {"hours = 08:00-24:01", "p.policy:5: invalid hours item \"08:00-24:01\": expected HH:MM-HH:MM with times from "
                              "00:00 to 23:59 (24:00 as an end)"},
      {"hours = 00:00-00:00", "p.policy:5: invalid hours item \"00:00-00:00\": start and end are the same time; use "
                              "00:00-24:00 for a whole day"},
      {"weekdays = Mon", "p.policy:5: invalid weekdays item \"Mon\": expected mon, tue, wed, thu, fri, sat, sun or a "
                         "range such as mon-fri"},
      {"weekdays = mon-", "p.policy:5: invalid weekdays item \"mon-\": expected mon, tue, wed, thu, fri, sat, sun "
                          "or a range such as mon-fri"},
      {"valid_from = 2026-01-01", "p.policy:5: invalid valid_from \"2026-01-01\": expected an RFC 3339 instant such "
                                  "as 2026-01-01T00:00:00Z"},
      {"valid_from = 2026-01-01T00:00:00", "p.policy:5: invalid valid_from \"2026-01-01T00:00:00\": expected an RFC "
                                           "3339 instant such as 2026-01-01T00:00:00Z"},
      {"valid_from = 2026-01-01T24:00:00Z", "p.policy:5: invalid valid_from \"2026-01-01T24:00:00Z\": expected an "
                                            "RFC 3339 instant such as 2026-01-01T00:00:00Z"},
      {"valid_from = 2025-02-29T00:00:00Z", "p.policy:5: invalid valid_from \"2025-02-29T00:00:00Z\": expected an "
                                            "RFC 3339 instant such as 2026-01-01T00:00:00Z"},
      {"valid_until = 2026-01-01T00:00:00+1:00", "p.policy:5: invalid valid_until \"2026-01-01T00:00:00+1:00\": "
                                                 "expected an RFC 3339 instant such as 2026-01-01T00:00:00Z"},
      {"valid_until = 2026-01-01T00:00:00.Z", "p.policy:5: invalid valid_until \"2026-01-01T00:00:00.Z\": expected "
                                              "an RFC 3339 instant such as 2026-01-01T00:00:00Z"},
      {"client_addresses = 10.0.0.1/8", ""},  // message from AddressRange, checked below
      {"client_certificate = 1", "p.policy:5: invalid client_certificate \"1\": expected true or false"},
      {"second_factor = no", "p.policy:5: invalid second_factor \"no\": expected true or false"},
      {"approvals = two", "p.policy:5: invalid approvals \"two\": expected an integer from 1 to 16"},
      {"approvals = +2", "p.policy:5: invalid approvals \"+2\": expected an integer from 1 to 16"},
      {"approval_timeout = 2\napprovals = 1", "p.policy:5: invalid approval_timeout \"2\": expected a duration from 1m to 7d with "
                               "unit s, m, h or d, such as 30m"},
      {"approval_timeout = 2w\napprovals = 1", "p.policy:5: invalid approval_timeout \"2w\": expected a duration from 1m to 7d "
                                "with unit s, m, h or d, such as 30m"},
      {"approval_timeout = 59s\napprovals = 1", "p.policy:5: invalid approval_timeout \"59s\": expected a duration from 1m to 7d "
                                 "with unit s, m, h or d, such as 30m"},
  };
  for (const ErrorCase& error : cases) {
    SCOPED_TRACE(std::string(error.line));
    std::string message = KeyError(error.line);
    if (error.message.empty()) {
      EXPECT_TRUE(message.starts_with("p.policy:5: invalid client_addresses item \"10.0.0.1/8\": ")) << message;
    } else {
      EXPECT_EQ(message, error.message);
    }
  }
}

TEST(PolicyParse, StructureErrors) {
  const ErrorCase cases[] = {
      {"[rule r", "p.policy:1: section header does not end with ']': \"[rule r\""},
      {"[rule]", "p.policy:1: unknown section \"[rule]\" (expected [rule ID])"},
      {"[Rule r]", "p.policy:1: unknown section \"[Rule r]\" (expected [rule ID])"},
      {"[rule a b]", "p.policy:1: unknown section \"[rule a b]\" (expected [rule ID])"},
      {"[rule a:b]", "p.policy:1: invalid rule id \"a:b\": expected 1 to 64 bytes of [A-Za-z0-9._-]"},
      {"[rule invalid-request]", "p.policy:1: rule id \"invalid-request\" is reserved for the engine's own decisions"},
      {"[rule grant-exceeds-own]",
       "p.policy:1: rule id \"grant-exceeds-own\" is reserved for the engine's own decisions"},
      {"effect = allow", "p.policy:1: key \"effect\" outside any [rule ID] section"},
      {"just words", "p.policy:1: expected 'key = value' or a [rule ID] header: \"just words\""},
      {"[rule r]\n", "p.policy:1: rule \"r\" is missing the required key \"effect\"\n"
                     "p.policy:1: rule \"r\" is missing the required key \"principals\"\n"
                     "p.policy:1: rule \"r\" is missing the required key \"actions\""},
  };
  for (const ErrorCase& error : cases) {
    SCOPED_TRACE(std::string(error.line));
    EXPECT_EQ(ParseError(error.line), error.message);
  }
}

TEST(PolicyParse, RuleIdLength) {
  std::string longest(64, 'a');
  std::string policy = "[rule " + longest + "]\neffect = deny\nprincipals = *\nactions = *\n";
  EXPECT_TRUE(Policy::Parse(policy, "p").ok());
  std::string too_long(65, 'a');
  EXPECT_EQ(ParseError("[rule " + too_long + "]"),
            "p.policy:1: invalid rule id \"" + too_long + "\": expected 1 to 64 bytes of [A-Za-z0-9._-]");
}

TEST(PolicyParse, LongValueIsShortenedInMessage) {
  std::string value(100, 'x');
  EXPECT_EQ(KeyError("effect2 = " + value), "p.policy:5: unknown key \"effect2\" in rule \"r\"");
  EXPECT_EQ(KeyError("client_certificate = " + value),
            "p.policy:5: invalid client_certificate \"" + std::string(80, 'x') + "...\": expected true or false");
}

TEST(PolicyParse, ControlAndNonAsciiBytes) {
  EXPECT_EQ(KeyError(std::string("models = a\0b", 12)),
            "p.policy:5: control byte 0x00 at column 11 (only printable ASCII is allowed outside comments)");
  EXPECT_EQ(KeyError("models = caf\xc3\xa9"),
            "p.policy:5: non-ASCII byte 0xc3 at column 13 (only printable ASCII is allowed outside comments)");
  // Comments may hold any text.
  EXPECT_EQ(KeyError("models = cafe  # caf\xc3\xa9"), "(parsed)");
  // A CR is allowed only as part of a CRLF line end.
  EXPECT_EQ(KeyError("models = a\rb"),
            "p.policy:5: control byte 0x0d at column 11 (only printable ASCII is allowed outside comments)");
}

TEST(PolicyParse, KeysAfterRejectedHeaderAreSkipped) {
  EXPECT_EQ(ParseError("[model x]\neffect = allow\ncolour = red\n"),
            "p.policy:1: unknown section \"[model x]\" (expected [rule ID])");
}

TEST(PolicyParse, ApprovalsOnlyOnAllowRules) {
  EXPECT_EQ(ParseError("[rule d]\neffect = deny\nprincipals = *\nactions = load\napprovals = 1\n"),
            "p.policy:5: invalid approvals in rule \"d\": only allow rules can require approvals");
  EXPECT_EQ(KeyError("approval_timeout = 1h"),
            "p.policy:5: approval_timeout in rule \"r\" needs an approvals key in the same rule");
}

TEST(PolicyParse, ErrorsAreListedInFileOrder) {
  std::string text = "[rule a]\neffect = allow\n[rule b]\neffect = nope\nprincipals = *\nactions = *\n";
  EXPECT_EQ(ParseError(text),
            "p.policy:1: rule \"a\" is missing the required key \"principals\"\n"
            "p.policy:1: rule \"a\" is missing the required key \"actions\"\n"
            "p.policy:4: invalid effect \"nope\": expected allow or deny");
}

TEST(PolicyParse, StopsAfterMaximumErrors) {
  std::string text;
  for (int i = 0; i < 150; ++i) text += "nonsense\n";
  std::string message = ParseError(text);
  EXPECT_EQ(std::count(message.begin(), message.end(), '\n'), static_cast<long>(kMaxReportedErrors));
  EXPECT_TRUE(message.ends_with("p.policy:100: expected 'key = value' or a [rule ID] header: \"nonsense\"\n"
                                "(stopped after 100 errors)"))
      << message.substr(message.size() - 200);
}

TEST(PolicyParse, TooLargeText) {
  std::string text(kMaxPolicyBytes + 1, '#');
  EXPECT_EQ(ParseError(text), "p.policy: policy is 1048577 bytes, above the limit of 1048576 bytes");
  std::string largest(kMaxPolicyBytes, '#');
  EXPECT_TRUE(Policy::Parse(largest, "p").ok());
}

TEST(PolicyParse, DigestAndRuleCount) {
  std::string text = std::string(kRuleStart) + "[rule s]\neffect = deny\nprincipals = anonymous\nactions = load\n";
  StatusOr<std::shared_ptr<const Policy>> policy = Policy::Parse(text, "p");
  ASSERT_TRUE(policy.ok()) << policy.status().ToString();
  EXPECT_EQ((*policy)->rule_count(), 2u);
  EXPECT_EQ((*policy)->digest(), Sha256Hex(text));
  EXPECT_EQ((*policy)->digest().size(), 64u);
}

TEST(PolicyParse, EmptyPolicy) {
  std::shared_ptr<const Policy> empty = Policy::Empty();
  EXPECT_EQ(empty->rule_count(), 0u);
  EXPECT_EQ(empty->digest(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  Subject root;
  root.account = "root";
  AccessRequest request;
  request.subject = &root;
  Decision decision = empty->Decide(request);
  EXPECT_FALSE(decision.allowed);
  EXPECT_EQ(decision.rule, "default-deny");
  EXPECT_FALSE(decision.needs_second_factor);
}

TEST(PolicyParse, FractionalSecondsRoundUp) {
  StatusOr<std::shared_ptr<const Policy>> policy = Policy::Parse(
      std::string(kRuleStart) + "valid_from = 2026-01-01T00:00:00.25Z\nvalid_until = 2026-01-01T00:00:09.000Z\n",
      "p");
  ASSERT_TRUE(policy.ok()) << policy.status().ToString();
  constexpr int64_t kNewYear = 1767225600;  // 2026-01-01T00:00:00Z
  Subject anyone;
  AccessRequest request;
  request.subject = &anyone;
  request.unix_seconds = kNewYear;
  EXPECT_FALSE((*policy)->Decide(request).allowed);
  request.unix_seconds = kNewYear + 1;
  EXPECT_TRUE((*policy)->Decide(request).allowed);
  request.unix_seconds = kNewYear + 8;
  EXPECT_TRUE((*policy)->Decide(request).allowed);
  request.unix_seconds = kNewYear + 9;
  EXPECT_FALSE((*policy)->Decide(request).allowed);
}

TEST(PolicyParse, LeapSecondCountsAsNextSecond) {
  StatusOr<std::shared_ptr<const Policy>> policy =
      Policy::Parse(std::string(kRuleStart) + "valid_from = 2016-12-31T23:59:60Z\n", "p");
  ASSERT_TRUE(policy.ok()) << policy.status().ToString();
  Subject anyone;
  AccessRequest request;
  request.subject = &anyone;
  request.unix_seconds = 1483228800 - 1;  // 2016-12-31T23:59:59Z
  EXPECT_FALSE((*policy)->Decide(request).allowed);
  request.unix_seconds = 1483228800;  // 2017-01-01T00:00:00Z
  EXPECT_TRUE((*policy)->Decide(request).allowed);
}

TEST(PolicyParse, ZoneNameCannotEscapeZoneinfo) {
  std::string message = KeyError("timezone = ../../etc/passwd");
  EXPECT_TRUE(message.starts_with("p.policy:5: invalid timezone \"../../etc/passwd\": ")) << message;
}

TEST(PolicyParse, ZoneinfoDirectoryIsUsed) {
  std::string text = std::string(kRuleStart) + "timezone = Europe/Berlin\nhours = 08:00-18:00\n";
  StatusOr<std::shared_ptr<const Policy>> missing = Policy::Parse(text, "p", "/nonexistent-zoneinfo");
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(missing.status().message().starts_with("p:5: invalid timezone \"Europe/Berlin\": "))
      << missing.status().message();
  EXPECT_TRUE(Policy::Parse(text, "p", "/usr/share/zoneinfo").ok());
}

TEST(PolicyActions, NamesRoundTrip) {
  const char* names[] = {"infer",         "read_metadata", "read_statistics",        "load",
                         "unload",        "activate_version", "rollback",            "register_shared_memory",
                         "read_audit",    "export_audit",  "manage_users",           "change_policy",
                         "approve"};
  ASSERT_EQ(std::size(names), static_cast<size_t>(kActionCount));
  for (int i = 0; i < kActionCount; ++i) {
    auto action = static_cast<Action>(i);
    EXPECT_EQ(ActionName(action), names[i]);
    EXPECT_EQ(ParseAction(names[i]), action);
  }
  EXPECT_EQ(ParseAction("Infer"), std::nullopt);
  EXPECT_EQ(ParseAction(""), std::nullopt);
  EXPECT_EQ(ParseAction("*"), std::nullopt);
}

TEST(PolicyDecide, NullSubjectIsInvalidRequest) {
  StatusOr<std::shared_ptr<const Policy>> policy = Policy::Parse(kRuleStart, "p");
  ASSERT_TRUE(policy.ok());
  AccessRequest request;
  Decision decision = (*policy)->Decide(request);
  EXPECT_FALSE(decision.allowed);
  EXPECT_EQ(decision.rule, "invalid-request");
}

TEST(PolicyDecide, UnsortedSubjectListsStillMatch) {
  StatusOr<std::shared_ptr<const Policy>> policy = Policy::Parse(
      "[rule open]\neffect = allow\nprincipals = anonymous, group:b-team\nactions = manage_users\n", "p");
  ASSERT_TRUE(policy.ok()) << policy.status().ToString();
  Subject subject;
  subject.account = "alice";
  subject.groups = {"z-team", "b-team", "a-team"};
  subject.roles = {"viewer", "admin"};
  std::vector<std::string> grants = {"role:admin", "group:a-team"};
  AccessRequest request;
  request.subject = &subject;
  request.action = Action::kManageUsers;
  request.target = "user:bob";
  request.grants = grants;
  Decision decision = (*policy)->Decide(request);
  EXPECT_TRUE(decision.allowed);
  EXPECT_EQ(decision.rule, "open");
}

TEST(PolicyDecide, ConcurrentDecisionsAgree) {
  StatusOr<std::shared_ptr<const Policy>> policy = Policy::Parse(
      "[rule office]\neffect = allow\nprincipals = group:ml\nactions = infer\nmodels = fraud*\n"
      "timezone = Europe/Berlin\nhours = 08:00-18:00\n",
      "p");
  ASSERT_TRUE(policy.ok()) << policy.status().ToString();
  Subject subject;
  subject.account = "alice";
  subject.groups = {"ml"};
  constexpr int64_t kStart = 1767225600;
  auto decide_all = [&](std::vector<bool>& results) {
    for (int64_t hour = 0; hour < 24 * 30; ++hour) {
      AccessRequest request;
      request.subject = &subject;
      request.model = "fraud-v2";
      request.unix_seconds = kStart + hour * 3600;
      results.push_back((*policy)->Decide(request).allowed);
    }
  };
  std::vector<bool> expected;
  decide_all(expected);
  std::vector<std::vector<bool>> results(4);
  std::vector<std::thread> threads;
  for (auto& result : results) threads.emplace_back([&] { decide_all(result); });
  for (std::thread& thread : threads) thread.join();
  for (const auto& result : results) EXPECT_EQ(result, expected);
  EXPECT_EQ(std::count(expected.begin(), expected.end(), true), 30 * 10);
}

// A private folder for the Load tests, removed afterwards.
class PolicyLoadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "/moat-policy-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& contents) {
    std::string path = dir_ + "/" + name;
    EXPECT_TRUE(WriteFileAtomic(path, contents).ok());
    return path;
  }

  std::string dir_;
};

TEST_F(PolicyLoadTest, LoadsFileAndNamesItInErrors) {
  std::string good = Write("good.policy", std::string(kRuleStart));
  StatusOr<std::shared_ptr<const Policy>> policy = Policy::Load(good);
  ASSERT_TRUE(policy.ok()) << policy.status().ToString();
  EXPECT_EQ((*policy)->rule_count(), 1u);
  EXPECT_EQ((*policy)->digest(), Sha256Hex(kRuleStart));

  std::string bad = Write("bad.policy", "[rule x]\neffect = maybe\n");
  StatusOr<std::shared_ptr<const Policy>> failed = Policy::Load(bad);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().message(), bad + ":1: rule \"x\" is missing the required key \"principals\"\n" + bad +
                                           ":1: rule \"x\" is missing the required key \"actions\"\n" + bad +
                                           ":2: invalid effect \"maybe\": expected allow or deny");
}

TEST_F(PolicyLoadTest, MissingLargeAndLinkedFiles) {
  StatusOr<std::shared_ptr<const Policy>> missing = Policy::Load(dir_ + "/absent.policy");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);

  std::string large = Write("large.policy", std::string(kMaxPolicyBytes + 1, '#'));
  StatusOr<std::shared_ptr<const Policy>> too_large = Policy::Load(large);
  EXPECT_EQ(too_large.status().code(), StatusCode::kResourceExhausted);

  std::string target = Write("target.policy", std::string(kRuleStart));
  std::string link = dir_ + "/link.policy";
  ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
  StatusOr<std::shared_ptr<const Policy>> linked = Policy::Load(link);
  EXPECT_EQ(linked.status().code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace moat::policy
