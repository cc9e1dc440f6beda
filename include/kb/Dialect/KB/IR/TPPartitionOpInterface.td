//===- TPPartitionOpInterface.td - how an op partitions ----*- tablegen -*-===//
//
// The contract between a global-view op and kb-tp-partition, in the spirit of
// upstream's ShardingInterface but over kb's three TP layouts (TPLayout.h):
// the op says which layouts it needs for its operands given the layouts they
// have, and builds its rank-local form once they are in those layouts.
//
//===----------------------------------------------------------------------===//

#ifndef KB_DIALECT_KB_IR_TPPARTITIONOPINTERFACE_TD
#define KB_DIALECT_KB_IR_TPPARTITIONOPINTERFACE_TD

include "mlir/IR/OpBase.td"

def KB_TPPartitionOpInterface : OpInterface<"TPPartitionOpInterface"> {
  let cppNamespace = "::kb";
  let description = [{
    An op that kb-tp-partition can turn into rank-local work. The partitioner
    knows the layout (replicated, split(d) or partial(kind)) of each operand;
    it asks the op for its rule, reshards every operand whose layout differs
    from the one the rule asks for (a local slice, or a collective), then
    asks the op to build its local form on the resharded local operands.
    A rule never asks for a partial operand unless the op is linear in it:
    a non-linear op (gelu, silu, ...) asks for a replicated or split operand,
    so partial sums are reduced before it and never computed on.
  }];
  let methods = [
    InterfaceMethod<[{
        The layouts the operands must have, and the layouts of the results,
        when the operands currently have `operandLayouts` (one per operand,
        in operand order). The partitioner also asks with every operand
        replicated to learn which layout a function argument should be
        scattered in. Fails, with an error at the op, when the op cannot be
        partitioned over the module's TP world size at all (heads that do not
        divide by it).
      }],
      "::mlir::FailureOr<::kb::TPRule>", "getTPRule",
      (ins "::llvm::ArrayRef<::kb::TPLayout>":$operandLayouts)>,
    InterfaceMethod<[{
        Builds the rank-local form of this op at the builder's insertion
        point from `localOperands` (in the layouts the rule asked for) and
        returns one local value per result, of `localResultTypes`. Slices
        and collectives between layouts are the partitioner's business, not
        the op's, except where the op's own semantics fix them (the
        all-reduce before a row-parallel bias).
      }],
      "::llvm::SmallVector<::mlir::Value, 1>", "buildLocalOp",
      (ins "::mlir::OpBuilder &":$builder, "::mlir::ValueRange":$localOperands,
           "::mlir::TypeRange":$localResultTypes)>,
  ];
}

#endif // KB_DIALECT_KB_IR_TPPARTITIONOPINTERFACE_TD
