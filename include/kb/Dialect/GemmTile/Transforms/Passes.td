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

def GemmTilePrefetchCopiesPass
    : Pass<"gemm-tile-prefetch-copies", "mlir::ModuleOp"> {
  let summary = "Issue a kernel's first copies during the calls before it";
  let description = [{
    A kernel (a private function called from the program's entry) starts
    with the copies its first tiles wait for, and the kernel before it ends
    waiting for everything; a copy of a weight, which no kernel writes,
    could therefore start no earlier than the previous kernel's last tile.
    This pass moves each such copy out of the kernel into its callers:
    a `gemm_tile.dma` before the kernel's first operation other than an
    alloc or a copy, from one of the kernel's arguments into a buffer the
    kernel allocates, is issued by the caller with its alloc, before as
    many of the preceding calls (up to 16) as it can pass: calls that do
    not produce its source, do not write it (or a buffer a callee returned
    as it), and issue no copy of their own (a cube's DMA engine serves
    copies in the order they are issued, so passing a call's copies would
    delay them). The kernel takes the buffer and the copy's
    `!gemm_tile.token` as arguments and waits on the token where it waited
    on the copy. A copy is moved when at some call it can start during an
    earlier call; the kernel's signature is then changed for all its calls,
    so kernels stay shared, and a call that can pass nothing issues the copy
    just before itself. Copies are never reordered among themselves, so
    every copy, tile and ring step starts no later than before.

    Cube memory is never freed while a program runs, so an earlier alloc
    needs no more of it; `gemm-tile-check-cube-memory` runs afterwards.

    ```mlir
    // Before: @down copies its weight %arg1 only after @gelu's tiles.
    %g = call @gelu(%h) : (...) -> ...
    %y = call @down(%g, %w) : (...) -> ...
    // After: the copy runs beside @gelu.
    %b = gemm_tile.alloc : memref<256x16xf16, #gemm_tile.cube<1>>
    %t = gemm_tile.dma %w [0, 64] to %b [0, 0] sizes [256, 16] : ...
    %g = call @gelu(%h) : (...) -> ...
    %y = call @down(%g, %w, %b, %t) : (...) -> ...
    ```
  }];
}

def GemmTileDeferWaitsPass : Pass<"gemm-tile-defer-waits", "mlir::ModuleOp"> {
  let summary = "Wait for a kernel's trailing copies in its caller";
  let description = [{
    A kernel (a private function called from the single block of public
    functions) ends waiting for everything it issued, so the copies it
    issues after its last other work hold the rank although the ops after
    the call may not use them. This pass takes each `gemm_tile.dma` between
    a kernel's last op other than an alloc or a copy and its final
    `gemm_tile.wait` (the op before its return), whose token only that wait
    uses and whose buffers are the kernel's arguments, results or own
    allocations, out of that wait: the kernel returns the token as an extra
    `!gemm_tile.token` result, and each call waits on it just before the
    first later op of its caller that may touch the copy's source or target
    (an op with one of them, or a buffer a callee returned as it, among its
    operands; a call of an external function, an op with regions, an op of
    another dialect, the return). A copy is deferred when at some call its
    wait passes work (an op other than an alloc or a wait); the kernel's
    signature is then changed for all its calls, so kernels stay shared, and
    a call that can pass nothing waits just after itself. No op is issued
    in another order, and a wait only moves later, so every op starts no
    later than before.

    ```mlir
    // Before: @q ends waiting for the copy of its result into %o.
    %o = call @q(%x, %w) : (...) -> ...
    %k = call @k(%x, %wk) : (...) -> ...
    %a = call @attn(%o, %k) : (...) -> ...
    // After: @k runs while the copy moves.
    %o, %t = call @q(%x, %w) : (...) -> (..., !gemm_tile.token)
    %k = call @k(%x, %wk) : (...) -> ...
    gemm_tile.wait %t
    %a = call @attn(%o, %k) : (...) -> ...
    ```
  }];
}

#endif // KB_DIALECT_GEMMTILE_TRANSFORMS_PASSES_TD
