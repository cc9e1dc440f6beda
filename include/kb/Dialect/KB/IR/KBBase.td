//===- KBBase.td - kb dialect definition -------------------*- tablegen -*-===//
//
// The kb dialect: Megatron-style tensor-parallel layers for the AHBM
// processing-in-HBM accelerator, in a global view (logical shapes, the TP split
// carried by the ops) and, after `kb-tp-partition`, a rank-generic local view.
//
//===----------------------------------------------------------------------===//

#ifndef KB_DIALECT_KB_IR_KBBASE_TD
#define KB_DIALECT_KB_IR_KBBASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def KB_Dialect : Dialect {
  let name = "kb";
  let cppNamespace = "::kb";
  let summary = "Tensor-parallel linear layers and their intra-SIP placement";
  let description = [{
    The `kb` dialect expresses Megatron-style tensor-parallel (TP) layers for
    the AHBM accelerator. A module carries the TP world size W in one place,
    the `kb.world_size` module attribute. In the global view, tensors have
    their logical shapes and `kb.column_parallel_linear` /
    `kb.row_parallel_linear` carry their TP split. `kb-tp-partition` rewrites
    the global view into one rank-generic SPMD program per TP rank with local
    gemms (`kb.matmul`), explicit collectives (`kb.all_reduce`) and local
    shapes. A tensor may carry a `#kb.dp` policy as its encoding: how its
    rank-local piece is laid out over the cubes and PEs of one SIP.

    ```mlir
    module attributes {kb.world_size = 4 : i64} {
      func.func @mlp(%x: tensor<8x16xf16>, %w1: tensor<16x64xf16>,
                     %w2: tensor<64x16xf16>) -> tensor<8x16xf16> {
        %h = kb.column_parallel_linear %x, %w1
            : (tensor<8x16xf16>, tensor<16x64xf16>) -> tensor<8x64xf16>
        %g = kb.gelu %h : tensor<8x64xf16>
        %y = kb.row_parallel_linear %g, %w2
            : (tensor<8x64xf16>, tensor<64x16xf16>) -> tensor<8x16xf16>
        return %y : tensor<8x16xf16>
      }
    }
    ```
  }];
  let useDefaultAttributePrinterParser = 1;
  let hasOperationAttrVerify = 1;
  let hasRegionArgAttrVerify = 1;
  let hasRegionResultAttrVerify = 1;
  let dependentDialects = ["::mlir::func::FuncDialect",
                           "::mlir::arith::ArithDialect"];
  let hasConstantMaterializer = 1;
  let extraClassDeclaration = [{
    void registerAttributes();

    /// Module attribute holding the TP world size (a positive i64).
    static constexpr ::llvm::StringLiteral kWorldSizeAttrName = "kb.world_size";
    /// The largest TP world size kb accepts: a ring of W SIPs lowers to
    /// 2(W - 1) steps per all-reduce piece, and no TP group comes near it.
    static constexpr int64_t kMaxWorldSize = 65536;
    /// Unit module attribute set by kb-tp-partition: the functions are
    /// rank-generic SPMD programs in the local view.
    static constexpr ::llvm::StringLiteral kSPMDAttrName = "kb.spmd";
    /// Unit module attribute: Megatron's sequence parallelism. kb-tp-
    /// partition keeps the activations between the TP layers split along
    /// their tokens (dimension 0), reduce-scattering partial sums into that
    /// split and all-gathering it before a layer that needs it whole.
    static constexpr ::llvm::StringLiteral kSequenceParallelAttrName =
        "kb.sequence_parallel";
    /// Argument/result attribute of a partitioned function: the dimension
    /// along which the global tensor is split over the TP ranks. Absent means
    /// every rank holds the whole tensor (replicated).
    static constexpr ::llvm::StringLiteral kSplitDimAttrName = "kb.split_dim";
    /// Beside `kb.split_dim`: how many consecutive ranks hold each slice
    /// (absent: 1). The tensor is cut into W / replicas slices, rank r
    /// holding slice r / replicas (KV heads replicated over groups of ranks).
    static constexpr ::llvm::StringLiteral kSplitReplicasAttrName =
        "kb.split_replicas";
    /// On a lowered function: the local-view function type its pieces
    /// come from, and the TP split of each of its arguments and results
    /// (-1: replicated). See docs/design/0003-lowered-program-interface.md.
    static constexpr ::llvm::StringLiteral kLocalFunctionTypeAttrName =
        "kb.local_function_type";
    static constexpr ::llvm::StringLiteral kArgSplitDimsAttrName =
        "kb.arg_split_dims";
    static constexpr ::llvm::StringLiteral kResultSplitDimsAttrName =
        "kb.result_split_dims";
    /// Beside them, where any tensor is held by groups of ranks: each
    /// argument's and result's `kb.split_replicas` (1 where absent).
    static constexpr ::llvm::StringLiteral kArgSplitReplicasAttrName =
        "kb.arg_split_replicas";
    static constexpr ::llvm::StringLiteral kResultSplitReplicasAttrName =
        "kb.result_split_replicas";
    /// Unit attribute of a function made by kb-outline-kernels: a kernel,
    /// the one copy of a distinct op's work, called wherever the op occurs.
    /// Its lowered signature holds every cube piece of its operands and
    /// result (design/0005-outlined-kernels.md).
    static constexpr ::llvm::StringLiteral kKernelAttrName = "kb.kernel";
    /// Unit attribute of a `kb.all_reduce` whose input is read again after
    /// it (at the call of its kernel): the lowering reduces a copy. Without
    /// it, an input with no other use is reduced in place.
    static constexpr ::llvm::StringLiteral kKeepInputAttrName =
        "kb.keep_input";
  }];
}

class KB_Op<string mnemonic, list<Trait> traits = []>
    : Op<KB_Dialect, mnemonic, traits>;

class KB_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<KB_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

// Marks an op whose result has the shape and element type of its first
// operand (its verifier checks them; this makes it queryable). The #kb.dp
// encodings may differ: kb-place gives both one DPPolicy unless the operand
// is read elsewhere too (a residual stream that a norm and an add both read),
// where the op's result may live elsewhere than its operand and its lowering
// stages what it reads. Written `: <operand types> -> <result type>` when the
// result's type differs, else the result's type is the first operand's.
def KB_ResultTypeOfFirstOperand
    : NativeOpTrait<"ResultTypeOfFirstOperand"> {
  let cppNamespace = "::kb";
}

#endif // KB_DIALECT_KB_IR_KBBASE_TD
