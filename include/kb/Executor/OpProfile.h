//===- OpProfile.h - device time by kb op and layer -------------*- C++ -*-===//
//
// The per-op table of kb-run's report: for each site (a kernel or kb op at
// a layer and user line), the work it did and its share of the device time,
// on the SIP whose end is the device time. The shares are an exact partition
// of that SIP's timeline: each instant is split evenly between the device
// ops running then, and an instant when nothing runs (a rank waiting for a
// ring step) goes to the op it waits for, the next one to start. So the
// table's times sum to the device time.
//
//===----------------------------------------------------------------------===//

#ifndef KB_EXECUTOR_OPPROFILE_H
#define KB_EXECUTOR_OPPROFILE_H

#include "kb/Executor/Execute.h"

#include <vector>

namespace kb::exec {

struct OpProfile {
  int64_t site;          // into DeviceRun::sites
  int64_t deviceOps = 0; // device ops of the site on the SIP
  /// Its device ops on PEs: each paid one kernel launch, which the bound
  /// (bench/device_model.py) takes out of the elementwise PE work.
  int64_t peKernels = 0;
  double flops = 0;
  int64_t dmaBytes = 0, linkBytes = 0;
  /// Engine-seconds: the sum of its device ops' durations on PEs, DMA
  /// engines and the ring link (PEs run in parallel, so this may exceed
  /// the time the op takes).
  double peSeconds = 0, dmaSeconds = 0, ringSeconds = 0;
  /// Its part of the device time; the rows sum to the device time.
  double seconds = 0;
};

struct OpTable {
  int64_t rank = 0;            // the SIP profiled: the one that ends last
  std::vector<OpProfile> rows; // by seconds, largest first
};

OpTable profileOps(const DeviceRun &run);

} // namespace kb::exec

#endif // KB_EXECUTOR_OPPROFILE_H
