#include "loadgen/report.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>
#include <thread>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace moat::loadgen {

namespace {

std::string ReadCpuModel() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) != 0) continue;
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    size_t start = line.find_first_not_of(' ', colon + 1);
    return start == std::string::npos ? "" : line.substr(start);
  }
  return "";
}

std::string ReadCommandLine() {
  std::ifstream file("/proc/self/cmdline", std::ios::binary);
  std::string raw((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  while (!raw.empty() && raw.back() == '\0') raw.pop_back();
  for (char& c : raw) {
    if (c == '\0') c = ' ';
  }
  return raw;
}

std::string FormatMs(int64_t ns) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.3f", static_cast<double>(ns) / 1e6);
  return text;
}

void WriteMicroseconds(rapidjson::Writer<rapidjson::StringBuffer>& writer, const char* key, int64_t ns) {
  writer.Key(key);
  writer.Double(static_cast<double>(ns) / 1e3);
}

void WriteStep(rapidjson::Writer<rapidjson::StringBuffer>& writer, const StepResult& step) {
  writer.StartObject();
  writer.Key("mode");
  writer.String(step.mode.c_str());
  writer.Key("concurrency");
  writer.Int(step.concurrency);
  writer.Key("rate");
  writer.Double(step.rate);
  writer.Key("window_seconds");
  writer.Double(static_cast<double>(step.window_ns) / 1e9);
  writer.Key("completed");
  writer.Uint64(step.completed);
  writer.Key("errors");
  writer.Uint64(step.errors);
  writer.Key("errors_by_status");
  writer.StartObject();
  for (const auto& [status, count] : step.errors_by_status) {
    writer.Key(status.c_str());
    writer.Uint64(count);
  }
  writer.EndObject();
  writer.Key("throughput");
  writer.Double(step.throughput);
  writer.Key("late_sends");
  writer.Uint64(step.late_sends);
  writer.Key("dropped_sends");
  writer.Uint64(step.dropped_sends);
  writer.Key("latency_us");
  writer.StartObject();
  writer.Key("count");
  writer.Uint64(step.latency.count);
  WriteMicroseconds(writer, "min", step.latency.min_ns);
  WriteMicroseconds(writer, "mean", step.latency.mean_ns);
  WriteMicroseconds(writer, "p50", step.latency.p50_ns);
  WriteMicroseconds(writer, "p90", step.latency.p90_ns);
  WriteMicroseconds(writer, "p99", step.latency.p99_ns);
  WriteMicroseconds(writer, "max", step.latency.max_ns);
  writer.EndObject();
  writer.EndObject();
}

}  // namespace

RunInfo CollectRunInfo() {
  RunInfo info;
  info.command_line = ReadCommandLine();
  std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc{};
  gmtime_r(&now, &utc);
  char date[32];
  std::strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", &utc);
  info.date_utc = date;
  info.cores = std::thread::hardware_concurrency();
  info.cpu_model = ReadCpuModel();
  return info;
}

std::string FormatTable(const std::vector<StepResult>& steps) {
  std::ostringstream out;
  char line[256];
  std::snprintf(line, sizeof(line), "%-12s %6s %9s %10s %7s %12s %9s %9s %9s %9s %9s\n", "mode", "conc",
                "rate", "completed", "errors", "req/s", "mean ms", "p50 ms", "p90 ms", "p99 ms", "max ms");
  out << line;
  for (const StepResult& step : steps) {
    std::string rate = step.mode == "rate" ? std::to_string(static_cast<int64_t>(step.rate)) : "-";
    std::snprintf(
        line, sizeof(line), "%-12s %6d %9s %10llu %7llu %12.1f %9s %9s %9s %9s %9s\n", step.mode.c_str(),
        step.concurrency, rate.c_str(), static_cast<unsigned long long>(step.completed),
        static_cast<unsigned long long>(step.errors), step.throughput, FormatMs(step.latency.mean_ns).c_str(),
        FormatMs(step.latency.p50_ns).c_str(), FormatMs(step.latency.p90_ns).c_str(),
        FormatMs(step.latency.p99_ns).c_str(), FormatMs(step.latency.max_ns).c_str());
    out << line;
    if (step.mode == "rate") {
      out << "  late sends: " << step.late_sends << ", dropped sends: " << step.dropped_sends << "\n";
    }
    for (const auto& [status, count] : step.errors_by_status)
      out << "  errors " << status << ": " << count << "\n";
  }
  return out.str();
}

std::string FormatJsonReport(const RunInfo& info, const std::vector<StepResult>& steps) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.StartObject();
  writer.Key("run");
  writer.StartObject();
  writer.Key("command_line");
  writer.String(info.command_line.c_str());
  writer.Key("date");
  writer.String(info.date_utc.c_str());
  writer.Key("machine");
  writer.StartObject();
  writer.Key("cores");
  writer.Uint(info.cores);
  writer.Key("cpu_model");
  writer.String(info.cpu_model.c_str());
  writer.EndObject();
  writer.Key("protocol");
  writer.String(info.protocol.c_str());
  writer.Key("address");
  writer.String(info.address.c_str());
  writer.Key("model");
  writer.String(info.model.c_str());
  writer.Key("warmup_seconds");
  writer.Double(info.warmup_seconds);
  writer.Key("window_seconds");
  writer.Double(info.window_seconds);
  writer.EndObject();
  writer.Key("steps");
  writer.StartArray();
  for (const StepResult& step : steps) WriteStep(writer, step);
  writer.EndArray();
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize()) + "\n";
}

double ErrorRatio(const std::vector<StepResult>& steps) {
  uint64_t completed = 0;
  uint64_t errors = 0;
  for (const StepResult& step : steps) {
    completed += step.completed;
    errors += step.errors;
  }
  uint64_t total = completed + errors;
  return total == 0 ? 0.0 : static_cast<double>(errors) / static_cast<double>(total);
}

}  // namespace moat::loadgen
