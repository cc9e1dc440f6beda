//===- TPPartitionOpInterface.h - how an op partitions ----------*- C++ -*-===//

#ifndef KB_DIALECT_KB_IR_TPPARTITIONOPINTERFACE_H
#define KB_DIALECT_KB_IR_TPPARTITIONOPINTERFACE_H

#include "kb/Dialect/KB/IR/TPLayout.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/OpDefinition.h"

#include "kb/Dialect/KB/IR/TPPartitionOpInterface.h.inc"

namespace kb {

/// How a binary elementwise op treats partial sums.
enum class PartialOperands {
  /// Only both operands partial(sum) (a + b of partials is a partial).
  BothOrNone,
  /// One partial operand times a replicated one (linear in each operand).
  OneTimesReplicated,
};

/// The rule of a unary elementwise op: the result keeps the operand's
/// replicated or split layout. A partial operand is reduced first, unless
/// the op is `linear` in it (a scale), which keeps partial(sum/avg).
TPRule unaryElementwiseRule(llvm::ArrayRef<TPLayout> operands, bool linear);

/// The rule of a binary elementwise op whose rhs has lhs's shape or is a
/// rank-1 bias along lhs's last dimension (`rhsIsBias`).
TPRule binaryElementwiseRule(llvm::ArrayRef<TPLayout> operands, int64_t lhsRank,
                             bool rhsIsBias, PartialOperands partials);

/// Builds `op` again with `operands` and `resultTypes` and its attributes:
/// the local form of an op whose semantics do not change under TP.
llvm::SmallVector<mlir::Value, 1>
buildSameOpLocally(mlir::OpBuilder &builder, mlir::Operation *op,
                   mlir::ValueRange operands, mlir::TypeRange resultTypes);

} // namespace kb

#endif // KB_DIALECT_KB_IR_TPPARTITIONOPINTERFACE_H
