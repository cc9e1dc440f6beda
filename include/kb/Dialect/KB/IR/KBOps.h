//===- KBOps.h - kb operations ----------------------------------*- C++ -*-===//

#ifndef KB_DIALECT_KB_IR_KBOPS_H
#define KB_DIALECT_KB_IR_KBOPS_H

#include "kb/Dialect/KB/IR/KBAttrs.h"
#include "kb/Dialect/KB/IR/ElementwiseOpInterface.h"
#include "kb/Dialect/KB/IR/KBDialect.h"
#include "kb/Dialect/KB/IR/TPPartitionOpInterface.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include <optional>

namespace kb {
/// Checks that `op`'s result has its first operand's shape and element type
/// (its #kb.dp encoding may differ).
mlir::LogicalResult verifyResultShapeOfFirstOperand(mlir::Operation *op);

/// The result has the shape and element type of the first operand, and its
/// type unless placement moved it (see KBBase.td).
template <typename ConcreteType>
class ResultTypeOfFirstOperand
    : public mlir::OpTrait::TraitBase<ConcreteType, ResultTypeOfFirstOperand> {
public:
  static mlir::LogicalResult verifyTrait(mlir::Operation *op) {
    return verifyResultShapeOfFirstOperand(op);
  }
};
} // namespace kb

#define GET_OP_CLASSES
#include "kb/Dialect/KB/IR/KBOps.h.inc"

namespace kb {

/// The TP world size held by the `kb.world_size` attribute of the module that
/// encloses `op`, or std::nullopt when there is none.
std::optional<int64_t> lookupWorldSize(mlir::Operation *op);

/// Whether `op` sits in a module that kb-tp-partition has turned into
/// rank-generic SPMD programs.
bool isInSPMDModule(mlir::Operation *op);

/// The DPPolicy encoding of `type`, or null when it has none.
DPPolicyAttr getDPPolicy(mlir::Type type);

/// `type` with its encoding replaced by `policy` (null removes it).
mlir::RankedTensorType withDPPolicy(mlir::RankedTensorType type,
                                    DPPolicyAttr policy);

} // namespace kb

#endif // KB_DIALECT_KB_IR_KBOPS_H
