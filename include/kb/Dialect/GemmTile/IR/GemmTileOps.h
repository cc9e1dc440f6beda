//===- GemmTileOps.h - gemm_tile operations ---------------------*- C++ -*-===//

#ifndef KB_DIALECT_GEMMTILE_IR_GEMMTILEOPS_H
#define KB_DIALECT_GEMMTILE_IR_GEMMTILEOPS_H

#include "kb/Dialect/GemmTile/IR/GemmTileAttrs.h"
#include "kb/Dialect/GemmTile/IR/GemmTileDialect.h"
#include "kb/Dialect/GemmTile/IR/GemmTileInterfaces.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace kb::gemm_tile {
/// The checks every PE op passes: its buffers are static cube buffers of the
/// device, its regions lie inside them, its PE exists, and all its buffers
/// are in that PE's cube.
mlir::LogicalResult verifyPERegions(PEComputeOpInterface op);
/// The verifier every elementwise PE op shares (GemmTile_UnaryElementwiseOp,
/// GemmTile_BinaryElementwiseOp): its regions and PE, and one element type.
mlir::LogicalResult verifyElementwiseOp(PEComputeOpInterface op);
/// The cost-model work of an elementwise PE op: it reads each read region
/// and writes its write region once.
PEWork elementwiseWorkOf(PEComputeOpInterface op);
} // namespace kb::gemm_tile

#define GET_OP_CLASSES
#include "kb/Dialect/GemmTile/IR/GemmTileOps.h.inc"

#endif // KB_DIALECT_GEMMTILE_IR_GEMMTILEOPS_H
