#include "hardware/system_files.h"

#include <gtest/gtest.h>

namespace moat::hardware {
namespace {

constexpr std::string_view kMemInfo =
    "MemTotal:       24684544 kB\n"
    "MemFree:         1234567 kB\n"
    "MemAvailable:   22923264 kB\n"
    "Buffers:          123456 kB\n";

TEST(MemInfo, ParsesTotalAndAvailable) {
  StatusOr<MemInfo> info = ParseMemInfo(kMemInfo);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->total_bytes, uint64_t{24684544} * 1024);
  EXPECT_EQ(info->available_bytes, uint64_t{22923264} * 1024);
}

TEST(MemInfo, RejectsMissingAvailable) {
  StatusOr<MemInfo> info = ParseMemInfo("MemTotal: 100 kB\nMemFree: 50 kB\n");
  ASSERT_FALSE(info.ok());
  EXPECT_NE(info.status().message().find("MemAvailable"), std::string::npos);
}

TEST(MemInfo, RejectsMalformedNumber) {
  EXPECT_FALSE(ParseMemInfo("MemTotal: lots kB\nMemAvailable: 5 kB\n").ok());
  EXPECT_FALSE(ParseMemInfo("").ok());
}

TEST(MemInfo, IgnoresSimilarNames) {
  StatusOr<MemInfo> info = ParseMemInfo("MemTotalX: 7 kB\nMemTotal: 8 kB\nMemAvailable: 4 kB\n");
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->total_bytes, 8u * 1024);
}

TEST(CgroupCpuMax, Quota) {
  StatusOr<std::optional<double>> cpus = ParseCgroupCpuMax("150000 100000\n");
  ASSERT_TRUE(cpus.ok()) << cpus.status().ToString();
  ASSERT_TRUE(cpus->has_value());
  EXPECT_DOUBLE_EQ(**cpus, 1.5);
}

TEST(CgroupCpuMax, NoLimit) {
  StatusOr<std::optional<double>> cpus = ParseCgroupCpuMax("max 100000\n");
  ASSERT_TRUE(cpus.ok()) << cpus.status().ToString();
  EXPECT_FALSE(cpus->has_value());
}

TEST(CgroupCpuMax, RejectsMalformed) {
  EXPECT_FALSE(ParseCgroupCpuMax("").ok());
  EXPECT_FALSE(ParseCgroupCpuMax("100000").ok());
  EXPECT_FALSE(ParseCgroupCpuMax("abc 100000").ok());
  EXPECT_FALSE(ParseCgroupCpuMax("100000 0").ok());
}

TEST(CgroupBytes, LimitAndMax) {
  StatusOr<std::optional<uint64_t>> limit = ParseCgroupBytes("536870912\n");
  ASSERT_TRUE(limit.ok());
  EXPECT_EQ(limit->value_or(0), uint64_t{536870912});
  StatusOr<std::optional<uint64_t>> none = ParseCgroupBytes("max\n");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  EXPECT_FALSE(ParseCgroupBytes("-1\n").ok());
}

TEST(CgroupPath, V2AndV1) {
  EXPECT_EQ(ParseCgroupV2Path("0::/system.slice/moat.service\n"), "/system.slice/moat.service");
  EXPECT_EQ(ParseCgroupV2Path("12:cpu,cpuacct:/docker/abc\n11:memory:/docker/abc\n"), std::nullopt);
}

TEST(CpuModel, FirstModelName) {
  EXPECT_EQ(
      ParseCpuModel("processor\t: 0\nmodel name\t: AMD EPYC 7B13\nprocessor\t: 1\nmodel name\t: other\n"),
      "AMD EPYC 7B13");
  EXPECT_EQ(ParseCpuModel("processor\t: 0\nBogoMIPS\t: 50.00\n"), std::nullopt);
}

TEST(UsableCores, QuotaLowersAffinity) {
  EXPECT_EQ(UsableCores(8, std::nullopt), 8);
  EXPECT_EQ(UsableCores(8, 2.0), 2);
  EXPECT_EQ(UsableCores(8, 1.5), 2);
  EXPECT_EQ(UsableCores(2, 16.0), 2);
  EXPECT_EQ(UsableCores(8, 0.1), 1);
  EXPECT_EQ(UsableCores(0, std::nullopt), 1);
}

}  // namespace
}  // namespace moat::hardware
