//===- Passes.td - kb transformation passes -----------------*- tablegen -*-===//

#ifndef KB_DIALECT_KB_TRANSFORMS_PASSES_TD
#define KB_DIALECT_KB_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def KBTPPartitionPass : Pass<"kb-tp-partition", "mlir::ModuleOp"> {
  let summary = "Partition the global view into one rank-generic SPMD program";
  let description = [{
    Rewrites every function of a module that carries `kb.world_size` = W
    from the global view (logical shapes) to the local view of one TP rank,
    as one rank-generic program (the rank is the value of `kb.tp_rank`, not
    W copies):

    - `kb.column_parallel_linear` becomes a local `kb.matmul` on the rank's
      column slice of the weight (and `kb.add` of its bias slice), with no
      collective; its result stays split along dimension 1.
    - `kb.row_parallel_linear` becomes a local `kb.matmul` on the rank's row
      slice of the weight, a `kb.all_reduce <sum>`, then the bias once.
    - Elementwise ops keep their operand's split.
    - A replicated value consumed split is sliced with `kb.tp_slice`.

    Function arguments and results get their local types; those split over
    the ranks record the split dimension in `kb.split_dim`, so an executor
    can scatter global inputs and gather outputs. The module is marked
    `kb.spmd`; a module already marked is left unchanged.

    Example (W = 4):

    ```mlir
    // Before
    %y = kb.column_parallel_linear %x, %w
        : (tensor<8x16xf16>, tensor<16x64xf16>) -> tensor<8x64xf16>
    // After; %w : tensor<16x16xf16> {kb.split_dim = 1 : i64}
    %y = kb.matmul %x, %w
        : (tensor<8x16xf16>, tensor<16x16xf16>) -> tensor<8x16xf16>
    ```
  }];
  let dependentDialects = ["::kb::KBDialect"];
}

def KBPlacePass : Pass<"kb-place", "mlir::ModuleOp"> {
  let summary = "Give every rank-local tensor a DPPolicy inside its SIP";
  let description = [{
    Runs on the local view (after `kb-tp-partition`). Policies the user wrote
    are kept and checked against the device description (`gemm_tile.device`
    on the module, or the built-in AHBM default): a policy that names more
    cubes or PEs than the device has, or that does not divide the local
    shape, is an error naming both numbers.

    Values whose types must agree (an elementwise op's operand and result)
    share one policy. For every such group without a user policy, the pass
    starts from the rule of docs/Placement.md (a tensor that feeds the
    left-hand side of a local gemm is replicated over every cube; any other
    2-D tensor is sharded by columns over the cubes and by rows over the PEs
    where the sizes divide) and then, with `cost-model` (the default), takes
    the candidate policy that the placement cost model estimates fastest for
    the ops that touch the group, one group at a time in program order. With
    `remarks`, each choice is reported as a remark with its estimate.
  }];
  let options = [
    Option<"useCostModel", "cost-model", "bool", /*default=*/"true",
           "Choose policies by the placement cost model (else: the rule alone)">,
    Option<"emitRemarks", "remarks", "bool", /*default=*/"false",
           "Report each chosen policy and its estimated time as a remark">
  ];
  let dependentDialects = ["::kb::KBDialect"];
}

#endif // KB_DIALECT_KB_TRANSFORMS_PASSES_TD
