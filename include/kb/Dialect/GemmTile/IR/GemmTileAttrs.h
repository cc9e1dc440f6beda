//===- GemmTileAttrs.h - gemm_tile attributes and types ---------*- C++ -*-===//

#ifndef KB_DIALECT_GEMMTILE_IR_GEMMTILEATTRS_H
#define KB_DIALECT_GEMMTILE_IR_GEMMTILEATTRS_H

#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/IR/Types.h"

#include "kb/Device/ReductionKind.h"

#define GET_ATTRDEF_CLASSES
#include "kb/Dialect/GemmTile/IR/GemmTileAttrs.h.inc"

#define GET_TYPEDEF_CLASSES
#include "kb/Dialect/GemmTile/IR/GemmTileTypes.h.inc"

#endif // KB_DIALECT_GEMMTILE_IR_GEMMTILEATTRS_H
