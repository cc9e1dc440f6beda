//===- DeviceInterpreter.cpp - W SIPs running a gemm_tile program ---------===//
//
// Each rank has its own buffers, clock and program counter. The scheduler
// runs one rank until it reaches a yield point (a wait or a ring step), then
// the next, round-robin; a ring step starts once every rank has reached it
// and the ring link is free, and either holds the rank until it is done or,
// with a token, runs on the link while the rank goes on. Asynchronous ops do
// their arithmetic when issued; their time comes from the cost model
// (kb/Device/CostModel.h, docs/design/0003-lowered-program-interface.md), and
// the hazard check makes a missing wait an error rather than a silent race.
// PE ops and ring steps are run through their interfaces
// (gemm_tile::PEComputeOpInterface, gemm_tile::RingStepOpInterface): a new
// elementwise device op needs no code here, only a kernel registered in the
// runtime.
//
// In cost-only mode (estimateDeviceProgram) the same schedule runs on shapes
// alone: buffers hold a dtype and a shape but no data, no arithmetic is
// deferred and no ring chunk is copied. Timing, hazards and the report depend
// on regions and sizes only, so they are those of the numeric run.
//
//===----------------------------------------------------------------------===//

#include "kb/Device/ByteArithmetic.h"
#include "kb/Device/CostModel.h"
#include "kb/Dialect/GemmTile/IR/GemmTileOps.h"
#include "kb/Dialect/KB/IR/KBOps.h"
#include "kb/Dialect/KB/IR/OpOrigin.h"
#include "kb/Executor/Execute.h"
#include "kb/Executor/RegionKernels.h"
#include "kb/Runtime/GemmBatch.h"
#include "kb/Runtime/HostThreads.h"
#include "kb/Runtime/Kernels.h"
#include "kb/Runtime/PackedWeights.h"
#include "kb/Runtime/TransformerKernels.h"

#include "Reduction.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/MathExtras.h"

#include <array>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <numeric>
#include <vector>

using namespace mlir;
using namespace kb;
using namespace kb::exec;
namespace gt = kb::gemm_tile;
using runtime::DType;
using runtime::HostTensor;

std::string kb::exec::trackName(int64_t track, int64_t pesPerCube) {
  if (track >= kLinkTrack)
    return "ring link";
  if (track >= kDMATrackBase)
    return "cube " + std::to_string(track - kDMATrackBase) + " / DMA";
  return "cube " + std::to_string(track / pesPerCube) + " / pe " +
         std::to_string(track % pesPerCube);
}

namespace {
/// An asynchronous op issued and not yet retired by a wait.
struct Token {
  double end = 0;
  Operation *op = nullptr;
  /// The op left work for the host to run at the rank's next flush. A
  /// relay's copy into a buffer that only such copies fill is recorded when
  /// issued and leaves none.
  bool hostWork = true;
};

/// A region of a buffer that an un-waited async op reads or writes.
/// Kept inline, so that an access is plain data: a whole model's estimate
/// records millions, and lists of them grow, shrink and move at every wait.
/// A region of more dimensions is recorded as the whole buffer (it then
/// overlaps every other access: a stricter check, never a missed race).
struct Access {
  static constexpr size_t kMaxDims = 4;
  int64_t token;
  // Made by a ring step, which the link runs in order after the ring steps
  // before it.
  bool linkOrdered = false;
  // 0: the whole buffer.
  uint8_t dims = 0;
  std::array<int64_t, kMaxDims> offsets{}, sizes{};

  Access(int64_t token, ArrayRef<int64_t> regionOffsets,
         ArrayRef<int64_t> regionSizes, bool linkOrdered)
      : token(token), linkOrdered(linkOrdered) {
    if (regionSizes.size() > kMaxDims ||
        regionOffsets.size() != regionSizes.size())
      return;
    dims = static_cast<uint8_t>(regionSizes.size());
    llvm::copy(regionOffsets, offsets.begin());
    llvm::copy(regionSizes, sizes.begin());
  }
  ArrayRef<int64_t> offsetsRef() const { return {offsets.data(), dims}; }
  ArrayRef<int64_t> sizesRef() const { return {sizes.data(), dims}; }
};

struct Buffer {
  HostTensor tensor;
  int64_t cube = 0;
  // A 2-D piece of a global input that is only read by gemms needs no copy:
  // its element (i, j) is view[i * viewStride + j], inside the global tensor,
  // and `tensor` holds its dtype and shape but no data. Any other use copies
  // it first (Machine::bufferOf). A half global input (f16 kept 16-bit)
  // gives a halfView instead, which a gemm reads as its B operand and
  // widens as it reads.
  const float *view = nullptr;
  const uint16_t *halfView = nullptr;
  int64_t viewStride = 0;
  // A half view's global input and element offset in it, so that a gemm
  // reading it as A can view the input's one widened copy instead
  // (Machine::widenedInput), which `widenedCopy` keeps alive.
  int64_t input = -1, viewOffset = 0;
  std::shared_ptr<const runtime::TensorData> widenedCopy;
  // An op that reads a view as its own data (a norm or an add reading the
  // residual) reads `shared`: the piece copied (widened, if half) out of the
  // global input once for every buffer of every rank that holds the same
  // piece (Machine::readOf). A replicated input is then one f32 copy, not
  // one per cube and rank. It is never written: a write copies the view out
  // into the buffer's own data first (bufferOf), and later reads read that.
  std::shared_ptr<const HostTensor> shared;
  // A 2-D view of an input, counted among its piece's holders
  // (Machine::sharedPieces) until it is released.
  bool sharer = false;
  // A buffer that a wait's copies filled exactly as they filled another
  // (the same sources, regions and shape: a DMA broadcast of one band to
  // every cube), or that a relay's copies filled from the same regions
  // (Machine::relayCopy), views that buffer's data instead of holding its
  // own (Machine::shareCopies): `viewOf` is the buffer it views, `viewers` the
  // buffers viewing this one. Before the viewed buffer is used otherwise or
  // freed, its data passes to a viewer (Machine::handOver).
  int64_t viewOf = -1;
  std::vector<int64_t> viewers;
  // Pending work reads this buffer's tensor in place of a viewer's
  // (readOf): it is not handed over before that work has run.
  bool pinned = false;
  // An allocation's data is made (zero) when an op first uses it and freed
  // at the first wait after its last use (Machine::releaseDead), so a
  // program's host memory is what is live, not every buffer it allocates.
  bool allocation = false, released = false;
  std::vector<Access> writers, readers;
  // In its rank's `accessed` list (it has accesses a wait may retire).
  bool accessed = false;
  // An argument's piece (its tensor, offsets and shape) while no op has
  // taken the buffer to write (bufferOf): two buffers with the same origin
  // hold the same numbers (Machine::contentOf).
  std::vector<int64_t> origin;
  // Counts the ops that took the buffer to change it (bufferOf): a relay's
  // replica of a region holds that region's data while neither the replica
  // nor the region's buffer has been taken since (Rank::Replica).
  uint64_t version = 0;
};

/// Whether two regions (empty sizes: the whole buffer) overlap.
bool overlaps(ArrayRef<int64_t> aOffsets, ArrayRef<int64_t> aSizes,
              ArrayRef<int64_t> bOffsets, ArrayRef<int64_t> bSizes) {
  if (aSizes.empty() || bSizes.empty())
    return true;
  for (size_t d = 0; d < aSizes.size() && d < bSizes.size(); ++d)
    if (aOffsets[d] + aSizes[d] <= bOffsets[d] ||
        bOffsets[d] + bSizes[d] <= aOffsets[d])
      return false;
  return true;
}

struct Rank {
  int64_t index;
  size_t pc = 0;
  double clock = 0;
  llvm::DenseMap<Value, int64_t> buffers; // SSA value -> buffer index
  llvm::DenseMap<Value, int64_t> tokens;  // SSA value -> token index
  // A deque: buffers never move, so deferred work can hold on to them.
  std::deque<Buffer> heap;
  // Arithmetic of the async ops issued since the last wait: independent of
  // each other (the hazard check guarantees it), run together at the wait.
  std::vector<std::function<void()>> pending;
  // The DMAs among them, run at the wait after shareCopies.
  struct Copy {
    int64_t source, target; // buffer indices
    const HostTensor *from;
    HostTensor *to;
    SmallVector<int64_t, 2> fromOffsets, toOffsets, sizes;
    int64_t elements;
    // Ordered after other copies (a DMA's `after`): it may read what an
    // earlier copy of the batch writes, or overwrite what one reads.
    bool ordered = false;
  };
  std::vector<Copy> pendingCopies;
  // The gemm tiles among them, joined and split at the wait
  // (runtime::joinGemms, groupGemms, stackGemms, splitGemms).
  std::vector<runtime::GemmTask> pendingGemms;
  // The A operands of pendingGemms made of pieces (Machine::gemmPieces),
  // one list per distinct set of pieces.
  std::map<std::vector<int64_t>, runtime::APieces> pendingPieces;
  // Reused blocks (Machine::materialize) to zero before the pending work
  // runs, on the host threads: (first element, count).
  std::vector<std::pair<float *, size_t>> pendingZero;
  // The buffers pinned by the pending work (Buffer::pinned).
  std::vector<int64_t> pinned;
  // The elementwise and row ops among the pending work: the item of
  // `pending` each is, its output buffer and what it computes (its kernel
  // and the contents and regions it reads, where it writes), for
  // Machine::shareResults.
  struct Result {
    size_t item;
    int64_t target, elements;
    std::vector<int64_t> key;
  };
  std::vector<Result> pendingResults;
  // Allocations that only elementwise and row ops of the pending work
  // write so far, whose data is made at the wait (Machine::flush), after
  // shareResults: a buffer that views another's numbers never gets its own.
  std::vector<int64_t> pendingData;
  // The buffers the pending elementwise and row ops fill completely: a
  // reused block among them is not zeroed (shareResults).
  std::vector<int64_t> filledByResults;
  // A relay's forwarded buffers (Machine::relayCopy): a buffer that only
  // copies fill, each copy reading a region of a buffer with data, or of
  // another such buffer, which stands for the region it was filled from.
  // Its copies do not run until something else uses it (a deferred
  // replica, realizeReplica); once they fill it, a buffer filled from the
  // same regions views the first one's data, across waits, where
  // shareCopies sees one wait's copies. A part is valid while its root's
  // version is the one it was read at: taking the root to change it first
  // realizes the deferred replicas that read it (replicaReaders).
  struct ReplicaPart {
    SmallVector<int64_t, 2> toOffsets, sizes, rootOffsets;
    int64_t root;
    uint64_t rootVersion;
  };
  struct Replica {
    std::vector<ReplicaPart> parts;
    int64_t elements = 0;
    // Not yet copied: its data is made by realizeReplica.
    bool deferred = true;
    // The buffer had data of its own when the first part came (the band a
    // cube computed, into which the relay gathers the other cubes' bands):
    // its rows no part covers are that data, and its parts are whole rows
    // (canRelay). It is never filled (fillReplica), only realized.
    bool partial = false;
    // Once filled, its data is its parts' while its own version is this.
    uint64_t version = 0;
  };
  llvm::DenseMap<int64_t, Replica> replicas;
  // The deferred replicas reading each root.
  llvm::DenseMap<int64_t, SmallVector<int64_t, 4>> replicaReaders;
  // The replicas filled, by what fills them (shape, dtype, parts): the
  // buffer and its version then.
  std::map<std::vector<int64_t>, std::pair<int64_t, uint64_t>> replicaOwners;
  // The asynchronous ops issued and not yet retired by a wait, by token id
  // (ids count up over the run: nextToken). A wait drops the ops it
  // retires, and with them their accesses (retireWaitedAccesses): a rank
  // holds what is in flight, not every op of the run (a whole model's
  // worth). An access whose token is not here was waited for.
  llvm::DenseMap<int64_t, Token> liveTokens;
  int64_t nextToken = 0;
  /// Whether the op of token id `token` has been retired by a wait.
  bool retired(int64_t token) const { return !liveTokens.count(token); }
  // The buffers with recorded accesses: a wait retires those of its tokens
  // here, so that accesses no check will ask about again do not pile up
  // (a whole model's worth, on every rank).
  std::vector<int64_t> accessed;
  // PEs by track (cube * pesPerCube + pe), only those the program uses: a
  // device of thousands of cubes of thousands of PEs costs nothing for the
  // PEs it leaves idle.
  struct Engine {
    double free = 0, busy = 0;
  };
  llvm::DenseMap<int64_t, Engine> pes;
  std::vector<double> dmaFree, dmaBusy;
  // The SIP's mesh links between cubes (from * cubes + to, one direction),
  // when it has a mesh: transfers that share a link run one after another.
  llvm::DenseMap<int64_t, double> meshLinkFree;
  // The SIP's ring link runs its steps in order, one at a time.
  double linkFree = 0;
  SIPStats stats;
  bool done = false;
  // Ops before this index have had their dead buffers released.
  size_t releasedUpTo = 0;
  // Cost-only: slots of `heap` whose buffers are dead, for the next
  // allocation (Machine::releaseShapes).
  std::vector<int64_t> freeSlots;
  // With more than one host thread, the arithmetic up to the wait the rank
  // last yielded at runs on the host threads while the other ranks are
  // simulated (Machine::startFlush); the wait completes when the rank next
  // steps (Machine::joinRank). Last, so that it is joined before the
  // buffers its work uses are destroyed.
  Operation *yieldedAt = nullptr;
  // When its batch was started, in the run's order of batches.
  int64_t startedAt = 0;
  // The most async ops in flight and buffers held at once (DeviceRun's
  // maxOutstandingOps, maxShapeBuffers: the ranks' maxima).
  int64_t maxOutstandingOps = 0, maxShapeBuffers = 0;
  // Cost-only ranks stepped on host threads at once (Machine::stepRanks):
  // the events (and their details) recorded since the round began, which
  // join the run's timeline in rank order when it ends, as one thread
  // stepping the ranks in turn records them.
  std::vector<TraceEvent> events;
  std::vector<TraceDetail> details;
  std::unique_ptr<runtime::HostBatch> inFlight;
};

/// One ring step's data movement on the host (Machine::ringStep): what
/// each rank sends, read before any rank receives, then reduced into or
/// copied over its neighbour's chunk.
struct RingMove {
  struct Span {
    const float *data;
    int64_t length;
  };
  struct Target {
    float *data;
    int64_t length;
    DType dtype;
  };
  std::optional<ReductionKind> reduction;
  // The reduce-scatter's last step completes the reduction.
  bool last = false;
  // A bf16 partial sum is rounded once, when complete.
  bool wideReduce = false;
  int64_t ranks = 0;
  std::vector<std::vector<Span>> sent;       // by sending rank
  std::vector<std::vector<Target>> received; // by receiving rank

  /// `staging` holds what each rank sends: kept across steps (cleared, not
  /// freed), since fresh vectors each step cost the kernel's page clearing.
  void run(std::vector<std::vector<float>> &staging) const {
    staging.resize(ranks);
    for (int64_t r = 0; r < ranks; ++r) {
      staging[r].clear();
      for (const Span &s : sent[r])
        staging[r].insert(staging[r].end(), s.data, s.data + s.length);
    }
    for (int64_t r = 0; r < ranks; ++r) {
      const float *in = staging[(r + ranks - 1) % ranks].data();
      for (const Target &t : received[r]) {
        const float *src = in;
        in += t.length;
        if (!reduction) {
          std::copy(src, src + t.length, t.data);
          continue;
        }
        reduceInto(t.data, src, t.length, *reduction);
        if (last)
          finishReduction(t.data, t.length, *reduction, ranks);
        // The chunks a wide partial sum passed through are overwritten by
        // the all-gather, or, along a dimension, belong to other ranks.
        if (!wideReduce || last)
          runtime::roundBufferToDType(t.data, t.length, t.dtype);
      }
    }
  }
};

class Machine {
public:
  Machine(const Program &program, const gt::DeviceDescription &device,
          DeviceRun &run, int threads, const ProgressFn &progress,
          bool costOnly, bool traceDetails)
      : program(program), device(device), run(run), progress(progress),
        threads(std::max(threads, 1)), costOnly(costOnly),
        traceDetails(traceDetails) {
    // Each op's site: the kernel or kb op, layer and user line its
    // location names, the row of the per-op table it counts in.
    llvm::StringMap<int64_t> siteIndex;
    // The site by location and op name: the ops of one kernel call share
    // their location, so a whole model's ops make a few thousand sites'
    // names, not one per op.
    llvm::DenseMap<std::pair<const void *, const void *>, int64_t> siteOf;
    for (Operation &op : program.entry.getBody().front()) {
      ops.push_back(&op);
      for (Value v : op.getOperands())
        lastUse[v] = ops.size() - 1;
      auto [known, first] = siteOf.try_emplace(
          {op.getLoc().getAsOpaquePointer(),
           op.getName().getAsOpaquePointer()},
          0);
      if (!first) {
        sites[&op] = known->second;
      } else {
        OpOrigin origin = originOf(op.getLoc());
        OpSite site{origin.op.empty() ? op.getName().stripDialect().str()
                                      : origin.op,
                    origin.layer, origin.where()};
        std::string key = site.op + '\0' + site.layer + '\0' + site.where;
        auto [it, fresh] = siteIndex.try_emplace(key, run.sites.size());
        if (fresh)
          run.sites.push_back(std::move(site));
        sites[&op] = known->second = it->second;
      }
      // Each records one event per rank.
      if (isa<gt::PEComputeOpInterface, gt::DMAOp, gt::GatherRowsOp,
              gt::RingStepOpInterface>(op))
        ++eventsPerRank;
      ringStepAt.push_back(isa<gt::RingStepOpInterface>(op));
    }
    if (device.cubes <= kRoutesKept)
      for (int64_t from = 0; from < device.cubes; ++from)
        for (int64_t to = 0; to < device.cubes; ++to)
          routes.push_back(kb::meshRoute(device, from, to));
  }

  llvm::Expected<SmallVector<HostTensor>> execute(ArrayRef<HostTensor> inputs);

private:
  /// The global results, from each rank's returned pieces.
  llvm::Error gatherResults(SmallVector<HostTensor> &results);
  llvm::Error checkStatically();
  llvm::Error loadInputs(ArrayRef<HostTensor> inputs);
  /// Runs `rank` until a yield point, a ring step or the end. A wait is a
  /// yield point when its arithmetic runs on the host threads while the
  /// other ranks are simulated (startFlush); with one thread, or none to
  /// run (cost-only), the rank goes on to its ring step, and the buffers it
  /// frees on the way are kept for the next rank's (docs/design/0019).
  llvm::Error step(Rank &rank);
  /// Steps every rank not done up to its next ring step or yield.
  llvm::Error stepRanks();
  llvm::Error issue(Rank &rank, Operation *op);
  /// Issues asynchronous PE work, whatever the op: its regions, kernel and
  /// cost come from gt::PEComputeOpInterface.
  llvm::Error issueCompute(Rank &rank, gt::PEComputeOpInterface op);
  llvm::Error issueDMA(Rank &rank, gt::DMAOp op);
  /// A row gather by token id: checks the ids now (their buffer is final,
  /// the hazard check guarantees it) and books the copy on the DMA engine.
  llvm::Error issueGatherRows(Rank &rank, gt::GatherRowsOp op);
  /// Books `duration` of `op` on an engine (a PE or a cube's DMA engine):
  /// it starts once both the rank and the engine are free.
  /// `event` has the engine, the work and the region; this fills in the
  /// site, rank, track and times.
  void book(Rank &rank, Operation *op, Value token, double &engineFree,
            double &engineBusy, int64_t track, double duration,
            TraceEvent event, TraceDetail detail);
  /// Books a DMA of `bytes` from cube `from` to cube `to` on the target
  /// cube's DMA engine and, on a mesh, on the links of its route.
  /// `notBefore`: when the copies it is ordered after end.
  void bookDMA(Rank &rank, Operation *op, Value token, int64_t from, int64_t to,
               int64_t bytes, TraceEvent event, TraceDetail detail,
               double notBefore = 0);
  llvm::Error ringStep(gt::RingStepOpInterface op);
  /// Runs the rank's deferred arithmetic on up to `threads` host threads.
  void flush(Rank &rank);
  /// Starts the rank's deferred arithmetic on the host threads and returns
  /// without waiting for it: ranks are independent between collectives, so
  /// the next rank's ops are simulated meanwhile (the simulation is serial;
  /// on a 4-rank MLP it was a fifth of a 2-thread run, with the second
  /// thread idle).
  void startFlush(Rank &rank);
  /// Waits for the rank's started arithmetic, helping with it, and
  /// completes the wait the rank yielded at.
  void joinRank(Rank &rank);
  /// Joins every rank whose arithmetic is under way; whether there was one.
  /// Joins the ranks whose arithmetic is done, without waiting for any.
  bool joinFinishedRanks();
  /// Joins the rank whose batch started first, unless it is the only one
  /// running.
  bool joinOldestRank();
  /// Starts the data movement of the ring steps issued so far on the host
  /// threads, in their order, after the movement already under way.
  void startRingMoves();
  /// Returns when every issued ring step's data has moved.
  void joinRingMoves();
  /// Gathers the rank's deferred arithmetic for a flush: `zero` clears the
  /// reused blocks it will use and runs first, `work` after it.
  void collectFlush(Rank &rank, std::vector<std::function<void()>> &zero,
                    std::vector<std::function<void()>> &work);
  /// Ends a flush of the rank's collected work, once it has run.
  void endFlush(Rank &rank);
  /// Retires what `wait` waits for, the rank's arithmetic up to it done,
  /// and releases the buffers dead before the op at `upTo`.
  void completeWait(Rank &rank, Operation *wait, size_t upTo);
  /// Whether every op `wait` waits for left no host work (Token::hostWork):
  /// then the wait needs no flush, and the rank no yield. A mesh relay's
  /// hops wait for each part before forwarding it; flushing there cut the
  /// rank's tiles into batches that the rank, stepping again, joined at
  /// once (the 512-token MLP at 2 host threads: 0.21 -> 0.28 s).
  bool waitsForRecordsOnly(Rank &rank, Operation *wait) const;
  /// Retires the ops `wait` waits for: the clock passes their ends.
  void retireWaited(Rank &rank, Operation *wait);
  /// Zeroes the reused blocks the rank's pending work will use.
  void zeroPending(Rank &rank);
  /// The slices of zeroPending's work, for the host threads.
  void collectZero(Rank &rank, std::vector<std::function<void()>> &zero);
  /// Fills in each rank's collectiveHiddenSeconds from the timeline: the
  /// ring time during which one of the rank's PEs computes.
  void collectiveHiddenSeconds();
  /// Checks that `op` may read or write the region (offsets/sizes; empty for
  /// the whole buffer) of `buffer` now, and records the access under `token`
  /// (-1 for a synchronous op).
  /// Accesses under the tokens of `orderedAfter` are no conflict: the op
  /// starts after them (a DMA's `after`), nor, for a ring step
  /// (`linkOrdered`), the accesses of the ring steps before it.
  llvm::Error touch(Rank &rank, Operation *op, Value buffer, bool write,
                    int64_t token, ArrayRef<int64_t> offsets = {},
                    ArrayRef<int64_t> sizes = {},
                    ArrayRef<int64_t> orderedAfter = {},
                    bool linkOrdered = false);
  /// Drops the accesses of waited tokens, which touch() would skip anyway.
  static constexpr size_t kKeptAccesses = 16;
  void retireWaitedAccesses(Rank &rank) {
    llvm::erase_if(rank.accessed, [&](int64_t index) {
      Buffer &buffer = rank.heap[index];
      for (std::vector<Access> *list : {&buffer.writers, &buffer.readers}) {
        llvm::erase_if(*list,
                       [&](const Access &a) { return rank.retired(a.token); });
        // An emptied long list gives its memory back (a whole model's
        // worth, else); a short one keeps it for the next wait's accesses.
        if (list->empty() && list->capacity() > kKeptAccesses)
          std::vector<Access>().swap(*list);
      }
      buffer.accessed = !buffer.writers.empty() || !buffer.readers.empty();
      return !buffer.accessed;
    });
  }
  /// The buffer of `v`, its data copied out of the global input first if it
  /// was a view: every use but a gemm's operands needs the buffer's own data.
  /// With `deferData`, an allocation without data gets it at the wait
  /// (Rank::pendingData): its writer is an elementwise or row op, which
  /// takes the output's data when it runs.
  Buffer &bufferOf(Rank &rank, Value v, Rank *deferZero = nullptr,
                   bool deferData = false) {
    int64_t index = rank.buffers[v];
    Buffer &buffer = rank.heap[index];
    // Its data may change: replicas of it take the current data first.
    takeReplicas(rank, index);
    // Its data may change: buffers viewing it take the current data first.
    handOver(rank, index, /*keep=*/true);
    buffer.viewOf = -1;
    buffer.origin.clear();
    if (buffer.view) {
      const HostTensor &t = buffer.tensor;
      buffer.tensor.data.reserve(t.numElements());
      for (int64_t i = 0; i < t.shape[0]; ++i)
        buffer.tensor.data.insert(buffer.tensor.data.end(),
                                  buffer.view + i * buffer.viewStride,
                                  buffer.view + i * buffer.viewStride +
                                      t.shape[1]);
      buffer.view = nullptr;
    } else if (buffer.halfView) {
      ++run.hostWidenings;
      HostTensor &t = buffer.tensor;
      t.data.resize(t.numElements());
      for (int64_t i = 0; i < t.shape[0]; ++i)
        runtime::halvesToFloats(buffer.halfView + i * buffer.viewStride,
                                t.data.data() + i * t.shape[1], t.shape[1]);
      buffer.halfView = nullptr;
    }
    if (deferData && buffer.allocation && !costOnly &&
        buffer.tensor.data.empty()) {
      if (!llvm::is_contained(rank.pendingData, index))
        rank.pendingData.push_back(index);
      return buffer;
    }
    return materialize(buffer, deferZero);
  }
  /// The data of `v` for an op that only reads it: a view of a global
  /// input reads its shared piece (Buffer::shared, made on first use);
  /// anything else is bufferOf's.
  const HostTensor &readOf(Rank &rank, Value v, Rank *deferZero = nullptr) {
    realizeReplica(rank, rank.buffers[v]);
    Buffer &buffer = rawBufferOf(rank, v);
    // A buffer others view keeps its data while it is only read.
    if (buffer.input < 0 && !buffer.view && !buffer.tensor.data.empty())
      return buffer.tensor;
    // A viewer reads the buffer it views, which keeps its tensor until the
    // work has run (handOver). Callers take every buffer they write with
    // bufferOf before they read any with readOf, so that no pending work of
    // the op itself is lost to a flush.
    if (buffer.viewOf >= 0 && buffer.view) {
      Buffer &owner = rank.heap[buffer.viewOf];
      if (!owner.pinned) {
        owner.pinned = true;
        rank.pinned.push_back(buffer.viewOf);
      }
      return owner.tensor;
    }
    if (costOnly || buffer.input < 0 || (!buffer.view && !buffer.halfView))
      return bufferOf(rank, v, deferZero).tensor;
    if (!buffer.shared)
      buffer.shared = sharedPiece(buffer);
    return *buffer.shared;
  }
  /// The piece that view `buffer` shows, as a dense f32 tensor: the one
  /// copy every buffer showing the same rows and columns of the same input
  /// shares, kept until the last of them (every rank's) is released.
  std::shared_ptr<const HostTensor> sharedPiece(const Buffer &buffer) {
    const HostTensor &t = buffer.tensor;
    std::shared_ptr<const HostTensor> &slot =
        sharedPieces[pieceKey(buffer)].piece;
    if (slot)
      return slot;
    auto piece = std::make_shared<HostTensor>();
    piece->dtype = t.dtype;
    piece->shape = t.shape;
    int64_t rows = t.shape[0], cols = t.shape[1];
    piece->data.resize(rows * cols);
    if (buffer.halfView)
      ++run.hostWidenings;
    // In bands of rows on the host threads: the fresh pages are cleared by
    // the thread that writes them.
    std::vector<std::function<void()>> work;
    int64_t band = std::max<int64_t>(1, (int64_t{1} << 18) / std::max<int64_t>(cols, 1));
    float *out = piece->data.data();
    for (int64_t from = 0; from < rows; from += band)
      work.push_back([&, from] {
        for (int64_t i = from; i < std::min(rows, from + band); ++i) {
          if (buffer.halfView)
            runtime::halvesToFloats(buffer.halfView + i * buffer.viewStride,
                                    out + i * cols, cols);
          else
            std::copy_n(buffer.view + i * buffer.viewStride, cols,
                        out + i * cols);
        }
      });
    runtime::runOnHostThreads(work, threads);
    slot = piece;
    return piece;
  }
  /// Passes the data of buffer `index` to the first buffer still viewing it,
  /// which the others then view, so that the data the pending and later work
  /// reads stays where it is; with `keep`, the buffer gets a copy of it.
  void handOver(Rank &rank, int64_t index, bool keep) {
    Buffer &buffer = rank.heap[index];
    if (buffer.viewers.empty())
      return;
    // Pending work reads its tensor for a viewer: the heir takes the data
    // (the vector, not the tensor), so that work runs first.
    if (buffer.pinned)
      flush(rank);
    std::vector<int64_t> viewers;
    for (int64_t v : buffer.viewers)
      if (rank.heap[v].viewOf == index && rank.heap[v].view)
        viewers.push_back(v);
    buffer.viewers.clear();
    if (viewers.empty())
      return;
    Buffer &heir = rank.heap[viewers.front()];
    heir.tensor.data = std::move(buffer.tensor.data);
    runtime::TensorData().swap(buffer.tensor.data);
    heir.view = nullptr;
    heir.viewOf = -1;
    for (int64_t v : ArrayRef(viewers).drop_front())
      rank.heap[v].viewOf = viewers.front();
    heir.viewers.assign(viewers.begin() + 1, viewers.end());
    if (keep)
      buffer.tensor.data = heir.tensor.data;
  }
  /// Where region (offsets, sizes) of buffer `index` holds its data from,
  /// as pieces that tile it, each a box of a root buffer (ReplicaPart, its
  /// offsets relative to the region): for a relay's replica (Rank::Replica),
  /// the regions of the buffers its parts were filled from, else the buffer
  /// itself (the one it views, for a viewer), whole. False where there is
  /// no data to read: a deferred replica's region its parts do not all
  /// cover with their roots unchanged, a view of an input, an allocation not
  /// yet written or zeroed only by the pending work.
  bool replicaPieces(Rank &rank, int64_t index, ArrayRef<int64_t> offsets,
                     ArrayRef<int64_t> sizes,
                     SmallVectorImpl<Rank::ReplicaPart> &pieces) {
    pieces.clear();
    auto it = rank.replicas.find(index);
    if (it != rank.replicas.end() &&
        (it->second.deferred ||
         it->second.version == rank.heap[index].version)) {
      int64_t covered = 0;
      bool stale = false;
      for (const Rank::ReplicaPart &p : it->second.parts) {
        int64_t lo[2], hi[2];
        for (int d = 0; d < 2; ++d) {
          lo[d] = std::max(offsets[d], p.toOffsets[d]);
          hi[d] = std::min(offsets[d] + sizes[d], p.toOffsets[d] + p.sizes[d]);
        }
        if (lo[0] >= hi[0] || lo[1] >= hi[1])
          continue;
        const Buffer &from = rank.heap[p.root];
        if (from.tensor.data.empty() || from.version != p.rootVersion) {
          stale = true;
          break;
        }
        Rank::ReplicaPart piece;
        piece.root = p.root;
        piece.rootVersion = p.rootVersion;
        for (int d = 0; d < 2; ++d) {
          piece.toOffsets.push_back(lo[d] - offsets[d]);
          piece.sizes.push_back(hi[d] - lo[d]);
          piece.rootOffsets.push_back(p.rootOffsets[d] + lo[d] -
                                      p.toOffsets[d]);
        }
        covered += piece.sizes[0] * piece.sizes[1];
        pieces.push_back(std::move(piece));
      }
      if (!stale && it->second.partial && it->second.deferred &&
          !ownRowPieces(rank, index, it->second, offsets, sizes, covered,
                        pieces))
        stale = true;
      if (!stale && covered == sizes[0] * sizes[1])
        return true;
      pieces.clear();
      if (it->second.deferred)
        return false;
    }
    while (rank.heap[index].viewOf >= 0 && rank.heap[index].view)
      index = rank.heap[index].viewOf;
    const Buffer &buffer = rank.heap[index];
    if (buffer.view || buffer.halfView ||
        buffer.tensor.data.empty() || buffer.tensor.shape.size() != 2 ||
        llvm::any_of(rank.pendingZero, [&](const auto &block) {
          return block.first == buffer.tensor.data.data();
        }))
      return false;
    Rank::ReplicaPart whole;
    whole.root = index;
    whole.rootVersion = buffer.version;
    whole.toOffsets = {0, 0};
    whole.sizes.assign(sizes.begin(), sizes.end());
    whole.rootOffsets.assign(offsets.begin(), offsets.end());
    pieces.push_back(std::move(whole));
    return true;
  }
  /// Appends to `pieces` the rows of region (offsets, sizes) of partial
  /// replica `index` that none of its parts covers, as pieces of the
  /// buffer's own data, adding their elements to `covered`. False if that
  /// data cannot be read in place.
  bool ownRowPieces(Rank &rank, int64_t index, const Rank::Replica &replica,
                    ArrayRef<int64_t> offsets, ArrayRef<int64_t> sizes,
                    int64_t &covered,
                    SmallVectorImpl<Rank::ReplicaPart> &pieces) {
    const Buffer &buffer = rank.heap[index];
    if (buffer.view || buffer.halfView || buffer.tensor.data.empty())
      return false;
    // The parts' row ranges, sorted; the rows between them are the
    // buffer's own.
    SmallVector<std::pair<int64_t, int64_t>, 16> taken;
    for (const Rank::ReplicaPart &p : replica.parts)
      taken.push_back({p.toOffsets[0], p.toOffsets[0] + p.sizes[0]});
    llvm::sort(taken);
    int64_t row = offsets[0], end = offsets[0] + sizes[0];
    auto own = [&](int64_t from, int64_t to) {
      if (from >= to)
        return;
      Rank::ReplicaPart piece;
      piece.root = index;
      piece.rootVersion = buffer.version;
      piece.toOffsets = {from - offsets[0], 0};
      piece.sizes = {to - from, sizes[1]};
      piece.rootOffsets = {from, offsets[1]};
      covered += piece.sizes[0] * piece.sizes[1];
      pieces.push_back(std::move(piece));
    };
    for (auto [lo, hi] : taken) {
      own(row, std::min(lo, end));
      row = std::max(row, hi);
    }
    own(row, end);
    return true;
  }
  /// Whether a copy of `sizes` from `source` at `from` into `target` at
  /// `to` can be a part of the target's replica instead of running
  /// (relayCopy), and the root region it reads: the target has only ever
  /// been filled so (a relay's box forwarded hop by hop: its parts are
  /// copies of copies). Not if the target had other data or another use,
  /// or the region is filled twice.
  bool canRelay(Rank &rank, int64_t source, int64_t target,
                ArrayRef<int64_t> from, ArrayRef<int64_t> to,
                ArrayRef<int64_t> sizes,
                SmallVectorImpl<Rank::ReplicaPart> &pieces) {
    Buffer &dst = rank.heap[target];
    if (costOnly || source == target || !dst.allocation || dst.released ||
        dst.tensor.shape.size() != 2 || sizes.size() != 2 ||
        rank.heap[source].tensor.dtype != dst.tensor.dtype)
      return false;
    auto it = rank.replicas.find(target);
    bool deferred = it != rank.replicas.end() && it->second.deferred;
    bool partial = deferred ? it->second.partial : !dst.tensor.data.empty();
    if (!deferred &&
        (dst.view || dst.halfView || dst.viewOf >= 0 || !dst.viewers.empty() ||
         llvm::is_contained(rank.pendingData, target)))
      return false;
    // Into a buffer with data of its own, whole rows only, and not into a
    // block the pending work is still to zero.
    if (partial && (to[1] != 0 || sizes[1] != dst.tensor.shape[1] ||
                    llvm::any_of(rank.pendingZero, [&](const auto &block) {
                      return block.first == dst.tensor.data.data();
                    })))
      return false;
    if (deferred && llvm::any_of(it->second.parts, [&](const auto &p) {
          return overlaps(p.toOffsets, p.sizes, to, sizes);
        }))
      return false;
    if (!replicaPieces(rank, source, from, sizes, pieces))
      return false;
    // A piece read from the target itself where it goes (a band relayed
    // back to the cube that made it) is already there: no part, in a
    // buffer with data of its own; anything else from the target, no relay.
    auto same = [&](const Rank::ReplicaPart &piece) {
      return piece.root == target && piece.rootVersion == dst.version &&
             piece.rootOffsets[0] == to[0] + piece.toOffsets[0] &&
             piece.rootOffsets[1] == to[1] + piece.toOffsets[1];
    };
    if (partial) {
      llvm::erase_if(pieces, same);
      // Nor over rows that a deferred replica reads from it.
      for (const Rank::ReplicaPart &piece : pieces)
        if (waitingReadersOf(rank, target, {to[0] + piece.toOffsets[0], 0},
                             piece.sizes))
          return false;
    }
    return llvm::none_of(pieces, [&](const Rank::ReplicaPart &piece) {
      return piece.root == target;
    });
  }
  /// Whether a deferred replica reads rows of region (to, sizes) of buffer
  /// `index` as a root.
  bool waitingReadersOf(Rank &rank, int64_t index, ArrayRef<int64_t> to,
                        ArrayRef<int64_t> sizes) {
    auto readers = rank.replicaReaders.find(index);
    if (readers == rank.replicaReaders.end())
      return false;
    for (int64_t reader : readers->second) {
      if (!isDeferred(rank, reader))
        continue;
      for (const Rank::ReplicaPart &p : rank.replicas[reader].parts)
        if (p.root == index && overlaps(p.rootOffsets, p.sizes, to, sizes))
          return true;
    }
    return false;
  }
  /// Records a copy canRelay allowed (its pieces, at `to` in the target) as
  /// parts of the target's replica; a replica its parts fill completely is
  /// filled (fillReplica).
  void relayCopy(Rank &rank, int64_t target, ArrayRef<int64_t> to,
                 int64_t elements, ArrayRef<Rank::ReplicaPart> pieces) {
    auto [it, fresh] = rank.replicas.try_emplace(target);
    Rank::Replica &replica = it->second;
    if (fresh || !replica.deferred) {
      replica = Rank::Replica();
      replica.partial = !rank.heap[target].tensor.data.empty();
    }
    for (const Rank::ReplicaPart &piece : pieces) {
      Rank::ReplicaPart part = piece;
      for (int d = 0; d < 2; ++d)
        part.toOffsets[d] += to[d];
      SmallVector<int64_t, 4> &readers = rank.replicaReaders[part.root];
      if (!llvm::is_contained(readers, target))
        readers.push_back(target);
      replica.parts.push_back(std::move(part));
    }
    replica.elements += elements;
    if (!replica.partial &&
        replica.elements == rank.heap[target].tensor.numElements())
      fillReplica(rank, target);
  }
  /// A replica its parts fill completely: it views the buffer filled from
  /// the same regions before, if that still holds them, else gets its data.
  void fillReplica(Rank &rank, int64_t index) {
    Rank::Replica &replica = rank.replicas[index];
    Buffer &buffer = rank.heap[index];
    // Parts that continue each other in the target and in one root are one
    // part: a box forwarded in parts fills as one copied whole does.
    std::vector<Rank::ReplicaPart> &parts = replica.parts;
    auto byTarget = [](const auto &x, const auto &y) {
      return x.toOffsets < y.toOffsets;
    };
    for (bool merged = true; merged;) {
      merged = false;
      llvm::sort(parts, byTarget);
      for (size_t i = 0; i < parts.size(); ++i)
        for (size_t j = i + 1; j < parts.size(); ++j)
          for (int d = 0; d < 2; ++d) {
            Rank::ReplicaPart &a = parts[i], &b = parts[j];
            int e = 1 - d;
            if (a.root != b.root || a.rootVersion != b.rootVersion ||
                a.toOffsets[e] != b.toOffsets[e] || a.sizes[e] != b.sizes[e] ||
                a.rootOffsets[e] != b.rootOffsets[e] ||
                a.toOffsets[d] + a.sizes[d] != b.toOffsets[d] ||
                a.rootOffsets[d] + a.sizes[d] != b.rootOffsets[d])
              continue;
            a.sizes[d] += b.sizes[d];
            parts.erase(parts.begin() + j);
            merged = true;
            break;
          }
    }
    auto view = [&](int64_t ownerIndex) {
      Buffer &owner = rank.heap[ownerIndex];
      buffer.view = owner.tensor.data.data();
      buffer.viewStride = owner.tensor.shape[1];
      buffer.viewOf = ownerIndex;
      owner.viewers.push_back(index);
      replica.deferred = false;
      replica.version = buffer.version;
      ++run.replicaViews;
      releaseKept(rank, replica);
    };
    // A copy of all of one buffer views it (a box forwarded from a replica
    // whose own source is gone).
    if (parts.size() == 1) {
      const Rank::ReplicaPart &p = parts.front();
      const Buffer &root = rank.heap[p.root];
      if (p.rootOffsets[0] == 0 && p.rootOffsets[1] == 0 &&
          root.tensor.shape == buffer.tensor.shape && !root.released &&
          !root.view && !root.tensor.data.empty())
        return view(p.root);
    }
    std::vector<int64_t> key(buffer.tensor.shape.begin(),
                             buffer.tensor.shape.end());
    key.push_back(static_cast<int64_t>(buffer.tensor.dtype));
    for (const Rank::ReplicaPart &p : replica.parts) {
      key.insert(key.end(), p.toOffsets.begin(), p.toOffsets.end());
      key.insert(key.end(), p.sizes.begin(), p.sizes.end());
      key.push_back(p.root);
      key.push_back(static_cast<int64_t>(p.rootVersion));
      key.insert(key.end(), p.rootOffsets.begin(), p.rootOffsets.end());
    }
    auto [it, fresh] =
        rank.replicaOwners.try_emplace(std::move(key), index, buffer.version);
    if (!fresh) {
      auto [ownerIndex, version] = it->second;
      Buffer &owner = rank.heap[ownerIndex];
      if (!owner.released && owner.version == version && !owner.view &&
          !owner.tensor.data.empty())
        return view(ownerIndex);
      // An owner not yet copied stays the owner: once something makes its
      // data (realizeReplica), the replicas filled after it view that.
      if (owner.released || owner.version != version || owner.view ||
          !isDeferred(rank, ownerIndex))
        it->second = {index, buffer.version};
    }
    // Not copied yet: a gemm reads its regions where its parts read them
    // (readThroughReplica), and any other use copies them first
    // (realizeReplica).
  }
  /// Whether buffer `index` is a relay's replica whose copies have not run.
  bool isDeferred(Rank &rank, int64_t index) {
    auto it = rank.replicas.find(index);
    return it != rank.replicas.end() && it->second.deferred;
  }
  /// Makes a deferred replica's data: its parts copied from their roots,
  /// now, while the roots hold what they held when the parts were read
  /// (takeReplicas realizes a root's replicas before it changes).
  void realizeReplica(Rank &rank, int64_t index) {
    if (rank.replicas.empty())
      return;
    auto it = rank.replicas.find(index);
    if (it == rank.replicas.end() || !it->second.deferred)
      return;
    // A buffer with data of its own: the work pending on it (what wrote
    // its own rows, what reads rows the parts now overwrite) runs first.
    // The op being issued may have pinned buffers it reads in place before
    // this read (a gemm's A pieces): they stay pinned for its work.
    if (it->second.partial) {
      std::vector<int64_t> pinned = rank.pinned;
      flush(rank);
      for (int64_t p : pinned)
        if (!rank.heap[p].pinned) {
          rank.heap[p].pinned = true;
          rank.pinned.push_back(p);
        }
      it = rank.replicas.find(index);
      if (it == rank.replicas.end() || !it->second.deferred)
        return;
    }
    Rank::Replica &replica = it->second;
    Buffer &buffer = materialize(rank.heap[index], &rank);
    // A reused block is zeroed here where the parts leave it: the pending
    // work's zeroing would run after the copies.
    float *data = buffer.tensor.data.data();
    if (!rank.pendingZero.empty() && rank.pendingZero.back().first == data) {
      if (replica.elements != buffer.tensor.numElements())
        std::fill_n(data, buffer.tensor.numElements(), 0.0f);
      rank.pendingZero.pop_back();
    }
    for (const Rank::ReplicaPart &p : replica.parts)
      copyRegion(rank.heap[p.root].tensor, p.rootOffsets, buffer.tensor,
                 p.toOffsets, p.sizes);
    replica.deferred = false;
    replica.version = buffer.version;
    releaseKept(rank, replica);
  }
  /// Where a gemm reads `region` of deferred replica `index` in place: the
  /// regions of the roots its parts were copied from (replicaPieces, in
  /// `pieces`; one only, unless `severalPieces`), if each root holds its own
  /// data. The roots are pinned: they are not changed or freed before the
  /// pending work has run (takeReplicas, releaseKept, handOver flush first).
  /// The replica's copies then never run: a relay's band of activations
  /// gathered on every cube is read where the cubes made it (copying each
  /// rank's bands into fresh blocks took a tenth of a Llama-2-7B MLP's host
  /// time, with the copies of the results below).
  bool readThroughReplica(Rank &rank, int64_t index,
                          const gt::BufferRegion &region, bool severalPieces,
                          SmallVectorImpl<Rank::ReplicaPart> &pieces) {
    if (!isDeferred(rank, index) || region.offsets.size() != 2 ||
        !replicaPieces(rank, index, region.offsets, region.sizes, pieces) ||
        (!severalPieces && pieces.size() > 1))
      return false;
    for (const Rank::ReplicaPart &piece : pieces) {
      const Buffer &root = rank.heap[piece.root];
      if (root.view || root.halfView || root.tensor.data.empty())
        return false;
    }
    for (const Rank::ReplicaPart &piece : pieces) {
      Buffer &root = rank.heap[piece.root];
      if (!root.pinned) {
        root.pinned = true;
        rank.pinned.push_back(piece.root);
      }
    }
    ++run.replicaReads;
    return true;
  }
  /// The address of `piece`'s first element, and its root's leading
  /// dimension in `ld`.
  const float *pieceData(Rank &rank, const Rank::ReplicaPart &piece,
                         int64_t &ld) {
    const HostTensor &t = rank.heap[piece.root].tensor;
    ld = t.shape[1];
    return t.data.data() + piece.rootOffsets[0] * ld + piece.rootOffsets[1];
  }
  /// `pieces` as a gemm's A, one shared list for every tile of the rank's
  /// pending work that reads the same pieces (groupGemms then packs that A
  /// once for all of them).
  runtime::APieces gemmPieces(Rank &rank, ArrayRef<Rank::ReplicaPart> pieces) {
    std::vector<runtime::APiece> list;
    std::vector<int64_t> key;
    for (const Rank::ReplicaPart &piece : pieces) {
      runtime::APiece a;
      a.row = piece.toOffsets[0];
      a.col = piece.toOffsets[1];
      a.rows = piece.sizes[0];
      a.cols = piece.sizes[1];
      a.data = pieceData(rank, piece, a.ld);
      key.insert(key.end(),
                 {a.row, a.col, a.rows, a.cols,
                  static_cast<int64_t>(reinterpret_cast<uintptr_t>(a.data)),
                  a.ld});
      list.push_back(a);
    }
    runtime::APieces &shared = rank.pendingPieces[key];
    if (!shared)
      shared =
          std::make_shared<const std::vector<runtime::APiece>>(std::move(list));
    return shared;
  }
  /// Buffer `index` is about to change: it and the deferred replicas read
  /// from it get their data first, and its version moves on. Pending work
  /// that reads it for a replica (readThroughReplica) runs first.
  void takeReplicas(Rank &rank, int64_t index) {
    if (rank.heap[index].pinned)
      flush(rank);
    if (!rank.replicas.empty()) {
      realizeReplica(rank, index);
      auto readers = rank.replicaReaders.find(index);
      if (readers != rank.replicaReaders.end()) {
        SmallVector<int64_t, 4> list = std::move(readers->second);
        rank.replicaReaders.erase(readers);
        for (int64_t reader : list)
          realizeReplica(rank, reader);
      }
    }
    ++rank.heap[index].version;
  }
  /// Buffer `index` is released: its own replica is forgotten. True if
  /// it keeps its data, and the buffers viewing it, for the deferred
  /// replicas read from it (a relay's source dies with its last copy,
  /// before the replicas forwarded from it are complete), until none is
  /// left (releaseKept).
  bool dropReplicas(Rank &rank, int64_t index) {
    if (rank.replicas.empty())
      return false;
    auto own = rank.replicas.find(index);
    if (own != rank.replicas.end()) {
      Rank::Replica replica = std::move(own->second);
      rank.replicas.erase(own);
      if (replica.deferred)
        releaseKept(rank, replica);
    }
    if (!rank.heap[index].tensor.data.empty() && waitingReaders(rank, index))
      return true;
    takeReplicas(rank, index);
    return false;
  }
  /// Whether a deferred replica reads root `index`.
  bool waitingReaders(Rank &rank, int64_t index) {
    auto readers = rank.replicaReaders.find(index);
    if (readers == rank.replicaReaders.end())
      return false;
    return llvm::any_of(readers->second, [&](int64_t reader) {
      return isDeferred(rank, reader);
    });
  }
  /// A replica is no longer deferred: the released roots it read that no
  /// deferred replica reads any more free their data.
  void releaseKept(Rank &rank, const Rank::Replica &replica) {
    for (const Rank::ReplicaPart &p : replica.parts) {
      Buffer &root = rank.heap[p.root];
      if (!root.released || root.tensor.data.empty() ||
          waitingReaders(rank, p.root))
        continue;
      rank.replicaReaders.erase(p.root);
      // Pending work may read it for a replica (readThroughReplica).
      if (root.pinned)
        flush(rank);
      handOver(rank, p.root, /*keep=*/false);
      recycle(root.tensor.data);
    }
  }
  /// Runs the rank's pending copies, except where they fill a buffer
  /// exactly as they fill another: such a buffer views the first one's data
  /// instead (a band broadcast to 16 cubes is copied once, not 16 times, and
  /// the gemms reading it see one operand). A buffer the copies fill
  /// completely is not zeroed first.
  void shareCopies(Rank &rank, std::vector<std::function<void()>> &work);
  /// Drops the pending elementwise and row ops that would fill a buffer
  /// exactly as others fill another (the same kernels on the same contents
  /// and regions: a replicated RMSNorm or residual add on every cube of a
  /// rank): that buffer views the first one's data instead, which later
  /// writes to either hand over (bufferOf). Their device time was booked
  /// when they issued.
  void shareResults(Rank &rank);
  /// Appends to `key` what names the data of buffer `index` as the rank's
  /// pending work reads it: the buffer a viewer views, an argument's piece
  /// while nothing has written it, else the buffer itself.
  void contentOf(Rank &rank, int64_t index, std::vector<int64_t> &key) {
    while (rank.heap[index].viewOf >= 0 && rank.heap[index].view)
      index = rank.heap[index].viewOf;
    const Buffer &buffer = rank.heap[index];
    if (!buffer.origin.empty()) {
      key.push_back(-2);
      key.insert(key.end(), buffer.origin.begin(), buffer.origin.end());
      return;
    }
    key.push_back(-1);
    key.push_back(index);
  }
  /// Records the pending item just pushed for `op` (an elementwise or row
  /// op writing `write`) for shareResults.
  /// `firstPieces`: where the first read is read, if in pieces (rowPieces):
  /// its content is theirs.
  void noteResult(Rank &rank, const gt::HostKernel &kernel,
                  ArrayRef<gt::BufferRegion> reads,
                  const gt::BufferRegion &write,
                  ArrayRef<Rank::ReplicaPart> firstPieces = {}) {
    Rank::Result result;
    result.item = rank.pending.size() - 1;
    result.target = rank.buffers[write.buffer];
    result.elements = 1;
    for (int64_t s : write.sizes)
      result.elements *= s;
    std::vector<int64_t> &key = result.key;
    key.push_back(static_cast<int64_t>(kernel.kind));
    key.push_back(static_cast<int64_t>(kernel.name.size()));
    key.insert(key.end(), kernel.name.begin(), kernel.name.end());
    key.push_back(llvm::bit_cast<int64_t>(kernel.scale));
    for (double p : kernel.params)
      key.push_back(llvm::bit_cast<int64_t>(p));
    for (auto [i, r] : llvm::enumerate(reads)) {
      // An op reading its own output (in place) computes from what the
      // buffer held: nothing another buffer's fill can stand for.
      if (r.buffer == write.buffer)
        result.target = -1;
      if (i == 0 && !firstPieces.empty()) {
        key.push_back(-3);
        for (const Rank::ReplicaPart &p : firstPieces) {
          key.push_back(p.root);
          key.push_back(static_cast<int64_t>(p.rootVersion));
          key.insert(key.end(), p.rootOffsets.begin(), p.rootOffsets.end());
          key.insert(key.end(), p.toOffsets.begin(), p.toOffsets.end());
          key.insert(key.end(), p.sizes.begin(), p.sizes.end());
        }
      } else {
        contentOf(rank, rank.buffers[r.buffer], key);
      }
      key.insert(key.end(), r.offsets.begin(), r.offsets.end());
      key.insert(key.end(), r.sizes.begin(), r.sizes.end());
    }
    key.insert(key.end(), write.offsets.begin(), write.offsets.end());
    key.insert(key.end(), write.sizes.begin(), write.sizes.end());
    rank.pendingResults.push_back(std::move(result));
  }
  /// An allocation's zero data, made on its first use. A block freed by an
  /// earlier buffer of its size, or a little larger (keptBlockFor), is
  /// reused when there is one (fresh memory costs the kernel's page
  /// clearing, on the issuing thread); it is zeroed at once, or, with
  /// `deferTo`, by the host threads before the rank's pending work runs
  /// (every use of it is in that work). A fresh
  /// block is zero as allocated and left untouched, so its pages are first
  /// touched by the tile that writes them.
  Buffer &materialize(Buffer &buffer, Rank *deferTo = nullptr) {
    if (!buffer.allocation || costOnly || !buffer.tensor.data.empty())
      return buffer;
    assert(!buffer.released && "a buffer used after its last use");
    size_t n = buffer.tensor.numElements();
    auto it = keptBlockFor(n);
    // Before fresh memory, the ranks whose arithmetic is done give back
    // their dead buffers, and then the oldest batch still running but the
    // newest: else each rank's round of dead buffers is held while the
    // others allocate theirs (GPT-2's block: 174 -> 259 MB). The newest is
    // left to the host threads, which would idle while this one simulates
    // the rank that asked (13.6 of the 512-token MLP's 84 ms).
    if (it == freeBlocks.end() && (joinFinishedRanks() || joinOldestRank()))
      it = keptBlockFor(n);
    if (it == freeBlocks.end()) {
      evictKeptBlocks(n * sizeof(float));
      buffer.tensor.data.resize(n);
      ++run.freshBlocks;
      return buffer;
    }
    buffer.tensor.data = std::move(it->second.back());
    it->second.pop_back();
    freeBytes -= it->first * sizeof(float);
    if (it->first != n)
      ++run.largerKeptBlocks;
    if (it->second.empty())
      freeBlocks.erase(it);
    buffer.tensor.data.resize(n);
    if (deferTo)
      deferTo->pendingZero.push_back({buffer.tensor.data.data(), n});
    else
      std::fill_n(buffer.tensor.data.data(), n, 0.0f);
    return buffer;
  }
  /// The smallest kept block that holds `n` elements and is at most half
  /// as large again (kKeptBlockSlackInverse): a program's allocations
  /// change size as it goes (a row-parallel product's bands while the
  /// column-parallel products' blocks it no longer needs sit kept), and a
  /// kept block's pages cost nothing to write again where a fresh block's
  /// first write faults each page in.
  std::map<size_t, std::vector<runtime::TensorData>>::iterator
  keptBlockFor(size_t n) {
    auto it = freeBlocks.lower_bound(n);
    if (it == freeBlocks.end() || it->first > n + n / kKeptBlockSlackInverse)
      return freeBlocks.end();
    return it;
  }
  /// Frees kept blocks, largest first, until `bytes` are freed or no more
  /// than keptFloor is kept: fresh memory is about to be taken for a size
  /// none of them has. Without it blocks of a size the program stopped
  /// using stay kept beside the fresh ones (a relay's hops free 256 blocks
  /// of 4 MiB early; the 2048-token Llama layer then peaked 1 GB higher).
  /// Below the floor (keptFloor) blocks stay: a small program that
  /// alternates a few sizes would free and fault in the same blocks again
  /// (the 512-token MLP: 0.1 s more system time with no floor).
  void evictKeptBlocks(size_t bytes) {
    size_t freed = 0;
    while (freed < bytes && freeBytes > keptFloor) {
      auto largest = std::prev(freeBlocks.end());
      size_t blockBytes = largest->first * sizeof(float);
      largest->second.pop_back();
      if (largest->second.empty())
        freeBlocks.erase(largest);
      freeBytes -= blockBytes;
      freed += blockBytes;
      ++run.evictedBlocks;
    }
  }
  /// Keeps `data` for reuse by a later allocation of its size, up to
  /// freeBlockLimit in all; frees it beyond that.
  void recycle(runtime::TensorData &data) {
    size_t bytes = data.capacity() * sizeof(float);
    if (data.size() == 0 || freeBytes + bytes > freeBlockLimit) {
      runtime::TensorData().swap(data);
      return;
    }
    freeBytes += bytes;
    freeBlocks[data.capacity()].push_back(std::move(data));
    runtime::TensorData().swap(data);
  }
  /// The one f32 copy of half input `input`, widened on the host threads
  /// when first asked for and shared by every rank's buffers that view it
  /// (an f16 input read as a gemm's A: the kernels take f16 for B only).
  /// It lives to the end of the run: a rank that runs on to its ring step
  /// (step) may release its last reader before the next rank takes it.
  std::shared_ptr<const runtime::TensorData> widenedInput(int64_t input) {
    if (widenedInputs[input])
      return widenedInputs[input];
    ++run.hostWidenings;
    const runtime::HalfData &halves = inputs[input].halves;
    auto copy = std::make_shared<runtime::TensorData>();
    copy->resize(halves.size());
    std::vector<std::function<void()>> work;
    static constexpr size_t kChunk = size_t{1} << 20;
    for (size_t at = 0; at < halves.size(); at += kChunk)
      work.push_back([&, at] {
        runtime::halvesToFloats(halves.data() + at, copy->data() + at,
                                std::min(kChunk, halves.size() - at));
      });
    runtime::runOnHostThreads(work, threads);
    widenedInputs[input] = copy;
    return copy;
  }
  /// Frees the data of the allocations whose last user comes before the
  /// rank's current op: every op before it has been issued and, since this
  /// runs after a flush, its arithmetic done. A tensor read by several ops
  /// lives until the last of them.
  /// An input's copy (a view copied out, a shared widened copy) goes too.
  /// Releases at the ops before `upTo`.
  void releaseDead(Rank &rank, size_t upTo) {
    if (costOnly)
      return releaseShapes(rank, upTo);
    for (; rank.releasedUpTo < upTo; ++rank.releasedUpTo)
      for (Value v : ops[rank.releasedUpTo]->getOperands()) {
        auto it = rank.buffers.find(v);
        if (it == rank.buffers.end() ||
            lastUse.lookup(v) != rank.releasedUpTo)
          continue;
        Buffer &buffer = rank.heap[it->second];
        bool kept = dropReplicas(rank, it->second);
        if (!kept)
          handOver(rank, it->second, /*keep=*/false);
        buffer.viewOf = -1;
        if (!kept)
          recycle(buffer.tensor.data);
        buffer.widenedCopy.reset();
        buffer.shared.reset();
        if (buffer.sharer) {
          auto piece = sharedPieces.find(pieceKey(buffer));
          if (--piece->second.holders == 0)
            sharedPieces.erase(piece);
          buffer.sharer = false;
        }
        buffer.view = nullptr;
        buffer.halfView = nullptr;
        buffer.released = true;
      }
  }
  /// Which values die at each op (dying, dyingAt), found once for every
  /// rank before any steps: a lookup in lastUse per operand, op and rank
  /// was a tenth of a GPT-3 estimate.
  void indexDyingValues() {
    // Buffers only (memrefs): most values are the async ops' tokens.
    auto isBuffer = [](Value v) { return isa<BaseMemRefType>(v.getType()); };
    dyingAt.assign(ops.size() + 1, 0);
    for (auto &[value, index] : lastUse)
      if (isBuffer(value))
        ++dyingAt[index + 1];
    for (size_t i = 0; i < ops.size(); ++i)
      dyingAt[i + 1] += dyingAt[i];
    dying.resize(dyingAt.back());
    std::vector<uint32_t> at(dyingAt.begin(), dyingAt.end() - 1);
    for (auto &[value, index] : lastUse)
      if (isBuffer(value))
        dying[at[index]++] = value;
  }
  /// releaseDead in cost-only mode: a buffer past its last use, an input's
  /// piece or an allocation, gives its slot to a later allocation (made
  /// when its gemm_tile.alloc issues), so that a rank holds the buffers
  /// live at once, not every buffer of the run: one Buffer per allocation
  /// and rank was the largest part of a whole model's estimate
  /// (docs/design/0012). Nothing later reads it: no op uses the value, and
  /// its accesses still in flight can conflict with no later access. Its
  /// slot keeps `accessed`, so that it stays listed once in rank.accessed.
  void releaseShapes(Rank &rank, size_t upTo) {
    for (; rank.releasedUpTo < upTo; ++rank.releasedUpTo)
      for (Value v : ArrayRef(dying).slice(dyingAt[rank.releasedUpTo],
                                           dyingAt[rank.releasedUpTo + 1] -
                                               dyingAt[rank.releasedUpTo])) {
        auto it = rank.buffers.find(v);
        if (it == rank.buffers.end())
          continue;
        Buffer &slot = rank.heap[it->second];
        bool accessed = slot.accessed;
        slot = Buffer();
        slot.accessed = accessed;
        rank.freeSlots.push_back(it->second);
        rank.buffers.erase(it);
      }
  }
  /// Cost-only: the buffer of `alloc` on `rank`, a dtype, a shape and a cube,
  /// in a free slot when there is one.
  void makeShapeBuffer(Rank &rank, gt::AllocOp alloc, DType dtype) {
    MemRefType type = alloc.getType();
    int64_t index = static_cast<int64_t>(rank.heap.size());
    if (!rank.freeSlots.empty()) {
      index = rank.freeSlots.back();
      rank.freeSlots.pop_back();
    } else {
      rank.heap.emplace_back();
    }
    Buffer &buffer = rank.heap[index];
    buffer.tensor.dtype = dtype;
    buffer.tensor.shape.assign(type.getShape().begin(), type.getShape().end());
    buffer.cube = gt::getCube(type);
    rank.buffers[alloc.getResult()] = index;
    rank.maxShapeBuffers =
        std::max<int64_t>(rank.maxShapeBuffers, rank.buffers.size());
  }
  /// An attention op's q, k and v regions (reads 0 to 2, verified 2-D and of
  /// one element type), read in place by its deferred kernel.
  struct AttentionOperands {
    const float *q, *k, *v;
    int64_t ldq, ldk, ldv;
  };
  /// Where an attention's keys or values (`region`) are read if they are a
  /// relay's replica not yet copied (rowPieces): row bands of the
  /// buffers the relay's parts were copied from and of the buffer's own
  /// rows. Empty otherwise: they are read as one region (attentionOperands).
  /// A relay gathers every cube's band of keys on every cube; read so, a
  /// rank's 16 gathered copies are never made (with the rotations read the
  /// same way, rowPieces: the 2048-token Llama-2-7B layer at 1 host thread
  /// 12.9 -> 11.6 s, copies into fresh pages 12% -> 1% of its samples).
  SmallVector<runtime::RowPiece, 16> keyPieces(Rank &rank,
                                               const gt::BufferRegion &region) {
    SmallVector<runtime::RowPiece, 16> rows;
    for (const Rank::ReplicaPart &piece :
         rowPieces(rank, region, region.sizes)) {
      runtime::RowPiece row;
      row.row = piece.toOffsets[0];
      row.rows = piece.sizes[0];
      row.data = pieceData(rank, piece, row.ld);
      rows.push_back(row);
    }
    return rows;
  }
  /// Where a row op's input `region` (of `size` rows and columns, those of
  /// its output) is read in row bands (readThroughReplica), if it is a
  /// relay's replica not yet copied and every band is whole rows of it;
  /// else empty.
  SmallVector<Rank::ReplicaPart, 4> rowPieces(Rank &rank,
                                              const gt::BufferRegion &region,
                                              ArrayRef<int64_t> size) {
    SmallVector<Rank::ReplicaPart, 4> pieces;
    if (region.sizes.size() != 2 || size.size() != 2 ||
        ArrayRef<int64_t>(region.sizes) != size ||
        !readThroughReplica(rank, rank.buffers[region.buffer], region,
                            /*severalPieces=*/true, pieces))
      return {};
    if (llvm::any_of(pieces, [&](const Rank::ReplicaPart &piece) {
          return piece.toOffsets[1] != 0 || piece.sizes[1] != size[1];
        }))
      return {};
    // In row order: the same bands read by two cubes name the same content
    // (noteResult), whichever of them is the cube's own.
    llvm::sort(pieces, [](const auto &a, const auto &b) {
      return a.toOffsets[0] < b.toOffsets[0];
    });
    return pieces;
  }
  /// Their start and row stride in their buffers' data; k and v not where
  /// they are read in pieces (`keysInPieces`, `valuesInPieces`: left null).
  /// A reused block among them (never written, so zero) is zeroed by the
  /// host threads before the rank's pending work, where the kernel reads
  /// it, not on the issuing thread now.
  AttentionOperands attentionOperands(Rank &rank,
                                      ArrayRef<gt::BufferRegion> reads,
                                      bool keysInPieces = false,
                                      bool valuesInPieces = false) {
    AttentionOperands in{};
    const float **at[] = {&in.q, &in.k, &in.v};
    int64_t *ld[] = {&in.ldq, &in.ldk, &in.ldv};
    for (int i = 0; i < 3; ++i) {
      if ((i == 1 && keysInPieces) || (i == 2 && valuesInPieces))
        continue;
      const HostTensor &t = readOf(rank, reads[i].buffer, &rank);
      *ld[i] = t.shape[1];
      *at[i] = t.data.data() + reads[i].offsets[0] * t.shape[1] +
               reads[i].offsets[1];
    }
    return in;
  }
  /// The buffer of `v` as it is, perhaps a view.
  Buffer &rawBufferOf(Rank &rank, Value v) {
    return rank.heap[rank.buffers[v]];
  }
  /// Records `event` of `op` on `rank`'s `track`, always: the per-op
  /// table is made from the timeline, whether or not a trace is written.
  /// Its `detail` is kept only when the trace is asked for.
  void record(Rank &rank, Operation *op, int64_t track, double start,
              double duration, TraceEvent event, TraceDetail detail) {
    event.site = sites.lookup(op);
    event.rank = static_cast<int16_t>(rank.index);
    event.track = track;
    event.start = start;
    event.duration = duration;
    // Ranks stepped at once record apart (stepRanks).
    std::vector<TraceEvent> &trace = steppingAtOnce ? rank.events : run.trace;
    std::vector<TraceDetail> &details =
        steppingAtOnce ? rank.details : run.details;
    if (traceDetails) {
      detail.deviceOp = op->getName().stripDialect();
      event.detail = details.size();
      details.push_back(std::move(detail));
    }
    trace.push_back(event);
  }
  /// Makes `value` the token of an asynchronous op in flight.
  void addToken(Rank &rank, Value value, Token token) {
    int64_t id = rank.nextToken++;
    rank.tokens[value] = id;
    rank.liveTokens[id] = token;
    rank.maxOutstandingOps =
        std::max<int64_t>(rank.maxOutstandingOps, rank.liveTokens.size());
  }

  const Program &program;
  const gt::DeviceDescription &device;
  DeviceRun &run;
  const ProgressFn &progress;
  int threads;
  // Shapes only: no host data, no arithmetic (estimateDeviceProgram).
  bool costOnly;
  // Keep the events' details (DeviceRun::details) for a trace.
  bool traceDetails;
  // Cost-only ranks step on the host threads at once (stepRanks), in a
  // round of at least kOpsAtOnce ops.
  bool steppingAtOnce = false;
  static constexpr size_t kOpsAtOnce = 16;
  std::vector<Operation *> ops;
  // Whether ops[i] is a ring step, where every rank waits for the others.
  std::vector<bool> ringStepAt;
  // The mesh route from cube i to cube j at i * cubes + j, made once for a
  // SIP of at most kRoutesKept cubes (larger ones route each copy anew).
  static constexpr int64_t kRoutesKept = 64;
  std::vector<SmallVector<int64_t, 8>> routes;
  /// The route from the table, or made into `scratch` for a larger SIP.
  ArrayRef<int64_t> routeOf(int64_t from, int64_t to,
                            SmallVector<int64_t, 8> &scratch) const {
    if (!routes.empty())
      return routes[from * device.cubes + to];
    scratch = kb::meshRoute(device, from, to);
    return scratch;
  }
  // The index in `ops` of each value's last user.
  llvm::DenseMap<Value, size_t> lastUse;
  // Cost-only: the values whose last user is op i are
  // dying[dyingAt[i] .. dyingAt[i + 1]) (releaseShapes).
  std::vector<uint32_t> dyingAt;
  std::vector<Value> dying;
  llvm::DenseMap<Operation *, int64_t> sites; // into run.sites
  int64_t ringSteps = 0;
  // Rank batches started so far (Rank::startedAt).
  int64_t batchesStarted = 0;
  // The device ops that record an event (per rank).
  size_t eventsPerRank = 0;
  std::vector<gt::AllocOp> allocs;
  std::vector<Rank> ranks;
  // The run's inputs and their shared widened copies (widenedInput).
  ArrayRef<HostTensor> inputs;
  std::vector<std::shared_ptr<const runtime::TensorData>> widenedInputs;
  // The input pieces read as data (sharedPiece), by pieceKey, with the
  // count of view buffers not yet released that show each: a piece stays
  // while a rank still has a reader of it, so that ranks reaching it one
  // after another do not each make it again.
  struct SharedPiece {
    std::shared_ptr<const HostTensor> piece;
    int64_t holders = 0;
  };
  std::map<std::array<int64_t, 4>, SharedPiece> sharedPieces;
  /// A view's piece: its input, element offset, rows and columns.
  static std::array<int64_t, 4> pieceKey(const Buffer &buffer) {
    return {buffer.input, buffer.viewOffset, buffer.tensor.shape[0],
            buffer.tensor.shape[1]};
  }
  // Freed allocations' blocks by element count, for reuse (materialize):
  // at most kFreeBlockBytes, so that the blocks kept never cost more memory
  // than a large step of a program holds live.
  // The limit grows with the program (checkStatically): a quarter of its
  // estimated host memory. 512 MiB held a 1024-token layer's freed blocks
  // for less than one rank's step (its cubes' 16 MiB buffers): 3.3 GB of
  // fresh blocks against 1.2 GB at 1 GiB.
  static constexpr size_t kFreeBlockBytes = size_t{512} << 20;
  // A kept block serves an allocation up to this much smaller: n + n / 2.
  static constexpr size_t kKeptBlockSlackInverse = 2;
  size_t freeBlockLimit = kFreeBlockBytes;
  // The f16 input weights' blocks packed for the gemm kernel once for the
  // run (a product of few rows, as the overlap of collectives' row chunks
  // of a row-parallel gemm, would pack its weight again each time). The
  // inputs live for the whole run and a half view is never written, so a
  // block's address names its numbers while the cache lives. At most
  // PackedWeights::kRunBytes: beyond it, products pack as before.
  runtime::PackedWeights packedWeights{runtime::PackedWeights::kRunBytes};
  std::map<size_t, std::vector<runtime::TensorData>> freeBlocks;
  size_t freeBytes = 0;
  // What evictKeptBlocks leaves kept: 1/8 of the program's estimated host
  // memory (checkStatically). Each block freed is an munmap, which with a
  // second host thread running interrupts its core to flush the TLB: at
  // 1/32 the 512-token MLP freed 102 blocks a run and took 0.20 s at 2 host
  // threads, at 1/8 35 and 0.18 s; the 2048-token Llama-2-7B layer peaks at
  // 1892 MB against 1840 (the 2048-token MLP 791 against 678).
  size_t keptFloor = 0;
  // What each rank sends in a ring step (RingMove::run), reused by every
  // step.
  std::vector<std::vector<float>> ringChunks;
  // The collective record each buffer's current ring belongs to.
  llvm::DenseMap<Value, size_t> openCollectives;
  // The ring steps issued since the ranks last resumed, whose data has not
  // moved yet (startRingMoves).
  std::vector<RingMove> pendingRingMoves;
  // The ring steps' data movement under way on the host threads. Last, so
  // that it is joined before the buffers it writes are destroyed.
  std::unique_ptr<runtime::HostBatch> ringMovesInFlight;
};

} // namespace

void Machine::collectiveHiddenSeconds() {
  // One rank at a time: the intervals of every rank at once would be a
  // second timeline at the run's end, when its memory peaks.
  for (Rank &rank : ranks) {
    std::vector<std::pair<double, double>> busy, link;
    for (const TraceEvent &e : run.trace) {
      if (e.rank != rank.index)
        continue;
      if (e.engine == EngineKind::PE)
        busy.push_back({e.start, e.start + e.duration});
      else if (e.engine == EngineKind::Ring)
        link.push_back({e.start, e.start + e.duration});
    }
    // The union of the rank's PE intervals, then each ring step's share of
    // it (ring steps never overlap each other: one link).
    llvm::sort(busy);
    std::vector<std::pair<double, double>> merged;
    for (auto [from, to] : busy) {
      if (!merged.empty() && from <= merged.back().second)
        merged.back().second = std::max(merged.back().second, to);
      else
        merged.push_back({from, to});
    }
    double hidden = 0;
    for (auto [from, to] : link) {
      auto it = llvm::lower_bound(
          merged, std::make_pair(from, from),
          [](const auto &a, const auto &b) { return a.second < b.first; });
      for (; it != merged.end() && it->first < to; ++it)
        hidden +=
            std::max(0.0, std::min(to, it->second) - std::max(from, it->first));
    }
    rank.stats.collectiveHiddenSeconds = hidden;
  }
}

void Machine::collectZero(Rank &rank,
                          std::vector<std::function<void()>> &zero) {
  // In slices the threads share.
  static constexpr size_t kSlice = size_t{1} << 18;
  for (auto [data, n] : rank.pendingZero)
    for (size_t at = 0; at < n; at += kSlice)
      zero.push_back([data = data, n = n, at] {
        std::fill_n(data + at, std::min(kSlice, n - at), 0.0f);
      });
  rank.pendingZero.clear();
}

void Machine::zeroPending(Rank &rank) {
  if (rank.pendingZero.empty())
    return;
  std::vector<std::function<void()>> zero;
  collectZero(rank, zero);
  runtime::runOnHostThreads(zero, threads);
}

void Machine::shareCopies(Rank &rank,
                          std::vector<std::function<void()>> &work) {
  std::vector<Rank::Copy> copies = std::move(rank.pendingCopies);
  rank.pendingCopies.clear();
  if (copies.empty())
    return;
  // The copies by target, in issue order; a target that is also a source
  // (a copy within one buffer) keeps its copies as they are.
  llvm::DenseMap<int64_t, SmallVector<size_t, 16>> byTarget;
  SmallVector<int64_t> targets;
  llvm::DenseSet<int64_t> sources;
  for (auto [i, c] : llvm::enumerate(copies)) {
    auto [it, fresh] = byTarget.try_emplace(c.target);
    if (fresh)
      targets.push_back(c.target);
    it->second.push_back(i);
    sources.insert(c.source);
  }
  std::map<std::vector<int64_t>, int64_t> filledBy;
  llvm::DenseSet<const float *> filled;
  std::vector<bool> dropped(copies.size(), false);
  for (int64_t target : targets) {
    Buffer &buffer = rank.heap[target];
    SmallVector<size_t, 16> &list = byTarget[target];
    int64_t elements = 0;
    for (size_t i : list)
      elements += copies[i].elements;
    // The hazard check keeps a wait's writes disjoint, and nothing reads
    // what they write before the wait: copies that add up to the buffer
    // fill all of it, whatever it held.
    if (sources.contains(target) || elements != buffer.tensor.numElements())
      continue;
    filled.insert(buffer.tensor.data.data());
    if (!buffer.allocation || buffer.tensor.shape.size() != 2)
      continue;
    // What fills it: the shape, then each copy's source, regions, sizes,
    // in target order.
    llvm::sort(list, [&](size_t x, size_t y) {
      return copies[x].toOffsets < copies[y].toOffsets;
    });
    std::vector<int64_t> key(buffer.tensor.shape.begin(),
                             buffer.tensor.shape.end());
    key.push_back(static_cast<int64_t>(buffer.tensor.dtype));
    for (size_t i : list) {
      const Rank::Copy &c = copies[i];
      key.push_back(c.source);
      key.insert(key.end(), c.fromOffsets.begin(), c.fromOffsets.end());
      key.insert(key.end(), c.toOffsets.begin(), c.toOffsets.end());
      key.insert(key.end(), c.sizes.begin(), c.sizes.end());
    }
    auto [it, fresh] = filledBy.try_emplace(std::move(key), target);
    if (fresh)
      continue;
    Buffer &owner = rank.heap[it->second];
    // Its block is free now; it stays in `filled`, so it is not zeroed.
    recycle(buffer.tensor.data);
    buffer.view = owner.tensor.data.data();
    buffer.viewStride = owner.tensor.shape[1];
    buffer.viewOf = it->second;
    owner.viewers.push_back(target);
    for (size_t i : list)
      dropped[i] = true;
  }
  if (!filled.empty())
    llvm::erase_if(rank.pendingZero, [&](const auto &block) {
      return filled.contains(block.first);
    });
  // A copy ordered after others runs after the earlier copies of the batch
  // that write its source or read its target: in one work item with them,
  // in issue order. The others are independent (the hazard check) and run
  // each on its own.
  std::vector<size_t> group(copies.size());
  std::iota(group.begin(), group.end(), 0);
  auto find = [&](size_t i) {
    while (group[i] != i)
      i = group[i] = group[group[i]];
    return i;
  };
  llvm::DenseMap<int64_t, SmallVector<size_t, 4>> writersOf, readersOf;
  bool chained = false;
  for (size_t i = 0; i < copies.size(); ++i) {
    if (dropped[i])
      continue;
    const Rank::Copy &c = copies[i];
    if (c.ordered)
      for (auto *earlier : {&writersOf[c.source], &readersOf[c.target]})
        for (size_t j : *earlier)
          if (find(j) != find(i)) {
            group[find(j)] = find(i);
            chained = true;
          }
    writersOf[c.target].push_back(i);
    readersOf[c.source].push_back(i);
  }
  if (!chained) {
    for (size_t i = 0; i < copies.size(); ++i)
      if (!dropped[i])
        work.push_back([c = std::move(copies[i])] {
          copyRegion(*c.from, c.fromOffsets, *c.to, c.toOffsets, c.sizes);
        });
    return;
  }
  llvm::MapVector<size_t, std::vector<Rank::Copy>> chains;
  for (size_t i = 0; i < copies.size(); ++i)
    if (!dropped[i])
      chains[find(i)].push_back(std::move(copies[i]));
  for (auto &[root, chain] : chains)
    work.push_back([chain = std::move(chain)] {
      for (const Rank::Copy &c : chain)
        copyRegion(*c.from, c.fromOffsets, *c.to, c.toOffsets, c.sizes);
    });
}

void Machine::shareResults(Rank &rank) {
  std::vector<Rank::Result> results = std::move(rank.pendingResults);
  rank.pendingResults.clear();
  // The ops by output buffer, in issue order.
  llvm::DenseMap<int64_t, SmallVector<size_t, 16>> byTarget;
  SmallVector<int64_t> targets;
  for (auto [i, r] : llvm::enumerate(results)) {
    if (r.target < 0)
      continue;
    auto [it, fresh] = byTarget.try_emplace(r.target);
    if (fresh)
      targets.push_back(r.target);
    it->second.push_back(i);
  }
  // (An op working in place, target -1, shares nothing: its buffer's other
  // ops do not add up to the buffer.)
  std::map<std::vector<int64_t>, int64_t> filledBy;
  llvm::DenseSet<const float *> dropped;
  for (int64_t target : targets) {
    Buffer &buffer = rank.heap[target];
    SmallVector<size_t, 16> &list = byTarget[target];
    int64_t elements = 0;
    for (size_t i : list)
      elements += results[i].elements;
    // The hazard check keeps a wait's writes disjoint: ops that add up to
    // the buffer are all that write it, and nothing reads it before the
    // wait. A buffer others view keeps its data.
    if (elements != buffer.tensor.numElements() || !buffer.allocation ||
        buffer.view)
      continue;
    // Whatever its block held, these ops overwrite all of it.
    rank.filledByResults.push_back(target);
    if (buffer.tensor.shape.size() != 2 || !buffer.viewers.empty())
      continue;
    llvm::sort(list, [&](size_t x, size_t y) {
      return results[x].key < results[y].key;
    });
    std::vector<int64_t> key(buffer.tensor.shape.begin(),
                             buffer.tensor.shape.end());
    key.push_back(static_cast<int64_t>(buffer.tensor.dtype));
    for (size_t i : list)
      key.insert(key.end(), results[i].key.begin(), results[i].key.end());
    auto [it, fresh] = filledBy.try_emplace(std::move(key), target);
    if (fresh)
      continue;
    Buffer &owner = materialize(rank.heap[it->second], &rank);
    for (size_t i : list)
      rank.pending[results[i].item] = nullptr;
    run.sharedResults += list.size();
    rank.filledByResults.pop_back();
    if (!buffer.tensor.data.empty())
      dropped.insert(buffer.tensor.data.data());
    recycle(buffer.tensor.data);
    buffer.view = owner.tensor.data.data();
    buffer.viewStride = owner.tensor.shape[1];
    buffer.viewOf = it->second;
    owner.viewers.push_back(target);
  }
  // A dropped buffer's block is free: not zeroed for work that will not run.
  if (!dropped.empty())
    llvm::erase_if(rank.pendingZero, [&](const auto &block) {
      return dropped.contains(block.first);
    });
}

void Machine::flush(Rank &rank) {
  joinRank(rank);
  std::vector<std::function<void()>> zero, work;
  collectFlush(rank, zero, work);
  runtime::runOnHostThreads(zero, threads);
  runtime::runOnHostThreads(work, threads);
  endFlush(rank);
}

void Machine::startFlush(Rank &rank) {
  joinRank(rank);
  std::vector<std::function<void()>> zero, work;
  collectFlush(rank, zero, work);
  // On this thread: the host threads may be busy with another rank's work,
  // and the zeroing must end before this rank's work starts.
  for (std::function<void()> &item : zero)
    item();
  rank.startedAt = batchesStarted++;
  rank.inFlight =
      std::make_unique<runtime::HostBatch>(std::move(work), threads);
}

bool Machine::joinFinishedRanks() {
  bool any = false;
  for (Rank &rank : ranks)
    if (rank.inFlight && rank.inFlight->done()) {
      joinRank(rank);
      any = true;
    }
  return any;
}

bool Machine::joinOldestRank() {
  Rank *oldest = nullptr;
  int running = 0;
  for (Rank &rank : ranks)
    if (rank.inFlight) {
      ++running;
      if (!oldest || rank.startedAt < oldest->startedAt)
        oldest = &rank;
    }
  if (running < 2)
    return false;
  joinRank(*oldest);
  return true;
}

void Machine::startRingMoves() {
  if (pendingRingMoves.empty())
    return;
  if (ringMovesInFlight)
    ringMovesInFlight->join();
  std::vector<std::function<void()>> work;
  work.push_back([this, moves = std::move(pendingRingMoves)] {
    for (const RingMove &move : moves)
      move.run(ringChunks);
  });
  pendingRingMoves.clear();
  ringMovesInFlight =
      std::make_unique<runtime::HostBatch>(std::move(work), threads);
}

void Machine::joinRingMoves() {
  if (ringMovesInFlight) {
    ringMovesInFlight->join();
    ringMovesInFlight.reset();
  }
  for (const RingMove &move : pendingRingMoves)
    move.run(ringChunks);
  pendingRingMoves.clear();
}

void Machine::joinRank(Rank &rank) {
  if (!rank.inFlight)
    return;
  rank.inFlight->join();
  rank.inFlight.reset();
  endFlush(rank);
  // The rank stepped past the wait it yielded at: the wait is the op
  // before its pc.
  if (Operation *wait = std::exchange(rank.yieldedAt, nullptr))
    completeWait(rank, wait, rank.pc - 1);
}

void Machine::completeWait(Rank &rank, Operation *wait, size_t upTo) {
  // Past a wait for a ring step, its buffers are read: its data must have
  // moved.
  if (ringMovesInFlight || !pendingRingMoves.empty())
    for (Value t : wait->getOperands()) {
      auto id = rank.tokens.find(t);
      if (id == rank.tokens.end())
        continue;
      auto token = rank.liveTokens.find(id->second);
      if (token != rank.liveTokens.end() &&
          isa_and_nonnull<gt::RingStepOpInterface>(token->second.op)) {
        joinRingMoves();
        break;
      }
    }
  releaseDead(rank, upTo);
  retireWaited(rank, wait);
}

bool Machine::waitsForRecordsOnly(Rank &rank, Operation *wait) const {
  for (Value t : wait->getOperands()) {
    auto id = rank.tokens.find(t);
    if (id == rank.tokens.end())
      continue; // waited for before
    auto token = rank.liveTokens.find(id->second);
    if (token != rank.liveTokens.end() && token->second.hostWork)
      return false;
  }
  return true;
}

void Machine::retireWaited(Rank &rank, Operation *wait) {
  // The ops it waits for are retired: the clock passes their ends, so
  // nothing later (the run's end included) needs them.
  for (Value t : wait->getOperands()) {
    auto id = rank.tokens.find(t);
    if (id == rank.tokens.end())
      continue; // waited for before
    auto token = rank.liveTokens.find(id->second);
    rank.clock = std::max(rank.clock, token->second.end);
    rank.liveTokens.erase(token);
    rank.tokens.erase(id);
  }
  retireWaitedAccesses(rank);
}

void Machine::collectFlush(Rank &rank,
                           std::vector<std::function<void()>> &zero,
                           std::vector<std::function<void()>> &work) {
  std::vector<std::function<void()>> copies;
  shareCopies(rank, copies);
  shareResults(rank);
  // The outputs whose data waited for shareResults: those not viewing
  // another's get it now, before any work runs.
  for (int64_t index : rank.pendingData)
    if (!rank.heap[index].view)
      materialize(rank.heap[index], &rank);
  rank.pendingData.clear();
  // A block the elementwise and row ops fill completely needs no zeroing.
  if (!rank.filledByResults.empty()) {
    llvm::DenseSet<const float *> filled;
    for (int64_t index : rank.filledByResults)
      filled.insert(rank.heap[index].tensor.data.data());
    llvm::erase_if(rank.pendingZero, [&](const auto &block) {
      return filled.contains(block.first);
    });
    rank.filledByResults.clear();
  }
  // Reused blocks are zeroed before any work reads or writes them.
  collectZero(rank, zero);
  if (!rank.pendingGemms.empty()) {
    std::vector<runtime::GemmTask> gemms = runtime::splitGemms(
        runtime::stackGemms(runtime::groupGemms(
            runtime::joinGemms(std::move(rank.pendingGemms)))),
        threads);
    rank.pendingGemms.clear();
    rank.pendingPieces.clear();
    for (const runtime::GemmTask &t : gemms)
      work.push_back([t] { t.run(); });
  }
  for (auto &item : rank.pending)
    if (item) // not dropped by shareResults
      work.push_back(std::move(item));
  rank.pending.clear();
  for (auto &item : copies)
    work.push_back(std::move(item));
}

void Machine::endFlush(Rank &rank) {
  for (int64_t index : rank.pinned)
    rank.heap[index].pinned = false;
  rank.pinned.clear();
}

/// The host dtype of a cube buffer's elements; an element type the device
/// does not hold is an error at `op` (the verifiers reject it, but kb-run may
/// be handed IR that was never verified against this build's rules).
static llvm::Expected<DType> dtypeOf(Operation *op, Type elementType) {
  if (elementType.isF16())
    return DType::F16;
  if (elementType.isBF16())
    return DType::BF16;
  if (elementType.isF32())
    return DType::F32;
  if (elementType.isSignlessInteger(32))
    return DType::I32;
  if (elementType.isSignlessInteger(64))
    return DType::I64;
  std::string name;
  llvm::raw_string_ostream os(name);
  os << elementType;
  return errorAt(op, "holds elements of type " + name +
                         "; cube buffers hold f16, bf16, f32, i32 or i64");
}

/// A buffer's bytes, or std::nullopt when they do not fit in int64.
static std::optional<int64_t> bytesOf(MemRefType type) {
  return checkedByteSize(type.getShape(), type.getElementTypeBitWidth() / 8);
}

llvm::Error Machine::checkStatically() {
  if (!program.entry.getBody().hasOneBlock())
    return errorAt(program.entry, "kb-run executes straight-line device "
                                  "programs (one block)");
  // Per-cube memory: every rank holds the same buffers.
  std::vector<int64_t> perCube(device.cubes, 0);
  int64_t total = 0;
  auto account = [&](Operation *where, Type type) -> llvm::Error {
    // A cube index means a memref in a cube's memory.
    int64_t cube = gt::getCube(type);
    if (cube < 0 || !cast<MemRefType>(type).hasStaticShape())
      return errorAt(where, "expects static cube buffers in a lowered program");
    auto memref = cast<MemRefType>(type);
    if (cube >= device.cubes)
      return errorAt(where, "uses cube " + llvm::Twine(cube) +
                                " but the device has " +
                                llvm::Twine(device.cubes));
    std::optional<int64_t> bytes = bytesOf(memref);
    if (!bytes || llvm::AddOverflow(perCube[cube], *bytes, perCube[cube]) ||
        llvm::AddOverflow(total, *bytes, total))
      return errorAt(where, "needs more than 2^63 - 1 bytes in cube " +
                                llvm::Twine(cube));
    // Only this cube's total grew: checking it alone keeps the check
    // proportional to the buffers, not to buffers times cubes.
    // (cubeMemoryOverflow's message, for the one cube.)
    if (!device.cubeHolds(perCube[cube]))
      return errorAt(where, "needs " + byteCountText(perCube[cube]) +
                                " bytes in cube " + llvm::Twine(cube) +
                                ", but a cube holds " +
                                llvm::Twine(device.cubeMemoryBytes()) +
                                " bytes");
    return llvm::Error::success();
  };
  for (Type t : program.entry.getArgumentTypes())
    if (llvm::Error e = account(program.entry, t))
      return e;
  for (Operation *op : ops) {
    if (op->getNumRegions())
      return errorAt(op, "kb-run executes straight-line device programs");
    if (auto alloc = dyn_cast<gt::AllocOp>(op)) {
      if (llvm::Error e = account(op, alloc.getType()))
        return e;
      allocs.push_back(alloc);
    }
  }
  // Held as f32 on the host, for every rank, at most the allocations live at
  // once (in cost-only mode, nothing).
  if (costOnly)
    return llvm::Error::success();
  double hostBytes = hostBytesNeeded(program, /*withReference=*/false);
  freeBlockLimit = std::max(kFreeBlockBytes, static_cast<size_t>(hostBytes / 4));
  keptFloor = static_cast<size_t>(hostBytes / 8);
  if (hostBytes > 16.0 * (1ull << 30))
    return errorAt(
        program.entry,
        "simulating " + llvm::Twine(program.worldSize) + " ranks needs about " +
            llvm::Twine(static_cast<int64_t>(hostBytes / (1 << 20))) +
            " MiB of host memory, more than kb-run's 16 GiB limit");
  return llvm::Error::success();
}

llvm::Error Machine::loadInputs(ArrayRef<HostTensor> inputs) {
  // Reserved: a Rank's deque of buffers has no noexcept move, so a growing
  // vector would copy every rank made so far, tensors and all (a third of a
  // 2.4 GB decode run was the kernel zeroing pages for those copies).
  ranks.reserve(program.worldSize);
  // At most one event per op and rank: reserved once, the timeline of a
  // whole model does not pass through a vector twice its size as it grows.
  run.trace.reserve(run.trace.size() + eventsPerRank * program.worldSize);
  if (traceDetails)
    run.details.reserve(run.details.size() + eventsPerRank * program.worldSize);
  for (int64_t r = 0; r < program.worldSize; ++r) {
    Rank rank;
    rank.index = r;
    rank.dmaFree.assign(device.cubes, 0);
    rank.dmaBusy.assign(device.cubes, 0);
    // A piece of a split input is cut straight from the global tensor, at
    // the rank's slice: no per-rank copy of the slice is made first.
    for (BlockArgument arg : program.entry.getArguments()) {
      auto piece = program.entry.getArgAttrOfType<gt::PieceAttr>(
          arg.getArgNumber(), gt::GemmTileDialect::kPieceAttrName);
      // In cost-only mode there are no inputs, only their specs.
      int64_t tensors = costOnly ? program.args.size() : inputs.size();
      if (!piece || piece.getTensor() < 0 || piece.getTensor() >= tensors)
        return errorAt(program.entry, "argument " +
                                          llvm::Twine(arg.getArgNumber()) +
                                          " has no valid gemm_tile.piece");
      const TensorSpec &spec = program.args[piece.getTensor()];
      ArrayRef<int64_t> globalShape =
          costOnly ? ArrayRef<int64_t>(spec.shape)
                   : ArrayRef<int64_t>(inputs[piece.getTensor()].shape);
      int64_t splitDim = spec.splitDim;
      int64_t replicas = spec.replicas;
      SmallVector<int64_t> localShape(globalShape), offsets(piece.getOffsets());
      bool split =
          splitDim >= 0 && splitDim < static_cast<int64_t>(localShape.size());
      if (split)
        localShape[splitDim] /= program.worldSize / replicas;
      auto type = cast<MemRefType>(arg.getType());
      if (piece.getOffsets().size() != localShape.size())
        return errorAt(program.entry,
                       "argument " + llvm::Twine(arg.getArgNumber()) +
                           "'s piece does not match its tensor's rank");
      for (size_t d = 0; d < localShape.size(); ++d)
        if (piece.getOffsets()[d] + type.getDimSize(d) > localShape[d])
          return errorAt(program.entry,
                         "argument " + llvm::Twine(arg.getArgNumber()) +
                             "'s piece reaches outside its tensor");
      if (split)
        offsets[splitDim] += r / replicas * localShape[splitDim];
      Buffer buffer;
      if (costOnly) {
        buffer.tensor.dtype = spec.dtype;
        buffer.tensor.shape.assign(type.getShape().begin(),
                                   type.getShape().end());
      } else if (const HostTensor &global = inputs[piece.getTensor()];
                 type.getRank() == 2 && global.shape.size() == 2) {
        buffer.tensor.dtype = global.dtype;
        buffer.tensor.shape.assign(type.getShape().begin(),
                                   type.getShape().end());
        int64_t at = offsets[0] * global.shape[1] + offsets[1];
        buffer.input = piece.getTensor();
        buffer.viewOffset = at;
        if (global.isHalf())
          buffer.halfView = global.halves.data() + at;
        else
          buffer.view = global.data.data() + at;
        buffer.viewStride = global.shape[1];
        buffer.sharer = true;
        ++sharedPieces[pieceKey(buffer)].holders;
      } else {
        buffer.tensor = extractBox(global, offsets, type.getShape());
      }
      buffer.cube = gt::getCube(type);
      if (!costOnly) {
        buffer.origin.push_back(piece.getTensor());
        buffer.origin.insert(buffer.origin.end(), offsets.begin(), offsets.end());
        buffer.origin.insert(buffer.origin.end(), type.getShape().begin(),
                             type.getShape().end());
      }
      rank.buffers[arg] = rank.heap.size();
      rank.heap.push_back(std::move(buffer));
    }
    // Every buffer lives to the end of the program and is zero until
    // written, so each rank's allocations are made here, once.
    for (gt::AllocOp alloc : allocs) {
      MemRefType type = alloc.getType();
      llvm::Expected<DType> dtype = dtypeOf(alloc, type.getElementType());
      if (!dtype)
        return dtype.takeError();
      // Cost-only: made when the alloc issues (makeShapeBuffer), in the
      // slot of a dead buffer.
      if (costOnly)
        continue;
      Buffer buffer;
      buffer.tensor.dtype = *dtype;
      buffer.tensor.shape.assign(type.getShape().begin(),
                                 type.getShape().end());
      buffer.allocation = true; // made on first use (materialize)
      buffer.cube = gt::getCube(type);
      rank.buffers[alloc.getResult()] = rank.heap.size();
      rank.heap.push_back(std::move(buffer));
    }
    ranks.push_back(std::move(rank));
  }
  return llvm::Error::success();
}

llvm::Error Machine::touch(Rank &rank, Operation *op, Value value, bool write,
                           int64_t token, ArrayRef<int64_t> offsets,
                           ArrayRef<int64_t> sizes,
                           ArrayRef<int64_t> orderedAfter, bool linkOrdered) {
  int64_t index = rank.buffers[value];
  Buffer &buffer = rank.heap[index];
  // Reading data still being written, or overwriting data still being read,
  // is a race the device would lose; concurrent writes of disjoint tiles and
  // concurrent reads are how tiled work runs.
  // The op's own earlier accesses (under `token`, whose table entry is made
  // once all its operands are checked) are not a conflict: an elementwise op
  // or a DMA may work in place, reading its whole region before writing it.
  // A ring step may follow an asynchronous ring step on the same buffers
  // without a wait: the link runs its steps in order.
  // Only a wait retires tokens, and it drops their accesses
  // (retireWaitedAccesses), so a retired one is rare here: it is skipped,
  // looked up only for an access that overlaps (a lookup per access and
  // touch was a tenth of a whole model's estimate).
  auto conflict = [&](std::vector<Access> &list) -> Operation * {
    for (const Access &a : list) {
      if (a.token == token || (linkOrdered && a.linkOrdered) ||
          !overlaps(a.offsetsRef(), a.sizesRef(), offsets, sizes) ||
          llvm::is_contained(orderedAfter, a.token))
        continue;
      auto live = rank.liveTokens.find(a.token);
      if (live != rank.liveTokens.end())
        return live->second.op;
    }
    return nullptr;
  };
  auto where = [](Operation *other) { return locationOf(other); };
  if (Operation *writer = conflict(buffer.writers))
    return errorAt(op, llvm::Twine(write ? "writes" : "reads") +
                           " a region that the operation at " + where(writer) +
                           " writes, before waiting for it (missing "
                           "gemm_tile.wait)");
  if (write)
    if (Operation *reader = conflict(buffer.readers))
      return errorAt(op, "overwrites a region that the operation at " +
                             where(reader) +
                             " still reads, before waiting for it (missing "
                             "gemm_tile.wait)");
  if (token >= 0) {
    (write ? buffer.writers : buffer.readers)
        .emplace_back(token, offsets, sizes, linkOrdered);
    if (!buffer.accessed) {
      buffer.accessed = true;
      rank.accessed.push_back(index);
    }
  }
  return llvm::Error::success();
}

void Machine::book(Rank &rank, Operation *op, Value token, double &engineFree,
                   double &engineBusy, int64_t track, double duration,
                   TraceEvent event, TraceDetail detail) {
  double start = std::max(rank.clock, engineFree);
  engineFree = start + duration;
  engineBusy += duration;
  addToken(rank, token, {start + duration, op});
  record(rank, op, track, start, duration, event, std::move(detail));
}

void Machine::bookDMA(Rank &rank, Operation *op, Value token, int64_t from,
                      int64_t to, int64_t bytes, TraceEvent event,
                      TraceDetail detail, double notBefore) {
  // On a mesh, the transfer holds every link of its route: it starts when
  // they are all free too (the engine waits for them, idle). A copy ordered
  // after others waits for them the same way: the engine runs its queue in
  // order.
  SmallVector<int64_t, 8> scratch;
  ArrayRef<int64_t> route = routeOf(from, to, scratch);
  double &engineFree = rank.dmaFree[to];
  engineFree = std::max(engineFree, notBefore);
  for (int64_t link : route)
    engineFree = std::max(engineFree, rank.meshLinkFree.lookup(link));
  book(rank, op, token, engineFree, rank.dmaBusy[to], kDMATrackBase + to,
       dmaSeconds(device, bytes, from, to), event, std::move(detail));
  for (int64_t link : route)
    rank.meshLinkFree[link] = engineFree;
}

llvm::Error Machine::issueCompute(Rank &rank, gt::PEComputeOpInterface op) {
  SmallVector<gt::BufferRegion> reads = op.getReadRegions(),
                                writes = op.getWriteRegions();
  int64_t token = rank.nextToken;
  for (const gt::BufferRegion &r : reads)
    if (llvm::Error e =
            touch(rank, op, r.buffer, false, token, r.offsets, r.sizes))
      return e;
  for (const gt::BufferRegion &w : writes)
    if (llvm::Error e =
            touch(rank, op, w.buffer, true, token, w.offsets, w.sizes))
      return e;
  if (!op.canWorkInPlace())
    for (const gt::BufferRegion &r : reads)
      for (const gt::BufferRegion &w : writes)
        if (r.buffer == w.buffer &&
            overlaps(r.offsets, r.sizes, w.offsets, w.sizes))
          return errorAt(op, "writes a region of its output that it also "
                             "reads as an operand ('" +
                                 op->getName().getStringRef() +
                                 "' cannot work in place)");

  // The arithmetic, deferred to the next wait; in cost-only mode only the
  // kernel's existence and arity are checked, as the numeric run checks them.
  gt::HostKernel kernel = op.getHostKernel();
  // Every use of the output is in the rank's pending work, so a reused
  // block is zeroed there (materialize). The elementwise and row kernels
  // take the output's data when they run: it is made at the wait, and not
  // at all if the buffer views another's (shareResults).
  bool takesDataLate = kernel.kind == gt::HostKernel::Kind::Map ||
                       kernel.kind == gt::HostKernel::Kind::Zip ||
                       kernel.kind == gt::HostKernel::Kind::Rows;
  Buffer &out =
      bufferOf(rank, writes.front().buffer, &rank, takesDataLate);
  HostTensor *outTensor = &out.tensor;
  SmallVector<int64_t, 2> to = writes.front().offsets,
                          size = writes.front().sizes;
  switch (kernel.kind) {
  case gt::HostKernel::Kind::Gemm: {
    if (costOnly)
      break;
    const gt::BufferRegion &lhsRegion = reads[0], &rhsRegion = reads[1];
    int64_t m = size[0], n = size[1], k = lhsRegion.sizes[1];
    // The operands are read in place, from a view into a global input or
    // from the buffer's own data. A half view read as A views the input's
    // one widened copy, shared by every rank (the kernels take f16 for B
    // only: A is the activations, B the weights).
    if (Buffer &a = rawBufferOf(rank, lhsRegion.buffer); a.halfView) {
      a.widenedCopy = widenedInput(a.input);
      a.view = a.widenedCopy->data() + a.viewOffset;
      a.halfView = nullptr;
    }
    auto matmul = dyn_cast<gt::MatmulOp>(op.getOperation());
    bool transposed = matmul && matmul.getTransposeRhs();
    // A deferred replica's region is read where its parts were copied from
    // (readThroughReplica): one piece in place, an A of several gathered
    // when its task runs.
    runtime::APieces lhsPieces;
    auto operand = [&](const gt::BufferRegion &region, int64_t &ld,
                       bool gathered) -> const float * {
      int64_t index = rank.buffers[region.buffer];
      SmallVector<Rank::ReplicaPart, 4> pieces;
      if (readThroughReplica(rank, index, region, gathered, pieces)) {
        if (pieces.size() == 1)
          return pieceData(rank, pieces.front(), ld);
        lhsPieces = gemmPieces(rank, pieces);
        ld = region.sizes[1];
        return nullptr;
      }
      realizeReplica(rank, index);
      Buffer &buffer = rawBufferOf(rank, region.buffer);
      ld = buffer.view || buffer.halfView ? buffer.viewStride
                                          : buffer.tensor.shape[1];
      const float *base = buffer.view
                              ? buffer.view
                              : materialize(buffer, &rank).tensor.data.data();
      return base + region.offsets[0] * ld + region.offsets[1];
    };
    int64_t lda, ldb, ldc = outTensor->shape[1];
    float *c = outTensor->data.data() + to[0] * ldc + to[1];
    const float *lhs = operand(lhsRegion, lda, /*gathered=*/!transposed);
    const uint16_t *halfRhs = nullptr;
    const float *rhs = nullptr;
    if (const Buffer &b = rawBufferOf(rank, rhsRegion.buffer); b.halfView) {
      ldb = b.viewStride;
      halfRhs = b.halfView + rhsRegion.offsets[0] * ldb + rhsRegion.offsets[1];
    } else {
      rhs = operand(rhsRegion, ldb, /*gathered=*/false);
    }
    bool accumulate = kernel.accumulate;
    DType outType = outTensor->dtype;
    // A transposed rhs (n × k rows of a table) is copied into k × n once per
    // tile, so the product is the one gemm.
    if (transposed) {
      rank.pending.push_back([=] {
        std::vector<float> b(static_cast<size_t>(k * n));
        for (int64_t j = 0; j < n; ++j)
          for (int64_t q = 0; q < k; ++q)
            b[q * n + j] = rhs[j * ldb + q];
        runtime::gemm(lhs, lda, b.data(), n, c, ldc, m, n, k, accumulate);
        for (int64_t i = 0; i < m; ++i)
          runtime::roundBufferToDType(c + i * ldc, n, outType);
      });
      break;
    }
    // Joined with the wait's other tiles that share an operand, then split
    // for the host threads, at the wait (flush).
    runtime::GemmTask task;
    task.a = lhs;
    task.lda = lda;
    task.aPieces = lhsPieces;
    task.b = rhs;
    task.halfB = halfRhs;
    task.ldb = ldb;
    task.c = c;
    task.ldc = ldc;
    task.m = m;
    task.n = n;
    task.k = k;
    task.accumulate = accumulate;
    task.outType = outType;
    // An f16 B is a half view: a piece of an input, constant for the run.
    if (halfRhs)
      task.weights = &packedWeights;
    rank.pendingGemms.push_back(task);
    break;
  }
  case gt::HostKernel::Kind::Map: {
    runtime::MapKernel map = runtime::lookupMapKernel(kernel.name);
    if (!map)
      return errorAt(op,
                     "kb-run has no elementwise kernel '" + kernel.name + "'");
    if (costOnly)
      break;
    const HostTensor *in = &readOf(rank, reads[0].buffer, &rank);
    SmallVector<int64_t, 2> from = reads[0].offsets;
    float scale = static_cast<float>(kernel.scale);
    rank.pending.push_back(
        [=] { mapRegion(map, scale, *in, from, *outTensor, to, size); });
    noteResult(rank, kernel, reads, writes.front());
    break;
  }
  case gt::HostKernel::Kind::Zip: {
    runtime::ZipKernel zip = runtime::lookupZipKernel(kernel.name);
    if (!zip)
      return errorAt(op,
                     "kb-run has no elementwise kernel '" + kernel.name + "'");
    if (costOnly)
      break;
    const HostTensor *lhs = &readOf(rank, reads[0].buffer, &rank);
    const HostTensor *rhs = &readOf(rank, reads[1].buffer, &rank);
    SmallVector<int64_t, 2> lhsFrom = reads[0].offsets,
                            rhsFrom = reads[1].offsets,
                            rhsSize = reads[1].sizes;
    // A shorter second region (a bias) combines with every row.
    rank.pending.push_back([=] {
      zipRegion(zip, *lhs, lhsFrom, *rhs, rhsFrom, rhsSize, *outTensor, to,
                size);
    });
    noteResult(rank, kernel, reads, writes.front());
    break;
  }
  case gt::HostKernel::Kind::Attention: {
    if (costOnly)
      break;
    // Regions q, k, v (verified 2-D, one element type) read in place; k and
    // v where a relay's parts were copied from, if they are such a replica
    // not yet copied (the keys gathered from every cube of the rank).
    SmallVector<runtime::RowPiece, 16> kPieces = keyPieces(rank, reads[1]),
                                       vPieces = keyPieces(rank, reads[2]);
    AttentionOperands in =
        attentionOperands(rank, reads, !kPieces.empty(), !vPieces.empty());
    if (kPieces.empty())
      kPieces.push_back({0, reads[1].sizes[0], in.k, in.ldk});
    if (vPieces.empty())
      vPieces.push_back({0, reads[2].sizes[0], in.v, in.ldv});
    const float *q = in.q;
    int64_t ldq = in.ldq, ldo = outTensor->shape[1];
    const gt::BufferRegion &kRegion = reads[1];
    float *o = outTensor->data.data() + to[0] * ldo + to[1];
    int64_t rows = size[0], keys = kRegion.sizes[0], headDim = kRegion.sizes[1],
            heads = kernel.heads, position = kernel.position;
    DType outType = outTensor->dtype;
    rank.pending.push_back(
        [=, kPieces = std::move(kPieces), vPieces = std::move(vPieces)] {
          runtime::causalAttentionBlock(outType, q, ldq, kPieces, vPieces, o,
                                        ldo, rows, keys, heads,
                                        /*numKVHeads=*/1, headDim, position);
        });
    break;
  }
  case gt::HostKernel::Kind::AttentionPartial: {
    if (costOnly)
      break;
    // Regions q, k, v (one element type) read in place; the partial rows
    // (f32) written in place.
    AttentionOperands in = attentionOperands(rank, reads);
    const float *q = in.q, *k = in.k, *v = in.v;
    int64_t ldq = in.ldq, ldk = in.ldk, ldv = in.ldv,
            ldp = outTensor->shape[1];
    const gt::BufferRegion &qRegion = reads[0], &kRegion = reads[1];
    float *p = outTensor->data.data() + to[0] * ldp + to[1];
    int64_t rows = qRegion.sizes[0], keys = kRegion.sizes[0],
            headDim = kRegion.sizes[1], heads = kernel.heads,
            position = kernel.position, keyBegin = kernel.keyBegin;
    rank.pending.push_back([=] {
      runtime::attentionPartialBlock(q, ldq, k, ldk, v, ldv, p, ldp, rows,
                                     keys, heads, headDim, position, keyBegin);
    });
    break;
  }
  case gt::HostKernel::Kind::AttentionCombine: {
    if (costOnly)
      break;
    const gt::BufferRegion &pRegion = reads[0];
    const HostTensor &pt = readOf(rank, pRegion.buffer, &rank);
    int64_t ldp = pt.shape[1], ldo = outTensor->shape[1];
    const float *p =
        pt.data.data() + pRegion.offsets[0] * ldp + pRegion.offsets[1];
    float *o = outTensor->data.data() + to[0] * ldo + to[1];
    int64_t rows = size[0], heads = kernel.heads, splits = kernel.splits,
            headDim = pRegion.sizes[1] - 2;
    DType outType = outTensor->dtype;
    rank.pending.push_back([=] {
      runtime::attentionCombine(outType, p, ldp, splits, rows, heads, headDim,
                                o, ldo);
    });
    break;
  }
  case gt::HostKernel::Kind::Rows: {
    const runtime::RowKernelInfo *rows = runtime::lookupRowKernel(kernel.name);
    if (!rows)
      return errorAt(op, "kb-run has no row kernel '" + kernel.name + "'");
    if (reads.size() != rows->vectors + 1 ||
        kernel.params.size() != rows->params)
      return errorAt(op, "row kernel '" + kernel.name + "' takes " +
                             llvm::Twine(rows->vectors) + " vectors and " +
                             llvm::Twine(rows->params) + " numbers");
    if (costOnly)
      break;
    // A relay's replica not yet copied is read band by band where its parts
    // were copied from (the keys a relay gathered on every cube, rotated on
    // every cube): its copies never run, and the cubes' results, read from
    // the same bands, are computed once (shareResults).
    SmallVector<Rank::ReplicaPart, 4> inPieces =
        rowPieces(rank, reads[0], size);
    const HostTensor *in =
        inPieces.empty() ? &readOf(rank, reads[0].buffer, &rank) : nullptr;
    SmallVector<int64_t, 2> from = reads[0].offsets;
    // The vectors (a weight, a bias) with their regions.
    SmallVector<std::tuple<const HostTensor *, SmallVector<int64_t, 2>,
                           SmallVector<int64_t, 2>>>
        vectors;
    for (const gt::BufferRegion &r : ArrayRef(reads).drop_front())
      vectors.push_back(
          {&readOf(rank, r.buffer, &rank), r.offsets, r.sizes});
    runtime::RowKernel rowKernel = rows->kernel;
    SmallVector<double, 3> params = kernel.params;
    if (!inPieces.empty()) {
      // Each band from its root, at its rows of the output.
      SmallVector<std::pair<const HostTensor *, Rank::ReplicaPart>, 4> bands;
      for (const Rank::ReplicaPart &piece : inPieces)
        bands.push_back({&rank.heap[piece.root].tensor, piece});
      int positionParam = rows->positionParam;
      rank.pending.push_back([=] {
        SmallVector<RowVector, 2> rowVectors;
        for (const auto &[tensor, offsets, sizes] : vectors)
          rowVectors.push_back({tensor, offsets, sizes});
        for (const auto &[root, piece] : bands) {
          SmallVector<double, 3> bandParams = params;
          if (positionParam >= 0)
            bandParams[positionParam] += piece.toOffsets[0];
          rowRegion(rowKernel, bandParams, *root, piece.rootOffsets, rowVectors,
                    *outTensor, {to[0] + piece.toOffsets[0], to[1]},
                    {piece.sizes[0], size[1]});
        }
      });
      noteResult(rank, kernel, reads, writes.front(), inPieces);
      break;
    }
    rank.pending.push_back([=] {
      SmallVector<RowVector, 2> rowVectors;
      for (const auto &[tensor, offsets, sizes] : vectors)
        rowVectors.push_back({tensor, offsets, sizes});
      rowRegion(rowKernel, params, *in, from, rowVectors, *outTensor, to,
                size);
    });
    noteResult(rank, kernel, reads, writes.front());
    break;
  }
  }

  PEWork work = op.getWork();
  int64_t pe = out.cube * device.pesPerCube + op.getPe();
  rank.stats.flops += work.flops;
  TraceEvent event;
  event.engine = EngineKind::PE;
  event.flops = work.flops;
  TraceDetail detail;
  detail.tile.assign(size.begin(), size.end());
  Rank::Engine &engine = rank.pes[pe];
  book(rank, op, op.getToken(), engine.free, engine.busy, pe,
       peSeconds(device, work), event, std::move(detail));
  return llvm::Error::success();
}

llvm::Error Machine::issueDMA(Rank &rank, gt::DMAOp dma) {
  int64_t token = rank.nextToken;
  // The copies it is ordered after (`after`): it may read what they write,
  // and starts when the last of them ends. One already waited for has
  // ended before the rank's clock.
  SmallVector<int64_t, 2> after;
  double afterEnd = 0;
  for (Value t : dma.getAfter()) {
    auto id = rank.tokens.find(t);
    if (id == rank.tokens.end())
      return errorAt(dma, "is ordered after a copy this rank has not issued");
    after.push_back(id->second);
    auto live = rank.liveTokens.find(id->second);
    if (live == rank.liveTokens.end())
      continue;
    if (!isa<gt::DMAOp>(live->second.op))
      return errorAt(dma, "is ordered after the '" +
                              live->second.op->getName().getStringRef() +
                              "' at " + locationOf(live->second.op) +
                              ", which is no copy: 'after' names copies only");
    afterEnd = std::max(afterEnd, live->second.end);
  }
  // A rank-strided source is checked as a whole: its region moves with
  // the rank.
  if (llvm::Error e = touch(
          rank, dma, dma.getSource(), false, token,
          dma.getRankStride() ? ArrayRef<int64_t>() : dma.getSourceOffsets(),
          dma.getRankStride() ? ArrayRef<int64_t>() : dma.getSizes(), after))
    return e;
  // A relay's copy into a buffer that only such copies fill is recorded,
  // not run (relayCopy, once the target's access is checked): neither
  // buffer's data is taken.
  int64_t sourceIndex = rank.buffers[dma.getSource()],
          targetIndex = rank.buffers[dma.getTarget()];
  SmallVector<Rank::ReplicaPart, 4> pieces;
  bool relayed = !costOnly && !dma.getRankStride() &&
                 !dma.getTargetRankStride() && !dma.getClip() &&
                 canRelay(rank, sourceIndex, targetIndex, dma.getSourceOffsets(),
                          dma.getTargetOffsets(), dma.getSizes(), pieces);
  // A copy ordered after others that reads a relay's replica not yet
  // copied makes it now (readOf): the copies that filled the regions its
  // parts read may still be pending in this batch, so they run first.
  if (!relayed && !costOnly && !after.empty() && isDeferred(rank, sourceIndex))
    flush(rank);
  // The source is only read: a view of an input copies from its shared
  // piece (readOf).
  // (The target first: readOf's rule.)
  Buffer &dst = relayed ? rawBufferOf(rank, dma.getTarget())
                        : bufferOf(rank, dma.getTarget(), &rank);
  const HostTensor &srcTensor = relayed
                                    ? rawBufferOf(rank, dma.getSource()).tensor
                                    : readOf(rank, dma.getSource(), &rank);
  const Buffer &src = rawBufferOf(rank, dma.getSource());
  // A rank-strided target is checked where this rank writes: the ranks'
  // slices of an all-gather's ring buffer are written by separate DMAs.
  SmallVector<int64_t, 2> target(dma.getTargetOffsets()), size(dma.getSizes());
  if (std::optional<ArrayRef<int64_t>> stride = dma.getTargetRankStride())
    for (size_t d = 0; d < target.size(); ++d) {
      target[d] += rank.index * (*stride)[d];
      if (target[d] + size[d] > dst.tensor.shape[d])
        return errorAt(dma, "rank " + llvm::Twine(rank.index) +
                                " writes outside the target in dimension " +
                                llvm::Twine(d) +
                                " (target_rank_stride too large)");
    }
  if (llvm::Error e =
          touch(rank, dma, dma.getTarget(), true, token, target, size, after))
    return e;
  SmallVector<int64_t> srcOffsets(dma.getSourceOffsets());
  // The slice index: the rank, or (rank / rank_replicas) mod rank_shards.
  int64_t slice =
      rank.index / static_cast<int64_t>(dma.getRankReplicas().value_or(1));
  if (std::optional<uint64_t> shards = dma.getRankShards())
    slice %= static_cast<int64_t>(*shards);
  if (std::optional<ArrayRef<int64_t>> stride = dma.getRankStride())
    for (size_t d = 0; d < srcOffsets.size(); ++d) {
      srcOffsets[d] += slice * (*stride)[d];
      if (srcOffsets[d] + size[d] <= src.tensor.shape[d])
        continue;
      // A clipped copy takes what the source holds of its region (the last
      // rank's shard of a padded vocabulary), possibly nothing.
      if (!dma.getClip())
        return errorAt(dma, "rank " + llvm::Twine(rank.index) +
                                " reads outside the source in dimension " +
                                llvm::Twine(d) + " (rank_stride too large)");
      size[d] = std::max<int64_t>(0, src.tensor.shape[d] - srcOffsets[d]);
      srcOffsets[d] = std::min(srcOffsets[d], src.tensor.shape[d]);
    }
  const HostTensor *from = &srcTensor;
  HostTensor *to = &dst.tensor;
  int64_t elements = 1;
  for (int64_t s : size)
    elements *= s;
  if (relayed && elements > 0)
    relayCopy(rank, targetIndex, target, elements, pieces);
  else if (!costOnly && elements > 0)
    rank.pendingCopies.push_back(
        {rank.buffers[dma.getSource()], rank.buffers[dma.getTarget()], from, to,
         SmallVector<int64_t, 2>(ArrayRef<int64_t>(srcOffsets)), target, size,
         elements, !after.empty()});
  int64_t bytes = elements * runtime::dtypeSize(dst.tensor.dtype);
  rank.stats.dmaBytes += bytes;
  TraceEvent event;
  event.engine = EngineKind::DMA;
  event.bytes = bytes;
  TraceDetail detail;
  detail.tile.assign(dma.getSizes().begin(), dma.getSizes().end());
  bookDMA(rank, dma, dma.getToken(), src.cube, dst.cube, bytes, event,
          std::move(detail), afterEnd);
  if (relayed)
    if (auto id = rank.tokens.find(dma.getToken()); id != rank.tokens.end())
      rank.liveTokens[id->second].hostWork = false;
  return llvm::Error::success();
}

llvm::Error Machine::issueGatherRows(Rank &rank, gt::GatherRowsOp op) {
  int64_t token = rank.nextToken;
  ArrayRef<int64_t> sizes = op.getSizes();
  int64_t rows = sizes[0], cols = sizes[1];
  SmallVector<int64_t, 2> tableSizes{static_cast<int64_t>(op.getTableRows()),
                                     cols};
  if (llvm::Error e = touch(rank, op, op.getIds(), false, token,
                            op.getIdsOffsets(), sizes.take_front()))
    return e;
  if (llvm::Error e = touch(rank, op, op.getTable(), false, token,
                            op.getTableOffsets(), tableSizes))
    return e;
  if (llvm::Error e =
          touch(rank, op, op.getOut(), true, token, op.getOutOffsets(), sizes))
    return e;
  Buffer &ids = bufferOf(rank, op.getIds());
  Buffer &table = bufferOf(rank, op.getTable());
  Buffer &out = bufferOf(rank, op.getOut());
  // Charged as a DMA of the whole region (each row is read or skipped by the
  // engine; the cost model cannot know the ids): rows × cols × bytes. The
  // charge does not depend on the ids, so --cost-only, which has none, books
  // the same time.
  int64_t bytes = rows * cols * runtime::dtypeSize(out.tensor.dtype);
  rank.stats.dmaBytes += bytes;
  TraceEvent event;
  event.engine = EngineKind::DMA;
  event.bytes = bytes;
  TraceDetail detail;
  detail.tile.assign(sizes.begin(), sizes.end());
  if (costOnly) {
    bookDMA(rank, op, op.getToken(), table.cube, out.cube, bytes, event,
            std::move(detail));
    return llvm::Error::success();
  }
  // The ids are read now: a block reused for them must be zero now.
  zeroPending(rank);
  const float *idData = ids.tensor.data.data() + op.getIdsOffsets()[0];
  auto vocab = static_cast<int64_t>(op.getVocab());
  for (int64_t i = 0; i < rows; ++i)
    if (idData[i] < 0 || idData[i] >= static_cast<float>(vocab))
      return errorAt(op, "token id " +
                             llvm::Twine(static_cast<int64_t>(idData[i])) +
                             " at position " +
                             llvm::Twine(op.getIdsOffsets()[0] + i) +
                             " is outside the vocabulary of " +
                             llvm::Twine(vocab) + " ids");
  // Plain locals, not a structured binding: the lambda below captures them.
  int64_t begin, end;
  std::tie(begin, end) = op.gatheredIds(rank.index);
  int64_t first = op.firstId(rank.index);
  int64_t ldTable = table.tensor.shape[1], ldOut = out.tensor.shape[1];
  const float *tableData = table.tensor.data.data() +
                           op.getTableOffsets()[0] * ldTable +
                           op.getTableOffsets()[1];
  float *outData = out.tensor.data.data() + op.getOutOffsets()[0] * ldOut +
                   op.getOutOffsets()[1];
  rank.pending.push_back([=] {
    for (int64_t i = 0; i < rows; ++i) {
      auto id = static_cast<int64_t>(idData[i]);
      if (id >= begin && id < end)
        std::copy_n(tableData + (id - first) * ldTable, cols,
                    outData + i * ldOut);
    }
  });
  bookDMA(rank, op, op.getToken(), table.cube, out.cube, bytes, event,
          std::move(detail));
  return llvm::Error::success();
}

llvm::Error Machine::issue(Rank &rank, Operation *op) {
  if (auto compute = dyn_cast<gt::PEComputeOpInterface>(op))
    return issueCompute(rank, compute);
  if (auto dma = dyn_cast<gt::DMAOp>(op))
    return issueDMA(rank, dma);
  if (auto gather = dyn_cast<gt::GatherRowsOp>(op))
    return issueGatherRows(rank, gather);
  if (isa<gt::WaitOp>(op)) {
    // The rank yields here (step). With host threads to spare its
    // arithmetic runs while the other ranks are simulated, and the wait
    // completes when the rank steps again; else now.
    if (threads > 1 && !costOnly) {
      startFlush(rank);
      rank.yieldedAt = op;
      return llvm::Error::success();
    }
    flush(rank);
    completeWait(rank, op, rank.pc);
    return llvm::Error::success();
  }
  // Buffers were made when the program was loaded; in cost-only mode, now.
  if (auto alloc = dyn_cast<gt::AllocOp>(op)) {
    if (costOnly)
      makeShapeBuffer(rank, alloc,
                      cantFail(dtypeOf(alloc, alloc.getType().getElementType())));
    return llvm::Error::success();
  }
  if (op->hasTrait<OpTrait::ReturnLike>()) {
    flush(rank);
    for (Value v : op->getOperands())
      if (llvm::Error e = touch(rank, op, v, false, -1))
        return e;
    return llvm::Error::success();
  }
  return errorAt(op, "kb-run cannot execute '" + op->getName().getStringRef() +
                         "' in a lowered program");
}

/// A piece of a ring chunk: `length` elements at `offset` of buffer
/// `buffer` (an index into the ring's buffers).
struct ChunkSegment {
  size_t buffer;
  int64_t offset, length;
};

/// The segments of chunk `c` of a ring over buffers of `shapes`: a range of
/// their row-major elements taken one buffer after the other, or, cut along
/// `dim` (one buffer), one run per index of the dimensions before `dim`.
static SmallVector<ChunkSegment>
chunkSegments(ArrayRef<SmallVector<int64_t>> shapes, std::optional<int64_t> dim,
              int64_t w, int64_t c) {
  SmallVector<ChunkSegment> segments;
  if (dim) {
    ArrayRef<int64_t> shape = shapes.front();
    int64_t runs = 1, inner = 1;
    for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d) {
      if (d < *dim)
        runs *= shape[d];
      else if (d > *dim)
        inner *= shape[d];
    }
    int64_t runLength = shape[*dim] / w * inner;
    for (int64_t i = 0; i < runs; ++i)
      segments.push_back({0, (i * w + c) * runLength, runLength});
    return segments;
  }
  int64_t n = 0;
  SmallVector<int64_t> sizes;
  for (ArrayRef<int64_t> shape : shapes) {
    int64_t e = 1;
    for (int64_t s : shape)
      e *= s;
    sizes.push_back(e);
    n += e;
  }
  int64_t begin = c * (n / w) + std::min(c, n % w);
  int64_t end = begin + n / w + (c < n % w ? 1 : 0);
  int64_t base = 0;
  for (auto [b, size] : llvm::enumerate(sizes)) {
    int64_t from = std::max(begin, base), to = std::min(end, base + size);
    if (from < to)
      segments.push_back({b, from - base, to - from});
    base += size;
  }
  return segments;
}

llvm::Error Machine::ringStep(gt::RingStepOpInterface ring) {
  Operation *op = ring;
  std::optional<ReductionKind> reduction = ring.getReduction();
  SmallVector<Value> bufferValues(ring.getBuffers());
  Value key = bufferValues.front(); // names the ring in openCollectives
  int64_t step = ring.getStep(), w = ring.getRingSize();
  if (w != program.worldSize)
    return errorAt(op, "is a step of a ring of " + llvm::Twine(w) +
                           " SIPs, but the program runs on " +
                           llvm::Twine(program.worldSize));
  // An asynchronous step's buffers are the link's until a wait on its token.
  Value asyncToken = ring.getAsyncToken();
  for (Rank &rank : ranks) {
    flush(rank);
    int64_t token = asyncToken ? rank.nextToken : -1;
    for (Value v : bufferValues)
      if (llvm::Error e = touch(rank, op, v, true, token, {}, {}, {},
                                /*linkOrdered=*/true))
        return e;
  }
  SmallVector<SmallVector<int64_t>> shapes;
  int64_t n = 0;
  for (Value v : bufferValues) {
    const HostTensor &t = bufferOf(ranks[0], v).tensor;
    shapes.emplace_back(t.shape.begin(), t.shape.end());
    n += t.numElements();
  }
  std::optional<int64_t> chunkDim = ring.getChunkDim();
  auto segmentsOf = [&](int64_t c) {
    return chunkSegments(shapes, chunkDim, w, c);
  };
  auto chunkSize = [&](int64_t c) {
    int64_t size = 0;
    for (const ChunkSegment &s : segmentsOf(c))
      size += s.length;
    return size;
  };
  std::vector<int64_t> sentChunk(w);
  int64_t maxBytes = 0;
  DType dtype = bufferOf(ranks[0], key).tensor.dtype;
  // bf16 partial sums travel and accumulate in f32 (docs/design/0007): per-
  // step bf16 rounding would lose accuracy with W. The all-gather half, and
  // the other types, send the buffer's own elements.
  bool wideReduce = reduction && dtype == DType::BF16;
  size_t eb = wideReduce ? 4 : runtime::dtypeSize(dtype);
  // The step's data movement: what each rank sends (read before anyone
  // receives) and where its neighbour puts it, as pointers into the ranks'
  // buffers, which live at least until a wait retires the step.
  RingMove move;
  move.reduction = reduction;
  move.last = step == w - 2;
  move.wideReduce = wideReduce;
  move.ranks = w;
  move.sent.resize(w);
  move.received.resize(w);
  for (int64_t r = 0; r < w; ++r) {
    int64_t c = ring.getSentChunk(r);
    sentChunk[r] = c;
    int64_t elements = 0;
    for (const ChunkSegment &s : segmentsOf(c)) {
      elements += s.length;
      if (costOnly)
        continue;
      const float *data =
          bufferOf(ranks[r], bufferValues[s.buffer]).tensor.data.data();
      move.sent[r].push_back({data + s.offset, s.length});
    }
    ranks[r].stats.linkBytesSent += elements * eb;
    maxBytes = std::max<int64_t>(maxBytes, elements * eb);
  }
  for (int64_t r = 0; r < w && !costOnly; ++r) {
    int64_t from = (r + w - 1) % w;
    for (const ChunkSegment &s : segmentsOf(sentChunk[from])) {
      HostTensor &t = bufferOf(ranks[r], bufferValues[s.buffer]).tensor;
      move.received[r].push_back(
          {t.data.data() + s.offset, s.length, t.dtype});
    }
  }
  if (!costOnly) {
    // An asynchronous step's buffers are the link's until a wait retires
    // it (the hazard check holds every other op off them), so its data
    // moves on the host threads while the ranks' next ops are simulated
    // (startRingMoves); a step that holds its ranks moves it now.
    pendingRingMoves.push_back(std::move(move));
    if (!asyncToken)
      joinRingMoves();
  }
  // Every rank has issued the step and its link is free.
  double start = 0;
  for (Rank &rank : ranks)
    start = std::max({start, rank.clock, rank.linkFree});
  // The step lasts as long as the largest chunk takes on its link (in f32
  // for a wide bf16 reduce-scatter), or its share of the collective's
  // gather and multicast on a switch.
  double duration = collectiveStepSeconds(device, maxBytes, w,
                                          reduction.has_value(),
                                          chunkDim.has_value());
  for (Rank &rank : ranks) {
    rank.linkFree = start + duration;
    if (asyncToken) {
      addToken(rank, asyncToken, {start + duration, op});
    } else {
      rank.clock = start + duration;
    }
    rank.stats.collectiveSeconds += duration;
    TraceEvent event;
    event.engine = EngineKind::Ring;
    event.bytes = chunkSize(sentChunk[rank.index]) * eb;
    TraceDetail detail;
    detail.tile = {chunkSize(sentChunk[rank.index])};
    detail.ringStep = ringSteps;
    record(rank, op, kLinkTrack, start, duration, event, std::move(detail));
  }
  ++ringSteps;
  // Account the ring. A flat reduce-scatter's first step opens an
  // all-reduce, which its all-gather's last step closes; a ring along a
  // dimension is a reduce-scatter or an all-gather of its own. One ring is
  // one logical collective, however many cube pieces it spans.
  if (step == 0 && (reduction || chunkDim) &&
      op->hasAttr(gt::GemmTileDialect::kContinuesCollectiveAttrName) &&
      !run.collectives.empty()) {
    // The next row band of the collective the last ring began.
    openCollectives[key] = run.collectives.size() - 1;
    CollectiveStats &c = run.collectives.back();
    c.bytes += n * runtime::dtypeSize(dtype);
    c.reduceBytes += reduction ? n * eb : 0;
  } else if (step == 0 && (reduction || chunkDim)) {
    openCollectives[key] = run.collectives.size();
    CollectiveStats c;
    c.op = !chunkDim ? "all_reduce"
                     : (reduction ? "reduce_scatter" : "all_gather");
    c.dim = chunkDim.value_or(-1);
    c.reduces = reduction.has_value();
    c.gathers = !chunkDim || !reduction;
    c.bytes = n * runtime::dtypeSize(dtype);
    c.reduceBytes = reduction ? n * eb : 0;
    c.pieces = bufferValues.size();
    c.location = locationOf(op);
    c.bytesSentByRank.assign(w, 0);
    run.collectives.push_back(c);
  }
  auto it = openCollectives.find(key);
  if (it != openCollectives.end())
    for (int64_t r = 0; r < w; ++r)
      run.collectives[it->second].bytesSentByRank[r] +=
          chunkSize(sentChunk[r]) * eb;
  if (step == w - 2 && (!reduction || chunkDim))
    openCollectives.erase(key);
  return llvm::Error::success();
}

llvm::Error Machine::step(Rank &rank) {
  joinRank(rank);
  while (rank.pc < ops.size()) {
    Operation *op = ops[rank.pc];
    if (ringStepAt[rank.pc])
      return llvm::Error::success(); // blocks until every rank is here
    if (isa<gt::WaitOp>(op) && !costOnly && waitsForRecordsOnly(rank, op)) {
      retireWaited(rank, op);
      ++rank.pc;
      continue;
    }
    if (llvm::Error e = issue(rank, op))
      return e;
    ++rank.pc;
    if (rank.yieldedAt)
      return llvm::Error::success(); // a yield point: the next rank's turn
  }
  rank.done = true;
  return llvm::Error::success();
}

llvm::Error Machine::stepRanks() {
  // A numeric run steps the ranks in turn: their arithmetic, started at
  // each wait, is what the host threads share (startFlush). Shapes alone
  // leave the threads nothing to do but the simulation itself, and between
  // two ring steps a rank's simulation reads and writes its own state only:
  // the ranks step at once, each on one thread.
  // A round of a few ops (between two steps of one ring, none) is stepped in
  // turn: waking the pool would cost more than the round.
  auto opsToNextRing = [&](const Rank &rank) {
    size_t pc = rank.pc;
    while (pc < ops.size() && !ringStepAt[pc] && pc - rank.pc < kOpsAtOnce)
      ++pc;
    return pc - rank.pc;
  };
  steppingAtOnce = costOnly && threads > 1 && ranks.size() > 1 &&
                   opsToNextRing(ranks.front()) >= kOpsAtOnce;
  if (!steppingAtOnce) {
    for (Rank &rank : ranks)
      if (!rank.done)
        if (llvm::Error e = step(rank))
          return e;
    return llvm::Error::success();
  }
  std::vector<llvm::Error> errors;
  errors.reserve(ranks.size());
  for (size_t r = 0; r < ranks.size(); ++r)
    errors.push_back(llvm::Error::success());
  std::vector<std::function<void()>> work;
  for (Rank &rank : ranks)
    if (!rank.done)
      work.push_back(
          [this, &rank, &error = errors[rank.index]] { error = step(rank); });
  runtime::runOnHostThreads(work, threads);
  steppingAtOnce = false;
  // As stepping the ranks in turn: the first rank's error, and the events
  // of each rank in rank order.
  llvm::Error first = llvm::Error::success();
  for (llvm::Error &e : errors) {
    if (!e)
      continue;
    if (first)
      llvm::consumeError(std::move(e));
    else
      first = std::move(e);
  }
  for (Rank &rank : ranks) {
    if (traceDetails) {
      int32_t detailBase = static_cast<int32_t>(run.details.size());
      for (TraceEvent &event : rank.events)
        event.detail += detailBase;
      std::move(rank.details.begin(), rank.details.end(),
                std::back_inserter(run.details));
    }
    run.trace.insert(run.trace.end(), rank.events.begin(), rank.events.end());
    rank.events.clear();
    rank.details.clear();
  }
  return first;
}

llvm::Expected<SmallVector<HostTensor>>
Machine::execute(ArrayRef<HostTensor> inputs) {
  if (llvm::Error e = checkStatically())
    return std::move(e);
  this->inputs = inputs;
  widenedInputs.assign(inputs.size(), {});
  if (llvm::Error e = loadInputs(inputs))
    return std::move(e);
  // The cube buffers made from here on come and go: small pages
  // (HostTensor.h).
  runtime::TransientTensorScope transient;
  if (costOnly)
    indexDyingValues();
  while (true) {
    if (llvm::Error e = stepRanks())
      return std::move(e);
    if (progress) {
      size_t issued = 0;
      for (Rank &rank : ranks)
        issued += rank.pc;
      progress(static_cast<double>(issued) /
               std::max<size_t>(ops.size() * ranks.size(), 1));
    }
    bool allDone = llvm::all_of(ranks, [](Rank &r) { return r.done; });
    if (allDone)
      break;
    // Every rank that is not done must be at the same ring step.
    bool atRing = llvm::all_of(ranks, [&](Rank &r) {
      return !r.done && r.pc == ranks[0].pc && ringStepAt[r.pc];
    });
    bool anyRunnable = llvm::any_of(
        ranks, [&](Rank &r) { return !r.done && !ringStepAt[r.pc]; });
    if (anyRunnable)
      continue;
    if (!atRing)
      return errorAt(program.entry, "deadlock: the ranks wait at different "
                                    "collectives or some have finished");
    if (llvm::Error e =
            ringStep(cast<gt::RingStepOpInterface>(ops[ranks[0].pc])))
      return std::move(e);
    for (Rank &rank : ranks)
      ++rank.pc;
    // The ring's consecutive steps issued, the ranks go on while its data
    // moves.
    if (!ringStepAt[ranks[0].pc])
      startRingMoves();
  }

  // (A rank is done after its return, which flushed it: nothing runs.)
  for (Rank &rank : ranks)
    joinRank(rank);
  joinRingMoves();
  SmallVector<HostTensor> results;
  if (!costOnly)
    if (llvm::Error e = gatherResults(results))
      return std::move(e);

  // Statistics.
  run.pesPerCube = device.pesPerCube;
  run.packedWeightBlocks = static_cast<int64_t>(packedWeights.packs());
  run.packedWeightReads = static_cast<int64_t>(packedWeights.hits());
  collectiveHiddenSeconds();
  for (Rank &rank : ranks) {
    run.maxOutstandingOps =
        std::max(run.maxOutstandingOps, rank.maxOutstandingOps);
    run.maxShapeBuffers = std::max(run.maxShapeBuffers, rank.maxShapeBuffers);
    double end = rank.clock;
    // A retired op ended by the clock.
    for (const auto &[id, t] : rank.liveTokens)
      end = std::max(end, t.end);
    rank.stats.endSeconds = end;
    for (const auto &[track, engine] : rank.pes)
      rank.stats.computeSeconds =
          std::max(rank.stats.computeSeconds, engine.busy);
    rank.stats.dmaSeconds =
        *std::max_element(rank.dmaBusy.begin(), rank.dmaBusy.end());
    run.deviceSeconds = std::max(run.deviceSeconds, end);
    run.sips.push_back(rank.stats);
  }
  return results;
}

llvm::Error Machine::gatherResults(SmallVector<HostTensor> &results) {
  // Each rank's pieces assembled into its local tensors, gathered.
  auto ret =
      cast<func::ReturnOp>(program.entry.getBody().front().getTerminator());
  SmallVector<SmallVector<HostTensor>> perResult(program.results.size());
  for (Rank &rank : ranks) {
    SmallVector<HostTensor> locals;
    SmallVector<int64_t> covered;
    // gather() reads one rank per group of replicas (rank 0 of a replicated
    // result): only those ranks' pieces are assembled, every rank's checked.
    SmallVector<bool> assembled;
    for (const TensorSpec &spec : program.results) {
      SmallVector<int64_t> shape(spec.shape.begin(), spec.shape.end());
      if (spec.splitDim >= 0)
        shape[spec.splitDim] /= program.worldSize / spec.replicas;
      bool needed = spec.splitDim < 0
                        ? rank.index == 0
                        : rank.index % std::max<int64_t>(spec.replicas, 1) == 0;
      HostTensor local;
      if (needed) {
        local = runtime::makeTensor(spec.dtype, shape);
      } else {
        local.dtype = spec.dtype;
        local.shape.assign(shape.begin(), shape.end());
      }
      locals.push_back(std::move(local));
      assembled.push_back(needed);
      covered.push_back(0);
    }
    for (unsigned i = 0, e = ret.getNumOperands(); i < e; ++i) {
      Value v = ret.getOperand(i);
      auto piece = program.entry.getResultAttrOfType<gt::PieceAttr>(
          i, gt::GemmTileDialect::kPieceAttrName);
      if (!piece || piece.getTensor() >= static_cast<int64_t>(locals.size()))
        return errorAt(program.entry, "result " + llvm::Twine(i) +
                                          " has no valid gemm_tile.piece");
      HostTensor &local = locals[piece.getTensor()];
      // Whether a part of `shape` fits its tensor at the piece's offsets.
      auto fits = [&](ArrayRef<int64_t> shape) -> llvm::Error {
        if (shape.size() != local.shape.size())
          return errorAt(program.entry,
                         "result " + llvm::Twine(i) +
                             "'s piece does not match its tensor");
        for (size_t d = 0; d < shape.size(); ++d)
          if (piece.getOffsets()[d] + shape[d] > local.shape[d])
            return errorAt(program.entry,
                           "result " + llvm::Twine(i) +
                               "'s piece reaches outside its tensor");
        return llvm::Error::success();
      };
      // A relay's replica not yet copied is inserted from the regions its
      // parts read, on the ranks assembled only (the all-reduced output on
      // each cube of each rank, which every rank copied into blocks of its
      // own only to read them once here).
      int64_t index = rank.buffers[v];
      SmallVector<Rank::ReplicaPart, 4> pieces;
      const HostTensor &buffer = rank.heap[index].tensor;
      if (isDeferred(rank, index) && buffer.shape.size() == 2 &&
          local.shape.size() == 2 &&
          replicaPieces(rank, index, {0, 0}, buffer.shape, pieces)) {
        if (llvm::Error e = fits(buffer.shape))
          return e;
        if (assembled[piece.getTensor()])
          for (const Rank::ReplicaPart &p : pieces)
            copyRegion(rank.heap[p.root].tensor, p.rootOffsets, local,
                       {piece.getOffsets()[0] + p.toOffsets[0],
                        piece.getOffsets()[1] + p.toOffsets[1]},
                       p.sizes);
        covered[piece.getTensor()] += buffer.numElements();
        continue;
      }
      // Read, not taken: a buffer viewing another's data is not copied out.
      const HostTensor &part = readOf(rank, v);
      if (llvm::Error e = fits(part.shape))
        return e;
      if (assembled[piece.getTensor()])
        insertBox(local, part, piece.getOffsets());
      covered[piece.getTensor()] += part.numElements();
    }
    for (auto [i, local] : llvm::enumerate(locals)) {
      if (covered[i] != local.numElements())
        return errorAt(program.entry, "the pieces returned for result " +
                                          llvm::Twine(i) +
                                          " do not cover it exactly");
      perResult[i].push_back(std::move(local));
    }
  }
  for (auto [i, parts] : llvm::enumerate(perResult))
    results.push_back(program.results[i].splitDim < 0
                          ? std::move(parts.front())
                          : gather(parts, program.results[i].splitDim,
                                   program.results[i].replicas));
  return llvm::Error::success();
}

llvm::Expected<SmallVector<HostTensor>>
kb::exec::runDeviceProgram(const Program &program, ArrayRef<HostTensor> inputs,
                           const gt::DeviceDescription &device, DeviceRun &run,
                           bool recordTrace, int threads,
                           const ProgressFn &progress, RunMemory *memory) {
  auto machine = std::make_shared<Machine>(program, device, run, threads,
                                          progress, /*costOnly=*/false,
                                          /*traceDetails=*/recordTrace);
  llvm::Expected<SmallVector<HostTensor>> results = machine->execute(inputs);
  if (memory) {
    *memory = std::move(machine);
    return results;
  }
  // The run's buffers (thousands of blocks, most of them mapped) are freed
  // on a host thread while the caller writes the results: a few ms that
  // would be the last thing the run does alone. The results are copies;
  // nothing freed there is read again.
  runtime::runInBackground([machine = std::move(machine)]() mutable {
    machine.reset();
  }, threads);
  return results;
}

llvm::Error kb::exec::estimateDeviceProgram(const Program &program,
                                            const gt::DeviceDescription &device,
                                            DeviceRun &run,
                                            const ProgressFn &progress,
                                            bool traceDetails, int threads) {
  Machine machine(program, device, run, threads, progress,
                  /*costOnly=*/true, traceDetails);
  llvm::Expected<SmallVector<HostTensor>> results = machine.execute({});
  return results.takeError();
}
