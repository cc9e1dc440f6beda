//===- GemmTileOps.td - gemm_tile operations ---------------*- tablegen -*-===//

#ifndef KB_DIALECT_GEMMTILE_IR_GEMMTILEOPS_TD
#define KB_DIALECT_GEMMTILE_IR_GEMMTILEOPS_TD

include "kb/Dialect/GemmTile/IR/GemmTileBase.td"
include "kb/Dialect/GemmTile/IR/GemmTileAttrs.td"
include "kb/Dialect/GemmTile/IR/GemmTileInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

// A buffer in one cube's memory: a static, identity-layout memref of f16,
// bf16 or f32 whose memory space is #gemm_tile.cube<c> (checked by the
// verifiers, which name the offending operand).
def GemmTile_Buffer : MemRefOf<[F16, BF16, F32]>;
// Any buffer a cube holds, token ids (i32, i64) included: what allocs, DMA and
// function arguments carry. Compute ops take GemmTile_Buffer.
def GemmTile_AnyBuffer : MemRefOf<[F16, BF16, F32, I32, I64]>;

def GemmTile_AllocOp : GemmTile_Op<"alloc", [
    MemoryEffects<[MemAlloc<DefaultResource>]>]> {
  let summary = "A buffer in one cube's memory";
  let description = [{
    Reserves a buffer in the memory of the cube its type names. Its contents
    are zero until written.

    ```mlir
    %b = gemm_tile.alloc : memref<64x256xf16, #gemm_tile.cube<2>>
    ```
  }];
  let results = (outs GemmTile_AnyBuffer:$buffer);
  let assemblyFormat = "attr-dict `:` type($buffer)";
  let hasVerifier = 1;
}

def GemmTile_MatmulOp : GemmTile_Op<"matmul", [
    DeclareOpInterfaceMethods<GemmTile_PEComputeOpInterface,
                              ["canWorkInPlace"]>]> {
  let summary = "Tile gemm on one PE: out (+)= lhs · rhs, f32 accumulate";
  let description = [{
    PE `pe` of the cube that holds all three buffers computes, for
    `sizes = [m, n, k]`,
    `out[o0 : o0+m, o1 : o1+n] (+)= lhs[l0 : l0+m, l1 : l1+k] · rhs[r0 : r0+k, r1 : r1+n]`.
    It streams `k` through its local buffer in chunks of `k_chunk`, keeping
    the m × n accumulator in f32 and rounding once to `out`'s element type;
    two lhs and rhs chunks (double buffering) plus the accumulator must fit
    the PE's buffer. With `accumulate`, out's previous contents are added.
    With `transpose_rhs`, rhs is read as the n × k region
    `rhs[r0 : r0+n, r1 : r1+k]` and multiplied transposed (`lhs · rhsᵀ`):
    the tied LM head's product with the embedding table, whose rows are the
    vocabulary; the PE streams its k chunks from rows instead of columns, at
    the same cost.

    ```mlir
    %t = gemm_tile.matmul pe 3 %a [0, 0], %b [0, 64] to %c [0, 0]
        sizes [64, 64, 256] k_chunk 128
        : memref<64x256xf16, #gemm_tile.cube<0>>,
          memref<256x128xf16, #gemm_tile.cube<0>>,
          memref<64x64xf16, #gemm_tile.cube<0>>
    ```
  }];
  let arguments = (ins I64Attr:$pe,
      Arg<GemmTile_Buffer, "", [MemRead]>:$lhs, DenseI64ArrayAttr:$lhs_offsets,
      Arg<GemmTile_Buffer, "", [MemRead]>:$rhs, DenseI64ArrayAttr:$rhs_offsets,
      Arg<GemmTile_Buffer, "", [MemRead, MemWrite]>:$out,
      DenseI64ArrayAttr:$out_offsets,
      DenseI64ArrayAttr:$sizes, I64Attr:$k_chunk, UnitAttr:$accumulate,
      UnitAttr:$transpose_rhs);
  let results = (outs GemmTile_TokenType:$token);
  let assemblyFormat = [{
    `pe` $pe $lhs $lhs_offsets `,` $rhs $rhs_offsets `to` $out $out_offsets
    `sizes` $sizes `k_chunk` $k_chunk (`accumulate` $accumulate^)?
    (`transpose_rhs` $transpose_rhs^)? attr-dict
    `:` type($lhs) `,` type($rhs) `,` type($out)
  }];
  let hasVerifier = 1;
}

// The elementwise ops of the device: one PE applies a runtime kernel,
// named by `kernel`, to a region. The kernel set is the runtime's registry
// (lib/Runtime/Elementwise.cpp): a new elementwise kb op needs a kernel
// there and no device op of its own, as upstream's `linalg.elementwise`
// names its function by an attribute. The verifier rejects a kernel name
// the registry does not know; the cost model and kb-run go through
// GemmTile_PEComputeOpInterface.
def GemmTile_MapOp : GemmTile_Op<"map", [GemmTile_PEComputeOpInterface]> {
  let summary = "A runtime kernel of one operand over a region on one PE";
  let description = [{
    PE `pe` of the cube holding both buffers writes
    `out[o + i] = factor · kernel(input[x + i])` for the `sizes` region,
    computed in f32 and rounded to `out`'s element type. `kernel` names a map
    kernel of the runtime: `gelu` (tanh approximation), `silu`, `copy`
    (`kb.scale` is `copy` times its factor). The factor is printed only
    when it is not 1.

    ```mlir
    %t = gemm_tile.map "gelu" pe 0 %h [0, 0] to %g [0, 0] sizes [8, 16]
        : memref<8x16xf16, #gemm_tile.cube<1>>, memref<8x16xf16, #gemm_tile.cube<1>>
    %u = gemm_tile.map "copy" pe 1 %s [0, 0] to %p [0, 0] sizes [8, 8] times 1.250000e-01
        : memref<8x8xf32, #gemm_tile.cube<0>>, memref<8x8xf32, #gemm_tile.cube<0>>
    ```
  }];
  let arguments = (ins StrAttr:$kernel, I64Attr:$pe,
      Arg<GemmTile_Buffer, "", [MemRead]>:$input, DenseI64ArrayAttr:$input_offsets,
      Arg<GemmTile_Buffer, "", [MemWrite]>:$out, DenseI64ArrayAttr:$out_offsets,
      DenseI64ArrayAttr:$sizes, DefaultValuedAttr<F64Attr, "1.0">:$factor);
  let results = (outs GemmTile_TokenType:$token);
  let assemblyFormat = [{
    $kernel `pe` $pe $input $input_offsets `to` $out $out_offsets `sizes` $sizes
    (`times` $factor^)? attr-dict `:` type($input) `,` type($out)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    ::llvm::SmallVector<::kb::gemm_tile::BufferRegion> getReadRegions() {
      return {{getInput(), ::llvm::to_vector<2>(getInputOffsets()),
               ::llvm::to_vector<2>(getSizes()), "input"}};
    }
    ::llvm::SmallVector<::kb::gemm_tile::BufferRegion> getWriteRegions() {
      return {{getOut(), ::llvm::to_vector<2>(getOutOffsets()),
               ::llvm::to_vector<2>(getSizes()), "out"}};
    }
    ::kb::PEWork getWork() {
      return ::kb::gemm_tile::elementwiseWorkOf(*this);
    }
    ::kb::gemm_tile::HostKernel getHostKernel() {
      return {::kb::gemm_tile::HostKernel::Kind::Map, getKernel(),
              /*accumulate=*/false, getFactor().convertToDouble()};
    }
  }];
}

def GemmTile_ZipOp : GemmTile_Op<"zip", [GemmTile_PEComputeOpInterface]> {
  let summary = "A runtime kernel of two operands over a region on one PE";
  let description = [{
    PE `pe` of the cube holding all three buffers writes
    `out[o + i] = kernel(lhs[l + i], rhs[r + i])` over the 2-D `sizes`
    region, computed in f32 and rounded to `out`'s element type. `kernel`
    names a zip kernel of the runtime: `add`, `mul`. A rank-1 `rhs` is a
    bias: `rhs[r + j]` is combined with every row.

    ```mlir
    %t = gemm_tile.zip "add" pe 0 %y [0, 0], %bias [16] to %y [0, 0] sizes [8, 16]
        : memref<8x32xf32, #gemm_tile.cube<0>>, memref<32xf32, #gemm_tile.cube<0>>,
          memref<8x32xf32, #gemm_tile.cube<0>>
    ```
  }];
  let arguments = (ins StrAttr:$kernel, I64Attr:$pe,
      Arg<GemmTile_Buffer, "", [MemRead]>:$lhs, DenseI64ArrayAttr:$lhs_offsets,
      Arg<GemmTile_Buffer, "", [MemRead]>:$rhs, DenseI64ArrayAttr:$rhs_offsets,
      Arg<GemmTile_Buffer, "", [MemWrite]>:$out, DenseI64ArrayAttr:$out_offsets,
      DenseI64ArrayAttr:$sizes);
  let results = (outs GemmTile_TokenType:$token);
  let assemblyFormat = [{
    $kernel `pe` $pe $lhs $lhs_offsets `,` $rhs $rhs_offsets `to` $out $out_offsets
    `sizes` $sizes attr-dict `:` type($lhs) `,` type($rhs) `,` type($out)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// Whether `rhs` is a bias combined with every row of the region.
    bool isBias() {
      return getRhs().getType().getRank() == 1 && getSizes().size() > 1;
    }
    ::llvm::SmallVector<::kb::gemm_tile::BufferRegion> getReadRegions() {
      ::llvm::ArrayRef<int64_t> sizes = getSizes();
      return {{getLhs(), ::llvm::to_vector<2>(getLhsOffsets()),
               ::llvm::to_vector<2>(sizes), "lhs"},
              {getRhs(), ::llvm::to_vector<2>(getRhsOffsets()),
               ::llvm::to_vector<2>(isBias() ? sizes.take_back() : sizes),
               isBias() ? "rhs (a bias)" : "rhs"}};
    }
    ::llvm::SmallVector<::kb::gemm_tile::BufferRegion> getWriteRegions() {
      return {{getOut(), ::llvm::to_vector<2>(getOutOffsets()),
               ::llvm::to_vector<2>(getSizes()), "out"}};
    }
    ::kb::PEWork getWork() {
      return ::kb::gemm_tile::elementwiseWorkOf(*this);
    }
    ::kb::gemm_tile::HostKernel getHostKernel() {
      return {::kb::gemm_tile::HostKernel::Kind::Zip, getKernel()};
    }
  }];
}

def GemmTile_DMAOp : GemmTile_Op<"dma"> {
  let summary = "Copy a region between buffers of the SIP";
  let description = [{
    Copies the `sizes` region of `source` at `source_offsets` to `target` at
    `target_offsets`, over the SIP's fabric when the buffers are in
    different cubes. Element types must match. With `rank_stride`, the
    source offsets are `source_offsets + rank · rank_stride`: how a
    rank-generic program takes its rank's slice of a replicated tensor.
    With `target_rank_stride`, the target offsets move the same way: how a
    rank puts its slice where an all-gather along a dimension expects it.
    With `rank_replicas R` and `rank_shards S` beside `rank_stride`, the
    source moves by the rank's slice index `(rank / R) mod S` instead of the
    rank: R consecutive ranks read the same slice (KV heads replicated over
    groups of ranks), or a rank reads its part r mod S of its group's slice.
    With `clip` beside `rank_stride`, a rank whose moved source region runs
    past the end of the source copies only what the source holds of it (the
    rest of the target keeps its contents; its bytes are not charged): the
    last rank's rows of a vocabulary padded to a multiple of W.

    With `after`, the copy is ordered after the DMAs whose tokens it names:
    the engine starts it once they have ended, and it may read what they
    write (a relay's forwarded hop reads the buffer the hop before it
    fills) without a `gemm_tile.wait` holding the rank meanwhile. Every
    token still needs its wait: `after` orders the copies, it does not
    retire them.

    ```mlir
    %t = gemm_tile.dma %x [0, 0] to %x1 [0, 0] sizes [8, 16]
        : memref<8x16xf16, #gemm_tile.cube<0>>, memref<8x16xf16, #gemm_tile.cube<1>>
    // W = 8, two KV heads of 32 columns: ranks 0-3 read head 0, 4-7 head 1.
    %k = gemm_tile.dma %wk [0, 0] to %wk1 [0, 0] sizes [16, 32] rank_stride [0, 32]
        rank_replicas 4
        : memref<16x64xf16, #gemm_tile.cube<0>>, memref<16x32xf16, #gemm_tile.cube<0>>
    // A hop from cube 1 on to cube 2, started when the copy into cube 1 ends.
    %u = gemm_tile.dma %x1 [0, 0] to %x2 [0, 0] sizes [8, 16] after %t
        : memref<8x16xf16, #gemm_tile.cube<1>>, memref<8x16xf16, #gemm_tile.cube<2>>
    ```
  }];
  let arguments = (ins
      Arg<GemmTile_AnyBuffer, "", [MemRead]>:$source,
      DenseI64ArrayAttr:$source_offsets,
      Arg<GemmTile_AnyBuffer, "", [MemWrite]>:$target,
      DenseI64ArrayAttr:$target_offsets,
      DenseI64ArrayAttr:$sizes,
      OptionalAttr<DenseI64ArrayAttr>:$rank_stride,
      OptionalAttr<DenseI64ArrayAttr>:$target_rank_stride,
      OptionalAttr<I64Attr>:$rank_replicas,
      OptionalAttr<I64Attr>:$rank_shards,
      UnitAttr:$clip,
      Variadic<GemmTile_TokenType>:$after);
  let results = (outs GemmTile_TokenType:$token);
  let assemblyFormat = [{
    $source $source_offsets `to` $target $target_offsets `sizes` $sizes
    (`rank_stride` $rank_stride^)? (`target_rank_stride` $target_rank_stride^)?
    (`rank_replicas` $rank_replicas^)? (`rank_shards` $rank_shards^)?
    (`clip` $clip^)? (`after` $after^)?
    attr-dict `:` type($source) `,` type($target)
  }];
  let hasVerifier = 1;
  // The builder of every DMA whose target does not move with the rank.
  let builders = [
    OpBuilder<(ins "::mlir::Type":$token, "::mlir::Value":$source,
        "::llvm::ArrayRef<int64_t>":$sourceOffsets, "::mlir::Value":$target,
        "::llvm::ArrayRef<int64_t>":$targetOffsets,
        "::llvm::ArrayRef<int64_t>":$sizes,
        "::mlir::DenseI64ArrayAttr":$rankStride), [{
      build($_builder, $_state, token, source, sourceOffsets, target,
            targetOffsets, sizes, rankStride, ::mlir::DenseI64ArrayAttr(),
            ::mlir::IntegerAttr(), ::mlir::IntegerAttr(), /*clip=*/false,
            /*after=*/::mlir::ValueRange());
    }]>,
    // ... ordered after the copies of `after` (a relay's forwarded hop).
    OpBuilder<(ins "::mlir::Type":$token, "::mlir::Value":$source,
        "::llvm::ArrayRef<int64_t>":$sourceOffsets, "::mlir::Value":$target,
        "::llvm::ArrayRef<int64_t>":$targetOffsets,
        "::llvm::ArrayRef<int64_t>":$sizes, "::mlir::ValueRange":$after), [{
      build($_builder, $_state, token, source, sourceOffsets, target,
            targetOffsets, sizes, ::mlir::DenseI64ArrayAttr(),
            ::mlir::DenseI64ArrayAttr(), ::mlir::IntegerAttr(),
            ::mlir::IntegerAttr(), /*clip=*/false, after);
    }]>
  ];
}

def GemmTile_ReduceScatterStepOp : GemmTile_Op<"reduce_scatter_step", [
    DeclareOpInterfaceMethods<GemmTile_RingStepOpInterface>]> {
  let summary = "One step of a ring reduce-scatter between the SIPs";
  let description = [{
    `buffers` (the same buffers on every rank: the pieces of one tensor, in
    any cubes) are cut into `ring_size` contiguous chunks of their row-major
    elements taken one buffer after the other (the first
    `numElements % ring_size` chunks one element longer), so one ring serves
    a tensor however it is placed. At step s, rank r
    sends chunk `(r - s) mod W` to rank `(r + 1) mod W` and reduces the chunk
    `(r - s - 1) mod W` it receives from rank `(r - 1) mod W` into its own.
    After the W - 1 steps, rank r holds the reduction of chunk
    `(r + 1) mod W`; for `avg` the last step divides it by W. Every rank
    sends `numElements / W` elements per step over its outgoing link. A
    step completes on all ranks together; the scheduler may switch rank here.

    With `along d` (and one buffer), the chunks are instead the W equal
    slices of the buffer along dimension d (which must divide by W), and
    every chunk index above
    is one less: rank r sends chunk `(r - s - 1) mod W` and ends holding the
    reduction of chunk r, its own slice, as a reduce-scatter along a
    dimension leaves it. Such a ring needs no all-gather after it.

    With a token result the step is asynchronous: it occupies the SIP's
    ring link, not the rank, so PE and DMA work issued after it run while
    it moves data. Its buffers may then not be read or written, except by
    later ring steps (the link runs its steps in order), until a
    `gemm_tile.wait` on its token. Without one, the rank waits for the step
    to complete.

    ```mlir
    gemm_tile.reduce_scatter_step <sum> %y step 0 of 4 : memref<8x16xf32, #gemm_tile.cube<0>>
    %t = gemm_tile.reduce_scatter_step <sum> %y step 0 of 4 : memref<8x16xf32, #gemm_tile.cube<0>> -> !gemm_tile.token
    gemm_tile.reduce_scatter_step <sum> %y step 0 of 4 along 1 : memref<8x16xf32, #gemm_tile.cube<0>>
    gemm_tile.reduce_scatter_step <sum> %y0, %y1 step 0 of 4
        : memref<4x16xf32, #gemm_tile.cube<0>>, memref<4x16xf32, #gemm_tile.cube<1>>
    ```
  }];
  let arguments = (ins GemmTile_ReduceKindAttr:$kind,
      Arg<Variadic<GemmTile_Buffer>, "", [MemRead, MemWrite]>:$buffers,
      I64Attr:$step, I64Attr:$ring_size, OptionalAttr<I64Attr>:$along);
  let results = (outs Optional<GemmTile_TokenType>:$token);
  let assemblyFormat = [{
    $kind $buffers `step` $step `of` $ring_size (`along` $along^)? attr-dict
    `:` type($buffers) (`->` type($token)^)?
  }];
}

def GemmTile_AllGatherStepOp : GemmTile_Op<"all_gather_step", [
    DeclareOpInterfaceMethods<GemmTile_RingStepOpInterface>]> {
  let summary = "One step of a ring all-gather between the SIPs";
  let description = [{
    Chunks as in `gemm_tile.reduce_scatter_step`. At step s, rank r sends
    chunk `(r + 1 - s) mod W` to rank `(r + 1) mod W` and overwrites its
    chunk `(r - s) mod W` with the one it receives. After a reduce-scatter,
    the W - 1 steps leave the whole reduced buffer on every rank.

    With `along d`, the chunks are the W equal slices along dimension d, and
    rank r starts holding chunk r (its own slice) and sends chunk
    `(r - s) mod W`: an all-gather along a dimension, which stands alone.

    With a token result the step is asynchronous, as a
    `gemm_tile.reduce_scatter_step` with one.

    ```mlir
    gemm_tile.all_gather_step %y step 0 of 4 : memref<8x16xf32, #gemm_tile.cube<0>>
    gemm_tile.all_gather_step %y step 0 of 4 along 0 : memref<8x16xf32, #gemm_tile.cube<0>>
    ```
  }];
  let arguments = (ins Arg<Variadic<GemmTile_Buffer>, "", [MemRead, MemWrite]>:$buffers,
      I64Attr:$step, I64Attr:$ring_size, OptionalAttr<I64Attr>:$along);
  let results = (outs Optional<GemmTile_TokenType>:$token);
  let assemblyFormat = [{
    $buffers `step` $step `of` $ring_size (`along` $along^)? attr-dict
    `:` type($buffers) (`->` type($token)^)?
  }];
}

def GemmTile_WaitOp : GemmTile_Op<"wait"> {
  let summary = "Block until asynchronous operations complete";
  let description = [{
    Returns when every token's operation has completed. Its results are
    visible to the operations after it. The scheduler may switch to another
    rank here.

    ```mlir
    gemm_tile.wait %t0, %t1
    ```
  }];
  let arguments = (ins Variadic<GemmTile_TokenType>:$tokens);
  let assemblyFormat = "$tokens attr-dict";
  let hasVerifier = 1;
}

include "kb/Dialect/GemmTile/IR/GemmTileAttentionOps.td"
include "kb/Dialect/GemmTile/IR/GemmTileRowOps.td"
include "kb/Dialect/GemmTile/IR/GemmTileModelOps.td"

#endif // KB_DIALECT_GEMMTILE_IR_GEMMTILEOPS_TD
