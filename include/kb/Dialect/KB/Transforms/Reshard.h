//===- Reshard.h - from one TP layout to another ----------------*- C++ -*-===//
//
// The one place that knows how to move a TP value between layouts: which
// local op or collective turns `from` into `to`, and what cannot be done yet.
//
//===----------------------------------------------------------------------===//

#ifndef KB_DIALECT_KB_TRANSFORMS_RESHARD_H
#define KB_DIALECT_KB_TRANSFORMS_RESHARD_H

#include "kb/Dialect/KB/IR/TPLayout.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Diagnostics.h"

namespace kb {

/// What a reshard needs to know about the program it edits.
struct ReshardContext {
  mlir::OpBuilder &builder;
  /// The rank-generic `kb.tp_rank` value, created on first use.
  llvm::function_ref<mlir::Value()> rank;
  /// Starts an error at the op that needs the value, naming the operand.
  llvm::function_ref<mlir::InFlightDiagnostic()> emitError;
};

/// Turns `local`, a rank's piece of a global value in layout `from`, into its
/// piece in layout `to`, of type `toType`, with the cheapest op kb has:
///
///   from \ to     replicated        split(d)                 partial
///   replicated    -                 tp_slice (local)         refused
///   split(e)      all_gather e      all_gather e + tp_slice  refused
///   partial(k)    all_reduce<k>     reduce_scatter<k> d      refused
///
/// A grouped split, split(d, replicas R) (R consecutive ranks hold each
/// slice): made from a replicated value by a tp_slice of slice r / R; made
/// into split(d) by a local tp_slice (each rank's 1/W lies in its group's
/// slice: part r mod R), and into anything else through that split(d), so a
/// gather sends each element once, never one copy per replica.
///
/// A refusal names both layouts. The ops are created at the builder's
/// insertion point with location `loc`.
mlir::FailureOr<mlir::Value> reshard(ReshardContext &context,
                                     mlir::Location loc, mlir::Value local,
                                     TPLayout from, TPLayout to,
                                     mlir::RankedTensorType toType);

} // namespace kb

#endif // KB_DIALECT_KB_TRANSFORMS_RESHARD_H
