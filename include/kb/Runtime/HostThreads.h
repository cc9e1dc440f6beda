//===- HostThreads.h - kb-run's one pool of host threads --------*- C++ -*-===//
//
// The host work between two waits of a device program (its independent tile
// kernels) runs on one process-wide pool of threads, made on first use and
// kept: a flush of a few small tiles must not pay for starting threads.
//
//===----------------------------------------------------------------------===//

#ifndef KB_RUNTIME_HOSTTHREADS_H
#define KB_RUNTIME_HOSTTHREADS_H

#include <functional>
#include <vector>

namespace kb::runtime {

/// Runs every item of `work` (independent of each other) on up to `threads`
/// threads, the caller's among them, and returns when all are done. Items are
/// taken in order, so the earliest start first.
void runOnHostThreads(std::vector<std::function<void()>> &work, int threads);

} // namespace kb::runtime

#endif // KB_RUNTIME_HOSTTHREADS_H
