//===- GemmTileOps.h - gemm_tile operations ---------------------*- C++ -*-===//

#ifndef KB_DIALECT_GEMMTILE_IR_GEMMTILEOPS_H
#define KB_DIALECT_GEMMTILE_IR_GEMMTILEOPS_H

#include "kb/Dialect/GemmTile/IR/GemmTileAttrs.h"
#include "kb/Dialect/GemmTile/IR/GemmTileDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#define GET_OP_CLASSES
#include "kb/Dialect/GemmTile/IR/GemmTileOps.h.inc"

namespace kb::gemm_tile {
/// The cube a buffer lives in, or -1 when its type is not a cube buffer.
int64_t getCube(mlir::Type bufferType);
} // namespace kb::gemm_tile

#endif // KB_DIALECT_GEMMTILE_IR_GEMMTILEOPS_H
