//===- HostThreads.cpp - kb-run's one pool of host threads ----------------===//

#include "kb/Runtime/HostThreads.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/ThreadPool.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>

using namespace kb::runtime;

namespace {
/// The batches whose items the pool's threads may still be running: a
/// thread that joins one and finds its items all taken runs other batches'
/// items rather than wait (their items are independent of its batch's, or
/// they would not be running together). Without it the simulating thread
/// waited a quarter of a 2-thread run while the pool thread worked.
struct ActiveBatches {
  std::mutex mutex;
  std::vector<std::shared_ptr<HostBatch::Items>> batches;

  void add(std::shared_ptr<HostBatch::Items> items);
  void remove(const HostBatch::Items *items);
  /// Runs one item of a batch other than `self`; false when no batch has
  /// one left to take.
  bool helpOther(const HostBatch::Items *self);
};

/// The pool and how many threads it has; it only grows (a larger request
/// replaces it), so a run's threads start once.
struct HostPool {
  // First, so destroyed last: work the pool still runs as it is destroyed
  // may join batches.
  ActiveBatches active;
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

/// A batch's items, taken in order by whichever thread asks next. A caller
/// waits for the items to be done, not for the pool's tasks to end: a task
/// queued behind another batch's long items would hold the caller idle until
/// they end, to find nothing left (the Llama-2-7B layer at 2048 tokens ran
/// 20% longer so). Shared with the tasks, which may start after the batch
/// is gone.
struct HostBatch::Items {
  explicit Items(std::vector<std::function<void()>> work)
      : work(std::move(work)), size(this->work.size()) {}

  /// Runs the next item no thread has taken; false when none is left.
  bool runOne() {
    size_t i = next++;
    if (i >= size)
      return false;
    work[i]();
    // What it captured goes now, not when the last task lets go of this.
    work[i] = nullptr;
    std::lock_guard<std::mutex> lock(mutex);
    finished.store(finished.load() + 1, std::memory_order_release);
    if (finished.load() == size)
      allDone.notify_all();
    return true;
  }

  /// Runs items until none is left to take.
  void run() {
    while (runOne()) {
    }
  }

  bool done() const {
    return finished.load(std::memory_order_acquire) == size;
  }

  /// Returns when every item has run.
  void wait() {
    std::unique_lock<std::mutex> lock(mutex);
    allDone.wait(lock, [&] { return finished.load() == size; });
  }

  std::vector<std::function<void()>> work;
  const size_t size;
  std::atomic<size_t> next{0};
  std::atomic<size_t> finished{0}; // written under `mutex`
  std::mutex mutex;
  std::condition_variable allDone;
};


void ActiveBatches::add(std::shared_ptr<HostBatch::Items> items) {
  std::lock_guard<std::mutex> lock(mutex);
  batches.push_back(std::move(items));
}

void ActiveBatches::remove(const HostBatch::Items *items) {
  std::lock_guard<std::mutex> lock(mutex);
  llvm::erase_if(batches, [&](const auto &b) { return b.get() == items; });
}

bool ActiveBatches::helpOther(const HostBatch::Items *self) {
  std::shared_ptr<HostBatch::Items> other;
  {
    std::lock_guard<std::mutex> lock(mutex);
    for (const auto &b : batches)
      if (b.get() != self && b->next.load() < b->size) {
        other = b;
        break;
      }
  }
  return other && other->runOne();
}

void kb::runtime::runOnHostThreads(std::vector<std::function<void()>> &work,
                                   int threads) {
  if (std::max(threads, 1) == 1 || work.size() <= 1) {
    for (auto &item : work)
      item();
    work.clear();
    return;
  }
  HostBatch batch(std::move(work), threads);
  batch.join();
  work.clear();
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

HostBatch::HostBatch(std::vector<std::function<void()>> work, int threads)
    : items(std::make_shared<Items>(std::move(work))) {
  int helpers = std::min<int>(std::max(threads, 1) - 1, items->size);
  if (helpers <= 0) {
    items->run();
    return;
  }
  // The pool as large as the threads asked for, not the work: a pool that
  // grew would replace (and join) the one another batch may be running on.
  llvm::StdThreadPool &pool = hostPool().get(std::max(threads, 1) - 1);
  hostPool().active.add(items);
  for (int t = 0; t < helpers; ++t)
    pool.async([items = items] { items->run(); });
}

HostBatch::~HostBatch() { join(); }

bool HostBatch::done() const { return !items || items->done(); }

void HostBatch::join() {
  if (!items)
    return;
  items->run();
  // The items under way on other threads: meanwhile, other batches' items.
  while (!items->done() && hostPool().active.helpOther(items.get())) {
  }
  items->wait();
  hostPool().active.remove(items.get());
  items.reset();
}
