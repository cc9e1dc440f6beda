//===- MatmulReduceScatterPatterns.cpp - a gemm whose reduce-scatter it hides //
//
// `kb.matmul_reduce_scatter` is sequence parallelism's row-parallel gemm
// with its reduce-scatter along the tokens. Rank r keeps rows
// [r·M/W, (r+1)·M/W) of the reduced product, so a chunk that a ring along
// 0 can scatter is not a band of consecutive rows but part i of each of the
// W slices: s = M/(W·C) rows from every slice, stacked. Chunk i is computed
// into buffers of its own (its rows of each slice, tile by tile, into the
// cube pieces of the gemm's product), copied into one ring buffer (a ring
// along a dimension runs on one buffer) and reduce-scattered along 0
// asynchronously while the PEs compute chunk i + 1; once its ring is waited
// for, rank r's s rows leave it by a DMA whose source moves with the rank,
// into rows [i·s, (i+1)·s) of every result piece. Only the last chunk's
// ring is exposed.
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

struct MatmulReduceScatterOpLowering
    : public OpConversionPattern<MatmulReduceScatterOp> {
  MatmulReduceScatterOpLowering(const CubeBufferTypeConverter &converter,
                                MLIRContext *ctx, int64_t worldSize)
      : OpConversionPattern(converter, ctx), device(converter.getDevice()),
        worldSize(worldSize) {}

  LogicalResult
  matchAndRewrite(MatmulReduceScatterOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    FailureOr<RankedTensorType> type = checkPlaced(op, op.getType(), device);
    if (failed(type))
      return failure();
    DeviceTensor lhs =
        deviceTensor(op.getLhs().getType(), adaptor.getLhs(), device);
    DeviceTensor rhs =
        deviceTensor(op.getRhs().getType(), adaptor.getRhs(), device);
    RankedTensorType lhsType = op.getLhs().getType();
    int64_t rows = lhsType.getDimSize(0), k = lhsType.getDimSize(1);
    int64_t cols = type->getDimSize(1);
    int64_t elementBytes = lhsType.getElementTypeBitWidth() / 8;
    int64_t chunks = op.getChunks();
    // The verifier checked that W · chunks divides the rows.
    int64_t slice = rows / worldSize, part = slice / chunks,
            chunkRows = rows / chunks;
    DPPolicyAttr computeAttr =
        op.getComputeAttr() ? op.getComputeAttr() : getDPPolicy(*type);
    Placement compute = computeAttr.resolve(device);
    SmallVector<int64_t> product{rows, cols};
    if (!gemmRowsChunkable(product, compute))
      return op.emitOpError()
             << "computes its " << rows << "x" << cols
             << " product in chunks of rows, but the placement "
             << computeAttr
             << " does not have every cube compute whole columns of its own "
                "piece; place it split by columns or on one cube";
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    Type token = tokenType(ctx);
    Type elementType = type->getElementType();

    DeviceTensor out = allocate(rewriter, loc, *type, device);
    // The cube pieces of one chunk of the product: whole columns each.
    SmallVector<int64_t> chunkShape{chunkRows, cols};
    SmallVector<CubePiece> pieces = cubePieces(chunkShape, compute);
    int64_t ringCube = out.pieces.front().cube;
    // One piece that is the whole chunk in the ring's cube is the ring
    // buffer itself: no copy.
    bool computeInRing = pieces.size() == 1 &&
                         pieces.front().box.sizes[1] == cols &&
                         pieces.front().cube == ringCube;

    // Each piece's rhs columns and the whole lhs, brought into its cube once
    // before the first chunk. A chunk's lhs rows are W runs of s rows, one
    // in each rank's slice: brought chunk by chunk, a cube whose lhs is
    // split by columns over the cubes (the usual case) would take W DMAs
    // from every cube per chunk, many small copies contending for the mesh,
    // where the unchunked gemm takes one from each.
    struct Operands {
      Value a, b;
      SmallVector<int64_t> aOffsets, bOffsets;
    };
    OperandStager stager(rewriter, loc);
    SmallVector<Operands> operands(pieces.size());
    // An lhs split over the cubes (the attention output by heads, the
    // SwiGLU product by columns) reaches every computing cube whole:
    // relayed over the mesh when that is faster than each cube taking a
    // copy from every other.
    SmallVector<std::pair<int64_t, Box>> lhsRequests;
    for (const CubePiece &piece : pieces)
      lhsRequests.push_back({piece.cube, Box{{0, 0}, {rows, k}}});
    stager.relayByMeshRows(lhs, lhsRequests, device);
    for (auto [piece, ops] : llvm::zip_equal(pieces, operands)) {
      Box columns{{0, piece.box.offsets[1]}, {k, piece.box.sizes[1]}};
      std::tie(ops.b, ops.bOffsets) = stager.bring(rhs, piece.cube, columns);
      std::tie(ops.a, ops.aOffsets) =
          stager.bring(lhs, piece.cube, Box{{0, 0}, {rows, k}});
    }
    stager.waitForStaging();

    GemmTileChoices tileChoices(k, elementBytes, device);
    SmallVector<Value> copies;
    // Rank r's rows of chunk `chunk`, in the ring buffer `ring`, into rows
    // [chunk·s, (chunk+1)·s) of every result piece that has some of them.
    // A result replicated over the cubes takes them into the ring cube's own
    // piece, then along a tree of one-hop mesh copies in parts, each
    // forwarded once it is in (kb/Device/MeshBroadcast.h), where that
    // replays faster: straight, every replica's copy left the ring cube in
    // turn (29 us after the last ring of the Llama-2-7B layer's attention
    // output, sequence-parallel at 512 tokens: 16 copies of 256 KiB).
    const Piece *own = llvm::find_if(
        out.pieces, [&](const Piece &p) { return p.cube == ringCube; });
    bool replicated = out.pieces.size() > 1 && own != out.pieces.end() &&
                      llvm::all_of(out.pieces, [&](const Piece &p) {
                        return p.box == own->box;
                      });
    std::optional<MeshBroadcast> tree;
    if (replicated) {
      SmallVector<int64_t> cubes;
      for (const Piece &p : out.pieces)
        cubes.push_back(p.cube);
      double bytes = double(part) * double(cols) * double(elementBytes);
      tree =
          planReplicaDelivery(device, ringCube, cubes, bytes,
                              std::min<int64_t>(kMaxMeshBroadcastParts, part))
              .tree;
    }
    auto copyOut = [&](int64_t chunk, Value ring) {
      Box mine{{chunk * part, 0}, {part, cols}};
      if (tree) {
        SmallVector<Value> local{gt::DMAOp::create(
            rewriter, loc, token, ring, SmallVector<int64_t>{0, 0}, own->buffer,
            minus(mine.offsets, own->box.offsets), mine.sizes,
            rewriter.getDenseI64ArrayAttr({part, 0}))};
        // The tree's first copies read what this one brings.
        waitFor(rewriter, loc, local);
        for (SmallVector<Value> &into : issueMeshBroadcast(
                 rewriter, loc, *tree,
                 [&](int64_t cube) {
                   return llvm::find_if(
                              out.pieces,
                              [&](const Piece &p) { return p.cube == cube; })
                       ->buffer;
                 },
                 mine.offsets[0] - own->box.offsets[0], part, cols))
          copies.append(into);
        return;
      }
      for (const Piece &piece : out.pieces) {
        std::optional<Box> overlap = piece.box.intersect(mine);
        if (!overlap)
          continue;
        SmallVector<int64_t> from{overlap->offsets[0] - chunk * part,
                                  overlap->offsets[1]};
        copies.push_back(gt::DMAOp::create(
            rewriter, loc, token, ring, from, piece.buffer,
            minus(overlap->offsets, piece.box.offsets), overlap->sizes,
            rewriter.getDenseI64ArrayAttr({part, 0})));
      }
    };
    // A chunk moves through three stages, each beside the next chunk's
    // tiles: its pieces are copied into one ring buffer (the DMA engine of
    // the ring's cube), its ring runs (the link), its rows are copied out.
    struct InFlight {
      int64_t chunk = -1;
      Value ring;
      SmallVector<Value> tokens;
    };
    InFlight gathering, reducing;
    auto gather = [&](int64_t chunk, ArrayRef<Value> buffers) {
      gathering = InFlight{chunk, buffers.front(), {}};
      if (computeInRing)
        return;
      gathering.ring = gt::AllocOp::create(
          rewriter, loc,
          MemRefType::get(chunkShape, elementType, MemRefLayoutAttrInterface(),
                          gt::CubeAttr::get(ctx, ringCube)));
      for (auto [piece, buffer] : llvm::zip_equal(pieces, buffers))
        gathering.tokens.push_back(gt::DMAOp::create(
            rewriter, loc, token, buffer, SmallVector<int64_t>{0, 0},
            gathering.ring, piece.box.offsets, piece.box.sizes, nullptr));
    };
    auto startRing = [&]() {
      waitFor(rewriter, loc, gathering.tokens);
      reducing = InFlight{gathering.chunk, gathering.ring, {}};
      for (int64_t step = 0; step + 1 < worldSize; ++step) {
        auto ringStep = gt::ReduceScatterStepOp::create(
            rewriter, loc, token, op.getReduction(), ValueRange{reducing.ring},
            step, worldSize, rewriter.getI64IntegerAttr(0));
        // Every chunk's ring after the first continues one reduce-scatter.
        if (reducing.chunk > 0 && step == 0)
          ringStep->setAttr(gt::GemmTileDialect::kContinuesCollectiveAttrName,
                            rewriter.getUnitAttr());
        reducing.tokens.push_back(ringStep.getToken());
      }
    };
    auto finishRing = [&]() {
      if (reducing.chunk < 0)
        return;
      waitFor(rewriter, loc, reducing.tokens);
      copyOut(reducing.chunk, reducing.ring);
      reducing = InFlight();
    };
    for (int64_t chunk = 0; chunk < chunks; ++chunk) {
      SmallVector<Value> buffers, tiles;
      for (const CubePiece &piece : pieces)
        buffers.push_back(gt::AllocOp::create(
            rewriter, loc,
            MemRefType::get(piece.box.sizes, elementType,
                            MemRefLayoutAttrInterface(),
                            gt::CubeAttr::get(ctx, piece.cube))));
      for (auto [piece, ops, buffer] :
           llvm::zip_equal(pieces, operands, buffers)) {
        // Rank r's part is rows [r·s, (r+1)·s) of the chunk, lhs rows
        // from r·M/W + chunk·s.
        for (int64_t r = 0; r < worldSize; ++r) {
          int64_t lhsRow = r * slice + chunk * part;
          Box local{{r * part, 0}, {part, piece.box.sizes[1]}};
          for (auto [pe, slab] :
               llvm::enumerate(peShares(local, compute, device.pesPerCube))) {
            if (failed(tileChoices.issueSlab(
                    rewriter, loc, op, pe, slab, ops.a,
                    {ops.aOffsets[0] + lhsRow + slab.offsets[0] - r * part,
                     ops.aOffsets[1]},
                    ops.b, {ops.bOffsets[0], ops.bOffsets[1] + slab.offsets[1]},
                    buffer, tiles)))
              return failure();
          }
        }
      }
      // Beside these tiles: the chunk before last's ring is done and its
      // rows go to the result; the last chunk's copy into its ring buffer
      // has run, and its ring starts.
      if (chunk > 0) {
        finishRing();
        startRing();
      }
      waitFor(rewriter, loc, tiles);
      gather(chunk, buffers);
    }
    finishRing();
    startRing();
    finishRing();
    waitFor(rewriter, loc, copies);
    replaceByBuffers(rewriter, op, out);
    return success();
  }

  const gt::DeviceDescription &device;
  int64_t worldSize;
};

} // namespace

void kb::detail::populateMatmulReduceScatterConversionPatterns(
    const CubeBufferTypeConverter &typeConverter, RewritePatternSet &patterns,
    int64_t worldSize) {
  patterns.add<MatmulReduceScatterOpLowering>(
      typeConverter, patterns.getContext(), worldSize);
}
