//===- GemmTileDialect.cpp - gemm_tile dialect ----------------------------===//

#include "kb/Dialect/GemmTile/IR/GemmTileDialect.h"
#include "kb/Dialect/GemmTile/IR/GemmTileOps.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/FunctionInterfaces.h"

using namespace mlir;
using namespace kb::gemm_tile;

#include "kb/Dialect/GemmTile/IR/GemmTileOpsDialect.cpp.inc"

namespace {
/// Names every cube buffer type once, at the top of a printed module
/// (`!cube0_8x64xf16 = memref<8x64xf16, #gemm_tile.cube<0>>`), and by that
/// name wherever it occurs. A lowered model passes the same few buffer types
/// to every call of its kernels: spelled out, they were most of the printed
/// program and of the time printing it.
struct GemmTileOpAsmInterface : public OpAsmDialectInterface {
  using OpAsmDialectInterface::OpAsmDialectInterface;

  AliasResult getAlias(Type type, raw_ostream &os) const override {
    auto memref = dyn_cast<MemRefType>(type);
    if (!memref || !memref.hasStaticShape() ||
        !memref.getLayout().isIdentity())
      return AliasResult::NoAlias;
    auto cube = dyn_cast_or_null<CubeAttr>(memref.getMemorySpace());
    if (!cube)
      return AliasResult::NoAlias;
    os << "cube" << cube.getIndex() << '_';
    for (int64_t size : memref.getShape())
      os << size << 'x';
    os << memref.getElementType();
    return AliasResult::FinalAlias;
  }
};
} // namespace

void GemmTileDialect::initialize() {
  registerAttributes();
  registerTypes();
  addInterfaces<GemmTileOpAsmInterface>();
  addOperations<
#define GET_OP_LIST
#include "kb/Dialect/GemmTile/IR/GemmTileOps.cpp.inc"
      >();
}

LogicalResult GemmTileDialect::verifyOperationAttribute(Operation *op,
                                                        NamedAttribute attr) {
  if (attr.getName() == kDeviceAttrName) {
    auto name = dyn_cast<StringAttr>(attr.getValue());
    if (!isa<ModuleOp>(op) || !(isa<DeviceAttr>(attr.getValue()) || name))
      return op->emitError() << "'" << kDeviceAttrName
                             << "' must be a #gemm_tile.device or the name "
                                "of a built-in one on a builtin.module";
    if (name && !DeviceDescription::preset(name.getValue()))
      return op->emitError()
             << "'" << kDeviceAttrName << "' names no built-in device: \""
             << name.getValue() << "\" (known: "
             << DeviceDescription::presetNames() << ")";
    return success();
  }
  if (attr.getName() == kContinuesCollectiveAttrName) {
    auto ring = dyn_cast<RingStepOpInterface>(op);
    if (!isa<UnitAttr>(attr.getValue()) || !ring || ring.getStep() != 0)
      return op->emitError() << "'" << kContinuesCollectiveAttrName
                             << "' must be a unit attribute on step 0 of a "
                                "ring";
    return success();
  }
  return op->emitError() << "unknown gemm_tile attribute '"
                         << attr.getName().getValue() << "' on '"
                         << op->getName() << "'";
}

/// Checks a `gemm_tile.piece` on a value of type `type`.
static LogicalResult verifyPiece(Operation *op, NamedAttribute attr, Type type,
                                 StringRef what, unsigned index) {
  auto piece = dyn_cast<PieceAttr>(attr.getValue());
  if (attr.getName() != GemmTileDialect::kPieceAttrName || !piece)
    return op->emitError() << "unknown gemm_tile attribute '"
                           << attr.getName().getValue() << "' on " << what
                           << " " << index;
  auto memref = dyn_cast<MemRefType>(type);
  if (!memref)
    return op->emitError() << "'" << attr.getName().getValue() << "' on "
                           << what << " " << index << " needs a memref, got "
                           << type;
  if (static_cast<int64_t>(piece.getOffsets().size()) != memref.getRank())
    return op->emitError() << "'" << attr.getName().getValue() << "' on "
                           << what << " " << index << " has "
                           << piece.getOffsets().size()
                           << " offsets for a rank-" << memref.getRank()
                           << " buffer";
  if (piece.getTensor() < 0 ||
      llvm::any_of(piece.getOffsets(), [](int64_t o) { return o < 0; }))
    return op->emitError() << "'" << attr.getName().getValue() << "' on "
                           << what << " " << index
                           << " has a negative index or offset";
  return success();
}

LogicalResult GemmTileDialect::verifyRegionArgAttribute(Operation *op,
                                                        unsigned regionIndex,
                                                        unsigned argIndex,
                                                        NamedAttribute attr) {
  Region &region = op->getRegion(regionIndex);
  if (region.empty() || argIndex >= region.front().getNumArguments())
    return success();
  return verifyPiece(op, attr, region.front().getArgument(argIndex).getType(),
                     "argument", argIndex);
}

LogicalResult GemmTileDialect::verifyRegionResultAttribute(
    Operation *op, unsigned regionIndex, unsigned resultIndex,
    NamedAttribute attr) {
  auto func = dyn_cast<FunctionOpInterface>(op);
  if (!func || resultIndex >= func.getNumResults())
    return success();
  return verifyPiece(op, attr, func.getResultTypes()[resultIndex], "result",
                     resultIndex);
}
