//===- Passes.td - kb conversion passes ---------------------*- tablegen -*-===//

#ifndef KB_CONVERSION_PASSES_TD
#define KB_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertKBToGemmTilePass : Pass<"convert-kb-to-gemm-tile", "mlir::ModuleOp"> {
  let summary = "Lower the placed local view to the device's gemm_tile ops";
  let description = [{
    Runs after `kb-place`: every rank-local tensor has a DPPolicy. A
    `DialectConversion` with a 1:N type conversion (`CubeBufferTypeConverter`)
    and one pattern per op (`populateKBToGemmTileConversionPatterns`): each
    tensor becomes one buffer per cube piece its policy names (a replicated
    tensor one per replica), and

    - `kb.matmul` becomes tile gemms on the PEs that the output's policy
      names: one per PE slab when the slab fits the PE's buffer (two operand
      chunks and the f32 accumulator), otherwise the most arithmetic-intense
      tiles that fit; operand rows or columns that are not in the PE's cube
      are first brought there by `gemm_tile.dma`. An output replicated over
      the cubes (or the PEs) is still computed once: each cube (PE) computes
      a share, and DMA copies the shares to the other replicas.
    - `kb.gelu` and `kb.add` become one elementwise op per PE slab.
    - `kb.all_reduce` becomes one ring reduce-scatter then all-gather whose
      chunks are drawn from all its distinct pieces (2(W-1)/W of the tensor
      sent per rank), then DMA to the other replicas.
    - `kb.all_gather` and `kb.reduce_scatter` become one ring along their
      dimension on a buffer of the whole tensor ((W-1)/W of it sent per
      rank), the rank's slice moved in or out by a rank-strided DMA.
      The input is reduced in place when nothing reads it afterwards (no
      other use, no `kb.keep_input`), else a copy is.
    - `kb.tp_slice` of `kb.tp_rank` becomes a DMA whose source offset moves
      with the rank; the rank itself converts to no value.
    - `func.func` signatures, `func.call` and `func.return` convert 1:N. An
      entry point's signature becomes the pieces, with `gemm_tile.piece`,
      `kb.local_function_type` and `kb.arg_split_dims`/`kb.result_split_dims`
      (docs/design/0003-lowered-program-interface.md), returning one buffer
      per distinct region of each result. A kernel of `kb-outline-kernels`
      (`kb.kernel`) takes and returns every piece, and its calls become
      calls of its lowered form; a call of any other function is an error.

    Every group of asynchronous ops ends with a `gemm_tile.wait`. Run
    `kb-outline-kernels` first to emit each distinct op's work once, and
    `gemm-tile-check-cube-memory` after it to check that the program fits
    the cubes' memory (`kb-pipeline` does both).
  }];
  let dependentDialects = ["::kb::gemm_tile::GemmTileDialect"];
}

#endif // KB_CONVERSION_PASSES_TD
