// Runs every tests/policy/cases/*.case file as one test.
//
// A case file is split into blocks by lines that start with "== ":
//
//   == policy        the policy text, verbatim until the next "== " line
//   == request       one request and its expected decision, as key = value
//   == errors        the exact lines of the INVALID_ARGUMENT message that
//                    parsing the policy must produce (source name "case")
//
// Lines before the first block are a description. A file has one policy
// block, then either request blocks or one errors block. Request keys
// (all optional except action and expect):
//
//   account = alice                  empty or absent: anonymous
//   groups = ops, ml                 roles = admin
//   client_certificate = true        second_factor = true
//   action = infer                   the file name of the action
//   model = fraud                    version = 3 (model bytes may be written \xHH)
//   target = user:bob                grants = role:x, group:y
//   time = 2026-03-29T02:30:00+02:00 RFC 3339 with Z or a numeric offset
//   address = 10.0.0.1
//   expect = allow RULE | deny RULE
//   approvals = 2                    approval_timeout = 7200 (seconds)
//   needs_second_factor = true
//
// Absent approvals, approval_timeout and needs_second_factor expect 0, 0
// and false. In request blocks, text after '#' is a comment.
#include <gtest/gtest.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/text.h"
#include "policy/policy.h"

namespace moat::policy {
namespace {

const char kCaseDir[] = MOAT_SOURCE_DIR "/tests/policy/cases";

struct CaseRequest {
  size_t line = 0;  // of the "== request" line, for failure messages
  std::vector<std::pair<std::string, std::string>> fields;
};

struct CaseFile {
  std::string policy;
  std::vector<CaseRequest> requests;
  bool expects_errors = false;
  std::string errors;
};

std::vector<std::string> SplitList(std::string_view value) {
  std::vector<std::string> items;
  size_t pos = 0;
  while (pos <= value.size()) {
    size_t comma = value.find(',', pos);
    if (comma == std::string_view::npos) comma = value.size();
    std::string_view item = TrimWhitespace(value.substr(pos, comma - pos));
    if (!item.empty()) items.emplace_back(item);
    pos = comma + 1;
  }
  return items;
}

// Parses "YYYY-MM-DDTHH:MM:SSZ" or "...+HH:MM" for the request time. The
// engine has its own parser for policy files; this one is independent.
std::optional<int64_t> ParseTime(const std::string& text) {
  int year, month, day, hour, minute, second;
  char rest[16] = {};
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%15s", &year, &month, &day, &hour, &minute, &second,
                  rest) != 7) {
    return std::nullopt;
  }
  std::tm civil{};
  civil.tm_year = year - 1900;
  civil.tm_mon = month - 1;
  civil.tm_mday = day;
  civil.tm_hour = hour;
  civil.tm_min = minute;
  civil.tm_sec = second;
  int64_t seconds = timegm(&civil);
  std::string_view zone = rest;
  if (zone == "Z") return seconds;
  int offset_hours, offset_minutes;
  if (zone.size() != 6 || std::sscanf(rest + 1, "%2d:%2d", &offset_hours, &offset_minutes) != 2) return std::nullopt;
  int64_t offset = offset_hours * 3600 + offset_minutes * 60;
  return zone[0] == '-' ? seconds + offset : seconds - offset;
}

StatusOr<CaseFile> ReadCase(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("cannot open " + path.string());
  CaseFile file;
  std::string block;
  std::string line;
  size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.starts_with("== ")) {
      block = std::string(TrimWhitespace(std::string_view(line).substr(3)));
      if (block == "request") file.requests.push_back({number, {}});
      if (block == "errors") file.expects_errors = true;
      if (block != "policy" && block != "request" && block != "errors") {
        return InvalidArgumentError(path.string() + ":" + std::to_string(number) + ": unknown block " + block);
      }
      continue;
    }
    if (block == "policy") {
      file.policy += line + "\n";
    } else if (block == "errors") {
      if (!line.empty()) file.errors += (file.errors.empty() ? "" : "\n") + line;
    } else if (block == "request") {
      std::string_view content = TrimWhitespace(std::string_view(line).substr(0, line.find('#')));
      if (content.empty()) continue;
      size_t equals = content.find('=');
      if (equals == std::string_view::npos) {
        return InvalidArgumentError(path.string() + ":" + std::to_string(number) + ": expected key = value");
      }
      file.requests.back().fields.emplace_back(TrimWhitespace(content.substr(0, equals)),
                                               TrimWhitespace(content.substr(equals + 1)));
    }
  }
  return file;
}

// Builds the request of one block, decides it and checks the expectation.
void CheckRequest(const Policy& policy, const CaseRequest& block, const std::string& where) {
  SCOPED_TRACE(where + ":" + std::to_string(block.line));
  Subject subject;
  AccessRequest request;
  request.subject = &subject;
  std::vector<std::string> grants;
  std::string model;
  std::string target;
  std::string expect;
  int approvals = 0;
  int64_t approval_timeout = 0;
  bool needs_second_factor = false;
  bool has_action = false;
  for (const auto& [key, value] : block.fields) {
    if (key == "account") {
      subject.account = value;
    } else if (key == "groups") {
      subject.groups = SplitList(value);
      std::sort(subject.groups.begin(), subject.groups.end());
    } else if (key == "roles") {
      subject.roles = SplitList(value);
      std::sort(subject.roles.begin(), subject.roles.end());
    } else if (key == "client_certificate") {
      subject.client_certificate = value == "true";
    } else if (key == "second_factor") {
      subject.second_factor = value == "true";
    } else if (key == "action") {
      std::optional<Action> action = ParseAction(value);
      ASSERT_TRUE(action.has_value()) << "unknown action " << value;
      request.action = *action;
      has_action = true;
    } else if (key == "model") {
      model = value;
    } else if (key == "version") {
      request.version = std::stoll(value);
    } else if (key == "target") {
      target = value;
    } else if (key == "grants") {
      grants = SplitList(value);
    } else if (key == "time") {
      std::optional<int64_t> time = ParseTime(value);
      ASSERT_TRUE(time.has_value()) << "bad time " << value;
      request.unix_seconds = *time;
    } else if (key == "address") {
      StatusOr<IpAddress> address = ParseIpAddress(value);
      ASSERT_TRUE(address.ok()) << address.status().ToString();
      request.client_address = *address;
    } else if (key == "expect") {
      expect = value;
    } else if (key == "approvals") {
      approvals = std::stoi(value);
    } else if (key == "approval_timeout") {
      approval_timeout = std::stoll(value);
    } else if (key == "needs_second_factor") {
      needs_second_factor = value == "true";
    } else {
      FAIL() << "unknown request key " << key;
    }
  }
  ASSERT_TRUE(has_action) << "request without action";
  // Model names in cases spell bytes as \xHH so that NUL and non-ASCII
  // look-alikes stay visible in the file.
  std::string decoded;
  for (size_t i = 0; i < model.size(); ++i) {
    if (model.compare(i, 2, "\\x") == 0 && i + 3 < model.size()) {
      decoded += static_cast<char>(std::stoi(model.substr(i + 2, 2), nullptr, 16));
      i += 3;
    } else {
      decoded += model[i];
    }
  }
  request.model = decoded;
  request.target = target;
  request.grants = grants;

  std::vector<std::string> expect_words;
  for (std::string_view word : SplitOnBlanks(expect)) expect_words.emplace_back(word);
  ASSERT_EQ(expect_words.size(), 2u) << "expect must be 'allow RULE' or 'deny RULE'";
  ASSERT_TRUE(expect_words[0] == "allow" || expect_words[0] == "deny") << expect;

  Decision decision = policy.Decide(request);
  EXPECT_EQ(decision.allowed, expect_words[0] == "allow");
  EXPECT_EQ(decision.rule, expect_words[1]);
  EXPECT_EQ(decision.approvals, approvals);
  EXPECT_EQ(decision.approval_timeout.count(), approval_timeout);
  EXPECT_EQ(decision.needs_second_factor, needs_second_factor);
}

class PolicyCaseTest : public ::testing::TestWithParam<std::string> {};

TEST_P(PolicyCaseTest, Decides) {
  std::filesystem::path path = std::filesystem::path(kCaseDir) / (GetParam() + ".case");
  StatusOr<CaseFile> file = ReadCase(path);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  StatusOr<std::shared_ptr<const Policy>> policy = Policy::Parse(file->policy, "case");
  if (file->expects_errors) {
    ASSERT_FALSE(policy.ok()) << "the policy parsed, but errors were expected";
    EXPECT_EQ(policy.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(policy.status().message(), file->errors);
    return;
  }
  ASSERT_TRUE(policy.ok()) << policy.status().ToString();
  ASSERT_FALSE(file->requests.empty()) << "a case needs at least one request block";
  for (const CaseRequest& request : file->requests) {
    CheckRequest(**policy, request, path.filename().string());
  }
}

std::vector<std::string> CaseNames() {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(kCaseDir)) {
    if (entry.path().extension() == ".case") names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Test names allow only [A-Za-z0-9_], so dashes in file names become '_'.
std::string TestName(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = info.param;
  std::replace_if(name.begin(), name.end(), [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); }, '_');
  return name;
}

INSTANTIATE_TEST_SUITE_P(Cases, PolicyCaseTest, ::testing::ValuesIn(CaseNames()), TestName);

TEST(PolicyCaseFolder, HasAtLeastFortyCases) { EXPECT_GE(CaseNames().size(), 40u); }

}  // namespace
}  // namespace moat::policy
