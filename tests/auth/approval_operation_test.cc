#include "auth/approval_operation.h"

#include <gtest/gtest.h>

#include <string>

#include "common/crypto.h"

namespace moat::auth {
namespace {

// The encoding that approval_operation.h documents, written out by hand.
std::string LengthPrefixed(std::string_view bytes) {
  std::string out(8, '\0');
  uint64_t size = bytes.size();
  for (int i = 7; i >= 0; --i) {
    out[static_cast<size_t>(i)] = static_cast<char>(size & 0xff);
    size >>= 8;
  }
  return out + std::string(bytes);
}

TEST(OperationDigestTest, MatchesDocumentedEncoding) {
  std::string encoding = "moat-approval-operation-v1" + LengthPrefixed("activate_version") +
                         LengthPrefixed("model") + LengthPrefixed("fraud") + LengthPrefixed("version") +
                         LengthPrefixed("3");
  std::string digest = OperationDigest("activate_version", {{"version", "3"}, {"model", "fraud"}});
  EXPECT_EQ(digest, Sha256Hex(encoding));
  EXPECT_EQ(digest.size(), 64u);
}

TEST(OperationDigestTest, KeyValueBoundaryMatters) {
  EXPECT_NE(OperationDigest("act", {{"a", "bc"}}), OperationDigest("act", {{"ab", "c"}}));
  EXPECT_NE(OperationDigest("act", {{"a", ""}, {"b", "c"}}), OperationDigest("act", {{"a", "bc"}}));
}

TEST(OperationDigestTest, ActionBoundaryMatters) {
  EXPECT_NE(OperationDigest("ab", {}), OperationDigest("a", {{"b", ""}}));
  EXPECT_NE(OperationDigest("ab", {{"c", "d"}}), OperationDigest("a", {{"bc", "d"}}));
  EXPECT_NE(OperationDigest("a", {{"b", "c"}}), OperationDigest("ab", {{"", "c"}}));
  EXPECT_NE(OperationDigest("", {{"a", "b"}}), OperationDigest("a", {{"", "b"}}));
}

TEST(OperationDigestTest, FieldCountMatters) {
  EXPECT_NE(OperationDigest("act", {}), OperationDigest("act", {{"", ""}}));
  EXPECT_NE(OperationDigest("act", {{"a", "b"}}), OperationDigest("act", {{"a", "b"}, {"c", ""}}));
}

TEST(OperationDigestTest, SameOperationSameDigest) {
  OperationFields fields = {{"model", "fraud"}, {"version", "3"}};
  EXPECT_EQ(OperationDigest("activate_version", fields), OperationDigest("activate_version", fields));
  EXPECT_NE(OperationDigest("activate_version", fields), OperationDigest("rollback_version", fields));
}

TEST(DescribeOperationTest, PlainFields) {
  EXPECT_EQ(DescribeOperation("activate_version", {{"version", "3"}, {"model", "fraud"}}),
            "activate_version model=fraud version=3");
  EXPECT_EQ(DescribeOperation("export_audit", {}), "export_audit");
}

TEST(DescribeOperationTest, QuotesValuesThatCouldMislead) {
  EXPECT_EQ(DescribeOperation("activate_version", {{"model", "fraud"}, {"version", "3 model=other"}}),
            "activate_version model=fraud version=\"3 model=other\"");
  EXPECT_EQ(DescribeOperation("add_admin", {{"name", ""}}), "add_admin name=\"\"");
  EXPECT_EQ(DescribeOperation("add_admin", {{"name", "a\"b\\c"}}), "add_admin name=\"a\\\"b\\\\c\"");
  EXPECT_EQ(DescribeOperation("add_admin", {{"name", "x\ny"}}), "add_admin name=\"x\\x0ay\"");
  EXPECT_EQ(DescribeOperation("add_admin", {{"name", "caf\xc3\xa9"}}), "add_admin name=\"caf\\xc3\\xa9\"");
}

TEST(ValidateOperationTest, AcceptsLimits) {
  OperationFields fields;
  for (int i = 0; i < 64; ++i) fields["k" + std::to_string(i)] = std::string(1024, 'v');
  fields.erase("k0");
  fields[std::string(1024, 'k')] = "";
  EXPECT_TRUE(ValidateOperation(std::string(64, 'a'), fields).ok());
  EXPECT_TRUE(ValidateOperation("rollback_version", {{"model", "fraud"}, {"path", "/models/fraud v2"}}).ok());
}

TEST(ValidateOperationTest, RejectsBadAction) {
  for (const std::string& action :
       {std::string(), std::string(65, 'a'), std::string("add admin"), std::string("add/admin")}) {
    Status status = ValidateOperation(action, {});
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << action;
    EXPECT_NE(status.message().find("action"), std::string::npos) << status.message();
  }
}

TEST(ValidateOperationTest, RejectsTooManyFields) {
  OperationFields fields;
  for (int i = 0; i < 65; ++i) fields["k" + std::to_string(i)] = "v";
  Status status = ValidateOperation("act", fields);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("65 fields"), std::string::npos) << status.message();
}

TEST(ValidateOperationTest, RejectsBadKey) {
  for (const std::string& key :
       {std::string(), std::string(1025, 'k'), std::string("a b"), std::string("a=b")}) {
    Status status = ValidateOperation("act", {{key, "v"}});
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << key;
    EXPECT_NE(status.message().find("field name"), std::string::npos) << status.message();
  }
}

TEST(ValidateOperationTest, RejectsBadValue) {
  Status long_value = ValidateOperation("act", {{"model", std::string(1025, 'v')}});
  EXPECT_EQ(long_value.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(long_value.message().find("'model' has 1025 bytes"), std::string::npos) << long_value.message();

  Status not_utf8 = ValidateOperation("act", {{"model", "bad\xff"}});
  EXPECT_EQ(not_utf8.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(not_utf8.message().find("'bad\\xff'"), std::string::npos) << not_utf8.message();
}

}  // namespace
}  // namespace moat::auth
