// The table and JSON report of `moat bench`, and the error ratio.
#include "loadgen/report.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <rapidjson/document.h>

namespace moat::loadgen {
namespace {

using ::testing::HasSubstr;

StepResult RateStep() {
  StepResult step;
  step.mode = "rate";
  step.concurrency = 4;
  step.rate = 100;
  step.window_ns = 2'000'000'000;
  step.completed = 190;
  step.errors = 10;
  step.errors_by_status = {{"UNAVAILABLE", 10}};
  step.throughput = 95;
  step.late_sends = 3;
  step.dropped_sends = 1;
  step.latency = {190, 1'000'000, 2'500'000, 2'000'000, 4'000'000, 9'000'000, 12'000'000};
  return step;
}

TEST(Report, TableShowsRateFigures) {
  std::string table = FormatTable({RateStep()});
  EXPECT_THAT(table, HasSubstr("p99 ms"));
  EXPECT_THAT(table, HasSubstr("95.0"));
  EXPECT_THAT(table, HasSubstr("9.000"));
  EXPECT_THAT(table, HasSubstr("late sends: 3, dropped sends: 1"));
  EXPECT_THAT(table, HasSubstr("errors UNAVAILABLE: 10"));
}

TEST(Report, JsonHasEveryFigure) {
  RunInfo info;
  info.command_line = "moat bench --rate 100";
  info.cores = 2;
  info.protocol = "grpc";
  rapidjson::Document report;
  report.Parse(FormatJsonReport(info, {RateStep()}).c_str());
  ASSERT_FALSE(report.HasParseError());
  EXPECT_EQ(std::string(report["run"]["command_line"].GetString()), "moat bench --rate 100");
  EXPECT_EQ(report["run"]["machine"]["cores"].GetUint(), 2u);
  const rapidjson::Value& step = report["steps"][0];
  EXPECT_EQ(std::string(step["mode"].GetString()), "rate");
  EXPECT_DOUBLE_EQ(step["rate"].GetDouble(), 100.0);
  EXPECT_DOUBLE_EQ(step["window_seconds"].GetDouble(), 2.0);
  EXPECT_EQ(step["errors_by_status"]["UNAVAILABLE"].GetUint64(), 10u);
  EXPECT_EQ(step["late_sends"].GetUint64(), 3u);
  EXPECT_EQ(step["dropped_sends"].GetUint64(), 1u);
  EXPECT_DOUBLE_EQ(step["latency_us"]["p50"].GetDouble(), 2000.0);
  EXPECT_DOUBLE_EQ(step["latency_us"]["max"].GetDouble(), 12000.0);
}

TEST(Report, ErrorRatioOverAllSteps) {
  EXPECT_DOUBLE_EQ(ErrorRatio({RateStep(), RateStep()}), 0.05);
  EXPECT_DOUBLE_EQ(ErrorRatio({}), 0.0);
}

TEST(Report, CollectsMachineInfo) {
  RunInfo info = CollectRunInfo();
  EXPECT_GT(info.cores, 0u);
  EXPECT_THAT(info.command_line, HasSubstr("loadgen_test"));
  EXPECT_EQ(info.date_utc.size(), 20u);
}

}  // namespace
}  // namespace moat::loadgen
