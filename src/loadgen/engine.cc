#include "loadgen/engine.h"

#include <atomic>
#include <charconv>
#include <cmath>
#include <memory>
#include <thread>

namespace moat::loadgen {

namespace {

constexpr int kMaxWorkers = 1024;

// The outcomes one worker recorded inside the window. Records are merged
// after the workers join, so workers share no lock while measuring.
struct WorkerRecord {
  std::vector<int64_t> latencies_ns;
  std::map<std::string, uint64_t> errors_by_status;
  uint64_t errors = 0;
  uint64_t late_sends = 0;
  uint64_t sends_in_window = 0;
};

struct Window {
  int64_t start_ns = 0;
  int64_t end_ns = 0;
  bool Contains(int64_t t) const { return t >= start_ns && t < end_ns; }
};

void Record(const Status& status, int64_t latency_ns, WorkerRecord& record) {
  if (status.ok()) {
    record.latencies_ns.push_back(latency_ns);
    return;
  }
  ++record.errors;
  ++record.errors_by_status[std::string(StatusCodeName(status.code()))];
}

StatusOr<std::vector<std::unique_ptr<Transport>>> CreateTransports(TransportFactory& factory, int count) {
  std::vector<std::unique_ptr<Transport>> transports;
  for (int worker = 0; worker < count; ++worker) {
    MOAT_ASSIGN_OR_RETURN(std::unique_ptr<Transport> transport, factory.Create(worker));
    transports.push_back(std::move(transport));
  }
  return transports;
}

StepResult MergeRecords(std::vector<WorkerRecord>& records, const Window& window) {
  StepResult result;
  result.window_ns = window.end_ns - window.start_ns;
  std::vector<int64_t> latencies;
  for (WorkerRecord& record : records) {
    latencies.insert(latencies.end(), record.latencies_ns.begin(), record.latencies_ns.end());
    result.errors += record.errors;
    for (const auto& [status, count] : record.errors_by_status) result.errors_by_status[status] += count;
    result.late_sends += record.late_sends;
  }
  result.completed = latencies.size();
  result.throughput = static_cast<double>(result.completed) * 1e9 / static_cast<double>(result.window_ns);
  result.latency = SummarizeLatencies(std::move(latencies));
  return result;
}

Status CheckWorkerCount(int workers) {
  if (workers < 1 || workers > kMaxWorkers) {
    return InvalidArgumentError("worker count " + std::to_string(workers) + " is outside 1 to " +
                                std::to_string(kMaxWorkers));
  }
  return OkStatus();
}

}  // namespace

StatusOr<StepResult> RunConcurrencyStep(TransportFactory& factory, Clock& clock, int concurrency,
                                        const StepOptions& options) {
  MOAT_RETURN_IF_ERROR(CheckWorkerCount(concurrency));
  MOAT_ASSIGN_OR_RETURN(std::vector<std::unique_ptr<Transport>> transports,
                        CreateTransports(factory, concurrency));

  int64_t begin_ns = clock.NowNs();
  Window window{begin_ns + options.warmup_ns, begin_ns + options.warmup_ns + options.window_ns};
  std::vector<WorkerRecord> records(concurrency);
  std::vector<std::thread> threads;
  for (int worker = 0; worker < concurrency; ++worker) {
    threads.emplace_back([&, worker] {
      Transport& transport = *transports[worker];
      WorkerRecord& record = records[worker];
      while (true) {
        int64_t start_ns = clock.NowNs();
        if (start_ns >= window.end_ns) break;
        Status status = transport.Infer();
        int64_t end_ns = clock.NowNs();
        if (window.Contains(end_ns)) Record(status, end_ns - start_ns, record);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  StepResult result = MergeRecords(records, window);
  result.mode = "concurrency";
  result.concurrency = concurrency;
  return result;
}

StatusOr<StepResult> RunRateStep(TransportFactory& factory, Clock& clock, double rate, int workers,
                                 const StepOptions& options) {
  if (!(rate > 0) || !std::isfinite(rate)) {
    return InvalidArgumentError("request rate " + std::to_string(rate) + " is not a positive number");
  }
  MOAT_RETURN_IF_ERROR(CheckWorkerCount(workers));
  MOAT_ASSIGN_OR_RETURN(std::vector<std::unique_ptr<Transport>> transports,
                        CreateTransports(factory, workers));

  int64_t begin_ns = clock.NowNs();
  Window window{begin_ns + options.warmup_ns, begin_ns + options.warmup_ns + options.window_ns};
  // Slot i is due at begin + i / rate seconds; computed from i each time so
  // that rounding does not accumulate.
  auto scheduled_ns = [&](uint64_t slot) {
    return begin_ns + static_cast<int64_t>(std::llround(static_cast<double>(slot) * 1e9 / rate));
  };
  std::atomic<uint64_t> next_slot{0};
  std::vector<WorkerRecord> records(workers);
  std::vector<std::thread> threads;
  for (int worker = 0; worker < workers; ++worker) {
    threads.emplace_back([&, worker] {
      Transport& transport = *transports[worker];
      WorkerRecord& record = records[worker];
      while (true) {
        int64_t due_ns = scheduled_ns(next_slot.fetch_add(1));
        if (due_ns >= window.end_ns) break;
        clock.SleepUntilNs(due_ns);
        int64_t sent_ns = clock.NowNs();
        // A slot picked up after the window is dropped, and so are all later
        // ones, because slots are taken in order.
        if (sent_ns >= window.end_ns) break;
        if (window.Contains(due_ns)) {
          ++record.sends_in_window;
          if (sent_ns - due_ns > options.late_threshold_ns) ++record.late_sends;
        }
        Status status = transport.Infer();
        int64_t end_ns = clock.NowNs();
        if (window.Contains(end_ns)) Record(status, end_ns - due_ns, record);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  // The first slot due at or after `time_ns`, counted up from an estimate
  // one slot below it, which leaves room for rounding.
  auto first_slot_due_at = [&](int64_t time_ns) {
    double estimate = std::floor(static_cast<double>(time_ns - begin_ns) * rate / 1e9) - 1;
    uint64_t slot = estimate > 0 ? static_cast<uint64_t>(estimate) : 0;
    while (scheduled_ns(slot) < time_ns) ++slot;
    return slot;
  };
  uint64_t due_in_window = first_slot_due_at(window.end_ns) - first_slot_due_at(window.start_ns);
  uint64_t sent_in_window = 0;
  for (const WorkerRecord& record : records) sent_in_window += record.sends_in_window;

  StepResult result = MergeRecords(records, window);
  result.mode = "rate";
  result.concurrency = workers;
  result.rate = rate;
  result.dropped_sends = due_in_window - sent_in_window;
  return result;
}

namespace {

StatusOr<int> ParseCount(std::string_view text, const std::string& whole) {
  int value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < 1 || value > kMaxWorkers) {
    return InvalidArgumentError("invalid concurrency '" + whole + "': '" + std::string(text) +
                                "' is not a whole number from 1 to " + std::to_string(kMaxWorkers));
  }
  return value;
}

std::vector<std::string_view> Split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t end = text.find(separator, start);
    parts.push_back(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

}  // namespace

StatusOr<std::vector<int>> ParseConcurrencyList(const std::string& text) {
  std::vector<int> values;
  std::vector<std::string_view> range = Split(text, ':');
  if (range.size() == 1) {
    for (std::string_view part : Split(text, ',')) {
      MOAT_ASSIGN_OR_RETURN(int value, ParseCount(part, text));
      values.push_back(value);
    }
    return values;
  }
  if (range.size() != 3) {
    return InvalidArgumentError("invalid concurrency '" + text +
                                "': expected a list such as 1,2,4 or a range such as 1:16:x2");
  }
  MOAT_ASSIGN_OR_RETURN(int first, ParseCount(range[0], text));
  MOAT_ASSIGN_OR_RETURN(int last, ParseCount(range[1], text));
  bool multiply = !range[2].empty() && range[2][0] == 'x';
  MOAT_ASSIGN_OR_RETURN(int step, ParseCount(multiply ? range[2].substr(1) : range[2], text));
  if (first > last || (multiply && step < 2)) {
    return InvalidArgumentError("invalid concurrency range '" + text +
                                "': the start must not exceed the end, and a factor must be at least 2");
  }
  for (int value = first; value <= last; value = multiply ? value * step : value + step)
    values.push_back(value);
  return values;
}

}  // namespace moat::loadgen
