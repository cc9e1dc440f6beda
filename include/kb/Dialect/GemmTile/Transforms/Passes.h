//===- Passes.h - gemm_tile passes ------------------------------*- C++ -*-===//

#ifndef KB_DIALECT_GEMMTILE_TRANSFORMS_PASSES_H
#define KB_DIALECT_GEMMTILE_TRANSFORMS_PASSES_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/Pass.h"

namespace kb::gemm_tile {

#define GEN_PASS_DECL
#include "kb/Dialect/GemmTile/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "kb/Dialect/GemmTile/Transforms/Passes.h.inc"

} // namespace kb::gemm_tile

#endif // KB_DIALECT_GEMMTILE_TRANSFORMS_PASSES_H
