//===- Execute.h - running kb programs on the host --------------*- C++ -*-===//

#ifndef KB_EXECUTOR_EXECUTE_H
#define KB_EXECUTOR_EXECUTE_H

#include "kb/Dialect/GemmTile/IR/DeviceDescription.h"
#include "kb/Executor/Program.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace kb::exec {

/// Runs a global- or local-view kb program on global inputs and returns the
/// global results. The local view runs its W ranks in lockstep.
llvm::Expected<llvm::SmallVector<runtime::HostTensor>>
runKBProgram(const Program &program,
             llvm::ArrayRef<runtime::HostTensor> inputs);

/// Where device work came from: the kernel or kb op, its layer and the
/// user's line (kb/Dialect/KB/IR/OpOrigin.h). Device ops with the same three
/// are one site, one row of the per-op table.
struct OpSite {
  std::string op;    // "matmul_1"; the device op's name when unnamed
  std::string layer; // "ColumnParallelLinear", or ""
  std::string where; // "model.py:13", or ""
  /// `op (layer where)`, the name of its trace slices.
  std::string label() const;
};

enum class EngineKind : uint8_t { PE, DMA, Ring };

/// One interval of the simulated timeline: a device op on one engine. Kept
/// small (48 bytes): a whole model's timeline holds one per device op and
/// rank (7.2 million for GPT-3 175B's prefill at W = 8), and the per-op table
/// needs only these fields. What only the trace prints is in a TraceDetail.
struct TraceEvent {
  double start = 0, duration = 0; // seconds
  double flops = 0;
  int64_t bytes = 0; // moved by a DMA, sent by a ring step
  int32_t site = 0;  // index into DeviceRun::sites
  int32_t track = 0; // see trackName()
  /// Index into DeviceRun::details, or -1 when the run kept no details.
  int32_t detail = -1;
  /// 16 bits, beside the engine: kb-run runs at most 4096 ranks
  /// (analyzeProgram refuses more).
  int16_t rank = 0;
  EngineKind engine = EngineKind::PE;
};
static_assert(sizeof(TraceEvent) <= 48, "a timeline event is kept per op "
                                        "and rank: keep it small");

/// What the trace (--trace, --plot) says of an event besides its times: kept
/// only when the run is asked for it.
struct TraceDetail {
  llvm::StringRef deviceOp;           // "matmul", "dma", ... (the context's)
  llvm::SmallVector<int64_t, 2> tile; // the region it writes or moves
  int64_t ringStep = -1; // ring steps: which one, counted over the run
};

/// What a SIP did, under the cost model.
struct SIPStats {
  double computeSeconds = 0, dmaSeconds = 0, collectiveSeconds = 0;
  /// Of collectiveSeconds, the ring time during which a PE of the SIP
  /// computes: what asynchronous ring steps hide behind compute.
  double collectiveHiddenSeconds = 0;
  double endSeconds = 0;
  double flops = 0;
  int64_t dmaBytes = 0, linkBytesSent = 0;
};

/// One ring collective: a reduce-scatter and its all-gather on one buffer
/// (an all-reduce), or a reduce-scatter or an all-gather along `dim`.
struct CollectiveStats {
  std::string op;
  /// The dimension an all_gather or reduce_scatter works along; -1 for an
  /// all-reduce of the flat buffer.
  int64_t dim = -1;
  /// Which ring halves it runs; the lower bound counts (W-1)/W of each.
  bool reduces = true, gathers = true;
  /// The cube pieces (ring buffers) its one ring draws chunks from.
  int64_t pieces = 1;
  /// Where the collective comes from: the location of the kb op it was
  /// lowered from (file:line:col), or empty.
  std::string location;
  /// The ring buffer's bytes: the whole tensor (an all_gather's result, a
  /// reduce_scatter's input).
  int64_t bytes = 0;
  /// The buffer as the reduce-scatter half sends it: `bytes`, or twice that
  /// for bf16, whose partial sums travel in f32 (docs/design/0007).
  int64_t reduceBytes = 0;
  /// What each rank sent over its link. With W chunks of a tensor whose
  /// elements do not divide by W, ranks send slightly different amounts.
  std::vector<int64_t> bytesSentByRank;
  /// The mean over the ranks: 2(W-1)/W of the tensor for a full ring, which
  /// no all-reduce can beat (each rank must send that much on average).
  double bytesSentPerRank() const;
  int64_t maxBytesSentByARank() const;
  /// (W-1)/W of each half: (W-1)·(reduceBytes + bytes) / W, which is
  /// 2(W-1)/W of `bytes` when the partial sums travel in the buffer's type.
  double lowerBoundBytesPerRank() const;
};

struct DeviceRun {
  std::vector<SIPStats> sips;
  std::vector<CollectiveStats> collectives;
  std::vector<OpSite> sites;
  /// Every rank's device work (always: the per-op table is made from it).
  std::vector<TraceEvent> trace;
  /// The events' details, when the run was asked for them (traceDetails).
  std::vector<TraceDetail> details;
  /// The most asynchronous ops (DMAs, PE tiles, ring steps) a rank held at
  /// once, issued and not yet retired by a wait: the simulator's bookkeeping
  /// grows with this, not with the length of the program.
  int64_t maxOutstandingOps = 0;
  /// A cost-only run: the most buffers (a dtype, a shape and a cube each) a
  /// rank held at once. A dead buffer's slot is reused, so this follows the
  /// buffers live at once, not all the program allocates.
  int64_t maxShapeBuffers = 0;
  double deviceSeconds = 0;
  int64_t pesPerCube = 0;
  /// How many times the run widened 16-bit host data to f32: a half input's
  /// one copy shared by the ranks' gemms (its A operand), or a piece of it
  /// that another op reads as its own data. Host work, not device time.
  int64_t hostWidenings = 0;
  /// How many elementwise and row tiles the host did not compute because
  /// another buffer of their rank was filled by the same kernels on the
  /// same data (a replicated op's cubes): the buffer views that one's
  /// numbers. Host work, not device time.
  int64_t sharedResults = 0;
  /// How many buffers a relay's copies filled from the same regions as
  /// another buffer of their rank, directly or forwarded hop by hop from
  /// cube to cube: the buffer views that one's numbers, and the host runs
  /// none of its copies. Host work, not device time.
  int64_t replicaViews = 0;
  /// How many gemm operands read a relay's replica where its copies would
  /// have read it from (the region of the buffer it was filled from), so
  /// the replica's copies never ran. Host work, not device time.
  int64_t replicaReads = 0;
  /// How many f16 weight blocks the host packed for its gemm kernel once
  /// for the run, and how many later products read them so packed (a
  /// row-parallel gemm cut into row chunks multiplies each block once per
  /// chunk). Host work, not device time.
  int64_t packedWeightBlocks = 0, packedWeightReads = 0;
  /// How many freed blocks kept for reuse were freed for good because a
  /// buffer of a size none of them had needed fresh memory. Host memory,
  /// not device time.
  int64_t evictedBlocks = 0;
  /// How many buffers took a kept block larger than they need (at most
  /// half as large again) rather than fresh memory. Host memory, not device
  /// time.
  int64_t largerKeptBlocks = 0;
  /// How many buffers took fresh memory, no kept block fitting them: each
  /// page of it costs a fault or, in a VM, the host backing it on its first
  /// write. Host memory, not device time.
  int64_t freshBlocks = 0;
};

/// Tracks: a PE is `cube * pesPerCube + pe`; DMA engine of cube c is
/// `kDMATrackBase + c`; the ring link is `kLinkTrack`. The bases lie above
/// every PE of the largest description (4096 cubes x 4096 PEs = 2^24).
constexpr int64_t kDMATrackBase = int64_t(1) << 24;
constexpr int64_t kLinkTrack = int64_t(1) << 25;
std::string trackName(int64_t track, int64_t pesPerCube);

/// Runs a lowered gemm_tile program for W ranks with real arithmetic,
/// interleaving the ranks at waits and ring steps, and models its time. The
/// independent tile work between two waits runs on up to `threads` host
/// threads; the results do not depend on the count. The timeline is always
/// recorded (the per-op table is made from it); `recordTrace` keeps the
/// events' details too (DeviceRun::details), which only a trace prints.
/// Told the share of the device program's operations the ranks have issued
/// (0 to 1), once per scheduling round: kb-run's progress line.
using ProgressFn = std::function<void(double)>;
/// A run's host memory once its results are made (its buffers, kept blocks
/// and packed weights: thousands of mappings), handed to a caller that asks
/// for it. Dropping it frees them; a process about to exit can leave them
/// to the exit instead, which frees them at once where one munmap each,
/// with a second host thread about, takes as long as writing the results.
/// Without a caller's, the run frees them on a host thread.
using RunMemory = std::shared_ptr<void>;

llvm::Expected<llvm::SmallVector<runtime::HostTensor>> runDeviceProgram(
    const Program &program, llvm::ArrayRef<runtime::HostTensor> inputs,
    const gemm_tile::DeviceDescription &device, DeviceRun &run,
    bool recordTrace, int threads = 1, const ProgressFn &progress = nullptr,
    RunMemory *memory = nullptr);

/// Runs the same schedule as runDeviceProgram on shapes alone (kb-run
/// --cost-only): no inputs, no host tensors, no arithmetic, the hazard checks
/// and every figure of `run` as the numeric run gives them. Its host memory
/// and time grow with the device ops and the buffers' count, not their size.
/// `traceDetails` keeps the events' details, as runDeviceProgram's
/// `recordTrace`. With `threads` > 1 the ranks are simulated on that many
/// host threads at once, with the same figures.
llvm::Error estimateDeviceProgram(const Program &program,
                                  const gemm_tile::DeviceDescription &device,
                                  DeviceRun &run,
                                  const ProgressFn &progress = nullptr,
                                  bool traceDetails = false, int threads = 1);

} // namespace kb::exec

#endif // KB_EXECUTOR_EXECUTE_H
