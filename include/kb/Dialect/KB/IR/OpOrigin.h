//===- OpOrigin.h - which kb op and user line a device op came from -*- C++
//-*-===//
//
// A device op answers "which layer, which kb op, which line of the user's
// model" through its MLIR location alone, so that the answer survives every
// pass that keeps locations (docs/kb-run.md, "The per-op table"):
//
//   kb-tp-partition          each local op:  "ColumnParallelLinear"(file:13:9)
//                            (a NameLoc with the layer, unless the user's
//                            location already names one)
//   convert-kb-to-gemm-tile  each device op: "kb.matmul"(<the kb op's loc>)
//   an outlined kernel       is called from a site; a flattened call's ops
//                            are at "matmul_1"(callsite(<op> at <call>)),
//                            the call's location naming the layer and line
//
//===----------------------------------------------------------------------===//

#ifndef KB_DIALECT_KB_IR_OPORIGIN_H
#define KB_DIALECT_KB_IR_OPORIGIN_H

#include "mlir/IR/Location.h"
#include "mlir/IR/Operation.h"

#include <string>

namespace kb {

/// The location a local op built from the global op `op` carries: `op`'s,
/// named after its layer (`kb.column_parallel_linear` is
/// "ColumnParallelLinear") unless the location already has a name.
mlir::Location layerLocation(mlir::Operation *op);

/// The location the device ops lowered from the kb op `op` carry: `op`'s,
/// named after the op ("kb.matmul").
mlir::Location kbOpLocation(mlir::Operation *op);

/// The location of an op of kernel `kernel` flattened into the call at
/// `callLoc`: "kernel"(callsite(opLoc at callLoc)).
mlir::Location flattenedLocation(mlir::StringRef kernel, mlir::Location opLoc,
                                 mlir::Location callLoc);

/// What a device op's location says about where it came from.
struct OpOrigin {
  std::string op;    // the kernel ("matmul_1") or kb op ("matmul"); may be ""
  std::string layer; // "ColumnParallelLinear", a user's name, or ""
  std::string file;  // the user's file, or "" when the location has none
  unsigned line = 0, column = 0;
  /// `file:line` (no column: a layer is one line of the model), or "".
  std::string where() const;
};

OpOrigin originOf(mlir::Location loc);

/// The user's file:line:col in `loc` (a call site's callee, as MLIR's
/// diagnostics show it), or a null location when it has none.
mlir::FileLineColLoc fileLocationOf(mlir::Location loc);

} // namespace kb

#endif // KB_DIALECT_KB_IR_OPORIGIN_H
