#include "audit/record.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "audit/node_identity.h"
#include "audit/record_check.h"
#include "audit_test_util.h"

namespace moat::audit {
namespace {

TEST(EncodeRecord, FieldsInDocumentedOrder) {
  std::string line = EncodeRecord(testing::InferenceEvent(0), testing::TestNode(), 0,
                                  "2025-01-01T00:00:00.000000Z", kZeroHash);
  ASSERT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);

  rapidjson::Document record;
  record.Parse(line.data(), line.size());
  ASSERT_FALSE(record.HasParseError());
  std::vector<std::string> names;
  for (const auto& member : record.GetObject()) names.emplace_back(member.name.GetString());
  EXPECT_EQ(names, std::vector<std::string>(kRecordFields.begin(), kRecordFields.end()));

  std::vector<std::string> node_names;
  for (const auto& member : record["node"].GetObject()) node_names.emplace_back(member.name.GetString());
  EXPECT_EQ(node_names, std::vector<std::string>(kNodeFields.begin(), kNodeFields.end()));
}

TEST(EncodeRecord, PassesRecordCheck) {
  std::string line = EncodeRecord(testing::InferenceEvent(0), testing::TestNode(), 42,
                                  "2025-01-01T00:00:00.000000Z", kZeroHash);
  line.pop_back();
  StatusOr<RecordLink> link = CheckRecord(line);
  ASSERT_TRUE(link.ok()) << link.status().ToString();
  EXPECT_EQ(link->seq, 42u);
  EXPECT_EQ(link->prev_sha256, kZeroHash);
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
}

}  // namespace
}  // namespace moat::audit
