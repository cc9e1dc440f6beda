//===- Passes.h - kb transformation passes ----------------------*- C++ -*-===//

#ifndef KB_DIALECT_KB_TRANSFORMS_PASSES_H
#define KB_DIALECT_KB_TRANSFORMS_PASSES_H

#include "kb/Dialect/KB/IR/KBDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace kb {

#define GEN_PASS_DECL
#include "kb/Dialect/KB/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "kb/Dialect/KB/Transforms/Passes.h.inc"

} // namespace kb

#endif // KB_DIALECT_KB_TRANSFORMS_PASSES_H
