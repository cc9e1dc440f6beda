//===- ElementwisePatterns.cpp - kb elementwise ops to PE slabs -----------===//
//
// An elementwise op computes each cube piece of its result in that cube, one
// slab per PE the policy names; an operand region the cube does not hold
// arrives by DMA first. A bias (a rank-1 right-hand side) is brought as the
// columns of the piece.
//
//===----------------------------------------------------------------------===//

#include "CubeBuffers.h"
#include "Patterns.h"

using namespace mlir;
using namespace kb;
using namespace kb::detail;
namespace gt = kb::gemm_tile;

namespace {

/// One slab of the elementwise work: the PE, the slab's box in the result
/// piece, and where its input (and right-hand side) start.
struct Slab {
  int64_t pe;
  Box box;
  Value input;
  SmallVector<int64_t> inputOffsets;
  Value rhs;
  SmallVector<int64_t> rhsOffsets;
};

/// Emits the device work of an elementwise op producing a tensor of placed
/// `type` from `input` and, for a binary op, `rhs`: the staging, then
/// `emitSlab` for every PE slab, then one wait. Returns the result.
template <typename EmitSlab>
DeviceTensor lowerElementwise(ConversionPatternRewriter &rewriter, Location loc,
                              RankedTensorType type, const DeviceTensor &input,
                              const DeviceTensor *rhs,
                              const gt::DeviceDescription &device,
                              EmitSlab emitSlab) {
  DeviceTensor out = allocate(rewriter, loc, type, device);
  Placement policy = getDPPolicy(type).resolve(device);
  bool bias = rhs && rhs->type.getRank() != input.type.getRank();

  struct Operands {
    Value in, rhs;
    SmallVector<int64_t> inOffsets, rhsOffsets;
  };
  OperandStager stager(rewriter, loc);
  // Every piece reads its own box of each operand: on a mesh, the parts of
  // a replicated result's operand that sit across the mesh come by relay.
  SmallVector<std::pair<int64_t, Box>> requests;
  for (const Piece &piece : out.pieces)
    requests.push_back({piece.cube, piece.box});
  stager.relayByMeshRows(input, requests, device);
  if (rhs && !bias)
    stager.relayByMeshRows(*rhs, requests, device);
  SmallVector<Operands> operands;
  for (const Piece &piece : out.pieces) {
    Operands o;
    std::tie(o.in, o.inOffsets) = stager.bring(input, piece.cube, piece.box);
    if (rhs) {
      Box rhsBox =
          bias ? Box{{piece.box.offsets.back()}, {piece.box.sizes.back()}}
               : piece.box;
      std::tie(o.rhs, o.rhsOffsets) = stager.bring(*rhs, piece.cube, rhsBox);
    }
    operands.push_back(o);
  }
  stager.waitForStaging();

  SmallVector<Value> work;
  for (auto [piece, o] : llvm::zip_equal(out.pieces, operands)) {
    Box whole{SmallVector<int64_t, 2>(piece.box.sizes.size(), 0),
              piece.box.sizes};
    for (auto [pe, box] :
         llvm::enumerate(peShares(whole, policy, device.pesPerCube))) {
      Slab slab{static_cast<int64_t>(pe),       box,   o.in,
                plus(o.inOffsets, box.offsets), o.rhs, {}};
      if (rhs)
        slab.rhsOffsets =
            bias ? SmallVector<int64_t>{o.rhsOffsets[0] + box.offsets.back()}
                 : plus(o.rhsOffsets, box.offsets);
      work.push_back(emitSlab(slab, piece.buffer));
    }
  }
  waitFor(rewriter, loc, work);
  return out;
}

/// Every kb elementwise op (kb::ElementwiseOpInterface) as `gemm_tile.map`
/// (one operand) or `gemm_tile.zip` (two: rhs of lhs's shape, or a rank-1
/// bias) naming the op's runtime kernel, slab by slab. One pattern for all:
/// a new elementwise op needs no line here.
struct ElementwiseLowering
    : public OpInterfaceConversionPattern<ElementwiseOpInterface> {
  ElementwiseLowering(const CubeBufferTypeConverter &converter,
                      MLIRContext *ctx)
      : OpInterfaceConversionPattern<ElementwiseOpInterface>(converter, ctx),
        device(converter.getDevice()) {}

  LogicalResult
  matchAndRewrite(ElementwiseOpInterface op, ArrayRef<ValueRange> operands,
                  ConversionPatternRewriter &rewriter) const override {
    Operation *raw = op.getOperation();
    if (raw->getNumResults() != 1 || operands.empty() || operands.size() > 2)
      return rewriter.notifyMatchFailure(raw, "not one or two operands");
    FailureOr<RankedTensorType> type =
        checkPlaced(raw, raw->getResult(0).getType(), device);
    if (failed(type))
      return failure();
    Location loc = raw->getLoc();
    Type token = tokenType(raw->getContext());
    StringRef kernel = op.getKernelName();
    DeviceTensor input =
        deviceTensor(raw->getOperand(0).getType(), operands[0], device);
    std::optional<DeviceTensor> rhs;
    if (operands.size() == 2)
      rhs = deviceTensor(raw->getOperand(1).getType(), operands[1], device);
    DeviceTensor out = lowerElementwise(
        rewriter, loc, *type, input, rhs ? &*rhs : nullptr, device,
        [&](const Slab &slab, Value result) -> Value {
          if (rhs)
            return gt::ZipOp::create(rewriter, loc, token, kernel, slab.pe,
                                     slab.input, slab.inputOffsets, slab.rhs,
                                     slab.rhsOffsets, result, slab.box.offsets,
                                     slab.box.sizes);
          return gt::MapOp::create(rewriter, loc, token, kernel, slab.pe,
                                   slab.input, slab.inputOffsets, result,
                                   slab.box.offsets, slab.box.sizes,
                                   APFloat(op.getKernelScale()));
        });
    replaceByBuffers(rewriter, raw, out);
    return success();
  }

  const gt::DeviceDescription &device;
};

} // namespace

void kb::detail::populateElementwiseConversionPatterns(
    const CubeBufferTypeConverter &typeConverter, RewritePatternSet &patterns) {
  patterns.add<ElementwiseLowering>(typeConverter, patterns.getContext());
}
