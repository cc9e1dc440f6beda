//===- InitAllPasses.h - every pass kb tools register -----------*- C++ -*-===//

#ifndef KB_INITALLPASSES_H
#define KB_INITALLPASSES_H

#include "kb/Conversion/Passes.h"
#include "kb/Dialect/GemmTile/Transforms/Passes.h"
#include "kb/Dialect/KB/Transforms/Passes.h"
#include "kb/Pipelines/Pipelines.h"

#include "mlir/Transforms/Passes.h"

namespace kb {

/// Registers kb's passes and pipelines and the upstream passes they use.
inline void registerAllPasses() {
  mlir::registerCanonicalizerPass();
  mlir::registerCSEPass();
  registerKBPasses();
  registerKBConversionPasses();
  gemm_tile::registerGemmTilePasses();
  registerKBPipelines();
}

} // namespace kb

#endif // KB_INITALLPASSES_H
