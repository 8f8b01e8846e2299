#include "grpc/cancellation_watcher.h"

#include <utility>

namespace moat::grpc_server {

CancellationWatcher::CancellationWatcher(std::chrono::milliseconds interval)
    : interval_(interval), thread_([this] { Run(); }) {}

CancellationWatcher::~CancellationWatcher() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

std::pair<std::shared_ptr<const std::atomic<bool>>, std::unique_ptr<CancellationWatcher::Watch>>
CancellationWatcher::Add(std::function<bool()> is_cancelled) {
  auto flag = std::make_shared<std::atomic<bool>>(false);
  std::list<Entry>::iterator entry;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    entry = entries_.insert(entries_.end(), Entry{std::move(is_cancelled), flag});
  }
  wake_.notify_all();
  return {flag, std::make_unique<Watch>(*this, entry)};
}

void CancellationWatcher::Remove(std::list<Entry>::iterator entry) {
  // Holding the mutex while erasing guarantees that is_cancelled is not
  // running, so the caller may destroy what it reads right after.
  std::lock_guard<std::mutex> lock(mutex_);
  entries_.erase(entry);
}

void CancellationWatcher::Run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    // An idle server has no calls to watch, so the thread sleeps until Add
    // instead of waking every interval.
    wake_.wait(lock, [this] { return stopping_ || !entries_.empty(); });
    wake_.wait_for(lock, interval_, [this] { return stopping_; });
    for (Entry& entry : entries_) {
      if (!entry.flag->load(std::memory_order_relaxed) && entry.is_cancelled()) {
        entry.flag->store(true, std::memory_order_release);
      }
    }
  }
}

}  // namespace moat::grpc_server
