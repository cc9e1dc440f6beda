//===- OverlapReduceScatter.h - sequence parallelism's gemm + reduce-scatter //
//
// The half of kb-overlap-collectives that works on sequence parallelism's
// row-parallel layers (OverlapReduceScatter.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef LIB_DIALECT_KB_TRANSFORMS_OVERLAPREDUCESCATTER_H
#define LIB_DIALECT_KB_TRANSFORMS_OVERLAPREDUCESCATTER_H

#include "kb/Dialect/GemmTile/IR/DeviceDescription.h"

#include "mlir/IR/BuiltinOps.h"

namespace kb {

/// Fuses every `kb.matmul` whose only use is a `kb.reduce_scatter` along 0
/// into one `kb.matmul_reduce_scatter`, at the chunk count (2 to
/// `maxChunks`) the cost model estimates fastest when that is a clear gain,
/// or at `maxChunks` wherever it divides without the cost model. Returns
/// whether it fused any.
bool fuseMatmulReduceScatters(mlir::ModuleOp module,
                              const gemm_tile::DeviceDescription &device,
                              int64_t worldSize, int64_t maxChunks,
                              bool useCostModel);

} // namespace kb

#endif // LIB_DIALECT_KB_TRANSFORMS_OVERLAPREDUCESCATTER_H
