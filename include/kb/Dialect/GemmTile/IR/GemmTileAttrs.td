//===- GemmTileAttrs.td - gemm_tile attributes and types ---*- tablegen -*-===//

#ifndef KB_DIALECT_GEMMTILE_IR_GEMMTILEATTRS_TD
#define KB_DIALECT_GEMMTILE_IR_GEMMTILEATTRS_TD

include "kb/Dialect/GemmTile/IR/GemmTileBase.td"
include "kb/Device/ReductionKind.td"

// gemm_tile's attribute over the one reduction enum of kb/Device.
def GemmTile_ReduceKindAttr
    : EnumAttr<GemmTile_Dialect, KB_ReductionKind, "reduce"> {
  let cppNamespace = "::kb::gemm_tile";
  let assemblyFormat = "`<` $value `>`";
}

def GemmTile_CubeAttr : AttrDef<GemmTile_Dialect, "Cube"> {
  let mnemonic = "cube";
  let summary = "Memory space: the memory of one cube of the SIP";
  let description = [{
    The memory space of a buffer that lives in cube `index` of the SIP.

    ```mlir
    memref<64x256xf16, #gemm_tile.cube<2>>
    ```
  }];
  let parameters = (ins "int64_t":$index);
  let assemblyFormat = "`<` $index `>`";
  let genVerifyDecl = 1;
}

def GemmTile_PieceAttr : AttrDef<GemmTile_Dialect, "Piece"> {
  let mnemonic = "piece";
  let summary = "Which local-view tensor a lowered argument or result is a piece of";
  let description = [{
    On an argument or result of a lowered function: the buffer holds the
    region of the rank-local tensor number `tensor` (an argument or result of
    the local-view function, see `kb.local_function_type`) that starts at
    `offsets` and has the buffer's shape. An executor loads arguments and
    gathers results through it.

    ```mlir
    func.func @f(%w_c1: memref<16x4xf16, #gemm_tile.cube<1>>
                 {gemm_tile.piece = #gemm_tile.piece<tensor = 1, offsets = [0, 4]>})
    ```
  }];
  let parameters = (ins "int64_t":$tensor,
                        ArrayRefParameter<"int64_t">:$offsets);
  let assemblyFormat = "`<` `tensor` `=` $tensor `,` `offsets` `=` `[` $offsets `]` `>`";
}

def GemmTile_DeviceAttr : AttrDef<GemmTile_Dialect, "Device"> {
  let mnemonic = "device";
  let summary = "Description of one AHBM SIP and its links";
  let description = [{
    The machine kb compiles for and kb-run models. Every field has a default,
    the built-in AHBM description (docs/Device.md):

    | field | default | meaning |
    |---|---|---|
    | `cubes` | 4 | cubes per SIP |
    | `pes_per_cube` | 8 | PEs per cube |
    | `pe_buffer_kib` | 512 | local buffer per PE (KiB) |
    | `pe_gflops` | 256 | f16/bf16 tile gemm rate per PE, f32 accumulate (GFLOP/s) |
    | `pe_gflops_f32` | 128 | f32 tile gemm rate per PE (GFLOP/s) |
    | `cube_pe_gbps` | 1000 | a cube's memory to its PEs, shared (GB/s) |
    | `cube_cube_gbps` | 256 | DMA between cubes of a SIP (GB/s) |
    | `link_gbps` | 100 | inter-SIP ring link, per direction (GB/s) |
    | `cube_memory_mib` | 16384 | memory per cube (MiB) |
    | `switch_round_trip_ns` | 0 | > 0: collectives through a switch, one transfer's round trip (ns) |
    | `switch_mibps` | 0 | a SIP's port on the switch (MiB/s) |
    | `flit_bytes` | 256 | a flit on the switch |
    | `flit_payload_bytes` | 192 | its payload |

    ```mlir
    module attributes {gemm_tile.device = #gemm_tile.device<cubes = 2, pes_per_cube = 4>} {}
    ```
  }];
  let parameters = (ins
    DefaultValuedParameter<"int64_t", "4">:$cubes,
    DefaultValuedParameter<"int64_t", "8">:$pes_per_cube,
    DefaultValuedParameter<"int64_t", "512">:$pe_buffer_kib,
    DefaultValuedParameter<"int64_t", "256">:$pe_gflops,
    DefaultValuedParameter<"int64_t", "128">:$pe_gflops_f32,
    DefaultValuedParameter<"int64_t", "1000">:$cube_pe_gbps,
    DefaultValuedParameter<"int64_t", "256">:$cube_cube_gbps,
    DefaultValuedParameter<"int64_t", "100">:$link_gbps,
    DefaultValuedParameter<"int64_t", "16384">:$cube_memory_mib,
    // Switch collectives (docs/design/0013); 0 keeps the ring.
    DefaultValuedParameter<"int64_t", "0">:$switch_round_trip_ns,
    DefaultValuedParameter<"int64_t", "0">:$switch_mibps,
    DefaultValuedParameter<"int64_t", "256">:$flit_bytes,
    DefaultValuedParameter<"int64_t", "192">:$flit_payload_bytes
  );
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

def GemmTile_TokenType : TypeDef<GemmTile_Dialect, "Token"> {
  let mnemonic = "token";
  let summary = "Completion of an asynchronous tile or DMA operation";
  let description = [{
    Produced by the asynchronous ops (`gemm_tile.matmul`, `gemm_tile.map`,
    `gemm_tile.zip`, `gemm_tile.dma`, the row ops) and consumed by `gemm_tile.wait`.
  }];
}

#endif // KB_DIALECT_GEMMTILE_IR_GEMMTILEATTRS_TD
