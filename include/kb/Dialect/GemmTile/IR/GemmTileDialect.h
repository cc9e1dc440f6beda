//===- GemmTileDialect.h - gemm_tile dialect --------------------*- C++ -*-===//

#ifndef KB_DIALECT_GEMMTILE_IR_GEMMTILEDIALECT_H
#define KB_DIALECT_GEMMTILE_IR_GEMMTILEDIALECT_H

#include "mlir/IR/Dialect.h"

#include "kb/Dialect/GemmTile/IR/GemmTileOpsDialect.h.inc"

#endif // KB_DIALECT_GEMMTILE_IR_GEMMTILEDIALECT_H
