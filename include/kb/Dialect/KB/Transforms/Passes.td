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
    `remarks`, each choice is reported as a remark with its estimate. A
    policy the user gave is kept; with `advise`, a remark ("kb-place advice")
    names it and the policy kb would choose when kb's is clearly faster, with
    both estimates (kb-run puts these in its report).
  }];
  let options = [
    Option<"useCostModel", "cost-model", "bool", /*default=*/"true",
           "Choose policies by the placement cost model (else: the rule alone)">,
    Option<"emitRemarks", "remarks", "bool", /*default=*/"false",
           "Report each chosen policy and its estimated time as a remark">,
    Option<"advise", "advise", "bool", /*default=*/"false",
           "Report a given policy that kb's choice clearly beats, as a remark">
  ];
  let dependentDialects = ["::kb::KBDialect"];
}

def KBOverlapCollectivesPass : Pass<"kb-overlap-collectives", "mlir::ModuleOp"> {
  let summary = "Hide a row-parallel gemm's all-reduce behind the gemm, in row chunks";
  let description = [{
    Runs on the placed local view (after `kb-place`). A `kb.matmul` whose
    only use is a `kb.all_reduce` (the partial sums of a row-parallel layer)
    becomes one `kb.matmul_all_reduce` with a chunk count: its lowering
    computes the rows in that many bands and runs each band's ring while the
    PEs compute the next (a decomposed collective matmul, Wang et al.,
    ASPLOS 2023), so only the last band's ring is exposed.

    With `cost-model` (the default) the pass prices each candidate with the
    device's cost model: the first band's lhs rows staged into the cubes
    that compute it (an lhs sharded over the cubes is copied band by band,
    each copy paying its DMA latency and waiting for its mesh links, as
    kb-run books it), then the gemm band by band on the busiest PE beside
    the next band's staging and the previous band's ring, pipelined, against
    the gemm then the whole ring, for every
    chunk count from 2 to `chunks` that divides the rows; it fuses at the
    fastest count, and only when that beats the unchunked pair. Then it
    prices uneven bands at every count up to `chunks` (a short first band,
    a short last band, the rest even or ramped up to the middle) and takes
    the fastest when it beats the equal bands by 1% of the whole ring.
    Without it, every candidate whose rows divide by `chunks` is fused at
    `chunks`, in equal bands. A
    gemm whose result is placed so that a cube computes a share of another
    cube's piece, or whose pieces cut the rows, is left alone (the bands'
    rings need each cube's own whole columns).

    Under sequence parallelism a `kb.matmul` whose only use is a
    `kb.reduce_scatter ... along 0` becomes one `kb.matmul_reduce_scatter`
    the same way (chunk counts whose product with W divides the rows): each
    chunk is part i of every rank's slice, whose ring along the rows runs
    while the PEs compute the next chunk.

    And a `kb.all_gather ... along 0` whose every use is the lhs of a
    `kb.matmul` (sequence parallelism's column-parallel layers: q, k and v,
    or gate and up) becomes one `kb.all_gather_matmul` with all their
    weights (chunk counts that divide the rank's rows): chunk i, part i of
    every rank's rows, is gathered by its own ring and copied to the cubes
    while the PEs compute chunk i - 1. A product whose placement has a cube
    compute only some of its rows is left alone, and so is a gathered
    tensor read by anything else.
  }];
  let options = [
    Option<"chunks", "chunks", "int64_t", /*default=*/"8",
           "The most row chunks to cut a gemm into">,
    Option<"useCostModel", "cost-model", "bool", /*default=*/"true",
           "Fuse only where the cost model says it is faster, at the best count">
  ];
  let dependentDialects = ["::kb::KBDialect"];
}

def KBOutlineKernelsPass : Pass<"kb-outline-kernels", "mlir::ModuleOp"> {
  let summary = "Make each distinct placed op a kernel called where it occurs";
  let description = [{
    Runs on the placed local view (after `kb-place`), before
    `convert-kb-to-gemm-tile`. Every op that does device work (`kb.matmul`,
    `kb.add`, `kb.gelu`, `kb.all_reduce` over more than one rank,
    `kb.tp_slice` of the rank) is moved into a private function, a *kernel*
    marked `kb.kernel`, and replaced by a `func.call` of it. Two ops share a
    kernel when they have the same name, attributes, operand and result
    types (with their `#kb.dp` policies), the same aliasing among their
    operands (`x + x` is a kernel of one argument, `x + y` of two), and, for
    an all_reduce, the same choice between reducing its input in place and
    reducing a copy because the input is read again (the kernel's op then
    carries `kb.keep_input`). A `kb.tp_slice` kernel reads the rank itself.

    Kernels are named after the op and numbered (`@matmul_0`, `@gelu_0`,
    `@all_reduce_1`) with a number no other symbol of the module has, and
    placed before the first function that calls them. Lowered, a model
    whose layers repeat has a device program the size of its distinct
    layers plus one call per op (docs/design/0005-outlined-kernels.md).

    Example:

    ```mlir
    func.func @two_layers(%x: tensor<4x8xf32, #rep>) -> tensor<4x8xf32, #rep> {
      %g = kb.gelu %x : tensor<4x8xf32, #rep>
      %h = kb.gelu %g : tensor<4x8xf32, #rep>
      return %h : tensor<4x8xf32, #rep>
    }
    ```

    becomes

    ```mlir
    func.func private @gelu_0(%a: tensor<4x8xf32, #rep>) -> tensor<4x8xf32, #rep>
        attributes {kb.kernel} {
      %0 = kb.gelu %a : tensor<4x8xf32, #rep>
      return %0 : tensor<4x8xf32, #rep>
    }
    func.func @two_layers(%x: tensor<4x8xf32, #rep>) -> tensor<4x8xf32, #rep> {
      %0 = call @gelu_0(%x) : (tensor<4x8xf32, #rep>) -> tensor<4x8xf32, #rep>
      %1 = call @gelu_0(%0) : (tensor<4x8xf32, #rep>) -> tensor<4x8xf32, #rep>
      return %1 : tensor<4x8xf32, #rep>
    }
    ```

    A module that is not the local view (no `kb.spmd`) and a value of an
    op to outline without a DPPolicy are errors.
  }];
  let dependentDialects = ["::kb::KBDialect", "::mlir::func::FuncDialect"];
}

#endif // KB_DIALECT_KB_TRANSFORMS_PASSES_TD
