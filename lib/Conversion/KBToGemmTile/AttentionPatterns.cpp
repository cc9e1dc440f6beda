//===- AttentionPatterns.cpp - kb.attention to attention blocks on PEs ----===//
//
// A rank-local causal attention becomes gemm_tile.attention blocks, each of
// some query heads of one KV head times a run of query rows on one PE, as
// kb/Device/AttentionTiling.h cuts the result's placement
// (docs/design/0010-attention-on-pes.md). Each cube first receives by DMA
// the query rows and the key and value columns of its blocks that it does
// not hold: the query heads of one KV head read one staged copy of its keys
// and values. A block whose output region lies in its cube's piece of the
// result writes there; one that crosses pieces (a policy cutting a head)
// writes a scratch buffer in its cube. A block split over keys (decode, PEs
// idle) becomes a partial per key range into an f32 buffer of the cube,
// then a combine into the block's region (docs/design/0015). Then every
// other piece that shares a block's region (a replica, or the rest of a cut
// head) gets it by DMA.
//
//===----------------------------------------------------------------------===//

#include "CubeBuffers.h"
#include "Patterns.h"

#include "kb/Device/AttentionTiling.h"

using namespace mlir;
using namespace kb;
using namespace kb::detail;
namespace gt = kb::gemm_tile;

namespace {

struct AttentionOpLowering : public OpConversionPattern<AttentionOp> {
  AttentionOpLowering(const CubeBufferTypeConverter &converter,
                      MLIRContext *ctx)
      : OpConversionPattern(converter, ctx), device(converter.getDevice()) {}

  LogicalResult
  matchAndRewrite(AttentionOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    FailureOr<RankedTensorType> type = checkPlaced(op, op.getType(), device);
    if (failed(type))
      return failure();
    for (Value operand : op->getOperands())
      if (failed(checkPlaced(op, operand.getType(), device)))
        return failure();
    DeviceTensor q = deviceTensor(op.getQ().getType(), adaptor.getQ(), device);
    DeviceTensor k = deviceTensor(op.getK().getType(), adaptor.getK(), device);
    DeviceTensor v = deviceTensor(op.getV().getType(), adaptor.getV(), device);
    int64_t d = op.getHeadDim();
    AttentionShape shape{q.type.getDimSize(0),
                         k.type.getDimSize(0),
                         static_cast<int64_t>(op.getNumHeads()),
                         static_cast<int64_t>(op.getNumKvHeads()),
                         d,
                         type->getElementTypeBitWidth() / 8};
    llvm::Expected<SmallVector<AttentionBlock>> blocks =
        attentionBlocks(shape, getDPPolicy(*type).resolve(device), device);
    if (!blocks)
      return op.emitOpError() << llvm::toString(blocks.takeError());
    Location loc = op.getLoc();
    Type token = tokenType(op.getContext());
    DeviceTensor out = allocate(rewriter, loc, *type, device);

    // Per cube: the query rows and heads, and the keys and KV heads, that
    // its blocks read, staged once for all of them.
    struct Staged {
      Box qBox, kvBox;
      Value q, k, v;
      SmallVector<int64_t> qAt, kAt, vAt;
    };
    std::vector<std::optional<Staged>> staged(out.pieces.size());
    for (auto [s, boxes] : llvm::zip_equal(
             staged, attentionOperandBoxes(*blocks, out.pieces.size(), d)))
      if (boxes)
        s = Staged{boxes->q, boxes->kv, {}, {}, {}, {}, {}, {}};
    OperandStager stager(rewriter, loc);
    for (auto [piece, s] : llvm::zip_equal(out.pieces, staged)) {
      if (!s)
        continue;
      std::tie(s->q, s->qAt) = stager.bring(q, piece.cube, s->qBox);
      std::tie(s->k, s->kAt) = stager.bring(k, piece.cube, s->kvBox);
      std::tie(s->v, s->vAt) = stager.bring(v, piece.cube, s->kvBox);
    }
    stager.waitForStaging();

    // The blocks, each into its cube's piece or a scratch buffer there.
    struct Written {
      const AttentionBlock *block;
      Value buffer;
      SmallVector<int64_t> at;
    };
    SmallVector<Written> written;
    SmallVector<Value> work, partials;
    // A block split over keys: its partial buffer and where its combine
    // writes, emitted once every partial is done.
    struct Combine {
      const AttentionBlock *block;
      Value partial, buffer;
      SmallVector<int64_t> at;
    };
    SmallVector<Combine> combines;
    for (const AttentionBlock &b : *blocks) {
      const Piece &piece = out.pieces[b.piece];
      const Staged &s = *staged[b.piece];
      Box box = b.outBox(d);
      Written w{&b, piece.buffer, minus(box.offsets, piece.box.offsets)};
      if (!piece.box.contains(box)) {
        auto scratch = MemRefType::get(
            box.sizes, type->getElementType(), MemRefLayoutAttrInterface(),
            gt::CubeAttr::get(op.getContext(), piece.cube));
        w.buffer = gt::AllocOp::create(rewriter, loc, scratch);
        w.at = {0, 0};
      }
      SmallVector<int64_t> qAt{s.qAt[0] + b.row - s.qBox.offsets[0],
                               s.qAt[1] + b.head * d - s.qBox.offsets[1]};
      SmallVector<int64_t> kAt{s.kAt[0],
                               s.kAt[1] + b.kvHead * d - s.kvBox.offsets[1]};
      SmallVector<int64_t> vAt{s.vAt[0],
                               s.vAt[1] + b.kvHead * d - s.kvBox.offsets[1]};
      if (b.splits <= 1) {
        work.push_back(gt::AttentionOp::create(
            rewriter, loc, token, b.pe, s.q, qAt, s.k, kAt, s.v, vAt, w.buffer,
            w.at, SmallVector<int64_t>{b.rows, b.keys, d}, b.heads,
            b.position, b.keyChunk));
        written.push_back(std::move(w));
        continue;
      }
      // Split over keys: range i's partial rows [i·stacked, +stacked) of an
      // f32 scratch buffer in the cube, on PE b.pe + i.
      int64_t stacked = b.heads * b.rows;
      auto partialType = MemRefType::get(
          {b.splits * stacked, d + 2}, rewriter.getF32Type(),
          MemRefLayoutAttrInterface(),
          gt::CubeAttr::get(op.getContext(), piece.cube));
      Value partial = gt::AllocOp::create(rewriter, loc, partialType);
      for (int64_t i = 0; i < b.splits; ++i) {
        auto [first, count] = b.keyRange(i);
        partials.push_back(gt::AttentionPartialOp::create(
            rewriter, loc, token, b.pe + i, s.q, qAt, s.k,
            SmallVector<int64_t>{kAt[0] + first, kAt[1]}, s.v,
            SmallVector<int64_t>{vAt[0] + first, vAt[1]}, partial,
            SmallVector<int64_t>{i * stacked, 0},
            SmallVector<int64_t>{b.rows, count, d}, b.heads, b.position,
            first, std::min(b.keyChunk, count)));
      }
      combines.push_back({&b, partial, w.buffer, w.at});
      written.push_back(std::move(w));
    }
    // The combines read every partial of their block.
    if (!combines.empty()) {
      waitFor(rewriter, loc, partials);
      for (const Combine &c : combines)
        work.push_back(gt::AttentionCombineOp::create(
            rewriter, loc, token, c.block->pe, c.partial,
            SmallVector<int64_t>{0, 0}, c.buffer, c.at,
            SmallVector<int64_t>{c.block->splits, c.block->rows, d},
            c.block->heads));
    }
    waitFor(rewriter, loc, work);

    // Every other piece that shares a block's region takes it.
    SmallVector<Value> copies;
    for (const Written &w : written) {
      Box box = w.block->outBox(d);
      for (const Piece &to : out.pieces) {
        if (to.buffer == w.buffer)
          continue;
        std::optional<Box> overlap = to.box.intersect(box);
        if (!overlap)
          continue;
        SmallVector<int64_t> from = minus(overlap->offsets, box.offsets);
        copies.push_back(gt::DMAOp::create(
            rewriter, loc, token, w.buffer,
            SmallVector<int64_t>{w.at[0] + from[0], w.at[1] + from[1]},
            to.buffer, minus(overlap->offsets, to.box.offsets), overlap->sizes,
            /*rank_stride=*/nullptr));
      }
    }
    waitFor(rewriter, loc, copies);
    replaceByBuffers(rewriter, op, out);
    return success();
  }

  const gt::DeviceDescription &device;
};

} // namespace

void kb::detail::populateAttentionConversionPatterns(
    const CubeBufferTypeConverter &typeConverter, RewritePatternSet &patterns) {
  patterns.add<AttentionOpLowering>(typeConverter, patterns.getContext());
}
