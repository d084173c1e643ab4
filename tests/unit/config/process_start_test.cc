// The start both node processes share (config/process_start.h): the exit
// statuses and messages an operator sees for a wrong command line or file.

#include "config/process_start.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

using skycast::config::load_process_config;
using skycast::config::process_start;

process_start start_with(std::vector<std::string> args) {
    args.insert(args.begin(), "skycast-test");
    std::vector<char*> argv;
    for (auto& a : args) {
        argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    return load_process_config("skycast-test", "a test process", static_cast<int>(args.size()),
                               argv.data());
}

TEST(process_start, loads_the_file_named_by_config) {
    const auto start = start_with({"--config", std::string(SKYCAST_CONFIG_EXAMPLES) + "/hub.yaml"});
    ASSERT_TRUE(start.config.has_value());
    EXPECT_FALSE(start.config->dataplane.eal.file_prefix.empty());
}

TEST(process_start, short_option_works_too) {
    const auto start = start_with({"-c", std::string(SKYCAST_CONFIG_EXAMPLES) + "/receiver.yaml"});
    EXPECT_TRUE(start.config.has_value());
}

TEST(process_start, missing_config_option_is_a_usage_error) {
    testing::internal::CaptureStderr();
    const auto start = start_with({});
    const std::string err = testing::internal::GetCapturedStderr();
    EXPECT_FALSE(start.config.has_value());
    EXPECT_EQ(start.exit_status, 2);
    EXPECT_NE(err.find("--config"), std::string::npos) << err;
}

TEST(process_start, help_exits_zero_without_a_config) {
    testing::internal::CaptureStdout();
    const auto start = start_with({"--help"});
    const std::string out = testing::internal::GetCapturedStdout();
    EXPECT_FALSE(start.config.has_value());
    EXPECT_EQ(start.exit_status, 0);
    EXPECT_NE(out.find("a test process"), std::string::npos) << out;
}

TEST(process_start, bad_file_is_reported_with_program_name_and_exit_2) {
    const auto path = std::filesystem::temp_directory_path() /
                      ("skycast_process_start_bad_" + std::to_string(::getpid()) + ".yaml");
    std::ofstream(path) << "dataplane:\n  eal: {lcores: \"0\"}\ncontrol:\n  role: sendr\n";
    testing::internal::CaptureStderr();
    const auto start = start_with({"--config", path.string()});
    const std::string err = testing::internal::GetCapturedStderr();
    std::filesystem::remove(path);
    EXPECT_FALSE(start.config.has_value());
    EXPECT_EQ(start.exit_status, 2);
    EXPECT_EQ(err.rfind("skycast-test: ", 0), 0u) << err;
    EXPECT_NE(err.find("role"), std::string::npos) << err;
}

TEST(process_start, unreadable_file_is_reported_with_exit_2) {
    testing::internal::CaptureStderr();
    const auto start = start_with({"--config", "/nonexistent/skycast.yaml"});
    const std::string err = testing::internal::GetCapturedStderr();
    EXPECT_FALSE(start.config.has_value());
    EXPECT_EQ(start.exit_status, 2);
    EXPECT_NE(err.find("/nonexistent/skycast.yaml"), std::string::npos) << err;
}

} // namespace
