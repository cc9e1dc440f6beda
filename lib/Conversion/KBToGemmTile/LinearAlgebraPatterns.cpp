//===- LinearAlgebraPatterns.cpp - kb.matmul to tile gemms on PEs ---------===//
//
// A local gemm becomes tile gemms on the PEs that the output's policy names.
// Each cube computes its piece of the output (or, for an output replicated
// over the cubes, a share of the whole, then copied to the other replicas,
// so no cube needs every weight column); operand rows and columns that are
// not in the cube arrive by DMA, the rhs columns group by group beside the
// previous group's tiles. Within a cube each PE computes a slab,
// as one tile when it fits the PE's buffer, otherwise as the most
// arithmetic-intense tiles that do.
//
//===----------------------------------------------------------------------===//

#include "CubeBuffers.h"
#include "Patterns.h"

#include "kb/Device/CostModel.h"

#include "llvm/ADT/DenseMap.h"

using namespace mlir;
using namespace kb;
using namespace kb::detail;
namespace gt = kb::gemm_tile;

namespace {

/// More tiles than this on one PE means a program no device could hold; the
/// bound keeps absurd shapes from exhausting the compiler's memory.
constexpr int64_t kMaxTilesPerSlab = 1 << 20;

/// The most column groups of a gemm whose rhs columns are staged by DMA:
/// enough that the first group's copy, the only one the PEs wait for, is
/// small, few enough that each group's tiles stay wide. Fewer are taken when
/// they are faster (stagedGemmSeconds).
constexpr int64_t kRhsStagingSteps = 4;

/// How a compute box's columns are cut into the groups its rhs arrives in:
/// `steps` equal groups, the first of them cut again into a quarter and the
/// rest when `splitFirst`. The PEs wait only for the first group's copy, so
/// a smaller first group starts them sooner, and the three quarters after
/// it still move while its tiles compute (the seed's first gemm on `small`:
/// 2 KiB instead of 8 KiB a cube before any tile).
struct ColumnGroups {
  int64_t steps = 1;
  bool splitFirst = false;

  int64_t count() const { return steps + (splitFirst ? 1 : 0); }
  /// The first column (relative to the box) and the width of group `group`
  /// of a box `cols` wide.
  std::pair<int64_t, int64_t> span(int64_t cols, int64_t group) const {
    int64_t width = cols / steps;
    if (!splitFirst)
      return {group * width, width};
    if (group == 0)
      return {0, width / 4};
    if (group == 1)
      return {width / 4, width - width / 4};
    return {(group - 1) * width, width};
  }
};

/// Seconds the staging and the tiles of a gemm take with its rhs columns
/// brought in `steps` column groups, replayed as kb-run runs them: each
/// group's copies (CopySchedule: on the destination's DMA engine and the
/// mesh links of their routes) issued when the group before them may start,
/// each PE's slab of a group (as one tile) once its copies and its previous
/// group are done. Every group's copy pays its DMA latency, and copies from
/// one cube share its links: on a device with latencies (`ahbm`: 160-573 ns
/// a copy between cubes) more groups can cost more than the compute they let
/// start early, as with a weight on one cube whose columns three other cubes
/// fetch over its one link east (the seed's block: 12.9 us with four groups,
/// 10.0 us with one).
static double stagedGemmSeconds(const DeviceTensor &lhs,
                                const DeviceTensor &rhs,
                                const DeviceTensor &out,
                                ArrayRef<Box> computeBoxes,
                                const Placement &policy, ColumnGroups groups,
                                int64_t k, bool f32,
                                const gt::DeviceDescription &device) {
  CopySchedule copies(device);
  // The copies OperandStager::bring issues for `box` of `t` into `cube`.
  auto stage = [&](const DeviceTensor &t, int64_t cube, const Box &box,
                   double issued, double &done) {
    if (llvm::any_of(t.pieces, [&](const Piece &p) {
          return p.cube == cube && p.box.contains(box);
        }))
      return;
    int64_t eb = t.type.getElementTypeBitWidth() / 8;
    for (const Piece *source : distinctPieces(t, cube))
      if (std::optional<Box> overlap = source->box.intersect(box))
        done = std::max(done, copies.add(source->cube, cube,
                                         double(overlap->numElements()) * eb,
                                         issued));
  };
  // When each piece's copies of a step are done.
  SmallVector<double> pieceDone(out.pieces.size(), 0);
  auto stageStep = [&](int64_t step, double issued) {
    double done = issued;
    for (auto [index, piece, box] :
         llvm::enumerate(out.pieces, computeBoxes)) {
      if (box.numElements() == 0)
        continue;
      auto [first, width] = groups.span(box.sizes[1], step);
      double own = issued;
      if (step == 0)
        stage(lhs, piece.cube, Box{{box.offsets[0], 0}, {box.sizes[0], k}},
              issued, own);
      stage(rhs, piece.cube,
            Box{{0, box.offsets[1] + first}, {k, width}}, issued, own);
      pieceDone[index] = own;
      done = std::max(done, own);
    }
    return done;
  };
  int64_t eb = lhs.type.getElementTypeBitWidth() / 8;
  SmallVector<double> peFree(out.pieces.size() * device.pesPerCube, 0);
  double ready = stageStep(0, 0), end = 0;
  // In one step, each piece's tiles wait for that piece's copies only, as
  // the rank reaches its wait: after the waits of the pieces before it.
  double inOrder = 0;
  int64_t steps = groups.count();
  for (int64_t step = 0; step < steps; ++step) {
    for (auto [index, box] : llvm::enumerate(computeBoxes)) {
      if (box.numElements() == 0)
        continue;
      inOrder = std::max(inOrder, pieceDone[index]);
      double start = steps == 1 ? inOrder : ready;
      Box group{{0, 0}, {box.sizes[0], groups.span(box.sizes[1], step).second}};
      for (auto [pe, slab] :
           llvm::enumerate(peShares(group, policy, device.pesPerCube))) {
        double &free = peFree[index * device.pesPerCube + pe];
        free = std::max(free, start) +
               peSeconds(device, matmulWork(slab.sizes[0], slab.sizes[1], k,
                                            eb, eb, /*accumulate=*/false,
                                            f32));
        end = std::max(end, free);
      }
    }
    if (step + 1 < steps)
      ready = stageStep(step + 1, ready);
  }
  return end;
}

/// Whether, with the compute boxes cut into `groups` column groups, a PE's
/// slab of a group is still one tile high: otherwise every group would
/// repeat the slab's row tiles (each reading its lhs rows again), and a
/// tall gemm would have `groups` times the tiles. The first slab of the
/// first box is the largest (splitEvenly makes the first parts longer).
static bool slabsOneTileHigh(ArrayRef<Box> computeBoxes,
                             const Placement &policy, int64_t groups,
                             int64_t k, int64_t elementBytes,
                             const gt::DeviceDescription &device) {
  const Box *box = llvm::find_if(
      computeBoxes, [](const Box &b) { return b.numElements() != 0; });
  if (box == computeBoxes.end())
    return false;
  Box group{{0, 0}, {box->sizes[0], box->sizes[1] / groups}};
  SmallVector<Box> slabs = peShares(group, policy, device.pesPerCube);
  if (slabs.empty())
    return false;
  std::optional<GemmTileSizes> tile = chooseGemmTile(
      slabs.front().sizes[0], slabs.front().sizes[1], k, elementBytes, device);
  return tile && tile->m >= slabs.front().sizes[0];
}

struct MatmulOpLowering : public OpConversionPattern<MatmulOp> {
  MatmulOpLowering(const CubeBufferTypeConverter &converter, MLIRContext *ctx)
      : OpConversionPattern(converter, ctx), device(converter.getDevice()) {}

  LogicalResult
  matchAndRewrite(MatmulOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    FailureOr<RankedTensorType> type = checkPlaced(op, op.getType(), device);
    if (failed(type))
      return failure();
    DeviceTensor lhs =
        deviceTensor(op.getLhs().getType(), adaptor.getLhs(), device);
    DeviceTensor rhs =
        deviceTensor(op.getRhs().getType(), adaptor.getRhs(), device);
    Placement policy = getDPPolicy(*type).resolve(device);
    int64_t k = op.getLhs().getType().getDimSize(1);
    int64_t elementBytes = op.getLhs().getType().getElementTypeBitWidth() / 8;
    ArrayRef<int64_t> shape = type->getShape();
    Location loc = op.getLoc();
    Type token = tokenType(op.getContext());

    DeviceTensor out = allocate(rewriter, loc, *type, device);
    OperandStager stager(rewriter, loc);
    // What each cube computes (one box per piece of the output).
    SmallVector<Box> computeBoxes = matmulComputeBoxes(shape, policy);

    // A cube that lacks the rhs columns it multiplies by (a weight on
    // another cube) receives them in column groups: group s + 1 moves while
    // the PEs multiply group s, so only the first group's copy is waited for
    // before the PEs start. The groups' tiles write disjoint columns: no
    // accumulation, the same products as one step.
    bool stagesRhs = false;
    for (auto [piece, box] : llvm::zip_equal(out.pieces, computeBoxes))
      if (box.numElements() != 0 &&
          !stager.holds(rhs, piece.cube,
                        Box{{0, box.offsets[1]}, {k, box.sizes[1]}}))
        stagesRhs = true;
    int64_t steps = stagesRhs ? kRhsStagingSteps : 1;
    while (steps > 1 && llvm::any_of(computeBoxes, [&](const Box &box) {
             return box.sizes[1] % steps != 0;
           }))
      steps /= 2;
    if (steps > 1 && !slabsOneTileHigh(computeBoxes, policy, steps, k,
                                       elementBytes, device))
      steps = 1;
    // Of the groupings that divide (halving), the fastest; a tie keeps the
    // more groups, whose first copy is the smaller.
    ColumnGroups groups{steps, false};
    if (steps > 1) {
      bool f32 = type->getElementType().isF32();
      int64_t best = steps;
      double bestSeconds = stagedGemmSeconds(lhs, rhs, out, computeBoxes,
                                             policy, groups, k, f32, device);
      for (int64_t fewer = steps / 2; fewer >= 1; fewer /= 2) {
        double seconds = stagedGemmSeconds(lhs, rhs, out, computeBoxes, policy,
                                           {fewer, false}, k, f32, device);
        if (seconds < bestSeconds) {
          best = fewer;
          bestSeconds = seconds;
        }
      }
      groups.steps = best;
      // The first group cut again, where its quarter is whole columns and
      // the replay finds it faster (each copy pays its latency, each tile
      // reads its lhs rows again).
      ColumnGroups split{best, true};
      if (llvm::all_of(computeBoxes,
                       [&](const Box &box) {
                         return (box.sizes[1] / best) % 4 == 0;
                       }) &&
          stagedGemmSeconds(lhs, rhs, out, computeBoxes, policy, split, k,
                            f32, device) < bestSeconds)
        groups = split;
    }
    steps = groups.count();

    struct Operands {
      Value a, b;
      SmallVector<int64_t> aOffsets, bOffsets;
    };
    // Each piece's lhs rows (whole, from the first step on) and its rhs
    // columns of column group `step`.
    SmallVector<Operands> operands(out.pieces.size());
    // In one step, each piece's copies, waited for just before its own
    // tiles: a cube that holds its operands (the weight's own cube) starts at
    // once, and each other cube as soon as its columns are in, instead of
    // every cube after the last copy.
    SmallVector<SmallVector<Value>> pieceCopies(out.pieces.size());
    auto stageStep = [&](int64_t step) {
      for (auto [index, piece, box, ops] :
           llvm::enumerate(out.pieces, computeBoxes, operands)) {
        if (box.numElements() == 0)
          continue;
        auto [first, width] = groups.span(box.sizes[1], step);
        if (step == 0) {
          Box rows{{box.offsets[0], 0}, {box.sizes[0], k}};
          std::tie(ops.a, ops.aOffsets) = stager.bring(lhs, piece.cube, rows);
        }
        Box cols{{0, box.offsets[1] + first}, {k, width}};
        std::tie(ops.b, ops.bOffsets) = stager.bring(rhs, piece.cube, cols);
        if (steps == 1)
          pieceCopies[index] = stager.takePending();
      }
    };
    // The lhs rows each cube reads whole: a K-sharded lhs (the SwiGLU
    // product) has a part in every cube, relayed along the mesh's rows.
    SmallVector<std::pair<int64_t, Box>> lhsRequests;
    for (auto [piece, box] : llvm::zip_equal(out.pieces, computeBoxes))
      if (box.numElements() != 0)
        lhsRequests.push_back(
            {piece.cube, Box{{box.offsets[0], 0}, {box.sizes[0], k}}});
    stager.relayByMeshRows(lhs, lhsRequests, device);
    stageStep(0);
    stager.waitForStaging();

    // Tile sizes by slab shape: the PEs of a cube mostly share one.
    GemmTileChoices tileChoices(k, elementBytes, device);
    // Each piece's tiles, so that a replicated result's shares can move as
    // soon as their own cube is done.
    SmallVector<SmallVector<Value>> tiles(out.pieces.size());
    for (int64_t step = 0; step < steps; ++step) {
      for (auto [index, piece, box, ops] : llvm::enumerate(
               out.pieces, computeBoxes, operands)) {
        if (box.numElements() == 0)
          continue;
        waitFor(rewriter, loc, pieceCopies[index]);
        // This step's columns of the compute box, relative to the piece's
        // buffer; `first` is where they start in the compute box.
        auto [first, width] = groups.span(box.sizes[1], step);
        Box local{minus(box.offsets, piece.box.offsets),
                  {box.sizes[0], width}};
        local.offsets[1] += first;
        SmallVector<Box> slabs = peShares(local, policy, device.pesPerCube);
        for (auto [pe, slab] : llvm::enumerate(slabs)) {
          int64_t rows = slab.sizes[0], cols = slab.sizes[1];
          FailureOr<GemmTileSizes> tile = tileChoices.get(op, rows, cols);
          if (failed(tile))
            return failure();
          int64_t count = ((rows + tile->m - 1) / tile->m) *
                          ((cols + tile->n - 1) / tile->n);
          if (count > kMaxTilesPerSlab)
            return op.emitOpError()
                   << "would need " << count << " tiles on one PE (at most "
                   << kMaxTilesPerSlab << "); the shapes are beyond the device";
          for (int64_t i = 0; i < rows; i += tile->m) {
            for (int64_t j = 0; j < cols; j += tile->n) {
              int64_t m = std::min(tile->m, rows - i),
                      n = std::min(tile->n, cols - j);
              // Offsets of this tile in the output buffer and in the
              // operands (the compute box's rows, this step's columns).
              int64_t r = slab.offsets[0] + i, c = slab.offsets[1] + j;
              int64_t ar = r - local.offsets[0], bc = c - local.offsets[1];
              tiles[index].push_back(gt::MatmulOp::create(
                  rewriter, loc, token, pe, ops.a,
                  SmallVector<int64_t>{ops.aOffsets[0] + ar, ops.aOffsets[1]},
                  ops.b,
                  SmallVector<int64_t>{ops.bOffsets[0], ops.bOffsets[1] + bc},
                  piece.buffer, SmallVector<int64_t>{r, c},
                  SmallVector<int64_t>{m, n, k}, tile->kChunk,
                  /*accumulate=*/false));
            }
          }
        }
      }
      // The next group's columns move while these tiles compute.
      if (step + 1 < steps) {
        stageStep(step + 1);
        stager.waitForStaging();
      }
    }
    // A replicated result whose shares every replica needs from across the
    // mesh: relayed along the mesh's rows, then its columns, when that is
    // faster (kb/Device/MeshRelay.h; the q and k projections of the
    // Llama-2-7B layer's 512-token prefill, shared over 16 cubes, took 55
    // us each copied straight). All tiles first: the relays read every
    // share.
    ShareRelay relay;
    if (policy.isCubeReplicated())
      relay = planShareRelay(out, computeBoxes, elementBytes, device);
    if (relay.plan.pays()) {
      SmallVector<Value> all, copies;
      for (SmallVector<Value> &pieceTiles : tiles)
        all.append(pieceTiles);
      waitFor(rewriter, loc, all);
      issueShareRelay(rewriter, loc, relay, out, type->getElementType(),
                      copies);
      waitFor(rewriter, loc, copies);
    } else if (policy.isCubeReplicated()) {
      // A replicated result: each cube's share is copied into the other
      // replicas once that cube's tiles are done, while the cubes after it
      // still compute. Cubes whose rhs columns come from another cube finish
      // one after another (the seed's weight on cube 0 reaches cubes 1, 2
      // and 3 in turn over one link), and waiting for all of them before
      // any copy left the mesh idle meanwhile. The copies are issued in the
      // same order as before, only no later.
      SmallVector<Value> copies;
      for (auto [index, box] : llvm::enumerate(computeBoxes)) {
        waitFor(rewriter, loc, tiles[index]);
        copyShareToReplicas(rewriter, loc, out, index, box, copies);
      }
      waitFor(rewriter, loc, copies);
    } else {
      SmallVector<Value> all;
      for (SmallVector<Value> &pieceTiles : tiles)
        all.append(pieceTiles);
      waitFor(rewriter, loc, all);
    }
    replaceByBuffers(rewriter, op, out);
    return success();
  }

  const gt::DeviceDescription &device;
};

} // namespace

void kb::detail::populateLinearAlgebraConversionPatterns(
    const CubeBufferTypeConverter &typeConverter, RewritePatternSet &patterns) {
  patterns.add<MatmulOpLowering>(typeConverter, patterns.getContext());
}
