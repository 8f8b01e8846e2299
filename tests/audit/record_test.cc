#include "audit/record.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <filesystem>

#include "audit/node_identity.h"
#include "audit_test_util.h"
#include "common/crypto.h"

namespace moat::audit {
namespace {

TEST(EncodeRecord, FieldsInDocumentedOrder) {
  AuditEvent event = testing::InferenceEvent(0);
  event.instance = 1;
  std::string record = EncodeRecord(event, 42, "2026-12-05T04:30:00.000001Z", "node-a");
  rapidjson::Document parsed;
  parsed.Parse(record.data(), record.size());
  ASSERT_FALSE(parsed.HasParseError()) << record;
  std::vector<std::string> names;
  for (const auto& member : parsed.GetObject()) names.emplace_back(member.name.GetString());
  EXPECT_EQ(names, (std::vector<std::string>{"format", "seq", "type", "time", "request_id", "principal", "action",
                                             "rule", "model", "version", "bundle_digest", "input_digest",
                                             "output_digest",
                                             "outcome", "error", "latency_us", "instance", "protocol", "peer",
                                             "node", "details"}));
  EXPECT_EQ(parsed["format"].GetInt64(), kRecordFormatVersion);
  EXPECT_EQ(parsed["seq"].GetUint64(), 42u);
  EXPECT_STREQ(parsed["principal"].GetString(), kAnonymousPrincipal);
  EXPECT_EQ(parsed["instance"].GetInt64(), 1);
  EXPECT_STREQ(parsed["node"].GetString(), "node-a");
  EXPECT_TRUE(parsed["details"].IsObject());
  EXPECT_EQ(parsed["details"].MemberCount(), 0u);
}

TEST(EncodeRecord, PrefixAndRestMakeTheWholeRecord) {
  AuditEvent event = testing::InferenceEvent(3);
  event.details = R"({"cut_bytes":7})";
  std::string whole = EncodeRecord(event, 9, "t", "h");
  EXPECT_EQ(whole, RecordPrefix(9) + EncodeRecordRest(event, "t", "h"));
  EXPECT_NE(whole.find(R"("details":{"cut_bytes":7}})"), std::string::npos) << whole;
}

TEST(EncodeRecord, ReplacesInvalidUtf8) {
  AuditEvent event = testing::InferenceEvent(0);
  event.model = "bad\xFFname";
  std::string record = EncodeRecord(event, 0, "t", "h");
  rapidjson::Document parsed;
  parsed.Parse(record.data(), record.size());
  ASSERT_FALSE(parsed.HasParseError());
  EXPECT_EQ(std::string(parsed["model"].GetString()), "bad\xEF\xBF\xBDname");
}

TEST(FormatRecordTime, Rfc3339Microseconds) {
  EXPECT_EQ(FormatRecordTime(0), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(FormatRecordTime(1'700'000'000'123'456), "2023-11-14T22:13:20.123456Z");
  EXPECT_EQ(FormatRecordTime(951'782'400'000'001), "2000-02-29T00:00:00.000001Z");
  EXPECT_EQ(FormatRecordTime(-1), "1969-12-31T23:59:59.999999Z");
}

TEST(ToValidUtf8, KeepsValidText) {
  for (std::string text : {"", "plain ascii", "caf\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80",
                           "\xEF\xBF\xBD", "\xF4\x8F\xBF\xBF"}) {
    EXPECT_EQ(ToValidUtf8(text), text);
  }
  std::string with_nul("a\0b", 3);
  EXPECT_EQ(ToValidUtf8(with_nul), with_nul);
}

TEST(ToValidUtf8, ReplacesEachInvalidByte) {
  const std::string r = "\xEF\xBF\xBD";
  EXPECT_EQ(ToValidUtf8("a\xFF"
                        "b"),
            "a" + r + "b");
  EXPECT_EQ(ToValidUtf8("\xC0\xAF"), r + r);                  // overlong '/'
  EXPECT_EQ(ToValidUtf8("\xE0\x80\xAF"), r + r + r);          // overlong '/'
  EXPECT_EQ(ToValidUtf8("\xED\xA0\x80"), r + r + r);          // surrogate U+D800
  EXPECT_EQ(ToValidUtf8("\xF4\x90\x80\x80"), r + r + r + r);  // above U+10FFFF
  EXPECT_EQ(ToValidUtf8("\xE2\x82"), r + r);                  // truncated sequence
  EXPECT_EQ(ToValidUtf8("\xE2\x82x"), r + r + "x");
  EXPECT_EQ(ToValidUtf8("\x80"), r);  // lone continuation byte
}

TEST(CpuModelFromCpuinfo, ReadsFirstModelName) {
  std::string x86 =
      "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) CPU @ 2.20GHz\n"
      "processor\t: 1\nmodel name\t: Other\n";
  EXPECT_EQ(CpuModelFromCpuinfo(x86), "Intel(R) Xeon(R) CPU @ 2.20GHz");

  std::string arm = "processor\t: 0\nBogoMIPS\t: 50.00\nCPU implementer\t: 0x41\nCPU part\t: 0xd0c\n";
  EXPECT_EQ(CpuModelFromCpuinfo(arm), "unknown");
  EXPECT_EQ(CpuModelFromCpuinfo(""), "unknown");
  EXPECT_EQ(CpuModelFromCpuinfo("model name\t:   \n"), "unknown");
}

TEST(CollectNodeIdentity, FillsEveryField) {
  NodeIdentity node = CollectNodeIdentity("1.29.0");
  EXPECT_FALSE(node.host.empty());
  EXPECT_EQ(node.onnxruntime_version, "1.29.0");
  EXPECT_FALSE(node.cpu_model.empty());
  EXPECT_FALSE(node.os.empty());
  EXPECT_GT(node.logical_cpus, 0);
  EXPECT_FALSE(node.moat_version.empty());
  EXPECT_NE(node.openssl_version.find("OpenSSL"), std::string::npos) << node.openssl_version;
  // The hash is that of the running test binary.
  ASSERT_EQ(node.binary_sha256.size(), 64u);
  EXPECT_EQ(node.binary_sha256, Sha256Hex(testing::ReadAll(node.binary_path)));
}

TEST(NodeIdentityJson, IsOneObjectWithEveryField) {
  NodeIdentity node = CollectNodeIdentity("1.29.0");
  node.gpus = {"0: Test GPU (1024 MiB)"};
  std::string json = NodeIdentityJson(node);
  rapidjson::Document parsed;
  parsed.Parse(json.data(), json.size());
  ASSERT_FALSE(parsed.HasParseError()) << json;
  for (const char* field : {"host", "os", "cpu_model", "logical_cpus", "gpus", "gpu_note", "moat_version",
                            "onnxruntime_version", "openssl_version", "binary_path", "binary_sha256"}) {
    EXPECT_TRUE(parsed.HasMember(field)) << field;
  }
  EXPECT_STREQ(parsed["gpus"][0].GetString(), "0: Test GPU (1024 MiB)");
}

}  // namespace
}  // namespace moat::audit
