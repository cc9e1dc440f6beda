//===- Reshard.cpp - from one TP layout to another ------------------------===//

#include "kb/Dialect/KB/Transforms/Reshard.h"
#include "kb/Dialect/KB/IR/KBOps.h"

using namespace mlir;
using namespace kb;

FailureOr<Value> kb::reshard(ReshardContext &context, Location loc, Value local,
                             TPLayout from, TPLayout to,
                             RankedTensorType toType) {
  OpBuilder &builder = context.builder;
  if (from == to)
    return local;
  if (from.isPartial() && !to.isPartial()) {
    // Every rank needs the reduced value before it can keep all or a slice
    // of it. (A reduce-scatter would send half the bytes of all-reduce +
    // slice for a split target; kb has no reduce-scatter op yet.)
    Value reduced =
        AllReduceOp::create(builder, loc, from.getReduction(), local);
    if (to.isReplicated())
      return reduced;
    from = TPLayout::replicated();
    local = reduced;
  }
  if (from.isReplicated() && to.isSplit())
    return TPSliceOp::create(builder, loc, toType, local, context.rank(),
                             to.getDim())
        .getResult();

  InFlightDiagnostic diag = context.emitError();
  diag << "in layout " << to.str() << ", but it is " << from.str() << "; ";
  if (from.isSplit() && to.isReplicated())
    diag << "that needs an all_gather, which kb does not support yet";
  else if (from.isSplit() && to.isSplit())
    diag << "that needs an all_to_all, which kb does not support yet";
  else
    diag << "kb has no way to make a partial value from it";
  return diag;
}
