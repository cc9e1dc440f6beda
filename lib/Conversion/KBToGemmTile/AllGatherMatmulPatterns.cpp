//===- AllGatherMatmulPatterns.cpp - gemms that start before their gather -===//
//
// `kb.all_gather_matmul` is sequence parallelism's all-gather along the
// tokens with the column-parallel gemms that read the gathered rows. Rank r
// holds rows [r·m, (r+1)·m) of the gathered M = W·m, so a chunk that one
// ring along 0 can gather is not a band of consecutive rows but part i of
// each of the W slices: s = m/C rows from every slice, stacked. Chunk i is
// gathered into a ring buffer of its own (the rank's s rows put at its
// place by a DMA whose target moves with the rank, then the W − 1 steps of
// a ring all-gather along 0), copied to every other cube that computes (by
// doubling), and multiplied there by each weight: W runs of s rows,
// written to rows r·m + i·s of every result piece. The ring of chunk i + 1 runs, and its
// copies go out, while the PEs compute chunk i, so only the first chunk's
// gather is exposed; and no cube receives the whole gathered tensor, only
// its chunks.
//
//===----------------------------------------------------------------------===//

#include "CubeBuffers.h"
#include "Patterns.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/MapVector.h"

using namespace mlir;
using namespace kb;
using namespace kb::detail;
namespace gt = kb::gemm_tile;

namespace {

struct AllGatherMatmulOpLowering
    : public OpConversionPattern<AllGatherMatmulOp> {
  AllGatherMatmulOpLowering(const CubeBufferTypeConverter &converter,
                            MLIRContext *ctx, int64_t worldSize)
      : OpConversionPattern(converter, ctx), device(converter.getDevice()),
        worldSize(worldSize) {}

  LogicalResult
  matchAndRewrite(AllGatherMatmulOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    Type token = tokenType(ctx);
    auto inputType = cast<RankedTensorType>(op.getInput().getType());
    DeviceTensor input = deviceTensor(inputType, adaptor.getInput(), device);
    // The verifier checked that the chunks divide the rank's rows.
    int64_t slice = inputType.getDimSize(0), k = inputType.getDimSize(1);
    int64_t chunks = op.getChunks(), part = slice / chunks,
            chunkRows = part * worldSize;
    int64_t elementBytes = inputType.getElementTypeBitWidth() / 8;
    Type elementType = inputType.getElementType();

    // Each product: its placement, buffers and what each cube computes of
    // it. Every compute box must span all the rows, so that a chunk's rows
    // of it are the cube's own (the cube's piece, or its column share of a
    // replicated product, copied to the replicas at the end).
    struct Product {
      Placement policy;
      DeviceTensor rhs, out;
      SmallVector<Box> boxes;
    };
    SmallVector<Product, 3> products;
    for (auto [rhsValue, rhsBuffers, result] :
         llvm::zip_equal(op.getRhs(), adaptor.getRhs(), op.getResults())) {
      FailureOr<RankedTensorType> type =
          checkPlaced(op, result.getType(), device);
      if (failed(type))
        return failure();
      Placement policy = getDPPolicy(*type).resolve(device);
      SmallVector<Box> boxes = matmulComputeBoxes(type->getShape(), policy);
      for (const Box &box : boxes)
        if (box.numElements() != 0 &&
            (box.offsets[0] != 0 || box.sizes[0] != type->getDimSize(0)))
          return op.emitOpError()
                 << "computes its " << type->getDimSize(0) << "x"
                 << type->getDimSize(1)
                 << " product in chunks of rows, but the placement "
                 << getDPPolicy(*type)
                 << " has a cube compute only some of the rows; place it "
                    "split by columns or on one cube";
      products.push_back(
          {policy, deviceTensor(rhsValue.getType(), rhsBuffers, device),
           allocate(rewriter, loc, *type, device), std::move(boxes)});
    }

    // The cubes that compute, in order; the first holds the ring buffer
    // and reads the gathered chunk in place.
    llvm::MapVector<int64_t, Value> chunkBuffer;
    for (const Product &product : products)
      for (auto [piece, box] :
           llvm::zip_equal(product.out.pieces, product.boxes))
        if (box.numElements() != 0)
          chunkBuffer.insert({piece.cube, Value()});
    int64_t ringCube = chunkBuffer.empty() ? input.pieces.front().cube
                                           : chunkBuffer.front().first;
    auto chunkType = [&](int64_t cube) {
      return MemRefType::get({chunkRows, k}, elementType,
                             MemRefLayoutAttrInterface(),
                             gt::CubeAttr::get(ctx, cube));
    };

    // Chunk `chunk`'s ring: the rank's rows [chunk·s, (chunk+1)·s) into
    // rows [r·s, (r+1)·s) of a fresh ring buffer, then the ring along 0.
    // Every chunk's ring after the first continues one all-gather.
    auto startRing = [&](int64_t chunk, SmallVectorImpl<Value> &ringTokens) {
      Value ring = gt::AllocOp::create(rewriter, loc, chunkType(ringCube));
      Box mine{{chunk * part, 0}, {part, k}};
      SmallVector<Value> puts;
      for (const Piece *piece : distinctPieces(input, ringCube)) {
        std::optional<Box> overlap = piece->box.intersect(mine);
        if (!overlap)
          continue;
        puts.push_back(gt::DMAOp::create(
            rewriter, loc, token, piece->buffer,
            rewriter.getDenseI64ArrayAttr(
                minus(overlap->offsets, piece->box.offsets)),
            ring,
            rewriter.getDenseI64ArrayAttr(
                {overlap->offsets[0] - chunk * part, overlap->offsets[1]}),
            rewriter.getDenseI64ArrayAttr(overlap->sizes),
            /*rank_stride=*/nullptr, rewriter.getDenseI64ArrayAttr({part, 0}),
            /*rank_replicas=*/nullptr, /*rank_shards=*/nullptr,
            /*clip=*/nullptr, /*after=*/ValueRange()));
      }
      waitFor(rewriter, loc, puts);
      for (int64_t step = 0; step + 1 < worldSize; ++step) {
        auto ringStep = gt::AllGatherStepOp::create(
            rewriter, loc, token, ValueRange{ring}, step, worldSize,
            rewriter.getI64IntegerAttr(0));
        if (chunk > 0 && step == 0)
          ringStep->setAttr(gt::GemmTileDialect::kContinuesCollectiveAttrName,
                            rewriter.getUnitAttr());
        ringTokens.push_back(ringStep.getToken());
      }
      return ring;
    };

    SmallVector<Value> ringTokens;
    Value ring = startRing(0, ringTokens);

    // Each compute piece's weight columns, brought into its cube once,
    // while the first chunk's ring runs.
    struct Operands {
      Value b;
      SmallVector<int64_t> bOffsets;
    };
    OperandStager stager(rewriter, loc);
    SmallVector<SmallVector<Operands>> operands;
    for (Product &product : products) {
      operands.emplace_back(product.out.pieces.size());
      for (auto [piece, box, ops] : llvm::zip_equal(
               product.out.pieces, product.boxes, operands.back())) {
        if (box.numElements() == 0)
          continue;
        std::tie(ops.b, ops.bOffsets) =
            stager.bring(product.rhs, piece.cube,
                         Box{{0, box.offsets[1]}, {k, box.sizes[1]}});
      }
    }
    stager.waitForStaging();

    GemmTileChoices tileChoices(k, elementBytes, device);
    // Each product's tiles, by piece, for the replicas' copies at the end.
    SmallVector<SmallVector<SmallVector<Value>, 1>, 3> tiles;
    for (const Product &product : products)
      tiles.emplace_back(product.out.pieces.size());
    // Each product's tiles of chunk `chunk` on cube `cube`, reading the
    // chunk from that cube's chunk buffer.
    auto issueTiles = [&](int64_t chunk, int64_t cube) -> LogicalResult {
      Value buffer = chunkBuffer.lookup(cube);
      for (auto [p, product] : llvm::enumerate(products)) {
        for (auto [index, piece, box, ops] :
             llvm::enumerate(product.out.pieces, product.boxes, operands[p])) {
          if (piece.cube != cube || box.numElements() == 0)
            continue;
          for (int64_t r = 0; r < worldSize; ++r) {
            // Rank r's part: product rows [r·m + chunk·s, +s), from rows
            // [r·s, (r+1)·s) of the chunk buffer.
            int64_t firstRow = r * slice + chunk * part;
            Box local{{firstRow - piece.box.offsets[0],
                       box.offsets[1] - piece.box.offsets[1]},
                      {part, box.sizes[1]}};
            for (auto [pe, slab] : llvm::enumerate(
                     peShares(local, product.policy, device.pesPerCube))) {
              if (failed(tileChoices.issueSlab(
                      rewriter, loc, op, pe, slab, buffer,
                      {r * part + slab.offsets[0] - local.offsets[0], 0}, ops.b,
                      {ops.bOffsets[0],
                       ops.bOffsets[1] + slab.offsets[1] - local.offsets[1]},
                      piece.buffer, tiles[p][index])))
                return failure();
            }
          }
        }
      }
      return success();
    };
    // The gathered chunk reaches every other cube that computes along a
    // tree of one-hop copies in parts, each part forwarded by a cube once
    // it is in (`after`: no wait holds the rank; kb/Device/MeshBroadcast.h);
    // the rank then waits for each cube's copies in the order they arrive
    // and issues its tiles. Doubling the holders instead (each level of
    // whole copies waited for), the 1 MiB chunks of the sequence-parallel
    // Llama-2-7B layer's gate and up projections (512 tokens, 16 cubes)
    // reached the last cubes 4 levels later, some copies sharing a mesh
    // link: 53 us more of the layer.
    SmallVector<int64_t> order;
    for (auto &[cube, buffer] : chunkBuffer)
      order.push_back(cube);
    double chunkBytes = double(chunkRows) * double(k) * double(elementBytes);
    MeshBroadcast tree =
        planMeshBroadcast(device, ringCube, order, chunkBytes,
                          std::min<int64_t>(kMaxMeshBroadcastParts, chunkRows));
    for (int64_t chunk = 0; chunk < chunks; ++chunk) {
      waitFor(rewriter, loc, ringTokens);
      for (auto &[cube, buffer] : chunkBuffer)
        buffer =
            cube == ringCube
                ? ring
                : Value(gt::AllocOp::create(rewriter, loc, chunkType(cube)));
      SmallVector<SmallVector<Value>> into = issueMeshBroadcast(
          rewriter, loc, tree,
          [&](int64_t cube) { return chunkBuffer.lookup(cube); }, 0, chunkRows,
          k);
      // The next chunk's ring runs beside these copies and tiles.
      if (chunk + 1 < chunks)
        ring = startRing(chunk + 1, ringTokens);
      for (auto [i, cube] : llvm::enumerate(tree.cubes)) {
        waitFor(rewriter, loc, into[i]);
        if (failed(issueTiles(chunk, cube)))
          return failure();
      }
    }
    // A replicated product: each cube's share into the other replicas once
    // its tiles are done, as kb.matmul's lowering copies them, and relayed
    // over the mesh's rows then its columns when that is faster, as it
    // relays them too (kb/Device/MeshRelay.h): placement prices the q and k
    // projections that way, and copied straight they took the sequence-
    // parallel Llama-2-7B layer's q, k and v 52 us longer at 512 tokens.
    SmallVector<SmallVector<Value>> replacements;
    SmallVector<Value> copies;
    for (auto [p, product] : llvm::enumerate(products)) {
      if (product.policy.isCubeReplicated()) {
        ShareRelay relay = planShareRelay(product.out, product.boxes,
                                          elementBytes, device);
        if (relay.plan.pays()) {
          SmallVector<Value> all;
          for (SmallVector<Value> &pieceTiles : tiles[p]) {
            all.append(pieceTiles);
            pieceTiles.clear();
          }
          waitFor(rewriter, loc, all);
          issueShareRelay(rewriter, loc, relay, product.out, elementType,
                          copies);
        } else {
          for (auto [index, box] : llvm::enumerate(product.boxes)) {
            waitFor(rewriter, loc, tiles[p][index]);
            copyShareToReplicas(rewriter, loc, product.out, index, box,
                                copies);
          }
        }
      }
      replacements.push_back(buffersOf(product.out));
    }
    SmallVector<Value> rest;
    for (auto &productTiles : tiles)
      for (SmallVector<Value> &pieceTiles : productTiles)
        rest.append(pieceTiles);
    rest.append(copies);
    waitFor(rewriter, loc, rest);
    rewriter.replaceOpWithMultiple(op, std::move(replacements));
    return success();
  }

  const gt::DeviceDescription &device;
  int64_t worldSize;
};

} // namespace

void kb::detail::populateAllGatherMatmulConversionPatterns(
    const CubeBufferTypeConverter &typeConverter, RewritePatternSet &patterns,
    int64_t worldSize) {
  patterns.add<AllGatherMatmulOpLowering>(typeConverter, patterns.getContext(),
                                          worldSize);
}
