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
    count), and reports a function with such a path as an error naming it.
    A call yields when every path through its callee does, so a program
    made of calls to outlined kernels (`convert-kb-to-gemm-tile`'s
    `outline-ops`) is checked through them; a recursive call is not counted
    as yielding. Only public functions are checked: a private one (such as
    an outlined kernel) runs only where it is called and is checked as part
    of its callers' paths. Functions with no gemm_tile op and no call of one
    (declarations, host-side code) are not rank programs and are skipped.
  }];
}

#endif // KB_DIALECT_GEMMTILE_TRANSFORMS_PASSES_TD
