//===- OverlapAllGather.h - sequence parallelism's all-gather + gemms -----===//
//
// The half of kb-overlap-collectives that works on sequence parallelism's
// column-parallel layers (OverlapAllGather.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef LIB_DIALECT_KB_TRANSFORMS_OVERLAPALLGATHER_H
#define LIB_DIALECT_KB_TRANSFORMS_OVERLAPALLGATHER_H

#include "kb/Dialect/GemmTile/IR/DeviceDescription.h"

#include "mlir/IR/BuiltinOps.h"

namespace kb {

/// Fuses every `kb.all_gather ... along 0` whose every use is the lhs of a
/// `kb.matmul` into one `kb.all_gather_matmul` with the matmuls' weights,
/// at the chunk count (2 to `maxChunks`) the cost model estimates fastest
/// when that is a clear gain, or at `maxChunks` wherever it divides the
/// rank's rows without the cost model. Returns whether it fused any.
bool fuseAllGatherMatmuls(mlir::ModuleOp module,
                          const gemm_tile::DeviceDescription &device,
                          int64_t worldSize, int64_t maxChunks,
                          bool useCostModel);

} // namespace kb

#endif // LIB_DIALECT_KB_TRANSFORMS_OVERLAPALLGATHER_H
