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
    The machine kb compiles for and kb-run models: its counts, sizes and
    rates, the latencies of a ring step, a DMA (by mesh hops) and a PE op,
    the share of the peak rates reached, and, for collectives through a
    switch instead of the ring, its round trip, port rate and flits. docs/Device.md lists every
    field with its unit, its default (the built-in description,
    `kb::DeviceDescription()`) and its source. A field left out keeps its
    default. The module attribute `gemm_tile.device` may also name a built-in
    description, `gemm_tile.device = "small"`.

    ```mlir
    module attributes {gemm_tile.device = #gemm_tile.device<cubes = 2, pes_per_cube = 4>} {}
    ```
  }];
  // The defaults are the built-in description's (kb::DeviceDescription()),
  // so that they are written once.
  let parameters = (ins
    DefaultValuedParameter<"int64_t", "::kb::DeviceDescription().cubes">:$cubes,
    DefaultValuedParameter<"int64_t", "::kb::DeviceDescription().pesPerCube">:$pes_per_cube,
    DefaultValuedParameter<"int64_t", "::kb::DeviceDescription().peBufferKiB">:$pe_buffer_kib,
    DefaultValuedParameter<"int64_t", "::kb::DeviceDescription().peGflops">:$pe_gflops,
    DefaultValuedParameter<"int64_t", "::kb::DeviceDescription().peGflopsF32">:$pe_gflops_f32,
    DefaultValuedParameter<"int64_t", "::kb::DeviceDescription().cubePeGBps">:$cube_pe_gbps,
    DefaultValuedParameter<"int64_t", "::kb::DeviceDescription().cubeCubeGBps">:$cube_cube_gbps,
    DefaultValuedParameter<"int64_t", "::kb::DeviceDescription().linkGBps">:$link_gbps,
    DefaultValuedParameter<"int64_t", "::kb::DeviceDescription().cubeMemoryMiB">:$cube_memory_mib,
    DefaultValuedParameter<"int64_t", "::kb::DeviceDescription().meshCols">:$mesh_cols,
    DefaultValuedParameter<"int64_t", "::kb::DeviceDescription().ringStepLatencyNs">:$ring_step_latency_ns,
    DefaultValuedParameter<"int64_t", "::kb::DeviceDescription().dmaLatencyLocalNs">:$dma_latency_local_ns,
    DefaultValuedParameter<"int64_t", "::kb::DeviceDescription().dmaLatencyFarCubeNs">:$dma_latency_far_cube_ns,
    DefaultValuedParameter<"int64_t", "::kb::DeviceDescription().kernelLaunchNs">:$kernel_launch_ns,
    DefaultValuedParameter<"int64_t", "::kb::DeviceDescription().computeEfficiencyPermille">:$compute_efficiency_permille,
    DefaultValuedParameter<"int64_t", "::kb::DeviceDescription().memoryEfficiencyPermille">:$memory_efficiency_permille,
    DefaultValuedParameter<"int64_t", "::kb::DeviceDescription().switchRoundTripNs">:$switch_round_trip_ns,
    DefaultValuedParameter<"int64_t", "::kb::DeviceDescription().switchMiBps">:$switch_mibps,
    DefaultValuedParameter<"int64_t", "::kb::DeviceDescription().flitBytes">:$flit_bytes,
    DefaultValuedParameter<"int64_t", "::kb::DeviceDescription().flitPayloadBytes">:$flit_payload_bytes
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
