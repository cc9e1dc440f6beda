//===- OverlapReduceScatter.cpp - a gemm's reduce-scatter behind the gemm -===//
//
// Under sequence parallelism a row-parallel layer's partial product is
// reduce-scattered along the tokens: rank r keeps rows [r·M/W, (r+1)·M/W).
// Run after the gemm, the ring leaves the PEs idle. Cut into C chunks —
// part i of every rank's slice, so that each chunk's ring along the rows
// scatters it to the right ranks — the ring of chunk i runs while the PEs
// compute chunk i + 1 (the lowering, MatmulReduceScatterPatterns.cpp). The
// chunks are priced with the cost model kb-run charges: each chunk's tiles
// are W runs of s = M/(W·C) rows that read the weight slab again, so small
// chunks cost PE time, and every chunk's ring pays the W − 1 step latencies.
//
//===----------------------------------------------------------------------===//

#include "OverlapReduceScatter.h"

#include "kb/Device/CostModel.h"
#include "kb/Device/MeshBroadcast.h"
#include "kb/Device/Tiling.h"
#include "kb/Dialect/KB/IR/KBOps.h"

#include "mlir/IR/Builders.h"

using namespace mlir;
using namespace kb;

namespace {

/// Rank r's rows of one of `chunks` chunks, out of the ring buffer into the
/// `result` (M/W × N, placed), as the lowering copies them: into every
/// replica of a result replicated over the cubes, through the ring cube's
/// own (planReplicaDelivery); else one copy into each piece, all at once.
double copyOutSeconds(RankedTensorType result, int64_t chunks,
                      const gemm_tile::DeviceDescription &device) {
  ArrayRef<int64_t> shape = result.getShape();
  int64_t part = shape[0] / chunks;
  double bytes = static_cast<double>(part) * shape[1] *
                 (result.getElementTypeBitWidth() / 8);
  SmallVector<CubePiece> pieces =
      cubePieces(shape, getDPPolicy(result).resolve(device));
  bool replicated =
      pieces.size() > 1 && llvm::all_of(pieces, [&](const CubePiece &p) {
        return p.box == pieces.front().box;
      });
  if (!replicated)
    return dmaSeconds(device, bytes, false);
  SmallVector<int64_t> cubes;
  for (const CubePiece &p : pieces)
    cubes.push_back(p.cube);
  return planReplicaDelivery(device, cubes.front(), cubes, bytes,
                             std::min<int64_t>(kMaxMeshBroadcastParts, part))
      .seconds;
}

/// The estimated time of the gemm of the `product` (M × N, placed) and its
/// reduce-scatter along the rows in `chunks` chunks. A chunk's collective
/// is three copies in a row: its pieces into one ring buffer (on that
/// cube's DMA engine, one after another), the ring, and the rank's rows out
/// to the `result` (copyOutSeconds). Fused, the chunks' tiles and copies
/// pipeline; with `fused` false, the pair as kb.matmul and
/// kb.reduce_scatter lower: the whole gemm, then the whole collective.
std::optional<double>
estimateSeconds(RankedTensorType product, RankedTensorType result, int64_t k,
                int64_t chunks, int64_t worldSize, bool fused,
                const gemm_tile::DeviceDescription &device) {
  Placement policy = getDPPolicy(product).resolve(device);
  ArrayRef<int64_t> shape = product.getShape();
  int64_t elementBytes = product.getElementTypeBitWidth() / 8;
  bool f32 = product.getElementType().isF32();
  int64_t cols = 0, pieces = 0;
  for (const CubePiece &piece : cubePieces(shape, policy)) {
    cols = std::max(cols, piece.box.sizes[1]);
    ++pieces;
  }
  // A fused chunk's tiles are W runs of s rows each; the pair's one run of
  // all the rows.
  int64_t runs = fused ? worldSize : 1;
  int64_t runRows = shape[0] / (runs * chunks);
  std::optional<double> run =
      gemmBandSeconds(runRows, cols, k, elementBytes, f32, policy, device);
  if (!run)
    return std::nullopt;
  double compute = runs * *run;
  double chunkBytes =
      static_cast<double>(shape[0] / chunks) * shape[1] * elementBytes;
  double gather = pieces > 1 || cols != shape[1]
                      ? pieces * dmaSeconds(device, chunkBytes / pieces, false)
                      : 0;
  // The stages of a chunk use different engines — the PEs, the ring cube's
  // DMA engine, the link, the result cubes' engines — so chunk i's later
  // stages run beside chunk i + 1's earlier ones: the slowest stage sets the
  // pace. (Priced as one collective stage after the tiles, a short gemm's
  // ring latency kept the chunks few: 2 for the Llama-2-7B attention output
  // at 512 tokens, where 4 are 15 us faster on the layer.)
  double stages[] = {
      compute, gather,
      alongDimCollectiveSeconds(device, chunkBytes, worldSize, true),
      copyOutSeconds(result, chunks, device)};
  double sum = 0, slowest = 0;
  for (double stage : stages) {
    sum += stage;
    slowest = std::max(slowest, stage);
  }
  return sum + (chunks - 1) * slowest;
}

} // namespace

bool kb::fuseMatmulReduceScatters(ModuleOp module,
                                  const gemm_tile::DeviceDescription &device,
                                  int64_t worldSize, int64_t maxChunks,
                                  bool useCostModel) {
  if (worldSize < 2)
    return false;
  SmallVector<ReduceScatterOp> candidates;
  module.walk([&](ReduceScatterOp scatter) {
    if (scatter.getDim() == 0)
      candidates.push_back(scatter);
  });
  bool changed = false;
  for (ReduceScatterOp scatter : candidates) {
    auto matmul = scatter.getInput().getDefiningOp<MatmulOp>();
    if (!matmul || !matmul->hasOneUse() ||
        matmul->getBlock() != scatter->getBlock())
      continue;
    auto product = cast<RankedTensorType>(matmul.getType());
    DPPolicyAttr policy = getDPPolicy(product);
    // The chunks are computed in the product's pieces, whole columns each.
    if (!policy || !getDPPolicy(scatter.getType()) ||
        !gemmRowsChunkable(product.getShape(), policy.resolve(device)))
      continue;
    int64_t rows = product.getDimSize(0);
    int64_t k = matmul.getLhs().getType().getDimSize(1);
    auto divides = [&](int64_t c) { return rows % (worldSize * c) == 0; };
    int64_t best = 1;
    if (!useCostModel) {
      best = divides(maxChunks) ? maxChunks : 1;
    } else {
      auto result = cast<RankedTensorType>(scatter.getType());
      std::optional<double> plain = estimateSeconds(
          product, result, k, 1, worldSize, /*fused=*/false, device);
      double fastest = plain ? *plain : 0;
      for (int64_t c = 2; plain && c <= maxChunks; ++c) {
        if (!divides(c))
          continue;
        std::optional<double> t = estimateSeconds(
            product, result, k, c, worldSize, /*fused=*/true, device);
        // A clear gain only: the estimate prices each stage apart, not
        // their contention for the ring cube's DMA engine.
        if (t && *t < 0.98 * fastest) {
          fastest = *t;
          best = c;
        }
      }
    }
    if (best < 2)
      continue;
    OpBuilder builder(scatter);
    auto fused = MatmulReduceScatterOp::create(
        builder, matmul.getLoc(), scatter.getType(),
        scatter.getReductionAttr(), matmul.getLhs(), matmul.getRhs(),
        builder.getI64IntegerAttr(0), builder.getI64IntegerAttr(best), policy);
    scatter.replaceAllUsesWith(fused.getResult());
    scatter.erase();
    matmul.erase();
    changed = true;
  }
  return changed;
}
