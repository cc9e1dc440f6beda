//===- KBDialect.cpp - kb dialect -----------------------------------------===//

#include "kb/Dialect/KB/IR/KBDialect.h"
#include "kb/Dialect/KB/IR/KBOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace kb;

#include "kb/Dialect/KB/IR/KBOpsDialect.cpp.inc"

void KBDialect::initialize() {
  registerAttributes();
  addOperations<
#define GET_OP_LIST
#include "kb/Dialect/KB/IR/KBOps.cpp.inc"
      >();
}

Operation *KBDialect::materializeConstant(OpBuilder &builder, Attribute value,
                                          Type type, Location loc) {
  // Folds produce index constants (the rank over a single SIP).
  if (auto integer = dyn_cast<IntegerAttr>(value); integer && type.isIndex())
    return arith::ConstantIndexOp::create(builder, loc, integer.getInt());
  return nullptr;
}

LogicalResult KBDialect::verifyOperationAttribute(Operation *op,
                                                  NamedAttribute attr) {
  StringRef name = attr.getName().getValue();
  if (name == kWorldSizeAttrName) {
    if (!isa<ModuleOp>(op))
      return op->emitError()
             << "'" << name << "' belongs on a builtin.module, not on '"
             << op->getName() << "'";
    auto value = dyn_cast<IntegerAttr>(attr.getValue());
    if (!value || !value.getType().isInteger(64))
      return op->emitError() << "'" << name << "' must be an i64 integer, got "
                             << attr.getValue();
    if (value.getInt() <= 0)
      return op->emitError()
             << "'" << name << "' (the TP world size) must be positive, got "
             << value.getInt();
    if (value.getInt() > kMaxWorldSize)
      return op->emitError()
             << "'" << name << "' (the TP world size) must be "
             << "at most " << kMaxWorldSize << ", got " << value.getInt();
    return success();
  }
  if (name == kSPMDAttrName) {
    if (!isa<ModuleOp>(op) || !isa<UnitAttr>(attr.getValue()))
      return op->emitError()
             << "'" << name << "' must be a unit attribute on a builtin.module";
    return success();
  }
  if (name == kSequenceParallelAttrName) {
    if (!isa<ModuleOp>(op) || !isa<UnitAttr>(attr.getValue()))
      return op->emitError()
             << "'" << name << "' must be a unit attribute on a builtin.module";
    return success();
  }
  if (name == kLocalFunctionTypeAttrName) {
    auto type = dyn_cast<TypeAttr>(attr.getValue());
    if (!isa<FunctionOpInterface>(op) || !type ||
        !isa<FunctionType>(type.getValue()))
      return op->emitError()
             << "'" << name << "' must be a function type on a function";
    return success();
  }
  if (name == kArgSplitDimsAttrName || name == kResultSplitDimsAttrName) {
    auto dims = dyn_cast<DenseI64ArrayAttr>(attr.getValue());
    if (!isa<FunctionOpInterface>(op) || !dims)
      return op->emitError()
             << "'" << name << "' must be an array<i64> on a function";
    if (llvm::any_of(dims.asArrayRef(), [](int64_t d) { return d < -1; }))
      return op->emitError()
             << "'" << name << "' holds dimensions or -1 (replicated)";
    return success();
  }
  if (name == kArgSplitReplicasAttrName ||
      name == kResultSplitReplicasAttrName) {
    auto counts = dyn_cast<DenseI64ArrayAttr>(attr.getValue());
    if (!isa<FunctionOpInterface>(op) || !counts)
      return op->emitError()
             << "'" << name << "' must be an array<i64> on a function";
    if (llvm::any_of(counts.asArrayRef(), [](int64_t n) { return n < 1; }))
      return op->emitError()
             << "'" << name << "' holds rank counts, each at least 1";
    return success();
  }
  if (name == kKernelAttrName) {
    if (!isa<func::FuncOp>(op) || !isa<UnitAttr>(attr.getValue()))
      return op->emitError()
             << "'" << name << "' must be a unit attribute on a func.func";
    return success();
  }
  if (name == kKeepInputAttrName) {
    if (!isa<AllReduceOp>(op) || !isa<UnitAttr>(attr.getValue()))
      return op->emitError()
             << "'" << name << "' must be a unit attribute on a kb.all_reduce";
    return success();
  }
  return op->emitError() << "unknown kb attribute '" << name << "' on '"
                         << op->getName() << "'";
}

/// Verifies a `kb.split_dim` (or `kb.split_replicas`) attribute on a function
/// argument or result of type `type`.
static LogicalResult verifySplitDim(Operation *op, NamedAttribute attr,
                                    Type type, StringRef what, unsigned index) {
  if (attr.getName() == KBDialect::kSplitReplicasAttrName) {
    auto count = dyn_cast<IntegerAttr>(attr.getValue());
    if (!count || count.getInt() < 1)
      return op->emitError()
             << "'" << attr.getName().getValue() << "' on " << what << " "
             << index << " must be a rank count of at least 1";
    return success();
  }
  if (attr.getName() != KBDialect::kSplitDimAttrName)
    return op->emitError() << "unknown kb attribute '"
                           << attr.getName().getValue() << "' on " << what
                           << " " << index;
  auto dim = dyn_cast<IntegerAttr>(attr.getValue());
  if (!dim)
    return op->emitError() << "'" << attr.getName().getValue() << "' on "
                           << what << " " << index << " must be an integer";
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor)
    return op->emitError() << "'" << attr.getName().getValue() << "' on "
                           << what << " " << index
                           << " needs a ranked tensor, got " << type;
  if (dim.getInt() < 0 || dim.getInt() >= tensor.getRank())
    return op->emitError() << "'" << attr.getName().getValue() << "' on "
                           << what << " " << index << " is " << dim.getInt()
                           << ", outside the tensor's rank "
                           << tensor.getRank();
  return success();
}

LogicalResult KBDialect::verifyRegionArgAttribute(Operation *op,
                                                  unsigned regionIndex,
                                                  unsigned argIndex,
                                                  NamedAttribute attr) {
  Region &region = op->getRegion(regionIndex);
  if (region.empty() || argIndex >= region.front().getNumArguments())
    return success();
  return verifySplitDim(op, attr,
                        region.front().getArgument(argIndex).getType(),
                        "argument", argIndex);
}

LogicalResult KBDialect::verifyRegionResultAttribute(Operation *op,
                                                     unsigned regionIndex,
                                                     unsigned resultIndex,
                                                     NamedAttribute attr) {
  auto func = dyn_cast<FunctionOpInterface>(op);
  if (!func || resultIndex >= func.getNumResults())
    return success();
  return verifySplitDim(op, attr, func.getResultTypes()[resultIndex], "result",
                        resultIndex);
}
