//===- Pipelines.cpp - kb's named pass pipelines --------------------------===//

#include "kb/Pipelines/Pipelines.h"
#include "kb/Conversion/Passes.h"
#include "kb/Dialect/GemmTile/Transforms/Passes.h"
#include "kb/Dialect/KB/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void kb::buildKBPipeline(OpPassManager &pm, const KBPipelineOptions &options) {
  pm.addPass(createKBTPPartitionPass());
  buildKBDevicePipeline(pm, options);
}

void kb::buildKBDevicePipeline(OpPassManager &pm,
                               const KBPipelineOptions &options) {
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  KBPlacePassOptions place;
  place.useCostModel = options.costModel;
  place.advise = options.advisePlacement;
  pm.addPass(createKBPlacePass(place));
  if (!options.lowerToDevice)
    return;
  if (options.overlapCollectives) {
    KBOverlapCollectivesPassOptions overlap;
    overlap.chunks = options.overlapChunks;
    pm.addPass(createKBOverlapCollectivesPass(overlap));
  }
  if (options.outlineOps)
    pm.addPass(createKBOutlineKernelsPass());
  pm.addPass(createConvertKBToGemmTilePass());
  if (options.outlineOps && options.prefetchCopies)
    pm.addPass(gemm_tile::createGemmTilePrefetchCopiesPass());
  if (options.outlineOps && options.deferWaits)
    pm.addPass(gemm_tile::createGemmTileDeferWaitsPass());
  pm.addPass(gemm_tile::createGemmTileCheckCubeMemoryPass());
  pm.addPass(gemm_tile::createGemmTileVerifyRingsPass());
  pm.addPass(gemm_tile::createGemmTileCheckYieldSafetyPass());
}

void kb::registerKBPipelines() {
  PassPipelineRegistration<KBPipelineOptions>(
      "kb-pipeline",
      "Partition a global-view kb program per TP rank, place its tensors "
      "inside each SIP and lower it to gemm_tile",
      buildKBPipeline);
  PassPipelineRegistration<KBPipelineOptions>(
      "kb-device-pipeline",
      "The kb-pipeline after partition: place a local-view (per-rank) kb "
      "program's tensors inside each SIP and lower it to gemm_tile",
      buildKBDevicePipeline);
}
