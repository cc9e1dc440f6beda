//===- Patterns.h - the pattern sets of convert-kb-to-gemm-tile -*- C++ -*-===//
//
// One pattern set per concept, each in its own file; the public
// populateKBToGemmTileConversionPatterns gathers them. Private to the
// conversion library.
//
//===----------------------------------------------------------------------===//

#ifndef LIB_CONVERSION_KBTOGEMMTILE_PATTERNS_H
#define LIB_CONVERSION_KBTOGEMMTILE_PATTERNS_H

#include "kb/Conversion/KBToGemmTile/KBToGemmTile.h"

namespace kb::detail {

/// func.func signatures (1:N, with the lowered program's interface on entry
/// points), func.call of kernels, func.return.
void populateFunctionConversionPatterns(
    const CubeBufferTypeConverter &typeConverter,
    mlir::RewritePatternSet &patterns);
/// kb.matmul: tile gemms on the PEs.
void populateLinearAlgebraConversionPatterns(
    const CubeBufferTypeConverter &typeConverter,
    mlir::RewritePatternSet &patterns);
/// kb.add, kb.gelu: one elementwise op per PE slab.
void populateElementwiseConversionPatterns(
    const CubeBufferTypeConverter &typeConverter,
    mlir::RewritePatternSet &patterns);
/// kb.attention: attention blocks on the PEs.
void populateAttentionConversionPatterns(
    const CubeBufferTypeConverter &typeConverter,
    mlir::RewritePatternSet &patterns);
/// kb.rms_norm, kb.layer_norm, kb.rope: row ops on PE slabs of whole rows
/// (heads); kb.kv_append and tensor.extract_slice: DMA.
void populateDecoderConversionPatterns(
    const CubeBufferTypeConverter &typeConverter,
    mlir::RewritePatternSet &patterns);
/// kb.embedding: row gathers by token id on the DMA engine.
void populateModelConversionPatterns(
    const CubeBufferTypeConverter &typeConverter,
    mlir::RewritePatternSet &patterns);
/// kb.all_reduce (ring steps), kb.tp_slice and kb.tp_rank (rank-strided DMA).
void populateCollectiveConversionPatterns(
    const CubeBufferTypeConverter &typeConverter,
    mlir::RewritePatternSet &patterns, int64_t worldSize);
void populateCollectiveMatmulConversionPatterns(
    const CubeBufferTypeConverter &typeConverter,
    mlir::RewritePatternSet &patterns, int64_t worldSize);
/// kb.matmul_reduce_scatter: chunks of the gemm whose rings along the rows
/// run beside the next chunk's tiles.
void populateMatmulReduceScatterConversionPatterns(
    const CubeBufferTypeConverter &typeConverter,
    mlir::RewritePatternSet &patterns, int64_t worldSize);
/// kb.all_gather_matmul: chunks of the gathered rows whose gemms run beside
/// the next chunk's ring along the rows.
void populateAllGatherMatmulConversionPatterns(
    const CubeBufferTypeConverter &typeConverter,
    mlir::RewritePatternSet &patterns, int64_t worldSize);

} // namespace kb::detail

#endif // LIB_CONVERSION_KBTOGEMMTILE_PATTERNS_H
