//===- CollectiveMatmulPatterns.cpp - a gemm whose all-reduce it hides ----===//
//
// `kb.matmul_all_reduce` cuts the gemm's rows into bands, equal or of the
// sizes the op gives (a short first and last band, docs/Pipeline.md). Each
// band is computed on all the PEs into band buffers of its own (one per
// cube piece, or per column share of a result replicated over the cubes),
// and its ring all-reduce runs asynchronously on those buffers while the
// PEs compute the next band; a band's reduced rows are copied into the
// result pieces (every replica) once its ring is done. So the link, the PEs and
// the DMA engines work at once, and only the last band's ring is exposed (a
// decomposed collective matmul). Separate band buffers keep each ring an
// ordinary ring over whole buffers: the chunking needs nothing new of the ring
// steps.
//
// The lhs is staged band by band too: a cube that lacks a band's rows of the
// lhs (a column-parallel result split over the cubes, whose rows every cube
// needs whole) receives them by DMA issued beside the previous band's tiles,
// so only the first band's rows and the rhs wait before the PEs start.
//
//===----------------------------------------------------------------------===//

#include "CubeBuffers.h"
#include "Patterns.h"

#include "llvm/ADT/DenseMap.h"

using namespace mlir;
using namespace kb;
using namespace kb::detail;
namespace gt = kb::gemm_tile;

namespace {

/// Column groups of the rhs when a cube must receive its columns by DMA
/// (as for a plain gemm, LinearAlgebraPatterns.cpp).
constexpr int64_t kRhsStagingGroups = 4;

struct MatmulAllReduceOpLowering
    : public OpConversionPattern<MatmulAllReduceOp> {
  MatmulAllReduceOpLowering(const CubeBufferTypeConverter &converter,
                            MLIRContext *ctx, int64_t worldSize)
      : OpConversionPattern(converter, ctx), device(converter.getDevice()),
        worldSize(worldSize) {}

  LogicalResult
  matchAndRewrite(MatmulAllReduceOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    FailureOr<RankedTensorType> type = checkPlaced(op, op.getType(), device);
    if (failed(type))
      return failure();
    DeviceTensor lhs = deviceTensor(op.getLhs().getType(), adaptor.getLhs(), device);
    DeviceTensor rhs = deviceTensor(op.getRhs().getType(), adaptor.getRhs(), device);
    DPPolicyAttr policyAttr = getDPPolicy(*type);
    Placement policy = policyAttr.resolve(device);
    ArrayRef<int64_t> shape = type->getShape();
    int64_t k = op.getLhs().getType().getDimSize(1);
    int64_t elementBytes = op.getLhs().getType().getElementTypeBitWidth() / 8;
    // Each band's rows and first row: equal bands, or the op's uneven ones.
    SmallVector<int64_t> bandRows = op.getBandRows();
    int64_t chunks = bandRows.size();
    SmallVector<int64_t> bandStart(chunks, 0);
    for (int64_t band = 1; band < chunks; ++band)
      bandStart[band] = bandStart[band - 1] + bandRows[band - 1];
    // The cubes that compute, each its box of every band: the result's
    // pieces, or a replicated result's column shares.
    SmallVector<CubePiece> computing = gemmBandPieces(shape, policy);
    if (computing.empty())
      return op.emitOpError()
             << "cuts its rows into " << chunks
             << " chunks, but its result's placement " << policyAttr
             << " does not have every cube compute whole columns of its own "
                "piece or share; place the result split by columns, "
                "replicated, or on one cube";
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    Type token = tokenType(ctx);

    DeviceTensor out = allocate(rewriter, loc, *type, device);
    // A band is written into buffers of its own, so how its PEs share it is
    // the lowering's choice, not the result's PE split: each band is cut
    // along its longer dimension, which gives the squarer slab and so the
    // tile that reads the fewest operand bytes per FLOP. A result split by
    // rows over the PEs would otherwise give each PE bandRows / PEs rows of a
    // band: 2 rows of the seed's 16-row bands on `small`, tiles that read a
    // 256 x 64 block of the weight for 2 rows, bound by the cube's bandwidth
    // (35.7 PE-us where 32.8 of FLOPs). The PE count stays the result's.
    Placement bandPolicy = policy;
    bandPolicy.peDim = Placement::kReplicate;

    // Each computing cube's rhs columns, brought into its cube once, and
    // its lhs rows of one band (`aOffsets` is where the band's first row is).
    struct Operands {
      Value a, b;
      SmallVector<int64_t> aOffsets, bOffsets;
    };
    OperandStager stager(rewriter, loc);
    SmallVector<Operands> operands;
    auto stageBand = [&](int64_t band) {
      Box rows{{bandStart[band], 0}, {bandRows[band], k}};
      // An lhs sharded over the cubes (the SwiGLU product) has a part of
      // every band's rows in every cube: relayed over the mesh when that
      // pays. Its gather's wait holds the rank, not the PEs: the band
      // before has its tiles issued.
      SmallVector<std::pair<int64_t, Box>> requests;
      for (const CubePiece &piece : computing)
        requests.push_back({piece.cube, rows});
      stager.relayByMeshRows(lhs, requests, device);
      for (auto [piece, ops] : llvm::zip_equal(computing, operands))
        std::tie(ops.a, ops.aOffsets) = stager.bring(lhs, piece.cube, rows);
    };
    // A cube that lacks its rhs columns (a weight on another cube) receives
    // them in `groups` column groups into one buffer: the first band's
    // tiles are issued group by group, each group's copy moving while the
    // PEs multiply the one before; later bands read the whole buffer.
    auto colsOf = [&](const CubePiece &piece) {
      return Box{{0, piece.box.offsets[1]}, {k, piece.box.sizes[1]}};
    };
    bool stagesRhs = llvm::any_of(computing, [&](const CubePiece &piece) {
      return !stager.holds(rhs, piece.cube, colsOf(piece));
    });
    int64_t groups = stagesRhs ? kRhsStagingGroups : 1;
    while (groups > 1 && llvm::any_of(computing, [&](const CubePiece &piece) {
             return piece.box.sizes[1] % groups != 0;
           }))
      groups /= 2;
    // Only while a PE's slab of a group stays one tile high: otherwise each
    // group would repeat the band's row tiles.
    if (groups > 1) {
      Box group{{0, 0},
                {bandRows.front(), computing.front().box.sizes[1] / groups}};
      SmallVector<Box> slabs = peShares(group, bandPolicy, device.pesPerCube);
      std::optional<GemmTileSizes> tile =
          slabs.empty() ? std::nullopt
                        : chooseGemmTile(slabs.front().sizes[0],
                                         slabs.front().sizes[1], k,
                                         elementBytes, device);
      if (!tile || tile->m < slabs.front().sizes[0])
        groups = 1;
    }
    auto stageRhsGroup = [&](int64_t group) {
      for (auto [piece, ops] : llvm::zip_equal(computing, operands)) {
        Box cols = colsOf(piece);
        int64_t width = cols.sizes[1] / groups;
        Box part{{0, cols.offsets[1] + group * width}, {k, width}};
        std::tie(ops.b, ops.bOffsets) =
            stager.bringPart(rhs, piece.cube, cols, part);
      }
    };
    operands.resize(computing.size());
    stageRhsGroup(0);
    stageBand(0);
    stager.waitForStaging();

    GemmTileChoices tileChoices(k, elementBytes, device);
    SmallVector<Value> previousRing, copies;
    SmallVector<Value> previousBands;
    // Copies band `band`'s reduced rows, in `buffers` (one per computing
    // cube), into every result piece (replicas included) once its ring is
    // waited for: each piece receives the columns of every share it holds.
    // A replicated result's band reaches every cube from all of them, over
    // the mesh relayed when that is faster, as a replicated matmul's
    // shares are (planShareRelay): the rows of one band move while the PEs
    // compute the next, where the op reading the result used to relay all
    // of it after the last ring.
    auto copyOut = [&](int64_t band, ArrayRef<Value> buffers) {
      SmallVector<Piece> held;
      for (auto [piece, buffer] : llvm::zip_equal(computing, buffers))
        held.push_back({piece.cube,
                        Box{{bandStart[band], piece.box.offsets[1]},
                            {bandRows[band], piece.box.sizes[1]}},
                        buffer});
      Box rows{{bandStart[band], 0}, {bandRows[band], shape[1]}};
      if (policy.isCubeReplicated() && computing.size() > 1 &&
          relayIntoPieces(rewriter, loc, held, out, rows, device, copies))
        return;
      for (const Piece &piece : out.pieces)
        for (const Piece &source : held) {
          std::optional<Box> part = source.box.intersect(piece.box);
          if (!part)
            continue;
          copies.push_back(gt::DMAOp::create(
              rewriter, loc, token, source.buffer,
              minus(part->offsets, source.box.offsets), piece.buffer,
              minus(part->offsets, piece.box.offsets), part->sizes, nullptr));
        }
    };
    for (int64_t band = 0; band < chunks; ++band) {
      // This band's lhs rows, issued beside the previous band's tiles.
      stager.waitForStaging();
      SmallVector<Value> bands, tiles;
      for (const CubePiece &piece : computing)
        bands.push_back(gt::AllocOp::create(
            rewriter, loc,
            MemRefType::get({bandRows[band], piece.box.sizes[1]},
                            type->getElementType(), MemRefLayoutAttrInterface(),
                            gt::CubeAttr::get(ctx, piece.cube))));
      // The first band in the rhs's column groups, the others whole.
      int64_t bandGroups = band == 0 ? groups : 1;
      for (int64_t group = 0; group < bandGroups; ++group) {
        for (auto [piece, ops, buffer] :
             llvm::zip_equal(computing, operands, bands)) {
          int64_t width = piece.box.sizes[1] / bandGroups;
          Box local{{0, group * width}, {bandRows[band], width}};
          SmallVector<Box> slabs =
              peShares(local, bandPolicy, device.pesPerCube);
          for (auto [pe, slab] : llvm::enumerate(slabs)) {
            if (failed(tileChoices.issueSlab(
                    rewriter, loc, op, pe, slab, ops.a,
                    {ops.aOffsets[0] + slab.offsets[0], ops.aOffsets[1]}, ops.b,
                    {ops.bOffsets[0], ops.bOffsets[1] + slab.offsets[1]},
                    buffer, tiles)))
              return failure();
          }
        }
        // The next column group moves while these tiles compute.
        if (group + 1 < bandGroups) {
          stageRhsGroup(group + 1);
          stager.waitForStaging();
        }
      }
      // The next band's lhs rows move while these tiles compute.
      if (band + 1 < chunks)
        stageBand(band + 1);
      // The previous band's ring has run beside these tiles; its rows go to
      // the result while the tiles finish.
      if (band > 0) {
        waitFor(rewriter, loc, previousRing);
        copyOut(band - 1, previousBands);
      }
      waitFor(rewriter, loc, tiles);
      previousRing.clear();
      if (worldSize > 1) {
        ReductionKind kind = op.getReduction();
        for (int64_t step = 0; step + 1 < worldSize; ++step) {
          auto ring = gt::ReduceScatterStepOp::create(
              rewriter, loc, token, kind, bands, step, worldSize,
              /*along=*/nullptr);
          // Every band's ring after the first continues one all-reduce.
          if (band > 0 && step == 0)
            ring->setAttr(gt::GemmTileDialect::kContinuesCollectiveAttrName,
                          rewriter.getUnitAttr());
          previousRing.push_back(ring.getToken());
        }
        for (int64_t step = 0; step + 1 < worldSize; ++step)
          previousRing.push_back(gt::AllGatherStepOp::create(rewriter, loc,
                                                             token, bands, step,
                                                             worldSize,
                                                             /*along=*/nullptr)
                                     .getToken());
      }
      previousBands = std::move(bands);
    }
    waitFor(rewriter, loc, previousRing);
    copyOut(chunks - 1, previousBands);
    waitFor(rewriter, loc, copies);
    replaceByBuffers(rewriter, op, out);
    return success();
  }

  const gt::DeviceDescription &device;
  int64_t worldSize;
};

} // namespace

void kb::detail::populateCollectiveMatmulConversionPatterns(
    const CubeBufferTypeConverter &typeConverter, RewritePatternSet &patterns,
    int64_t worldSize) {
  patterns.add<MatmulAllReduceOpLowering>(typeConverter, patterns.getContext(),
                                          worldSize);
}
