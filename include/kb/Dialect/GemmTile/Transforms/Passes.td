//===- Passes.td - gemm_tile passes -------------------------*- tablegen -*-===//

#ifndef KB_DIALECT_GEMMTILE_TRANSFORMS_PASSES_TD
#define KB_DIALECT_GEMMTILE_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def GemmTileCheckYieldSafetyPass
    : Pass<"gemm-tile-check-yield-safety", "mlir::func::FuncOp"> {
  let summary = "Check that every path of a rank's program can yield";
  let description = [{
    The device's scheduler interleaves the ranks cooperatively: it switches
    rank only at a `gemm_tile.wait` or a ring step. A path through a
    function that holds neither would let one rank run without ever giving
    the others a turn (the seed's yield-safety contract). This pass checks
    every path from the entry to a return, through branches and
    `scf.if`-like regions (a loop body may run zero times and does not
    count), and reports a function with such a path as an error naming it.
    Functions with no gemm_tile op (declarations, host-side code) are not
    rank programs and are skipped.
  }];
}

#endif // KB_DIALECT_GEMMTILE_TRANSFORMS_PASSES_TD
