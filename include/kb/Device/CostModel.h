//===- CostModel.h - what device work costs ---------------------*- C++ -*-===//
//
// The one cost model of the AHBM device: one function per kind of work,
// shared by placement (which estimates the lowering of a kb op with them)
// and kb-run (which charges each gemm_tile op with them). The rates come
// from the DeviceDescription only; no caller multiplies a rate itself.
//
// A PE's work costs a fixed launch time plus the longer of its arithmetic at
// the PE's rate and its traffic at its share of the cube's memory bandwidth
// (the cube's PEs share it evenly), each rate scaled by the device's
// efficiency. A DMA costs its latency, which grows with the mesh hops between
// its cubes, plus its bytes at the cube's own bandwidth within a cube and at
// the mesh link's between cubes; a ring step costs its latency α plus its
// bytes at the link rate.
//
//===----------------------------------------------------------------------===//

#ifndef KB_DEVICE_COSTMODEL_H
#define KB_DEVICE_COSTMODEL_H

#include "kb/Device/DeviceDescription.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallVector.h"

namespace kb {

/// What one PE does for one op: the quantities the cost model charges.
struct PEWork {
  double flops = 0; // a multiply-add counts 2
  double bytes = 0; // moved between the cube's memory and the PE
  bool f32 = false; // f32 inputs (the slower rate); else f16/bf16
};

/// A tile gemm out[m×n] (+)= lhs[m×k] · rhs[k×n]: reads both operands once,
/// writes the result (and reads it first when accumulating).
PEWork matmulWork(int64_t m, int64_t n, int64_t k, int64_t inputElementBytes,
                  int64_t outputElementBytes, bool accumulate, bool f32);

/// An elementwise op over `elements` values: reads each of its `inputs`
/// regions and writes one, all of `elementBytes`-byte elements.
PEWork elementwiseWork(double elements, int64_t elementBytes, int64_t inputs);

/// A causal attention block on one PE (gemm_tile.attention): `heads` query
/// heads of one KV head, `rows` query rows each, against `keys` keys of
/// `headDim`. FLOPs 4·rows·keys·headDim per head (q·kᵀ and p·v over the
/// block's whole rows × keys rectangle, masked scores included) plus 5 per
/// score for the softmax (scale, max, exp, sum, normalize); bytes: q read
/// and the output written once, k and v read once for all its heads.
PEWork attentionWork(int64_t heads, int64_t rows, int64_t keys, int64_t headDim,
                     int64_t elementBytes, bool f32);

/// One key range of attention split over keys (gemm_tile.attention_partial):
/// attentionWork's FLOPs over its `keys`, its q, k and v bytes, and its
/// partial rows written in f32 (heads·rows rows of headDim + 2 floats)
/// instead of the output.
PEWork attentionPartialWork(int64_t heads, int64_t rows, int64_t keys,
                            int64_t headDim, int64_t elementBytes, bool f32);

/// The merge of `splits` partials (gemm_tile.attention_combine) into
/// heads·rows output rows: per partial row 2·headDim + 4 FLOPs (its weight
/// e^(m_s − m), the weighted sums of o and l), per output value one divide;
/// bytes: the f32 partials read, the output written. Charged at the f32
/// rate (the partials are f32).
PEWork attentionCombineWork(int64_t splits, int64_t heads, int64_t rows,
                            int64_t headDim, int64_t elementBytes);
/// A norm of `rows` whole rows of `cols` values: reads the rows and its
/// `vectors` (a weight, and LayerNorm's bias) and writes the rows. RMSNorm
/// charges 4 FLOPs per value (square, sum, scale, weight), LayerNorm 7 (a
/// sum for the mean, then deviation, square, sum, and the same scaling plus
/// the bias).
PEWork normWork(int64_t rows, int64_t cols, int64_t elementBytes,
                int64_t vectors, bool layerNorm, bool f32);

/// RoPE of `rows` × `cols` values: reads and writes each once and charges 3
/// FLOPs per value (two products and a sum; the angles are per row and
/// frequency, not per value, and are not charged).
PEWork ropeWork(int64_t rows, int64_t cols, int64_t elementBytes, bool f32);

/// Seconds a PE takes for `work`.
double peSeconds(const DeviceDescription &device, const PEWork &work);

/// Mesh hops between cubes `from` and `to` of a SIP: 0 within a cube; on a
/// mesh of `mesh_cols` cubes per row (cube c at row c / mesh_cols, column
/// c mod mesh_cols) the Manhattan distance; without a mesh 1.
int64_t cubeHops(const DeviceDescription &device, int64_t from, int64_t to);

/// The most hops between two cubes of the SIP (1 without a mesh, 0 with one
/// cube).
int64_t farthestCubeHops(const DeviceDescription &device);

/// The mean hops between two distinct cubes of the SIP: what placement
/// charges for a copy whose source cube it does not know.
double meanCubeHops(const DeviceDescription &device);

/// The mesh links, in order, of the X-then-Y route a DMA from cube `from` to
/// cube `to` takes (each link keyed from * cubes + to of two adjacent cubes);
/// none within a cube or without a mesh. A DMA holds every link of its route
/// for its whole duration.
llvm::SmallVector<int64_t, 8> meshRoute(const DeviceDescription &device,
                                        int64_t from, int64_t to);

/// Seconds before the first byte of a DMA over `hops` mesh hops arrives:
/// `dma_latency_local_ns` within a cube, rising linearly with the hops to
/// `dma_latency_far_cube_ns` at the farthest cube.
double dmaLatencySeconds(const DeviceDescription &device, double hops);

/// Seconds a DMA of `bytes` from cube `from` to cube `to` takes: its latency
/// and its bytes at the cube's memory bandwidth (times the memory efficiency)
/// within a cube, at `cube_cube_gbps` between cubes.
double dmaSeconds(const DeviceDescription &device, double bytes, int64_t from,
                  int64_t to);

/// As above, for a copy within one cube or from a cube placement does not
/// name (charged `meanCubeHops` hops).
double dmaSeconds(const DeviceDescription &device, double bytes,
                  bool withinCube);

/// Seconds one ring step takes when the largest chunk a rank sends has
/// `chunkBytes` (every link carries one chunk, in parallel): the step's
/// latency α plus the chunk at the link rate.
double ringStepSeconds(const DeviceDescription &device, double chunkBytes);

/// Seconds a ring all-reduce (reduce-scatter then all-gather) of `bytes`
/// over `worldSize` SIPs takes, as placement estimates it: 2 (W - 1) steps,
/// each rank sending 2 (W - 1) / W of the buffer over its link.
double allReduceSeconds(const DeviceDescription &device, double bytes,
                        int64_t worldSize);

/// Seconds a collective along a dimension — an all-gather, or a
/// reduce-scatter when `reduce` — of a `bytes` tensor over `worldSize` SIPs
/// takes: its W - 1 steps of a 1/W chunk, each charged as kb-run charges it
/// (collectiveStepSeconds). On a ring, each rank sends (W - 1) / W of the
/// tensor over its link; on a switch, the all-gather gathers and multicasts,
/// the reduce-scatter gathers.
double alongDimCollectiveSeconds(const DeviceDescription &device, double bytes,
                                 int64_t worldSize, bool reduce);

// Collectives through a switch (device.switched(), docs/design/0014): every
// collective is a gather of the W ranks' shares at one port followed by a
// multicast of the whole tensor, as CENT's CXL fabric does. A transfer costs
// the one-hop round trip plus its flits at the port's rate; a flit of
// `flitBytes` carries `flitPayloadBytes`, and a rank's share is packed into
// whole flits.

/// Seconds one switch transfer of `flits` flits takes.
double switchTransferSeconds(const DeviceDescription &device, double flits);

/// Seconds the gather of a collective takes: W - 1 ranks' shares of
/// `shareBytes`, each in whole flits, through one port.
double switchGatherSeconds(const DeviceDescription &device, double shareBytes,
                           int64_t worldSize);

/// Seconds the multicast of `bytes` (the whole tensor) takes.
double switchMulticastSeconds(const DeviceDescription &device, double bytes);

/// Seconds one ring step of a collective is charged on a switch: its share
/// (1 / (W - 1)) of the gather when `gather`, plus of the multicast when
/// `multicast`, of a collective whose ranks each send `chunkBytes`. An
/// all-reduce's reduce-scatter steps carry the gather, its all-gather steps
/// the multicast; an all-gather along a dimension carries both; a
/// reduce-scatter along one the gather.
double switchStepSeconds(const DeviceDescription &device, double chunkBytes,
                         int64_t worldSize, bool gather, bool multicast);

/// The one cost of a collective step: the ring's (ringStepSeconds) or, on a
/// switch, switchStepSeconds. kb-run charges every ring step with it.
double collectiveStepSeconds(const DeviceDescription &device,
                             double chunkBytes, int64_t worldSize,
                             bool reduceHalf, bool alongDim);

/// Copies between the cubes of one SIP, scheduled as kb-run runs them: each
/// on its destination cube's DMA engine (one per cube, so a cube's copies run
/// one after another), holding every mesh link of its route for its whole
/// duration (so copies that share a link run one after another too); each
/// starts when it is issued and its engine and links are free. Placement
/// prices an op's copies with it, and the lowering weighs how to stage an
/// operand with it, so both see the contention kb-run charges.
class CopySchedule {
public:
  explicit CopySchedule(const DeviceDescription &device) : device(device) {}

  /// A copy of `bytes` from cube `from` to cube `to`, issued at `issued`
  /// seconds; returns when it ends.
  double add(int64_t from, int64_t to, double bytes, double issued = 0);

  /// A copy into cube `to` from a cube not known here: the mean hops, on the
  /// destination's engine only.
  double addFromAnywhere(int64_t to, double bytes, double issued = 0);

  /// `count` copies of `bytes` in all into cube `to`, each from a cube not
  /// known here: `count` times the mean hops' latency, on the destination's
  /// engine only.
  void addManyFromAnywhere(int64_t to, int64_t count, double bytes);

  /// When the last copy ends (0 without copies).
  double seconds() const { return last; }

  /// When the last copy into cube `cube` ends (0 without copies into it):
  /// a cube's copies run on its own engine, one after another.
  double secondsInto(int64_t cube) const { return engineFree.lookup(cube); }

private:
  const DeviceDescription &device;
  llvm::DenseMap<int64_t, double> engineFree, linkFree;
  double last = 0;
};

} // namespace kb

#endif // KB_DEVICE_COSTMODEL_H
