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
  // A partial sum wanted split: each rank needs only its slice of the
  // reduction, which a reduce-scatter sends half the bytes of an all-reduce
  // for.
  if (from.isPartial() && to.isSplit())
    return ReduceScatterOp::create(builder, loc, toType, from.getReduction(),
                                   local, to.getDim())
        .getResult();
  if (from.isPartial() && to.isReplicated())
    return AllReduceOp::create(builder, loc, from.getReduction(), local)
        .getResult();
  if (from.isSplit() && !to.isPartial()) {
    // Gather the whole value; a split along another dimension is then a
    // local slice of it (an all_to_all would send 1/W of the bytes).
    auto type = cast<RankedTensorType>(local.getType());
    std::optional<int64_t> ws =
        lookupWorldSize(builder.getInsertionBlock()->getParentOp());
    SmallVector<int64_t> shape(type.getShape());
    shape[from.getDim()] *= ws.value_or(1);
    auto whole = RankedTensorType::get(shape, type.getElementType(),
                                       type.getEncoding());
    local = AllGatherOp::create(builder, loc, whole, local, from.getDim())
                .getResult();
    if (to.isReplicated())
      return local;
    from = TPLayout::replicated();
  }
  if (from.isReplicated() && to.isSplit())
    return TPSliceOp::create(builder, loc, toType, local, context.rank(),
                             to.getDim())
        .getResult();

  InFlightDiagnostic diag = context.emitError();
  diag << "in layout " << to.str() << ", but it is " << from.str()
       << "; kb has no way to make a partial value from it";
  return diag;
}
