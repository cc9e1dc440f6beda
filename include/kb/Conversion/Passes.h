//===- Passes.h - kb conversion passes --------------------------*- C++ -*-===//

#ifndef KB_CONVERSION_PASSES_H
#define KB_CONVERSION_PASSES_H

#include "kb/Dialect/GemmTile/IR/GemmTileDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace kb {

#define GEN_PASS_DECL
#include "kb/Conversion/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "kb/Conversion/Passes.h.inc"

} // namespace kb

#endif // KB_CONVERSION_PASSES_H
