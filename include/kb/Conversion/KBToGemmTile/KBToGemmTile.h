//===- KBToGemmTile.h - placed local view to device ops ---------*- C++ -*-===//
//
// The patterns of convert-kb-to-gemm-tile, for passes that lower kb ops to
// gemm_tile along with their own. A placed rank-local tensor is not one
// device value but the buffers its DPPolicy puts in the cubes of the SIP, so
// the type conversion is 1:N: `tensor<..., #kb.dp<...>>` becomes one memref
// in `#gemm_tile.cube<c>` per cube piece, in cube order (a replicated tensor
// one per replica).
//
//===----------------------------------------------------------------------===//

#ifndef KB_CONVERSION_KBTOGEMMTILE_KBTOGEMMTILE_H
#define KB_CONVERSION_KBTOGEMMTILE_KBTOGEMMTILE_H

#include "kb/Dialect/GemmTile/IR/DeviceDescription.h"

#include "mlir/Transforms/DialectConversion.h"

namespace kb {

/// Converts a placed rank-local tensor to the buffers of its cube pieces, and
/// the rank (`index`, only ever the result of `kb.tp_rank`) to nothing: on
/// the device the rank is implicit in the rank stride of a DMA. A tensor
/// without a DPPolicy, of an element type cube buffers do not hold, or placed
/// on more cubes than `device` has, has no conversion; the patterns report it
/// where it occurs.
class CubeBufferTypeConverter : public mlir::TypeConverter {
public:
  explicit CubeBufferTypeConverter(const gemm_tile::DeviceDescription &device);

  const gemm_tile::DeviceDescription &getDevice() const { return device; }

private:
  gemm_tile::DeviceDescription device;
};

/// Adds one pattern per kb op of the placed local view (`kb.matmul`,
/// `kb.add`, `kb.gelu`, `kb.all_reduce`, `kb.tp_slice`, `kb.tp_rank`) and
/// the patterns that convert `func.func` signatures, `func.call` and
/// `func.return` 1:N. `worldSize` is the TP world size W of the program.
/// Patterns that meet input the device cannot run (an unplaced value, a gemm
/// no tile fits, a slice of a tensor split along the sliced dimension) report
/// it as an error on the op and fail.
void populateKBToGemmTileConversionPatterns(
    const CubeBufferTypeConverter &typeConverter,
    mlir::RewritePatternSet &patterns, int64_t worldSize);

/// Makes gemm_tile ops legal, and `func` ops legal once their types are
/// converted (declarations stay as they are). kb ops are left unknown, so a
/// partial conversion reports them through `ConversionConfig::unlegalizedOps`
/// rather than adding its own error to the pattern's.
void configureKBToGemmTileConversionTarget(mlir::ConversionTarget &target);

} // namespace kb

#endif // KB_CONVERSION_KBTOGEMMTILE_KBTOGEMMTILE_H
