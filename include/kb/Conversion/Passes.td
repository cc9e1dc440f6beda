//===- Passes.td - kb conversion passes ---------------------*- tablegen -*-===//

#ifndef KB_CONVERSION_PASSES_TD
#define KB_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertKBToGemmTilePass : Pass<"convert-kb-to-gemm-tile", "mlir::ModuleOp"> {
  let summary = "Lower the placed local view to the device's gemm_tile ops";
  let description = [{
    Runs after `kb-place`: every rank-local tensor has a DPPolicy. Each
    tensor becomes one buffer per cube piece its policy names (a replicated
    tensor one per replica). Then:

    - `kb.matmul` becomes tile gemms on the PEs that the output's policy
      names: one per PE slab when the slab fits the PE's buffer (two operand
      chunks and the f32 accumulator), otherwise the most arithmetic-intense
      tiles that fit; operand rows or columns that are not in the PE's cube
      are first brought there by `gemm_tile.dma`. An output replicated over
      the cubes (or the PEs) is still computed once: each cube (PE) computes
      a share, and DMA copies the shares to the other replicas.
    - `kb.gelu` and `kb.add` become one elementwise op per PE slab.
    - `kb.all_reduce` becomes a ring reduce-scatter then all-gather per piece
      (2(W-1)/W of the tensor sent per rank), then DMA to the other replicas.
    - `kb.tp_slice` becomes a DMA whose source offset moves with the rank.

    Every group of asynchronous ops ends with a `gemm_tile.wait`.

    With `outline-ops` (the default) the device work of each distinct kb op
    (same op, attributes, operand and result types and policies) is emitted
    once, as a private function taking the operands' buffers and returning
    the result's, and every occurrence becomes a `func.call` of it: a model
    whose layers repeat compiles and prints each layer kind once, so the
    device program grows with the number of distinct layers, not with depth.
    `outline-ops=false` emits all device work inline in the function.

    The function's signature becomes the pieces, with `gemm_tile.piece`,
    `kb.local_function_type` and `kb.arg_split_dims`/`kb.result_split_dims`
    (docs/design/0003-lowered-program-interface.md). A module whose cube
    memory would overflow is rejected, naming the cube and both byte counts.
  }];
  let dependentDialects = ["::kb::gemm_tile::GemmTileDialect"];
  let options = [
    Option<"outlineOps", "outline-ops", "bool", /*default=*/"true",
           "Emit each distinct op's device work once, as a private function "
           "called where the op occurs">
  ];
}

#endif // KB_CONVERSION_PASSES_TD
