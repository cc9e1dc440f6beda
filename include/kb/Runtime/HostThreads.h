//===- HostThreads.h - kb-run's one pool of host threads --------*- C++ -*-===//
//
// The host work between two waits of a device program (its independent tile
// kernels) runs on one process-wide pool of threads, made on first use and
// kept: a flush of a few small tiles must not pay for starting threads.
//
//===----------------------------------------------------------------------===//

#ifndef KB_RUNTIME_HOSTTHREADS_H
#define KB_RUNTIME_HOSTTHREADS_H

#include <atomic>
#include <functional>
#include <memory>
#include <vector>

namespace kb::runtime {

/// Runs every item of `work` (independent of each other) on up to `threads`
/// threads, the caller's among them, and returns when all are done. Items are
/// taken in order, so the earliest start first.
void runOnHostThreads(std::vector<std::function<void()>> &work, int threads);

/// Runs `work` on a pool thread while the caller goes on, and never waits
/// for it (the pool does, before the process ends): freeing a run's many
/// buffers while its results are written. With one thread, at once.
void runInBackground(std::function<void()> work, int threads);

/// Work started on the pool's threads while the caller goes on: the caller
/// simulates the next rank's ops while the threads compute the last one's
/// tiles, and joins in when it needs the results (join). With one thread
/// the work runs at once, in the constructor; with more, even a single item
/// goes to a pool thread.
class HostBatch {
public:
  HostBatch(std::vector<std::function<void()>> work, int threads);
  HostBatch(const HostBatch &) = delete;
  HostBatch &operator=(const HostBatch &) = delete;
  /// Joins.
  ~HostBatch();
  /// Runs the items no thread has taken yet on the caller's thread and
  /// returns when every item is done, without waiting for pool tasks that
  /// have not started (they find nothing left).
  void join();
  /// Whether every item has run, so that join would not wait.
  bool done() const;

  struct Items;

private:
  std::shared_ptr<Items> items;
};

} // namespace kb::runtime

#endif // KB_RUNTIME_HOSTTHREADS_H
