//===- HostThreads.cpp - kb-run's one pool of host threads ----------------===//

#include "kb/Runtime/HostThreads.h"

#include "llvm/Support/ThreadPool.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>

using namespace kb::runtime;

namespace {
/// The pool and how many threads it has; it only grows (a larger request
/// replaces it), so a run's threads start once.
struct HostPool {
  std::mutex mutex;
  std::unique_ptr<llvm::StdThreadPool> pool;
  int size = 0;
  // runInBackground's work. After the pool: destroyed (so waited for)
  // before it.
  std::unique_ptr<llvm::ThreadPoolTaskGroup> background;

  llvm::StdThreadPool &get(int helpers) {
    std::lock_guard<std::mutex> lock(mutex);
    if (!pool || size < helpers) {
      background.reset(); // waits for the old pool's background work
      pool.reset();       // joins the old threads first
      pool = std::make_unique<llvm::StdThreadPool>(
          llvm::hardware_concurrency(helpers));
      size = helpers;
    }
    return *pool;
  }
};

HostPool &hostPool() {
  static HostPool pool;
  return pool;
}
} // namespace

void kb::runtime::runOnHostThreads(std::vector<std::function<void()>> &work,
                                   int threads) {
  int workers = std::min<int>(std::max(threads, 1), work.size());
  if (workers <= 1) {
    for (auto &item : work)
      item();
    return;
  }
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i = next++; i < work.size(); i = next++)
      work[i]();
  };
  // The pool as large as the threads asked for, not the work: a pool that
  // grew would replace the one a HostBatch may still be running on.
  llvm::StdThreadPool &pool = hostPool().get(std::max(threads, 1) - 1);
  // A group of its own: wait() returns when this flush's helpers are done.
  llvm::ThreadPoolTaskGroup group(pool);
  for (int t = 1; t < workers; ++t)
    group.async(worker);
  worker();
  group.wait();
}

void kb::runtime::runInBackground(std::function<void()> work, int threads) {
  if (threads <= 1) {
    work();
    return;
  }
  HostPool &host = hostPool();
  llvm::StdThreadPool &pool = host.get(threads - 1);
  std::lock_guard<std::mutex> lock(host.mutex);
  if (!host.background)
    host.background = std::make_unique<llvm::ThreadPoolTaskGroup>(pool);
  host.background->async(std::move(work));
}

HostBatch::HostBatch(std::vector<std::function<void()>> items, int threads)
    : work(std::move(items)) {
  // Even a single item goes to the pool: the caller goes on meanwhile.
  int helpers = std::min<int>(std::max(threads, 1) - 1, work.size());
  if (helpers <= 0) {
    runItems();
    return;
  }
  llvm::StdThreadPool &pool = hostPool().get(std::max(threads, 1) - 1);
  group = std::make_unique<llvm::ThreadPoolTaskGroup>(pool);
  for (int t = 0; t < helpers; ++t)
    group->async([this] { runItems(); });
}

HostBatch::~HostBatch() { join(); }

void HostBatch::runItems() {
  for (size_t i = next++; i < work.size(); i = next++) {
    work[i]();
    finished.fetch_add(1, std::memory_order_release);
  }
}

void HostBatch::join() {
  if (!group)
    return;
  runItems();
  group->wait();
  group.reset();
}
