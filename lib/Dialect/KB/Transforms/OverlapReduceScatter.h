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

#include <optional>

namespace kb {

struct Placement; // kb/Device/Placement.h

/// Seconds the busiest PE of a cube takes for `rows` rows of a piece of
/// `cols` columns with reduction `k`, tiled as the lowering tiles it; or
/// std::nullopt when no tile fits. Both halves of kb-overlap-collectives
/// price a chunk's gemm with it (OverlapCollectives.cpp).
std::optional<double>
gemmBandSeconds(int64_t rows, int64_t cols, int64_t k, int64_t elementBytes,
                bool f32, const Placement &policy,
                const gemm_tile::DeviceDescription &device);

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
