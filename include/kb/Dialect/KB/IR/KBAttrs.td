//===- KBAttrs.td - kb attributes ---------------------------*- tablegen -*-===//

#ifndef KB_DIALECT_KB_IR_KBATTRS_TD
#define KB_DIALECT_KB_IR_KBATTRS_TD

include "kb/Dialect/KB/IR/KBBase.td"
include "mlir/IR/TensorEncoding.td"
include "kb/Device/ReductionKind.td"

def KB_ReductionKindAttr : EnumAttr<KB_Dialect, KB_ReductionKind, "reduction"> {
  let assemblyFormat = "`<` $value `>`";
}

def KB_DPPolicyAttr : KB_Attr<"DPPolicy", "dp",
    [DeclareAttrInterfaceMethods<VerifiableTensorEncoding>]> {
  let summary = "Placement of a rank-local tensor over the cubes and PEs of a SIP";
  let description = [{
    The seed's `DPPolicy(cube, pe, num_cubes, num_pes)`. At the cube level the
    tensor is either `replicate`d (each of `num_cubes` cubes holds a full copy)
    or `shard`ed along one dimension (split evenly over `num_cubes` cubes).
    Within each cube, the cube's piece is again replicated or sharded over
    `num_pes` PEs; under `replicate` the work on the tensor runs on those
    `num_pes` PEs only. kernbench's 2-D names parse as the general form:
    `column_wise` is `shard(1)`, `row_wise` is `shard(0)`.

    The policy is attached to a ranked tensor as its encoding. It is verified
    against the tensor it annotates: a sharded dimension must exist and divide
    evenly; counts must be positive. Against a device description (cube and PE
    counts) it is checked by `kb-place`.

    ```mlir
    // The seed's policy: one cube, one PE, nothing split.
    tensor<64x128xf16, #kb.dp<cube = replicate, pe = replicate, num_cubes = 1, num_pes = 1>>
    // Columns split over 4 cubes, each cube's rows split over 8 PEs.
    tensor<64x128xf16, #kb.dp<cube = shard(1), pe = shard(0), num_cubes = 4, num_pes = 8>>
    ```
  }];
  // A dimension of -1 means `replicate`.
  let parameters = (ins "int64_t":$cubeDim, "int64_t":$peDim,
                        "int64_t":$numCubes, "int64_t":$numPes);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    static constexpr int64_t kReplicate = ::kb::Placement::kReplicate;
    /// The tiling arithmetic of kb/Device (pieces, PE shares) takes a policy
    /// as these four numbers.
    operator ::kb::Placement() const {
      return {getCubeDim(), getPeDim(), getNumCubes(), getNumPes()};
    }
    bool isCubeReplicated() const { return getCubeDim() == kReplicate; }
    bool isPeReplicated() const { return getPeDim() == kReplicate; }
    /// The seed's default: replicate/replicate over one cube and one PE.
    static DPPolicyAttr getSeedDefault(::mlir::MLIRContext *ctx) {
      return get(ctx, kReplicate, kReplicate, 1, 1);
    }
  }];
}

#endif // KB_DIALECT_KB_IR_KBATTRS_TD
