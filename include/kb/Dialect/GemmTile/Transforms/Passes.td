//===- Passes.td - gemm_tile passes -------------------------*- tablegen -*-===//

#ifndef KB_DIALECT_GEMMTILE_TRANSFORMS_PASSES_TD
#define KB_DIALECT_GEMMTILE_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def GemmTileCheckYieldSafetyPass
    : Pass<"gemm-tile-check-yield-safety", "mlir::ModuleOp"> {
  let summary = "Check that every path of a rank's program can yield";
  let description = [{
    The device's scheduler interleaves the ranks cooperatively: it switches
    rank only at a `gemm_tile.wait` or a ring step. A path through a
    function that holds neither would let one rank run without ever giving
    the others a turn (the seed's yield-safety contract). This pass checks
    every path from the entry to a return, through branches and
    `scf.if`-like regions (a loop body may run zero times and does not
    count), and reports a function with such a path as an error at the exit
    the path reaches, naming the function.
    A call yields when every path through its callee does, so a program
    made of calls to outlined kernels (`kb-outline-kernels`) is checked
    through them; a recursive call is not counted
    as yielding. Only public functions are checked: a private one (such as
    an outlined kernel) runs only where it is called and is checked as part
    of its callers' paths. Functions with no gemm_tile op and no call of one
    (declarations, host-side code) are not rank programs and are skipped.
  }];
}

def GemmTileCheckCubeMemoryPass
    : Pass<"gemm-tile-check-cube-memory", "mlir::ModuleOp"> {
  let summary = "Check that each rank program fits the memory of its cubes";
  let description = [{
    A lowered program holds its arguments' buffers and every
    `gemm_tile.alloc` it runs in the memory of their cubes; nothing is freed
    while it runs. This pass adds them up per cube, in program order, for
    every public function (an entry point): its arguments, then each alloc,
    and at each `func.call` everything the callee allocates, through its
    own calls, again at every call. The first alloc or call that takes a
    cube past the device's cube memory (`gemm_tile.device` on the module, or
    the built-in AHBM default) is an error naming the cube and both byte
    counts; so is a function whose arguments alone do not fit. Private
    functions (outlined kernels) are counted where they are called.

    Example (a 1 MiB cube): a 512 KiB argument and two 512 KiB allocs are
    rejected at the second alloc, "needs 1572864 bytes in cube 0, but a cube
    holds 1048576 bytes".
  }];
}

def GemmTileVerifyRingsPass
    : Pass<"gemm-tile-verify-rings", "mlir::ModuleOp"> {
  let summary = "Check that every ring collective is complete and in order";
  let description = [{
    A ring collective is a run of `gemm_tile.reduce_scatter_step` and
    `gemm_tile.all_gather_step` ops on one buffer. Each step moves one chunk
    per rank, and the chunk a step moves follows from its index, so a ring
    that skips, repeats or reorders a step, or stops half way, still runs
    and leaves some chunks unreduced or stale: wrong numbers, no error. This
    pass proves, per buffer and in program order within each block, that

    * a reduce-scatter runs steps 0, 1, ..., W - 2 of one ring size W and one
      reduction kind, each once, in order, and is followed by an all-gather on
      the same buffer (together, an all-reduce: each chunk reduced once, then
      sent to every rank once);
    * an all-gather runs steps 0, 1, ..., W - 2 of one ring size, each once,
      in order (it may also stand alone);
    * no other operation uses the buffer between the first and the last step
      (it would see a half-reduced buffer), and no ring is left open at the
      end of its block;
    * W is the module's `kb.world_size` when the module has one.

    Anything else is an error at the offending step (or use) naming the
    step that was due. A reduce-scatter whose result is used without its
    all-gather has no lowering in kb yet and is refused. The pass runs in
    `--kb-pipeline` after the lowering, and kb-run runs it on every lowered
    program it loads.

    ```mlir
    // Refused: step 1 is missing, so chunk (r - 1) mod 4 is never reduced.
    gemm_tile.reduce_scatter_step <sum> %y step 0 of 4 : memref<8x16xf32, #gemm_tile.cube<0>>
    gemm_tile.reduce_scatter_step <sum> %y step 2 of 4 : memref<8x16xf32, #gemm_tile.cube<0>>
    ```
  }];
}

#endif // KB_DIALECT_GEMMTILE_TRANSFORMS_PASSES_TD
