//===- OverlapCollectives.cpp - a gemm's all-reduce behind the gemm -------===//
//
// A row-parallel layer's all-reduce waits for the whole gemm, then the PEs
// wait for the whole ring. Cut into row bands, the ring of one band runs on
// the link while the PEs compute the next, and only the last band's ring is
// exposed. This pass picks the pairs and the band count; the lowering of
// kb.matmul_all_reduce does the interleaving. The choice is priced with the
// same cost model kb-run charges (kb/Device/CostModel.h): smaller bands cost
// PE time (the weight is read once per band), so the pass only cuts where
// the ring it hides is worth more.
//
//===----------------------------------------------------------------------===//

#include "OverlapReduceScatter.h"

#include "kb/Device/CostModel.h"
#include "kb/Device/Tiling.h"
#include "kb/Dialect/GemmTile/IR/DeviceDescription.h"
#include "kb/Dialect/KB/IR/KBOps.h"
#include "kb/Dialect/KB/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"

namespace kb {
#define GEN_PASS_DEF_KBOVERLAPCOLLECTIVESPASS
#include "kb/Dialect/KB/Transforms/Passes.h.inc"
} // namespace kb

using namespace mlir;
using namespace kb;

namespace {

/// Seconds the busiest PE of a cube takes for `rows` rows of a piece of
/// `cols` columns with reduction `k`, tiled as the lowering tiles it; or
/// std::nullopt when no tile fits.
std::optional<double> bandSeconds(int64_t rows, int64_t cols, int64_t k,
                                  int64_t elementBytes, bool f32,
                                  const Placement &policy,
                                  const gemm_tile::DeviceDescription &device) {
  double busiest = 0;
  Box band{{0, 0}, {rows, cols}};
  for (const Box &slab : peShares(band, policy, device.pesPerCube)) {
    std::optional<GemmTileSizes> tile =
        chooseGemmTile(slab.sizes[0], slab.sizes[1], k, elementBytes, device);
    if (!tile)
      return std::nullopt;
    double seconds = 0;
    for (int64_t i = 0; i < slab.sizes[0]; i += tile->m)
      for (int64_t j = 0; j < slab.sizes[1]; j += tile->n)
        seconds += peSeconds(
            device, matmulWork(std::min(tile->m, slab.sizes[0] - i),
                               std::min(tile->n, slab.sizes[1] - j), k,
                               elementBytes, elementBytes, false, f32));
    busiest = std::max(busiest, seconds);
  }
  return busiest;
}

/// The estimated time of the gemm and its all-reduce in `chunks` bands: the
/// first band's gemm, then each later band's gemm beside the previous band's
/// ring, then the last ring.
std::optional<double>
pipelinedSeconds(RankedTensorType result, int64_t k, int64_t chunks,
                 int64_t worldSize,
                 const gemm_tile::DeviceDescription &device) {
  Placement policy = getDPPolicy(result).resolve(device);
  ArrayRef<int64_t> shape = result.getShape();
  int64_t elementBytes = result.getElementTypeBitWidth() / 8;
  bool f32 = result.getElementType().isF32();
  int64_t rows = shape[0] / chunks;
  // Every cube computes its own piece (gemmRowsChunkable); the widest one
  // sets the pace.
  int64_t cols = 0;
  for (const CubePiece &piece : cubePieces(shape, policy))
    cols = std::max(cols, piece.box.sizes[1]);
  std::optional<double> compute =
      bandSeconds(rows, cols, k, elementBytes, f32, policy, device);
  if (!compute)
    return std::nullopt;
  double ring = allReduceSeconds(
      device, static_cast<double>(rows) * shape[1] * elementBytes, worldSize);
  return *compute + (chunks - 1) * std::max(*compute, ring) + ring;
}

struct KBOverlapCollectivesPass
    : public kb::impl::KBOverlapCollectivesPassBase<KBOverlapCollectivesPass> {
  using KBOverlapCollectivesPassBase::KBOverlapCollectivesPassBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (!module->hasAttr(KBDialect::kSPMDAttrName)) {
      module.emitError() << "kb-overlap-collectives works on the placed local "
                            "view: run kb-tp-partition and kb-place first";
      return signalPassFailure();
    }
    int64_t maxChunks = chunks;
    if (maxChunks < 1) {
      module.emitError() << "kb-overlap-collectives needs chunks >= 1, got "
                         << maxChunks;
      return signalPassFailure();
    }
    gemm_tile::DeviceDescription device = gemm_tile::lookupDevice(module);
    int64_t worldSize = 1;
    if (auto ws =
            module->getAttrOfType<IntegerAttr>(KBDialect::kWorldSizeAttrName))
      worldSize = ws.getInt();
    SmallVector<AllReduceOp> candidates;
    module.walk([&](AllReduceOp reduce) { candidates.push_back(reduce); });
    bool changed = false;
    for (AllReduceOp reduce : candidates) {
      auto matmul = reduce.getInput().getDefiningOp<MatmulOp>();
      if (!matmul || !matmul->hasOneUse() ||
          matmul->getBlock() != reduce->getBlock())
        continue;
      auto result = cast<RankedTensorType>(reduce.getType());
      DPPolicyAttr policy = getDPPolicy(result);
      if (!policy ||
          !gemmRowsChunkable(result.getShape(), policy.resolve(device)))
        continue;
      int64_t rows = result.getDimSize(0);
      int64_t k = matmul.getLhs().getType().getDimSize(1);
      int64_t best = 1;
      if (!useCostModel) {
        best = rows % maxChunks == 0 ? maxChunks : 1;
      } else {
        std::optional<double> plain =
            pipelinedSeconds(result, k, 1, worldSize, device);
        double fastest = plain ? *plain : 0;
        for (int64_t c = 2; plain && c <= maxChunks; ++c) {
          if (rows % c != 0)
            continue;
          std::optional<double> t =
              pipelinedSeconds(result, k, c, worldSize, device);
          // A clear gain only: the estimate leaves out the copies out of
          // the band buffers.
          if (t && *t < 0.98 * fastest) {
            fastest = *t;
            best = c;
          }
        }
      }
      if (best < 2)
        continue;
      OpBuilder builder(reduce);
      auto fused = MatmulAllReduceOp::create(
          builder, matmul.getLoc(), result, reduce.getReductionAttr(),
          matmul.getLhs(), matmul.getRhs(), builder.getI64IntegerAttr(best));
      reduce.replaceAllUsesWith(fused.getResult());
      reduce.erase();
      matmul.erase();
      changed = true;
    }
    // Sequence parallelism's gemm + reduce-scatter along the tokens.
    changed |= fuseMatmulReduceScatters(module, device, worldSize, maxChunks,
                                        useCostModel);
    // Nothing fused, nothing to verify again.
    if (!changed)
      markAllAnalysesPreserved();
  }
};

} // namespace
