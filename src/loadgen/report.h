// The results of `moat bench`: a table for people and a JSON report for
// scripts, with what is needed to compare runs (command line, date, machine).
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "loadgen/engine.h"

namespace moat::loadgen {

struct RunInfo {
  std::string command_line;  // the arguments, space-separated
  std::string date_utc;      // ISO 8601, such as "2026-12-04T23:50:00Z"
  unsigned cores = 0;        // std::thread::hardware_concurrency()
  std::string cpu_model;     // "model name" of /proc/cpuinfo, empty if absent
  std::string protocol;
  std::string address;
  std::string model;
  double warmup_seconds = 0;
  double window_seconds = 0;
};

// Fills command_line from /proc/self/cmdline, the date, cores and CPU model.
RunInfo CollectRunInfo();

// One row per step: mode, completed, errors, throughput and latencies in
// milliseconds, then one line per error status.
std::string FormatTable(const std::vector<StepResult>& steps);

// A JSON object with "run" (RunInfo) and "steps" (every StepResult figure;
// latencies in microseconds as numbers with fractions).
std::string FormatJsonReport(const RunInfo& info, const std::vector<StepResult>& steps);

// Returns errors / (completed + errors) over all steps; 0 when there were no
// requests at all.
double ErrorRatio(const std::vector<StepResult>& steps);

}  // namespace moat::loadgen
