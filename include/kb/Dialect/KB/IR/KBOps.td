//===- KBOps.td - kb operations -----------------------------*- tablegen -*-===//

#ifndef KB_DIALECT_KB_IR_KBOPS_TD
#define KB_DIALECT_KB_IR_KBOPS_TD

include "kb/Dialect/KB/IR/KBBase.td"
include "kb/Dialect/KB/IR/KBAttrs.td"
include "kb/Dialect/KB/IR/ElementwiseOpInterface.td"
include "kb/Dialect/KB/IR/TPPartitionOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"

// f16, bf16 or f32 ranked tensors: the element types the AHBM PEs multiply.
def KB_FloatTensor : RankedTensorOf<[F16, BF16, F32]>;

//===----------------------------------------------------------------------===//
// Global view: the parallel linear layers.
//===----------------------------------------------------------------------===//

class KB_ParallelLinearOp<string mnemonic>
    : KB_Op<mnemonic, [Pure,
        DeclareOpInterfaceMethods<KB_TPPartitionOpInterface>]> {
  let arguments = (ins KB_FloatTensor:$input, KB_FloatTensor:$weight,
                       Optional<KB_FloatTensor>:$bias);
  let results = (outs KB_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`bias` $bias^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let builders = [
    OpBuilder<(ins "::mlir::Type":$resultType, "::mlir::Value":$input,
                   "::mlir::Value":$weight), [{
      build($_builder, $_state, resultType, input, weight, ::mlir::Value());
    }]>
  ];
  let extraClassDeclaration = [{
    int64_t getInFeatures() {
      return ::llvm::cast<::mlir::RankedTensorType>(getWeight().getType()).getDimSize(0);
    }
    int64_t getOutFeatures() {
      return ::llvm::cast<::mlir::RankedTensorType>(getWeight().getType()).getDimSize(1);
    }
  }];
}

def KB_ColumnParallelLinearOp
    : KB_ParallelLinearOp<"column_parallel_linear"> {
  let summary = "Linear layer with its weight split on out_features over the TP ranks";
  let description = [{
    Megatron's `ColumnParallelLinear(in_features, out_features)` in the global
    view: `result = input · weight (+ bias)` with `input : M × in`,
    `weight : in × out`, optional `bias : out` and `result : M × out`.

    Under TP world size W, rank r holds columns `[r·out/W, (r+1)·out/W)` of
    the weight (and of the bias) and computes the matching columns of the
    result from the replicated input; no collective is needed. `out_features`
    must therefore divide by W. Products accumulate in f32.

    ```mlir
    %y = kb.column_parallel_linear %x, %w bias %b
        : (tensor<8x16xf16>, tensor<16x64xf16>, tensor<64xf16>) -> tensor<8x64xf16>
    ```
  }];
}

def KB_RowParallelLinearOp
    : KB_ParallelLinearOp<"row_parallel_linear"> {
  let summary = "Linear layer with its weight split on in_features over the TP ranks";
  let description = [{
    Megatron's `RowParallelLinear(in_features, out_features)` in the global
    view: `result = input · weight (+ bias)` with `input : M × in`,
    `weight : in × out`, optional `bias : out` and `result : M × out`.

    Under TP world size W, rank r holds rows `[r·in/W, (r+1)·in/W)` of the
    weight and the matching columns of the input (typically the output of a
    `kb.column_parallel_linear`), computes a partial sum `M × out`, and an
    all-reduce(sum) leaves the full result on every rank. The bias is added
    once, after the all-reduce. `in_features` must divide by W.

    ```mlir
    %y = kb.row_parallel_linear %h, %w
        : (tensor<8x64xf16>, tensor<64x16xf16>) -> tensor<8x16xf16>
    ```
  }];
}

//===----------------------------------------------------------------------===//
// Local compute.
//===----------------------------------------------------------------------===//

def KB_MatmulOp : KB_Op<"matmul", [Pure,
    DeclareOpInterfaceMethods<KB_TPPartitionOpInterface>]> {
  let summary = "Plain matrix product with f32 accumulation";
  let description = [{
    `result = lhs · rhs` with `lhs : M × K`, `rhs : K × N`, `result : M × N`
    and one element type throughout. Products accumulate in f32 and are
    rounded once to the result's element type. In the global view it is an
    unsharded product; after `kb-tp-partition` it is each rank's local gemm.

    ```mlir
    %c = kb.matmul %a, %b : (tensor<8x16xf32>, tensor<16x32xf32>) -> tensor<8x32xf32>
    ```
  }];
  let arguments = (ins KB_FloatTensor:$lhs, KB_FloatTensor:$rhs);
  let results = (outs KB_FloatTensor:$result);
  let assemblyFormat = [{
    $lhs `,` $rhs attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

// An elementwise op of one operand: computed in f32, rounded to the element
// type; the result has the operand's type. Under TP it runs on whatever
// replicated or split piece a rank holds; a partial sum is reduced first
// unless the op is linear (`kb.scale`).
class KB_UnaryElementwiseOp<string mnemonic, string linear = "false",
                            string kernelScale = "1.0">
    : KB_Op<mnemonic, [Pure, SameOperandsAndResultType,
        DeclareOpInterfaceMethods<KB_TPPartitionOpInterface>,
        DeclareOpInterfaceMethods<KB_ElementwiseOpInterface,
                                  ["getKernelScale"]>]> {
  let arguments = (ins KB_FloatTensor:$input);
  let results = (outs KB_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let extraClassDefinition = [{
    double $cppClass::getKernelScale() { return }] # kernelScale # [{; }
    ::mlir::FailureOr<::kb::TPRule> $cppClass::getTPRule(
        ::llvm::ArrayRef<::kb::TPLayout> operandLayouts) {
      return ::kb::unaryElementwiseRule(operandLayouts, }] # linear # [{);
    }
    ::llvm::SmallVector<::mlir::Value, 1> $cppClass::buildLocalOp(
        ::mlir::OpBuilder &builder, ::mlir::ValueRange localOperands,
        ::mlir::TypeRange localResultTypes) {
      return ::kb::buildSameOpLocally(builder, *this, localOperands,
                                      localResultTypes);
    }
  }];
}

// An elementwise op of two operands, computed in f32 and rounded to the
// element type; the result has `lhs`'s type. `rhs` either has `lhs`'s shape
// or is rank 1 with `lhs`'s last dimension, broadcast over the leading ones.
// Only placement may give the result another #kb.dp than `lhs`'s (printed
// `-> type` then).
// `partials` names how the op treats partial sums under TP
// (kb::PartialOperands).
class KB_BinaryElementwiseOp<string mnemonic, string partials>
    : KB_Op<mnemonic, [Pure, KB_ResultTypeOfFirstOperand,
        DeclareOpInterfaceMethods<KB_TPPartitionOpInterface>,
        DeclareOpInterfaceMethods<KB_ElementwiseOpInterface,
                                  ["getKernelScale"]>]> {
  let arguments = (ins KB_FloatTensor:$lhs, KB_FloatTensor:$rhs);
  let results = (outs KB_FloatTensor:$result);
  let assemblyFormat = [{
    $lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs)
    `` custom<PlacedLike>(ref(type($lhs)), type($result))
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// Whether rhs is a rank-1 bias broadcast over lhs's leading dimensions.
    bool isBroadcast() {
      return ::llvm::cast<::mlir::RankedTensorType>(getRhs().getType())
                 .getRank() !=
             ::llvm::cast<::mlir::RankedTensorType>(getLhs().getType())
                 .getRank();
    }
  }];
  let extraClassDefinition = [{
    double $cppClass::getKernelScale() { return 1.0; }
    ::mlir::FailureOr<::kb::TPRule> $cppClass::getTPRule(
        ::llvm::ArrayRef<::kb::TPLayout> operandLayouts) {
      return ::kb::binaryElementwiseRule(
          operandLayouts,
          ::llvm::cast<::mlir::RankedTensorType>(getLhs().getType()).getRank(),
          isBroadcast(), ::kb::PartialOperands::}] # partials # [{);
    }
    ::llvm::SmallVector<::mlir::Value, 1> $cppClass::buildLocalOp(
        ::mlir::OpBuilder &builder, ::mlir::ValueRange localOperands,
        ::mlir::TypeRange localResultTypes) {
      return ::kb::buildSameOpLocally(builder, *this, localOperands,
                                      localResultTypes);
    }
  }];
}

def KB_GeluOp : KB_UnaryElementwiseOp<"gelu"> {
  let summary = "Elementwise GELU (tanh approximation)";
  let description = [{
    `gelu(x) = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`, the approximation
    Megatron-LM's fused bias-GELU uses, computed in f32 and rounded to the
    element type. Result and operand have the same shape and element type.

    ```mlir
    %g = kb.gelu %h : tensor<8x64xf16>
    ```
  }];
}

def KB_SiluOp : KB_UnaryElementwiseOp<"silu"> {
  let summary = "Elementwise SiLU (swish): x · sigmoid(x)";
  let description = [{
    `silu(x) = x / (1 + exp(-x))`, the gate activation of Llama's SwiGLU MLP,
    computed in f32 and rounded to the element type. Result and operand have
    the same shape and element type.

    ```mlir
    %s = kb.silu %gate : tensor<8x64xf16>
    ```
  }];
}

def KB_ScaleOp : KB_UnaryElementwiseOp<"scale", "true",
                                         "getFactor().convertToDouble()"> {
  let summary = "Multiply every element by a constant";
  let description = [{
    `result = factor · input`, with `factor` an f64 constant, computed in f32
    and rounded to the element type: attention's `1/sqrt(head_dim)`, or a
    residual scale. The factor must be finite. Being linear, a scale of a
    partial sum stays a partial sum under TP.

    ```mlir
    %s = kb.scale %scores by 0.125 : tensor<8x8xf32>
    ```
  }];
  let arguments = (ins KB_FloatTensor:$input, F64Attr:$factor);
  let assemblyFormat = "$input `by` $factor attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def KB_AddOp : KB_BinaryElementwiseOp<"add", "BothOrNone"> {
  let summary = "Elementwise addition, with bias broadcast";
  let description = [{
    `result = lhs + rhs`, computed in f32 and rounded to the element type;
    the result has `lhs`'s type, or another `#kb.dp` placement of its shape
    and element type, written after an arrow (kb-place gives a residual
    stream's sum one, docs/Placement.md).
    `rhs` either has `lhs`'s shape or is rank 1 with `lhs`'s last dimension,
    in which case it is broadcast over the leading dimensions (a bias).
    Under TP, the sum of two partial sums is a partial sum.

    ```mlir
    %s = kb.add %a, %b : tensor<8x16xf32>, tensor<8x16xf32>
    %y = kb.add %a, %bias : tensor<8x16xf32>, tensor<16xf32>
    %h = kb.add %x, %o : tensor<8x16xf32, #rep>, tensor<8x16xf32, #cols>
        -> tensor<8x16xf32, #cols>
    ```
  }];
}

def KB_MulOp : KB_BinaryElementwiseOp<"mul", "OneTimesReplicated"> {
  let summary = "Elementwise product, with rank-1 broadcast";
  let description = [{
    `result = lhs ⊙ rhs` (Hadamard product), computed in f32 and rounded to
    the element type; the result has `lhs`'s type (or, after an arrow,
    another placement of it, as `kb.add`). `rhs` either has `lhs`'s
    shape or is rank 1 with `lhs`'s last dimension, broadcast over the leading
    dimensions (a norm's weight). It joins the two branches of Llama's SwiGLU:
    `silu(x·W_gate) ⊙ (x·W_up)`. Under TP, a partial sum times a replicated
    tensor stays a partial sum.

    ```mlir
    %h = kb.mul %g, %u : tensor<8x64xf16>, tensor<8x64xf16>
    ```
  }];
}

//===----------------------------------------------------------------------===//
// Local view: the rank, its slice, collectives.
//===----------------------------------------------------------------------===//

def KB_TPRankOp : KB_Op<"tp_rank", [Pure]> {
  let summary = "The TP rank of the SIP executing the program";
  let description = [{
    In a rank-generic SPMD program, the rank r in `[0, W)` of the SIP that
    runs it. It folds to 0 when the world size is 1.

    ```mlir
    %r = kb.tp_rank : index
    ```
  }];
  let results = (outs Index:$rank);
  let assemblyFormat = "attr-dict `:` type($rank)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def KB_TPSliceOp : KB_Op<"tp_slice", [Pure]> {
  let summary = "This rank's slice of a tensor every rank of a group holds";
  let description = [{
    Takes the `rank`-th of W equal slices of `input` along dimension `dim`:
    the local view of a replicated tensor that an op needs split. The sliced
    dimension must divide by W and the result must be that slice. It folds to
    its input when W is 1.

    With `replicas R` (default 1) and `shards S` (default W / R), it takes
    slice `(rank / R) mod S` of S equal slices instead: `replicas R` makes
    the layout `split(dim, replicas R)`, where R consecutive ranks hold the
    same slice (Megatron's KV heads when there are fewer than ranks), and
    `shards S` cuts a slice every rank of a group holds into the ranks' own
    1/W slices (`split(dim, replicas S)` to `split(dim)`, rank r taking
    part r mod S). R must divide W and S must divide W / R.

    With `offset O`, the slices are cut from the window of S × (the
    result's size along `dim`) elements starting at O along `dim`, not from
    the whole dimension: a rank's slice of a static `tensor.extract_slice`
    along `dim` is a window of the sliced tensor itself, so the
    canonicalizer folds the extract_slice into it and the rank's slice is
    copied straight from the source (GPT-2's fused W_qkv: each rank's q, k
    and v columns, not the whole q, k and v first).

    ```mlir
    %r = kb.tp_rank : index
    %s = kb.tp_slice %x[%r] along 1 : tensor<8x64xf16> -> tensor<8x16xf16>
    // W = 4, two KV heads of 16: ranks 0, 1 take head 0, ranks 2, 3 head 1.
    %k = kb.tp_slice %wk[%r] along 1 replicas 2 : tensor<8x32xf16> -> tensor<8x16xf16>
    // Each rank's quarter of its group's head: part r mod 2.
    %p = kb.tp_slice %k[%r] along 1 shards 2 : tensor<8x16xf16> -> tensor<8x8xf16>
    // W = 4, the rank's quarter of columns [64, 128) (a fused weight's k).
    %wk_r = kb.tp_slice %w_qkv[%r] along 1 offset 64 : tensor<8x192xf16> -> tensor<8x16xf16>
    ```
  }];
  let arguments = (ins KB_FloatTensor:$input, Index:$rank,
                       ConfinedAttr<I64Attr, [IntNonNegative]>:$dim,
                       OptionalAttr<ConfinedAttr<I64Attr, [IntNonNegative]>>:$offset,
                       OptionalAttr<ConfinedAttr<I64Attr, [IntPositive]>>:$replicas,
                       OptionalAttr<ConfinedAttr<I64Attr, [IntPositive]>>:$shards);
  let results = (outs KB_FloatTensor:$result);
  let assemblyFormat = [{
    $input `[` $rank `]` `along` $dim (`offset` $offset^)?
    (`replicas` $replicas^)? (`shards` $shards^)?
    attr-dict `:` type($input) `->` type($result)
  }];
  let extraClassDeclaration = [{
    /// How many consecutive ranks take the same slice (1 by default).
    int64_t getNumReplicas() { return getReplicas().value_or(1); }
    /// Into how many slices the input is cut: `shards`, else W / replicas
    /// (0 without a world size).
    int64_t getNumShards();
    /// Where along `dim` the window the slices are cut from starts (0: the
    /// whole dimension).
    int64_t getWindowOffset() { return getOffset().value_or(0); }
    /// Turns a region of the result (`offsets`, `sizes`) into the region of
    /// the input every rank's copy of it reads from: moved to the window and
    /// stretched over all `shards` slices. A rank-generic DMA reads it from
    /// one source piece that holds all of it, moved on by the rank.
    void widenToReach(::llvm::MutableArrayRef<int64_t> offsets,
                      ::llvm::MutableArrayRef<int64_t> sizes);
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
  let hasCanonicalizer = 1;
}

def KB_AllReduceOp : KB_Op<"all_reduce", [Pure, SameOperandsAndResultType]> {
  let summary = "Reduce a rank-local tensor over all TP ranks";
  let description = [{
    Every rank contributes its `input`; every rank receives the elementwise
    reduction (`sum`, `max`, `min` or `avg`) over the W ranks. This is a
    local-view (SPMD) op: `kb-tp-partition` emits it for
    `kb.row_parallel_linear`, and tile lowering turns it into a
    bandwidth-optimal ring (reduce-scatter then all-gather). With W = 1 it
    folds to its input.

    ```mlir
    %y = kb.all_reduce <sum> %partial : tensor<8x16xf32>
    ```
  }];
  let arguments = (ins KB_ReductionKindAttr:$reduction, KB_FloatTensor:$input);
  let results = (outs KB_FloatTensor:$result);
  let assemblyFormat = [{
    $reduction $input attr-dict `:` type($input)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
}

// all_gather and reduce_scatter work in both views. In the local view they
// are collectives between the ranks' pieces; in the global view, where a
// value is its logical tensor, they are the identity that asks for a layout
// (Megatron's gather_from / reduce_scatter_to the TP region), and
// kb-tp-partition realises that layout with the collective.
class KB_AlongDimCollectiveOp<string mnemonic>
    : KB_Op<mnemonic, [Pure,
        DeclareOpInterfaceMethods<KB_TPPartitionOpInterface>]> {
  let results = (outs KB_FloatTensor:$result);
  let hasVerifier = 1;
  let hasFolder = 1;
}

def KB_MatmulAllReduceOp : KB_Op<"matmul_all_reduce", [Pure]> {
  let summary = "A rank's gemm all-reduced over the TP ranks, row chunk by row chunk";
  let description = [{
    `result = all_reduce<reduction>(lhs · rhs)`, the row-parallel gemm and
    its all-reduce as one local-view (SPMD) op: `kb-overlap-collectives`
    makes it from a `kb.matmul` whose only use is a `kb.all_reduce`. The
    lowering cuts the `M` rows into `chunks` bands and runs the ring of
    band i on the ring link while the PEs compute band i + 1 (a decomposed
    collective matmul), so the all-reduce hides behind the gemm. Without
    `bands` the bands are equal and `chunks` must divide `M`; with 1 it is
    the gemm, then the ring. `bands`, when present, gives each band's row
    count, first to last: `chunks` of them, each positive, summing to `M`
    (a small first band starts the PEs after a short staging, a small last
    band leaves a short ring exposed).

    ```mlir
    %y = kb.matmul_all_reduce <sum> %a, %b chunks 4
        : (tensor<64x32xf16>, tensor<32x16xf16>) -> tensor<64x16xf16>
    %z = kb.matmul_all_reduce <sum> %a, %b chunks 4 bands [8, 24, 24, 8]
        : (tensor<64x32xf16>, tensor<32x16xf16>) -> tensor<64x16xf16>
    ```
  }];
  let arguments = (ins KB_ReductionKindAttr:$reduction, KB_FloatTensor:$lhs,
                       KB_FloatTensor:$rhs, I64Attr:$chunks,
                       OptionalAttr<DenseI64ArrayAttr>:$bands);
  let results = (outs KB_FloatTensor:$result);
  let assemblyFormat = [{
    $reduction $lhs `,` $rhs `chunks` $chunks (`bands` $bands^)? attr-dict `:`
    functional-type(operands, results)
  }];
  let extraClassDeclaration = [{
    /// Each band's row count, first to last: `bands`, or `chunks` equal
    /// bands of the rows.
    ::llvm::SmallVector<int64_t> getBandRows();
  }];
  let hasVerifier = 1;
}

def KB_MatmulReduceScatterOp : KB_Op<"matmul_reduce_scatter", [Pure]> {
  let summary = "A rank's gemm reduce-scattered over the TP ranks along its rows, chunk by chunk";
  let description = [{
    `result = reduce_scatter<reduction>(lhs · rhs) along 0`, the row-parallel
    gemm of sequence parallelism and its reduce-scatter along the tokens as
    one local-view (SPMD) op: `kb-overlap-collectives` makes it from a
    `kb.matmul` whose only use is a `kb.reduce_scatter ... along 0`. Rank r
    receives rows `[r·M/W, (r+1)·M/W)` of the reduced product, as from the
    pair. The lowering cuts every rank's slice into `chunks` equal parts:
    chunk i is part i of each of the W slices (M/chunks rows), computed into
    a buffer of its own whose ring reduce-scatter along 0 runs on the link
    while the PEs compute chunk i + 1, so only the last chunk's ring is
    exposed. `dim` must be 0 and `W · chunks` must divide `M`; with one
    chunk it is the gemm, then the ring. `compute`, when present, is the
    placement the gemm's M × N product had before the fusion: the chunks
    are computed in its cube pieces (each cube whole columns of its own),
    since the result's placement suits the 1/W of the rows that follow.

    ```mlir
    %y = kb.matmul_reduce_scatter <sum> %a, %b along 0 chunks 2
        : (tensor<64x32xf16>, tensor<32x16xf16>) -> tensor<16x16xf16>
    ```
  }];
  let arguments = (ins KB_ReductionKindAttr:$reduction, KB_FloatTensor:$lhs,
                       KB_FloatTensor:$rhs, I64Attr:$dim, I64Attr:$chunks,
                       OptionalAttr<KB_DPPolicyAttr>:$compute);
  let results = (outs KB_FloatTensor:$result);
  let assemblyFormat = [{
    $reduction $lhs `,` $rhs `along` $dim `chunks` $chunks attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def KB_AllGatherMatmulOp : KB_Op<"all_gather_matmul", [Pure]> {
  let summary = "The TP ranks' rows gathered, chunk by chunk, into gemms with several weights";
  let description = [{
    `results[j] = all_gather(input along 0) · rhs[j]`, sequence parallelism's
    all-gather along the tokens and the column-parallel gemms that read the
    gathered activation, as one local-view (SPMD) op: `kb-overlap-collectives`
    makes it from a `kb.all_gather ... along 0` whose every use is the lhs
    of a `kb.matmul` (q, k and v; gate and up). Rank r contributes its m
    rows, rows `[r·m, (r+1)·m)` of the gathered M = W·m. The lowering cuts
    every rank's rows into `chunks` equal parts: chunk i is part i of each of
    the W slices, gathered by one ring along 0 into a buffer of its own and
    copied to the cubes that compute, whose gemms run while the ring and
    the copies bring chunk i + 1, so only the first chunk's gather is
    exposed. The gathered tensor itself is not a result: the gemms are its
    only readers (docs/design/0017-all-gather-matmul.md). `dim` must be 0
    and `chunks` must divide m; with one chunk it is the gather, then the
    gemms.

    ```mlir
    %q, %k = kb.all_gather_matmul %x, %wq, %wk along 0 chunks 2
        : (tensor<16x32xf16>, tensor<32x8xf16>, tensor<32x8xf16>)
        -> (tensor<64x8xf16>, tensor<64x8xf16>)
    ```
  }];
  let arguments = (ins KB_FloatTensor:$input, Variadic<KB_FloatTensor>:$rhs,
                       I64Attr:$dim, I64Attr:$chunks);
  let results = (outs Variadic<KB_FloatTensor>:$results);
  let assemblyFormat = [{
    $input `,` $rhs `along` $dim `chunks` $chunks attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def KB_AllGatherOp : KB_AlongDimCollectiveOp<"all_gather"> {
  let summary = "Concatenate the TP ranks' tensors along a dimension";
  let description = [{
    Local view: rank r contributes `input`, the r-th of W equal slices of
    the result along dimension `dim`; every rank receives the whole result,
    whose dimension `dim` is W times the input's. Tile lowering makes it a
    ring all-gather along that dimension: each rank sends (W - 1)/W of the
    result's bytes, the lower bound.

    Global view: `input` and `result` are the same logical tensor, and the
    op asks for it replicated; kb-tp-partition gathers a value split along
    any dimension. Dimension `dim` must divide by W. With W = 1 it folds to
    its input.

    ```mlir
    %y = kb.all_gather %x along 1 : tensor<8x16xf16> -> tensor<8x64xf16>
    ```
  }];
  let arguments = (ins KB_FloatTensor:$input,
                       ConfinedAttr<I64Attr, [IntNonNegative]>:$dim);
  let assemblyFormat = [{
    $input `along` $dim attr-dict `:` type($input) `->` type($result)
  }];
}

def KB_ReduceScatterOp : KB_AlongDimCollectiveOp<"reduce_scatter"> {
  let summary = "Reduce the TP ranks' tensors and keep a slice along a dimension";
  let description = [{
    Local view: every rank contributes `input`; rank r receives the r-th of
    W equal slices, along dimension `dim`, of their elementwise reduction
    (`sum`, `max`, `min` or `avg`). Dimension `dim` of the input must divide
    by W. Tile lowering makes it a ring reduce-scatter along that dimension:
    each rank sends (W - 1)/W of the input's bytes, the lower bound (half an
    all-reduce).

    Global view: `input` and `result` are the same logical tensor, and the
    op asks for it split along `dim`; kb-tp-partition turns a partial sum
    into that split with the collective, and a partial operand must be
    pending the op's reduction. With W = 1 it folds to its input.

    ```mlir
    %y = kb.reduce_scatter <sum> %partial along 0 : tensor<8x16xf32> -> tensor<2x16xf32>
    ```
  }];
  let arguments = (ins KB_ReductionKindAttr:$reduction, KB_FloatTensor:$input,
                       ConfinedAttr<I64Attr, [IntNonNegative]>:$dim);
  let assemblyFormat = [{
    $reduction $input `along` $dim attr-dict `:` type($input) `->` type($result)
  }];
}

include "kb/Dialect/KB/IR/KBTransformerOps.td"
include "kb/Dialect/KB/IR/KBModelOps.td"
#endif // KB_DIALECT_KB_IR_KBOPS_TD
