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
    kernbench's `DPPolicy(cube, pe, num_cubes, num_pes)`. At the cube level
    the tensor is either `replicate`d (each of `num_cubes` cubes holds a full
    copy) or `shard`ed along one dimension (split evenly over `num_cubes`
    cubes). Within each cube, the cube's piece is again replicated or sharded
    over `num_pes` PEs; under `replicate` the work on the tensor runs on those
    `num_pes` PEs only. kernbench's 2-D names parse as the general form:
    `column_wise` is `shard(1)`, `row_wise` is `shard(0)`.

    A count left out means kernbench's `None`: all of the device's cubes (PEs
    per cube). The printer leaves such a count out; the parser also takes
    `num_cubes = all` / `num_pes = all`. The device description resolves it:
    whoever reads a count asks `getNumCubes(device)` / `getNumPes(device)` or
    `resolve(device)`, never the stored optional.

    The policy is attached to a ranked tensor as its encoding. It is verified
    against the tensor it annotates: a sharded dimension must exist and divide
    evenly by a given count; given counts must be positive. Against a device
    description (counts no larger than the device's, a split by an open count
    that divides) it is checked by `verifyOnDevice`, which `kb-place` and the
    lowering call.

    ```mlir
    // The seed's policy: one cube, one PE, nothing split.
    tensor<64x128xf16, #kb.dp<cube = replicate, pe = replicate, num_cubes = 1, num_pes = 1>>
    // Columns split over 4 cubes, each cube's rows split over 8 PEs.
    tensor<64x128xf16, #kb.dp<cube = shard(1), pe = shard(0), num_cubes = 4, num_pes = 8>>
    // kernbench's DPPolicy(pe="column_wise"): every cube a copy, its columns
    // split over all of the cube's PEs.
    tensor<64x128xf16, #kb.dp<cube = replicate, pe = shard(1)>>
    ```
  }];
  // A dimension of -1 means `replicate`; a count of std::nullopt, all.
  let parameters = (ins "int64_t":$cubeDim, "int64_t":$peDim,
                        "std::optional<int64_t>":$numCubesOrAll,
                        "std::optional<int64_t>":$numPesOrAll);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    static constexpr int64_t kReplicate = ::kb::Placement::kReplicate;
    /// The cubes the policy names on `device`: the given count, or all.
    int64_t getNumCubes(const ::kb::DeviceDescription &device) const {
      return getNumCubesOrAll().value_or(device.cubes);
    }
    /// The PEs per cube the policy names on `device`: the given count, or all.
    int64_t getNumPes(const ::kb::DeviceDescription &device) const {
      return getNumPesOrAll().value_or(device.pesPerCube);
    }
    /// The four numbers the tiling arithmetic of kb/Device (pieces, PE
    /// shares) takes, counts resolved on `device`.
    ::kb::Placement resolve(const ::kb::DeviceDescription &device) const {
      return {getCubeDim(), getPeDim(), getNumCubes(device),
              getNumPes(device)};
    }
    /// Checks the policy on `device` for a tensor of `shape`: no count above
    /// the device's, and a split by a count left open divides. The message
    /// names both numbers.
    ::mlir::LogicalResult verifyOnDevice(
        ::llvm::ArrayRef<int64_t> shape, const ::kb::DeviceDescription &device,
        ::llvm::function_ref<::mlir::InFlightDiagnostic()> emitError) const;
    bool isCubeReplicated() const { return getCubeDim() == kReplicate; }
    bool isPeReplicated() const { return getPeDim() == kReplicate; }
    /// The seed's default: replicate/replicate over one cube and one PE.
    static DPPolicyAttr getSeedDefault(::mlir::MLIRContext *ctx) {
      return get(ctx, kReplicate, kReplicate, 1, 1);
    }
  }];
}

#endif // KB_DIALECT_KB_IR_KBATTRS_TD
