//===- UpstreamTPPartitionModels.cpp - TP rules for upstream ops ----------===//

#include "kb/Dialect/KB/IR/UpstreamTPPartitionModels.h"
#include "kb/Dialect/KB/IR/KBOps.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/DialectRegistry.h"

using namespace mlir;
using namespace kb;

namespace {

/// A static slice of a whole (replicated) tensor is the same slice on every
/// rank; slicing is linear, so a slice of a partial sum is a partial sum. A
/// slice of a split tensor would cut across the ranks' pieces, so the source
/// is made whole first.
struct ExtractSliceTPModel
    : public TPPartitionOpInterface::ExternalModel<ExtractSliceTPModel,
                                                   tensor::ExtractSliceOp> {
  FailureOr<TPRule> getTPRule(Operation *op,
                              ArrayRef<TPLayout> operands) const {
    auto slice = cast<tensor::ExtractSliceOp>(op);
    if (slice->getNumOperands() != 1 ||
        !llvm::all_of(slice.getStaticStrides(),
                      [](int64_t s) { return s == 1; }))
      return op->emitOpError()
             << "is partitioned by kb-tp-partition only with static offsets "
                "and sizes and unit strides";
    if (slice.getSourceType().getRank() != slice.getResultType().getRank())
      return op->emitOpError() << "is partitioned by kb-tp-partition only "
                                  "without rank reduction";
    TPLayout in = operands.front();
    if (!(in.isPartial() && in.getReduction() == ReductionKind::Sum))
      in = TPLayout::replicated();
    return TPRule{{in}, {in}};
  }

  SmallVector<Value, 1> buildLocalOp(Operation *op, OpBuilder &builder,
                                     ValueRange operands,
                                     TypeRange resultTypes) const {
    return buildSameOpLocally(builder, op, operands, resultTypes);
  }
};

} // namespace

void kb::registerUpstreamTPPartitionModels(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *context, tensor::TensorDialect *) {
    tensor::ExtractSliceOp::attachInterface<ExtractSliceTPModel>(*context);
  });
}
