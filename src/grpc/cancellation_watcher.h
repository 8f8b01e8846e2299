// A bridge from grpc++ call cancellation to the atomic flag that
// InferenceRequest::cancelled points to. The synchronous grpc++ API has no
// callback for cancellation, so one background thread polls the registered
// calls.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <thread>

namespace moat::grpc_server {

// Thread-safe. Stops its thread in the destructor.
class CancellationWatcher {
 public:
  struct Entry {
    std::function<bool()> is_cancelled;
    std::shared_ptr<std::atomic<bool>> flag;
  };

  // Unregisters its call when destroyed; the watcher must outlive it.
  class Watch {
   public:
    Watch(CancellationWatcher& watcher, std::list<Entry>::iterator entry)
        : watcher_(&watcher), entry_(entry) {}
    Watch(const Watch&) = delete;
    Watch& operator=(const Watch&) = delete;
    ~Watch() { watcher_->Remove(entry_); }

   private:
    CancellationWatcher* watcher_;
    std::list<Entry>::iterator entry_;
  };

  // `interval`: time between two polls of every registered call.
  explicit CancellationWatcher(std::chrono::milliseconds interval);
  ~CancellationWatcher();
  CancellationWatcher(const CancellationWatcher&) = delete;
  CancellationWatcher& operator=(const CancellationWatcher&) = delete;

  // Registers a call and returns the flag that turns true once `is_cancelled`
  // returns true. `is_cancelled` runs on the watcher thread until the
  // returned Watch is destroyed, so what it reads must live that long.
  std::pair<std::shared_ptr<const std::atomic<bool>>, std::unique_ptr<Watch>> Add(
      std::function<bool()> is_cancelled);

 private:
  void Remove(std::list<Entry>::iterator entry);
  void Run();

  const std::chrono::milliseconds interval_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::list<Entry> entries_;
  std::thread thread_;
};

}  // namespace moat::grpc_server
