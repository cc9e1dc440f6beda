//===- OverlapAllGather.cpp - gemms that start before their all-gather ends ===//
//
// Under sequence parallelism a column-parallel layer's input is
// all-gathered along the tokens: rank r holds rows [r·m, (r+1)·m) of the
// gathered M = W·m, and the gemms that read it (q, k and v; gate and up)
// start only once the whole ring has run and the gathered tensor has been
// copied to every cube that computes. Cut into C chunks — part i of every
// rank's rows, so that each chunk's ring along the rows gathers it — the
// gemms of chunk i run while the ring and the copies bring chunk i + 1
// (the lowering, AllGatherMatmulPatterns.cpp). The chunks are priced with
// the cost model kb-run charges: each chunk's tiles are W runs of
// s = m/C rows that read the weight slab again, so small chunks cost PE
// time, and every chunk's ring pays the W − 1 step latencies.
//
//===----------------------------------------------------------------------===//

#include "OverlapAllGather.h"
#include "OverlapReduceScatter.h"

#include "kb/Device/CostModel.h"
#include "kb/Device/MeshBroadcast.h"
#include "kb/Device/Tiling.h"
#include "kb/Dialect/KB/IR/KBOps.h"

#include "mlir/IR/Builders.h"
#include "llvm/Support/MathExtras.h"

using namespace mlir;
using namespace kb;

namespace {

/// Whether every cube that computes part of a gemm result of `type`
/// computes all its rows (its own piece, or a column share of a replicated
/// result): a chunk's rows of the result are then each cube's own.
bool computesWholeRows(RankedTensorType type,
                       const gemm_tile::DeviceDescription &device) {
  DPPolicyAttr policy = getDPPolicy(type);
  if (!policy || type.getRank() != 2)
    return false;
  for (const Box &box :
       matmulComputeBoxes(type.getShape(), policy.resolve(device)))
    if (box.numElements() != 0 &&
        (box.offsets[0] != 0 || box.sizes[0] != type.getDimSize(0)))
      return false;
  return true;
}

/// The estimated time of the all-gather of the `gathered` tensor (M × K,
/// W·m rows) and the gemms into `products` in `chunks` chunks. A chunk's
/// gather is its ring (with the rank's rows put into the ring buffer) and
/// its copies to the other cubes that compute (a tree of one-hop copies in
/// parts, planMeshBroadcast); its compute, each product's busiest PE
/// over W runs of s = m/C rows. Fused, the first chunk's gather, then each
/// chunk's gemms beside the next chunk's gather, then the last gemms; with
/// `fused` false, the pair as kb.all_gather and kb.matmul lower: the whole
/// gather with its copy to the cubes, then every gemm over all the rows.
std::optional<double>
estimateSeconds(RankedTensorType gathered, ArrayRef<RankedTensorType> products,
                int64_t chunks, int64_t worldSize, bool fused,
                const gemm_tile::DeviceDescription &device) {
  int64_t rows = gathered.getDimSize(0), k = gathered.getDimSize(1);
  int64_t elementBytes = gathered.getElementTypeBitWidth() / 8;
  bool f32 = gathered.getElementType().isF32();
  int64_t runs = fused ? worldSize : 1;
  int64_t runRows = rows / (runs * chunks);
  double compute = 0;
  // The cubes that compute, in the lowering's order: the first holds the
  // ring buffer.
  SmallVector<int64_t> cubes;
  for (RankedTensorType product : products) {
    Placement policy = getDPPolicy(product).resolve(device);
    int64_t cols = 0;
    for (auto [piece, box] :
         llvm::zip_equal(cubePieces(product.getShape(), policy),
                         matmulComputeBoxes(product.getShape(), policy))) {
      cols = std::max(cols, box.sizes[1]);
      if (box.numElements() != 0 && !llvm::is_contained(cubes, piece.cube))
        cubes.push_back(piece.cube);
    }
    std::optional<double> run =
        gemmBandSeconds(runRows, cols, k, elementBytes, f32, policy, device);
    if (!run)
      return std::nullopt;
    compute += runs * *run;
  }
  double chunkBytes =
      static_cast<double>(rows / chunks) * k * elementBytes;
  // Fused, the chunk reaches the cubes along the lowering's tree of one-hop
  // copies in parts (the same plan, kb/Device/MeshBroadcast.h); the pair's
  // gather copies the whole to every cube at once, as placement prices it.
  double copies = 0;
  if (cubes.size() > 1)
    copies = fused ? planMeshBroadcast(device, cubes.front(), cubes, chunkBytes,
                                       std::min<int64_t>(kMaxMeshBroadcastParts,
                                                         rows / chunks))
                         .seconds
                   : dmaSeconds(device, chunkBytes, false);
  double gather =
      dmaSeconds(device, chunkBytes / worldSize, false) +
      alongDimCollectiveSeconds(device, chunkBytes, worldSize, false) + copies;
  return gather + (chunks - 1) * std::max(compute, gather) + compute;
}

} // namespace

bool kb::fuseAllGatherMatmuls(ModuleOp module,
                              const gemm_tile::DeviceDescription &device,
                              int64_t worldSize, int64_t maxChunks,
                              bool useCostModel) {
  if (worldSize < 2)
    return false;
  SmallVector<AllGatherOp> candidates;
  module.walk([&](AllGatherOp gather) {
    if (gather.getDim() == 0)
      candidates.push_back(gather);
  });
  bool changed = false;
  for (AllGatherOp gather : candidates) {
    auto gathered = cast<RankedTensorType>(gather.getType());
    auto input = cast<RankedTensorType>(gather.getInput().getType());
    if (gathered.getRank() != 2 || !getDPPolicy(input) ||
        gather->use_empty())
      continue;
    // Every reader is a gemm that multiplies the gathered rows, in the
    // gather's block; the fused op stands where the first of them was, so
    // every weight must be there already.
    SmallVector<MatmulOp> matmuls;
    bool fusable = true;
    for (Operation *user : gather->getUsers()) {
      auto matmul = dyn_cast<MatmulOp>(user);
      if (!matmul || matmul.getLhs() != gather.getResult() ||
          matmul.getRhs() == gather.getResult() ||
          matmul->getBlock() != gather->getBlock() ||
          !computesWholeRows(matmul.getType(), device)) {
        fusable = false;
        break;
      }
      if (!llvm::is_contained(matmuls, matmul))
        matmuls.push_back(matmul);
    }
    if (!fusable)
      continue;
    llvm::sort(matmuls, [](MatmulOp a, MatmulOp b) {
      return a->isBeforeInBlock(b);
    });
    MatmulOp first = matmuls.front();
    if (!llvm::all_of(matmuls, [&](MatmulOp matmul) {
          Operation *def = matmul.getRhs().getDefiningOp();
          return !def || def->getBlock() != first->getBlock() ||
                 def->isBeforeInBlock(first);
        }))
      continue;
    SmallVector<RankedTensorType> products = llvm::map_to_vector(
        matmuls, [](MatmulOp m) { return cast<RankedTensorType>(m.getType()); });
    int64_t rows = input.getDimSize(0);
    int64_t best = 1;
    if (!useCostModel) {
      best = rows % maxChunks == 0 ? maxChunks : 1;
    } else {
      std::optional<double> plain = estimateSeconds(
          gathered, products, 1, worldSize, /*fused=*/false, device);
      double fastest = plain ? *plain : 0;
      for (int64_t c = 2; plain && c <= maxChunks; ++c) {
        if (rows % c != 0)
          continue;
        std::optional<double> t = estimateSeconds(
            gathered, products, c, worldSize, /*fused=*/true, device);
        // A clear gain only, as the reduce-scatter half asks.
        if (t && *t < 0.98 * fastest) {
          fastest = *t;
          best = c;
        }
      }
    }
    if (best < 2)
      continue;
    OpBuilder builder(first);
    SmallVector<Value> rhs = llvm::map_to_vector(
        matmuls, [](MatmulOp m) -> Value { return m.getRhs(); });
    SmallVector<Type> types(products.begin(), products.end());
    auto fused = AllGatherMatmulOp::create(
        builder, gather.getLoc(), types, gather.getInput(), rhs,
        builder.getI64IntegerAttr(0), builder.getI64IntegerAttr(best));
    for (auto [matmul, result] : llvm::zip_equal(matmuls, fused.getResults())) {
      matmul.getResult().replaceAllUsesWith(result);
      matmul.erase();
    }
    gather.erase();
    changed = true;
  }
  return changed;
}
