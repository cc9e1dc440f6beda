//===- Reshard.cpp - from one TP layout to another ------------------------===//

#include "kb/Dialect/KB/Transforms/Reshard.h"
#include "kb/Dialect/KB/IR/KBOps.h"

using namespace mlir;
using namespace kb;

/// The type of `local` made `factor` times wider along `dim`: what gathering
/// `factor` slices along it gives.
static RankedTensorType widened(Value local, int64_t dim, int64_t factor) {
  auto type = cast<RankedTensorType>(local.getType());
  SmallVector<int64_t> shape(type.getShape());
  shape[dim] *= factor;
  return RankedTensorType::get(shape, type.getElementType(),
                               type.getEncoding());
}

FailureOr<Value> kb::reshard(ReshardContext &context, Location loc, Value local,
                             TPLayout from, TPLayout to,
                             RankedTensorType toType) {
  OpBuilder &builder = context.builder;
  if (from == to)
    return local;
  int64_t ws =
      lookupWorldSize(builder.getInsertionBlock()->getParentOp()).value_or(1);
  // Out of a grouped split: each rank's own 1/W slice lies in its group's
  // slice (part r mod R of it), so split(d) is a local slice, and every
  // other layout is reached from there: a gather then sends each element
  // once, not once per replica.
  if (from.isGrouped() && !to.isPartial()) {
    int64_t dim = from.getDim();
    auto type = cast<RankedTensorType>(local.getType());
    SmallVector<int64_t> shape(type.getShape());
    shape[dim] /= from.getReplicas();
    auto own =
        RankedTensorType::get(shape, type.getElementType(), type.getEncoding());
    local = TPSliceOp::create(builder, loc, own, local, context.rank(), dim,
                              /*offset=*/nullptr, /*replicas=*/nullptr,
                              builder.getI64IntegerAttr(from.getReplicas()))
                .getResult();
    from = TPLayout::split(dim);
    if (from == to)
      return local;
  }
  // A partial sum wanted split: each rank needs only its slice of the
  // reduction, which a reduce-scatter sends half the bytes of an all-reduce
  // for.
  if (from.isPartial() && to.isSplit() && !to.isGrouped())
    return ReduceScatterOp::create(builder, loc, toType, from.getReduction(),
                                   local, to.getDim())
        .getResult();
  if (from.isPartial() && !to.isPartial()) {
    local = AllReduceOp::create(builder, loc, from.getReduction(), local)
                .getResult();
    if (to.isReplicated())
      return local;
    from = TPLayout::replicated();
  }
  if (from.isSplit() && !to.isPartial()) {
    // Gather the whole value; a split along another dimension (or a grouped
    // split) is then a local slice of it (an all_to_all would send 1/W of
    // the bytes).
    local = AllGatherOp::create(builder, loc, widened(local, from.getDim(), ws),
                                local, from.getDim())
                .getResult();
    if (to.isReplicated())
      return local;
    from = TPLayout::replicated();
  }
  if (from.isReplicated() && to.isSplit()) {
    IntegerAttr replicas =
        to.isGrouped() ? builder.getI64IntegerAttr(to.getReplicas()) : nullptr;
    return TPSliceOp::create(builder, loc, toType, local, context.rank(),
                             to.getDim(), /*offset=*/nullptr, replicas,
                             /*shards=*/nullptr)
        .getResult();
  }

  InFlightDiagnostic diag = context.emitError();
  diag << "in layout " << to.str() << ", but it is " << from.str()
       << "; kb has no way to make a partial value from it";
  return diag;
}
