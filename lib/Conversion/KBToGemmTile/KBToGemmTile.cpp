//===- KBToGemmTile.cpp - placed local view to device ops -----------------===//
//
// Each rank-local tensor becomes the buffers its DPPolicy puts in the cubes
// of the SIP (a 1:N type conversion); each kb op becomes, by its own
// pattern, the tile, DMA and ring work that produces its result's buffers.
// The lowering is op by op and ends every group of asynchronous work with a
// wait, so data is complete before it is read; overlapping one op's
// communication with the next op's compute is left to a later scheduling
// pass. Outlining (kb-outline-kernels) and the cube-memory check
// (gemm-tile-check-cube-memory) are passes of their own, before and after.
//
//===----------------------------------------------------------------------===//

#include "Patterns.h"

#include "kb/Conversion/KBToGemmTile/KBToGemmTile.h"
#include "kb/Conversion/Passes.h"
#include "kb/Dialect/GemmTile/IR/GemmTileOps.h"
#include "kb/Dialect/KB/IR/KBOps.h"
#include "kb/Dialect/KB/IR/OpOrigin.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"

namespace kb {
#define GEN_PASS_DEF_CONVERTKBTOGEMMTILEPASS
#include "kb/Conversion/Passes.h.inc"
} // namespace kb

using namespace mlir;
using namespace kb;

void kb::populateKBToGemmTileConversionPatterns(
    const CubeBufferTypeConverter &typeConverter, RewritePatternSet &patterns,
    int64_t worldSize) {
  detail::populateFunctionConversionPatterns(typeConverter, patterns);
  detail::populateLinearAlgebraConversionPatterns(typeConverter, patterns);
  detail::populateElementwiseConversionPatterns(typeConverter, patterns);
  detail::populateAttentionConversionPatterns(typeConverter, patterns);
  detail::populateDecoderConversionPatterns(typeConverter, patterns);
  detail::populateModelConversionPatterns(typeConverter, patterns);
  detail::populateCollectiveConversionPatterns(typeConverter, patterns,
                                               worldSize);
  detail::populateCollectiveMatmulConversionPatterns(typeConverter, patterns,
                                                     worldSize);
  detail::populateMatmulReduceScatterConversionPatterns(typeConverter,
                                                        patterns, worldSize);
  detail::populateAllGatherMatmulConversionPatterns(typeConverter, patterns,
                                                    worldSize);
}

/// Whether the type converter changes `type`: a tensor or the rank. Asked of
/// every func op of the module, and much cheaper than asking the converter,
/// whose cache is shared behind a lock.
static bool isConverted(Type type) { return isa<TensorType, IndexType>(type); }

void kb::configureKBToGemmTileConversionTarget(ConversionTarget &target) {
  target.addLegalDialect<gemm_tile::GemmTileDialect>();
  target.addLegalOp<ModuleOp>();
  // Converted when their types are; until then neither legal nor illegal, so
  // a function the patterns cannot lower is reported by them alone.
  target.addDynamicallyLegalOp<func::FuncOp>(
      [](func::FuncOp func) -> std::optional<bool> {
        FunctionType type = func.getFunctionType();
        if (func.isExternal() ||
            (llvm::none_of(type.getInputs(), isConverted) &&
             llvm::none_of(type.getResults(), isConverted)))
          return true;
        return std::nullopt;
      });
  target.addDynamicallyLegalOp<func::CallOp, func::ReturnOp>(
      [](Operation *op) -> std::optional<bool> {
        if (llvm::none_of(op->getOperandTypes(), isConverted) &&
            llvm::none_of(op->getResultTypes(), isConverted))
          return true;
        return std::nullopt;
      });
}

namespace {
struct ConvertKBToGemmTilePass
    : public kb::impl::ConvertKBToGemmTilePassBase<ConvertKBToGemmTilePass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    if (!module->hasAttr(KBDialect::kSPMDAttrName)) {
      module.emitError() << "convert-kb-to-gemm-tile lowers the local view: "
                            "run kb-tp-partition and kb-place first";
      return signalPassFailure();
    }
    // The device ops of each kb op carry its location, named after it: the
    // report and trace say which kb op's work a tile or a DMA is.
    module.walk([](Operation *op) {
      if (isa<KBDialect>(op->getDialect()))
        op->setLoc(kbOpLocation(op));
    });
    CubeBufferTypeConverter typeConverter(gemm_tile::lookupDevice(module));
    RewritePatternSet patterns(ctx);
    populateKBToGemmTileConversionPatterns(typeConverter, patterns,
                                           lookupWorldSize(module).value_or(1));
    ConversionTarget target(*ctx);
    configureKBToGemmTileConversionTarget(target);

    // The patterns report what they cannot lower themselves, with the
    // numbers involved; what is left unconverted without a report is an op
    // no pattern knows.
    bool reported = false;
    ScopedDiagnosticHandler noteErrors(ctx, [&](Diagnostic &diagnostic) {
      reported |= diagnostic.getSeverity() == DiagnosticSeverity::Error;
      return failure(); // and on to the next handler
    });
    DenseSet<Operation *> unconverted;
    ConversionConfig config;
    config.unlegalizedOps = &unconverted;
    // kb's folds would bring arith constants into the device program.
    config.foldingMode = DialectConversionFoldingMode::Never;
    // A failed conversion is discarded: no materializations to build.
    config.buildMaterializations = false;
    // The default, rollback-capable driver: LLVM 22's one-shot mode inserts a
    // cast per replaced call and recomputes the entry block's op order each
    // time, quadratic in a model's thousands of calls (10x slower at 6144
    // layers).
    if (failed(applyPartialConversion(module, target, std::move(patterns),
                                      config)))
      return signalPassFailure();
    if (unconverted.empty())
      return;
    if (!reported)
      module.walk([&](Operation *op) {
        if (!unconverted.contains(op))
          return WalkResult::advance();
        op->emitOpError() << "is not supported by convert-kb-to-gemm-tile";
        return WalkResult::interrupt();
      });
    signalPassFailure();
  }
};
} // namespace
