//===- GemmTileBase.td - gemm_tile dialect definition ------*- tablegen -*-===//
//
// The gemm_tile dialect: what one AHBM SIP does, no more. Buffers live in a
// cube's memory; a PE multiplies tiles of buffers in its own cube; DMA moves
// regions between cubes; ring steps move chunks between SIPs; waits join
// asynchronous work.
//
//===----------------------------------------------------------------------===//

#ifndef KB_DIALECT_GEMMTILE_IR_GEMMTILEBASE_TD
#define KB_DIALECT_GEMMTILE_IR_GEMMTILEBASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def GemmTile_Dialect : Dialect {
  let name = "gemm_tile";
  let cppNamespace = "::kb::gemm_tile";
  let summary = "Tiles, DMA, ring collectives and waits of the AHBM device";
  let description = [{
    The device-level dialect kb lowers to. A lowered function is the program
    one SIP (one TP rank) runs; it is rank-generic, and every rank runs it.

    - Buffers are `memref`s whose memory space is `#gemm_tile.cube<c>`: they
      live in cube c's memory.
    - `gemm_tile.matmul`, `gemm_tile.map` and `gemm_tile.zip` run on one PE
      of the cube that holds all their buffers, asynchronously; they return a
      `!gemm_tile.token`.
    - `gemm_tile.dma` copies a region between buffers of the same SIP,
      asynchronously.
    - `gemm_tile.reduce_scatter_step` / `gemm_tile.all_gather_step` are the
      steps of a ring collective between the SIPs; they are synchronous.
    - `gemm_tile.wait` blocks until tokens complete. Waits and ring steps are
      where the scheduler may switch to another rank.

    PE ops implement `PEComputeOpInterface` and ring steps
    `RingStepOpInterface`; the verifiers, the yield-safety check, the cost
    model and kb-run work through them (docs/Device.md).

    The machine is described by `#gemm_tile.device`, a module attribute named
    `gemm_tile.device`; without it, the built-in AHBM defaults apply.
  }];
  let useDefaultAttributePrinterParser = 1;
  let useDefaultTypePrinterParser = 1;
  let hasOperationAttrVerify = 1;
  let hasRegionArgAttrVerify = 1;
  let hasRegionResultAttrVerify = 1;
  let extraClassDeclaration = [{
    void registerAttributes();
    void registerTypes();

    /// Module attribute holding the `#gemm_tile.device` description.
    static constexpr ::llvm::StringLiteral kDeviceAttrName = "gemm_tile.device";
    /// Argument/result attribute of a lowered function: which local-view
    /// tensor a buffer is a piece of, and where.
    static constexpr ::llvm::StringLiteral kPieceAttrName = "gemm_tile.piece";
    /// Unit attribute on the first step of a ring that carries the next
    /// chunk of the collective the ring before it began (a collective cut
    /// into row bands to overlap compute): kb-run reports the chunks as one
    /// logical collective.
    static constexpr ::llvm::StringLiteral kContinuesCollectiveAttrName =
        "gemm_tile.continues_collective";
  }];
}

class GemmTile_Op<string mnemonic, list<Trait> traits = []>
    : Op<GemmTile_Dialect, mnemonic, traits>;

#endif // KB_DIALECT_GEMMTILE_IR_GEMMTILEBASE_TD
