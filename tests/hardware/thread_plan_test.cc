#include "hardware/thread_plan.h"

#include <gtest/gtest.h>

namespace moat::hardware {
namespace {

TEST(ThreadPlan, SharesCoresEvenly) {
  ThreadPlan plan = PlanThreads(8, {{"a", 1, 2, 0}, {"b", 1, 2, 0}});
  ASSERT_EQ(plan.assignments.size(), 2u);
  EXPECT_EQ(plan.assignments[0].intra_op_threads, 2);
  EXPECT_EQ(plan.assignments[1].intra_op_threads, 2);
  EXPECT_EQ(plan.total_threads, 8);
  EXPECT_FALSE(plan.oversubscribed());
  EXPECT_TRUE(plan.warnings.empty());
}

TEST(ThreadPlan, UnevenCoresRoundDown) {
  ThreadPlan plan = PlanThreads(7, {{"a", 1, 3, 0}});
  EXPECT_EQ(plan.assignments[0].intra_op_threads, 2);
  EXPECT_EQ(plan.total_threads, 6);
  EXPECT_LE(plan.total_threads, plan.usable_cores);
}

TEST(ThreadPlan, ExplicitSettingsKept) {
  ThreadPlan plan = PlanThreads(8, {{"a", 1, 1, 4}, {"b", 1, 2, 0}});
  EXPECT_EQ(plan.assignments[0].intra_op_threads, 4);
  EXPECT_TRUE(plan.assignments[0].explicit_threads);
  EXPECT_EQ(plan.assignments[1].intra_op_threads, 2);
  EXPECT_FALSE(plan.assignments[1].explicit_threads);
  EXPECT_EQ(plan.total_threads, 8);
}

TEST(ThreadPlan, AtLeastOneThreadEach) {
  ThreadPlan plan = PlanThreads(2, {{"a", 1, 3, 0}});
  EXPECT_EQ(plan.assignments[0].intra_op_threads, 1);
  EXPECT_EQ(plan.total_threads, 3);
  EXPECT_TRUE(plan.oversubscribed());
  ASSERT_EQ(plan.warnings.size(), 1u);
  EXPECT_NE(plan.warnings[0].find("needs 3 threads on 2 usable cores"), std::string::npos)
      << plan.warnings[0];
}

TEST(ThreadPlan, ExplicitOversubscriptionWarns) {
  ThreadPlan plan = PlanThreads(4, {{"a", 1, 2, 4}, {"b", 1, 1, 0}});
  EXPECT_EQ(plan.assignments[0].intra_op_threads, 4);
  EXPECT_EQ(plan.assignments[1].intra_op_threads, 1);
  EXPECT_EQ(plan.total_threads, 9);
  ASSERT_EQ(plan.warnings.size(), 2u);
  EXPECT_NE(plan.warnings[0].find("explicit intra_op_threads settings use 8 threads on 4"), std::string::npos)
      << plan.warnings[0];
}

TEST(ThreadPlan, DescribeLine) {
  ThreadPlan plan = PlanThreads(8, {{"a", 1, 1, 0}, {"a", 2, 2, 0}});
  EXPECT_EQ(plan.Describe(),
            "thread plan: 2 model versions, 3 instances, 6 intra-op threads on 8 usable cores");
  ThreadPlan over = PlanThreads(1, {{"a", 1, 2, 0}});
  EXPECT_EQ(
      over.Describe(),
      "thread plan: 1 model version, 2 instances, 2 intra-op threads on 1 usable core (oversubscribed)");
}

TEST(ThreadPlan, DescribeAssignment) {
  ThreadPlan plan = PlanThreads(8, {{"a", 1, 2, 3}, {"b", 4, 1, 0}});
  ASSERT_EQ(plan.assignments.size(), 2u);
  EXPECT_EQ(plan.assignments[0].Describe(),
            "a version 1: 2 instance(s) x 3 intra-op thread(s) (set in the configuration)");
  EXPECT_EQ(plan.assignments[1].Describe(), "b version 4: 1 instance(s) x 2 intra-op thread(s)");
}

TEST(ThreadPlan, Empty) {
  ThreadPlan plan = PlanThreads(0, {});
  EXPECT_EQ(plan.usable_cores, 1);
  EXPECT_EQ(plan.total_threads, 0);
  EXPECT_TRUE(plan.warnings.empty());
}

}  // namespace
}  // namespace moat::hardware
