#include "config/serving_config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "common/file.h"

namespace moat::config {
namespace {

constexpr std::string_view kExample = R"(# moat-serving.conf
[defaults]
instances = 1
intra_op_threads = 0          # 0: derived from the thread budget

[model ocr-det]               # applies to every version
instances = 2
dynamic_batching = true
max_batch_size = 8
preferred_batch_sizes = 4, 8
max_queue_delay_us = 500
max_queue_size = 64
default_timeout_us = 2000000

[model ocr-det version 3]     # overrides for one version
instances = 1
)";

TEST(ServingConfig, ParsesExample) {
  StatusOr<ServingConfig> config = ParseServingConfig(kExample, "moat-serving.conf");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  ModelSettings settings = config->For("ocr-det", 1);
  EXPECT_EQ(settings.instances, 2);
  EXPECT_EQ(settings.intra_op_threads, 0);
  EXPECT_TRUE(settings.dynamic_batching);
  EXPECT_EQ(settings.max_batch_size, 8);
  EXPECT_EQ(settings.preferred_batch_sizes, (std::vector<int64_t>{4, 8}));
  EXPECT_EQ(settings.max_queue_delay_us, 500);
  EXPECT_EQ(settings.max_queue_size, 64);
  EXPECT_EQ(settings.default_timeout_us, 2000000);
}

TEST(ServingConfig, VersionOverridesModel) {
  StatusOr<ServingConfig> config = ParseServingConfig(kExample, "moat-serving.conf");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  ModelSettings settings = config->For("ocr-det", 3);
  EXPECT_EQ(settings.instances, 1);
  EXPECT_TRUE(settings.dynamic_batching);
  EXPECT_EQ(settings.max_batch_size, 8);
}

TEST(ServingConfig, DefaultsApplyToOtherModels) {
  StatusOr<ServingConfig> config =
      ParseServingConfig("[defaults]\ninstances = 3\nmax_queue_size = 10\n", "f");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  ModelSettings settings = config->For("other", 7);
  EXPECT_EQ(settings.instances, 3);
  EXPECT_EQ(settings.max_queue_size, 10);
  EXPECT_FALSE(settings.dynamic_batching);
}

TEST(ServingConfig, VersionWithoutModelSection) {
  StatusOr<ServingConfig> config =
      ParseServingConfig("[defaults]\ninstances = 2\n[model a version 2]\nmax_queue_size = 5\n", "f");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->For("a", 2).instances, 2);
  EXPECT_EQ(config->For("a", 2).max_queue_size, 5);
  EXPECT_EQ(config->For("a", 1).max_queue_size, 0);
}

TEST(ServingConfig, EmptyTextGivesDefaults) {
  for (std::string_view text : {"", "\n\n", "# only a comment\n", "   \t\r\n"}) {
    StatusOr<ServingConfig> config = ParseServingConfig(text, "f");
    ASSERT_TRUE(config.ok()) << config.status().ToString();
    EXPECT_EQ(config->For("m", 1), ModelSettings());
    EXPECT_TRUE(config->ModelNames().empty());
  }
}

TEST(ServingConfig, ListsModelNames) {
  StatusOr<ServingConfig> config = ParseServingConfig(
      "[model b]\ninstances = 1\n[model a version 2]\n[model b version 1]\n[model c]\n", "f");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->ModelNames(), (std::vector<std::string>{"a", "b", "c"}));
}

TEST(ServingConfig, CrlfAndNoFinalNewline) {
  StatusOr<ServingConfig> config = ParseServingConfig("[defaults]\r\ninstances = 4\r\nmax_queue_size=9", "f");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->For("m", 1).instances, 4);
  EXPECT_EQ(config->For("m", 1).max_queue_size, 9);
}

struct ErrorCase {
  std::string text;
  std::string expected;  // a substring of the message, including "f:LINE:"
};

TEST(ServingConfig, RejectsWithLineNumbers) {
  const ErrorCase cases[] = {
      {"[defaults]\ninstances = 1\nbogus = 3\n", "f:3: unknown key in [defaults]: \"bogus = 3\""},
      {"[default]\n", "f:1: unknown section"},
      {"[model]\n", "f:1: unknown section"},
      {"[model a version]\n", "f:1: unknown section"},
      {"[model a version 0]\n", "f:1: model version must be an integer of at least 1"},
      {"[model a version x]\n", "f:1: model version must be an integer of at least 1"},
      {"[model .a]\n", "f:1: invalid section header: model name \".a\""},
      {"[model a/b]\n", "f:1: invalid section header"},
      {"[defaults\n", "f:1: section header does not end with ']'"},
      {"instances = 2\n", "f:1: key outside any section"},
      {"[defaults]\ninstances\n", "f:2: expected 'key = value'"},
      {"[defaults]\ninstances = 1\ninstances = 2\n", "f:3: duplicate key in [defaults], first set at line 2"},
      {"[model a]\n[model a]\n", "f:2: duplicate section, first at line 1"},
      {"[defaults]\ninstances = 0\n", "f:2: instances must be between 1 and 256: \"instances = 0\""},
      {"[defaults]\ninstances = -1\n", "f:2: instances must be between 1 and 256"},
      {"[defaults]\ninstances = two\n", "f:2: instances: value is not a decimal integer"},
      {"[defaults]\ninstances = 1.5\n", "f:2: instances: value is not a decimal integer"},
      {"[defaults]\ninstances =\n", "f:2: instances: value is empty"},
      {"[defaults]\ninstances = 99999999999999999999\n", "f:2: instances: integer is out of range"},
      {"[defaults]\nintra_op_threads = -2\n", "f:2: intra_op_threads must be between 0 and 1024"},
      {"[defaults]\nmax_queue_delay_us = 10000001\n",
       "f:2: max_queue_delay_us must be between 0 and 10000000"},
      {"[defaults]\nmax_queue_size = -5\n", "f:2: max_queue_size must be between 0 and 1000000"},
      {"[defaults]\ndefault_timeout_us = 3600000001\n", "f:2: default_timeout_us must be between 0"},
      {"[defaults]\nmax_batch_size = 70000\n", "f:2: max_batch_size must be between 0 and 65536"},
      {"[defaults]\ndynamic_batching = yes\n", "f:2: dynamic_batching must be true or false"},
      {"[defaults]\nmax_batch_size = 8\npreferred_batch_sizes = 4, x\n",
       "f:3: preferred_batch_sizes: value is not"},
      {"[defaults]\nmax_batch_size = 8\npreferred_batch_sizes = 4,\n",
       "f:3: preferred_batch_sizes: value is empty"},
      {"[defaults]\nmax_batch_size = 8\npreferred_batch_sizes = 0\n",
       "f:3: preferred_batch_sizes entries must be"},
      {"[defaults]\nmax_batch_size = 8\npreferred_batch_sizes = 8, 4\n",
       "f:3: preferred_batch_sizes must be strictly"},
      {"[defaults]\nmax_batch_size = 8\npreferred_batch_sizes = 4, 16\n",
       "f:3: preferred batch size 16 is above max_batch_size 8 in [defaults]"},
      {"[model a]\nmax_batch_size = 8\npreferred_batch_sizes = 8\n[model a version 2]\nmax_batch_size = 4\n",
       "f:5: preferred batch size 8 is above max_batch_size 4 in [model a version 2]"},
      {"[model a]\ndynamic_batching = true\n",
       "f:2: dynamic_batching = true needs max_batch_size of at least 1 in [model a]"},
  };
  for (const ErrorCase& error_case : cases) {
    StatusOr<ServingConfig> config = ParseServingConfig(error_case.text, "f");
    ASSERT_FALSE(config.ok()) << error_case.text;
    EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument) << error_case.text;
    EXPECT_NE(config.status().message().find(error_case.expected), std::string::npos)
        << "text:\n"
        << error_case.text << "message:\n"
        << config.status().message();
  }
}

TEST(ServingConfig, ReportsEveryError) {
  StatusOr<ServingConfig> config =
      ParseServingConfig("[defaults]\ninstances = 0\nfoo = 1\n[model a]\nmax_queue_size = x\n", "conf");
  ASSERT_FALSE(config.ok());
  const std::string& message = config.status().message();
  EXPECT_NE(message.find("conf:2:"), std::string::npos) << message;
  EXPECT_NE(message.find("conf:3:"), std::string::npos) << message;
  EXPECT_NE(message.find("conf:5:"), std::string::npos) << message;
}

TEST(ServingConfig, KeysAfterBadHeaderAreSkipped) {
  StatusOr<ServingConfig> config = ParseServingConfig("[nonsense]\nfoo = 1\nbar = 2\n", "f");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message().find("f:2:"), std::string::npos) << config.status().message();
}

TEST(ServingConfig, StopsAfterManyErrors) {
  std::string text;
  for (int i = 0; i < 500; ++i) text += "garbage\n";
  StatusOr<ServingConfig> config = ParseServingConfig(text, "f");
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.status().message().find("stopped after 50 errors"), std::string::npos);
}

TEST(ServingConfig, ErrorsInLineOrder) {
  StatusOr<ServingConfig> config =
      ParseServingConfig("[defaults]\nmax_batch_size = 2\npreferred_batch_sizes = 4\nfoo = 1\n", "f");
  ASSERT_FALSE(config.ok());
  const std::string& message = config.status().message();
  size_t third = message.find("f:3:");
  size_t fourth = message.find("f:4:");
  ASSERT_NE(third, std::string::npos) << message;
  ASSERT_NE(fourth, std::string::npos) << message;
  EXPECT_LT(third, fourth) << message;
}

TEST(ServingConfig, LoadsFile) {
  std::string path = ::testing::TempDir() + "/moat-serving-load.conf";
  ASSERT_TRUE(WriteFileAtomic(path, "[model a]\ninstances = 3\n").ok());
  StatusOr<ServingConfig> config = LoadServingConfig(path);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->For("a", 1).instances, 3);
  std::filesystem::remove(path);
}

TEST(ServingConfig, LoadRejectsLargeFile) {
  std::string path = ::testing::TempDir() + "/moat-serving-large.conf";
  ASSERT_TRUE(WriteFileAtomic(path, std::string(kMaxServingConfigBytes + 1, '#')).ok());
  StatusOr<ServingConfig> config = LoadServingConfig(path);
  EXPECT_FALSE(config.ok());
  std::filesystem::remove(path);
}

TEST(ServingConfig, LoadMissingFileIsNotFound) {
  StatusOr<ServingConfig> config = LoadServingConfig("/nonexistent/moat-serving.conf");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), StatusCode::kNotFound);
}

}  // namespace
TEST(ServingConfig, DescribesSettings) {
  ModelSettings plain;
  EXPECT_EQ(plain.Describe(), "1 instance(s), no batching, no queue limit, no default timeout");
  ModelSettings batched;
  batched.instances = 2;
  batched.dynamic_batching = true;
  batched.max_batch_size = 8;
  batched.preferred_batch_sizes = {4, 8};
  batched.max_queue_delay_us = 2000;
  batched.max_queue_size = 64;
  batched.default_timeout_us = 500000;
  EXPECT_EQ(batched.Describe(),
            "2 instance(s), dynamic batching up to 8 rows (preferred 4, 8) after at most 2000 us in the queue, "
            "at most 64 queued requests, default timeout 500000 us");
}

}  // namespace moat::config
