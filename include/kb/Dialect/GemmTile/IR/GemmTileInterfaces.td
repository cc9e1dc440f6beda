//===- GemmTileInterfaces.td - gemm_tile op interfaces -----*- tablegen -*-===//
//
// What the verifiers, the yield-safety check, the cost model and kb-run need
// to know of a device op, asked of the op rather than of a list of op
// classes: a new PE op or ring step implements its interface and every
// consumer handles it.
//
//===----------------------------------------------------------------------===//

#ifndef KB_DIALECT_GEMMTILE_IR_GEMMTILEINTERFACES_TD
#define KB_DIALECT_GEMMTILE_IR_GEMMTILEINTERFACES_TD

include "mlir/IR/OpBase.td"

def GemmTile_PEComputeOpInterface : OpInterface<"PEComputeOpInterface"> {
  let description = [{
    Asynchronous work of one PE on regions of cube buffers in its own cube:
    which PE, which regions it reads and writes, what it costs (its FLOPs and
    memory traffic, priced by kb/Device/CostModel.h) and which host kernel
    kb-run computes it with. The op returns a `!gemm_tile.token`.
  }];
  let cppNamespace = "::kb::gemm_tile";
  let methods = [
    InterfaceMethod<"The PE of the cube that runs the op.",
      "int64_t", "getPe", (ins), [{}], [{ return $_op.getPe(); }]>,
    InterfaceMethod<[{
        The regions the op reads, in operand order, each named as the
        verifier names it.
      }],
      "::llvm::SmallVector<::kb::gemm_tile::BufferRegion>", "getReadRegions">,
    InterfaceMethod<"The regions the op writes.",
      "::llvm::SmallVector<::kb::gemm_tile::BufferRegion>", "getWriteRegions">,
    InterfaceMethod<[{
        Whether a region it writes may overlap one it reads: an elementwise
        op reads each element before writing it, a gemm does not.
      }],
      "bool", "canWorkInPlace", (ins), [{}], [{ return true; }]>,
    InterfaceMethod<"The FLOPs and bytes the cost model charges.",
      "::kb::PEWork", "getWork">,
    InterfaceMethod<"How kb-run computes the op on host data.",
      "::kb::gemm_tile::HostKernel", "getHostKernel">,
    InterfaceMethod<"The token that completes with the op.",
      "::mlir::Value", "getToken", (ins), [{}], [{ return $_op.getToken(); }]>,
  ];
  let extraSharedClassDeclaration = [{
    /// The cube whose PE runs the op: where its buffers are.
    int64_t getCube() {
      return ::kb::gemm_tile::getCube(
          $_op.getWriteRegions().front().buffer.getType());
    }
    /// Seconds the op takes on `device`.
    double getSeconds(const ::kb::DeviceDescription &device) {
      return ::kb::peSeconds(device, $_op.getWork());
    }
  }];
}

def GemmTile_RingStepOpInterface : OpInterface<"RingStepOpInterface"> {
  let description = [{
    One step of a ring collective between the W SIPs. The same buffers on
    every rank (one tensor's pieces) are cut into W contiguous chunks of their
    row-major elements, one buffer after the other (the first
    `numElements % W` one element longer), or, with a chunk dimension, one
    buffer into its W equal slices along it; at each step every rank
    sends one chunk to rank `r + 1` and combines the chunk it receives from
    rank `r - 1` into its own, by a reduction or by overwriting it. A step
    starts on all ranks together and is a yield point; with a token it
    runs on the ring link while the rank goes on, until a wait on it.
  }];
  let cppNamespace = "::kb::gemm_tile";
  let methods = [
    InterfaceMethod<"The buffers the ring works on, in chunk order.",
      "::mlir::OperandRange", "getBuffers", (ins), [{}],
      [{ return $_op.getBuffers(); }]>,
    InterfaceMethod<"Which step of the phase (0 to W - 2).", "int64_t",
      "getStep", (ins), [{}], [{ return $_op.getStep(); }]>,
    InterfaceMethod<"The number of SIPs in the ring (W).", "int64_t",
      "getRingSize", (ins), [{}], [{ return $_op.getRingSize(); }]>,
    InterfaceMethod<[{
        How a received chunk combines with the rank's own: a reduction, or
        std::nullopt when it overwrites it.
      }],
      "std::optional<::kb::ReductionKind>", "getReduction">,
    InterfaceMethod<"The chunk rank `rank` sends at this step.", "int64_t",
      "getSentChunk", (ins "int64_t":$rank)>,
    InterfaceMethod<[{
        The dimension whose W equal slices are the chunks, or std::nullopt
        for W contiguous runs of the row-major elements.
      }],
      "std::optional<int64_t>", "getChunkDim", (ins), [{}],
      [{ return $_op.getAlong(); }]>,
    InterfaceMethod<[{
        The step's token when it is asynchronous (it runs on the ring link
        until waited for), else a null value (the rank waits for it).
      }],
      "::mlir::Value", "getAsyncToken", (ins), [{}],
      [{ return $_op.getToken(); }]>,
  ];
  let extraSharedClassDeclaration = [{
    /// Elements of all the buffers together.
    int64_t getNumElements() {
      int64_t elements = 0;
      for (::mlir::Value buffer : $_op.getBuffers())
        elements +=
            ::llvm::cast<::mlir::MemRefType>(buffer.getType()).getNumElements();
      return elements;
    }
    /// Bytes of the largest chunk, the one that sets the step's time.
    int64_t getChunkBytes() {
      auto type = ::llvm::cast<::mlir::MemRefType>(
          $_op.getBuffers().front().getType());
      int64_t w = $_op.getRingSize();
      int64_t elements = getNumElements();
      return (elements / w + (elements % w ? 1 : 0)) *
             (type.getElementTypeBitWidth() / 8);
    }
  }];
  let verify = [{ return ::kb::gemm_tile::verifyRingStep($_op); }];
}

#endif // KB_DIALECT_GEMMTILE_IR_GEMMTILEINTERFACES_TD
