//===- TypeConversion.cpp - placed tensors to cube buffers, 1:N -----------===//
//
// A placed rank-local tensor is the buffers its DPPolicy puts in the cubes:
// one memref per cube piece, in cube order, each in the memory space of its
// cube. The rank is no device value at all (1:0): a rank-dependent slice
// becomes a DMA whose offsets move with the rank.
//
//===----------------------------------------------------------------------===//

#include "CubeBuffers.h"

#include "kb/Conversion/KBToGemmTile/KBToGemmTile.h"

using namespace mlir;
using namespace kb;
namespace gt = kb::gemm_tile;

/// Whether `type` is a placed tensor that `device` can hold.
static bool isHoldable(RankedTensorType type,
                       const gt::DeviceDescription &device) {
  DPPolicyAttr policy = getDPPolicy(type);
  return policy && type.hasStaticShape() &&
         gt::isDeviceElementType(type.getElementType()) &&
         succeeded(policy.verifyOnDevice(type.getShape(), device,
                                         [] { return InFlightDiagnostic(); }));
}

CubeBufferTypeConverter::CubeBufferTypeConverter(
    const gt::DeviceDescription &device)
    : device(device) {
  // Buffers, tokens and everything else the device already has stay.
  addConversion([](Type type) { return type; });
  addConversion([](IndexType, SmallVectorImpl<Type> &) -> LogicalResult {
    return success();
  });
  // Tried first for a tensor: conversions are tried newest first. An unplaced
  // tensor fails here and so has no conversion at all.
  addConversion([this](RankedTensorType type, SmallVectorImpl<Type> &results)
                    -> std::optional<LogicalResult> {
    if (!isHoldable(type, this->device))
      return failure();
    MLIRContext *ctx = type.getContext();
    for (const CubePiece &piece : detail::cubePiecesOf(type, this->device))
      results.push_back(MemRefType::get(piece.box.sizes, type.getElementType(),
                                        MemRefLayoutAttrInterface(),
                                        gt::CubeAttr::get(ctx, piece.cube)));
    return success();
  });
}

FailureOr<RankedTensorType>
kb::detail::checkPlaced(Operation *where, Type type,
                        const gt::DeviceDescription &device) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  DPPolicyAttr policy = getDPPolicy(type);
  if (!tensor || !tensor.hasStaticShape() || !policy)
    return where->emitOpError() << "has a value of type " << type
                                << " without a DPPolicy; run kb-place before "
                                   "convert-kb-to-gemm-tile";
  if (!gt::isDeviceElementType(tensor.getElementType()))
    return where->emitOpError()
           << "has a value of type " << type
           << ": cube buffers hold f16, bf16, f32, i32 and i64 elements";
  // kb-place checked this already; hand-written IR, or a policy whose
  // counts are left to the device, meets the device first here.
  if (failed(policy.verifyOnDevice(tensor.getShape(), device, [&] {
        return where->emitOpError() << "has a value of type " << type << ": ";
      })))
    return failure();
  return tensor;
}
