//===- Pipelines.h - kb's named pass pipelines ------------------*- C++ -*-===//

#ifndef KB_PIPELINES_PIPELINES_H
#define KB_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

namespace kb {

struct KBPipelineOptions : public mlir::PassPipelineOptions<KBPipelineOptions> {
  Option<bool> lowerToDevice{
      *this, "lower-to-device",
      llvm::cl::desc("Lower the placed local view to gemm_tile"),
      llvm::cl::init(true)};
  Option<bool> outlineOps{
      *this, "outline-ops",
      llvm::cl::desc("Emit each distinct op's device work once, as a private "
                     "function called where the op occurs"),
      llvm::cl::init(true)};
  Option<bool> overlapCollectives{
      *this, "overlap-collectives",
      llvm::cl::desc("Cut a row-parallel gemm and its all-reduce into row "
                     "chunks whose rings run beside the next chunk's gemm, "
                     "where the cost model says it is faster "
                     "(kb-overlap-collectives; with lower-to-device)"),
      llvm::cl::init(true)};
  Option<int64_t> overlapChunks{
      *this, "overlap-chunks",
      llvm::cl::desc("The most row chunks kb-overlap-collectives cuts a gemm "
                     "into (it picks the count by its estimate)"),
      llvm::cl::init(8)};
  Option<bool> prefetchCopies{
      *this, "prefetch-copies",
      llvm::cl::desc("Issue a kernel's first copies of data no earlier call "
                     "writes (weights) during the calls before it "
                     "(gemm-tile-prefetch-copies; with outline-ops)"),
      llvm::cl::init(true)};
  Option<bool> deferWaits{
      *this, "defer-waits",
      llvm::cl::desc("Wait for a kernel's trailing copies in its caller, "
                     "just before the first op that may touch their buffers "
                     "(gemm-tile-defer-waits; with outline-ops)"),
      llvm::cl::init(true)};
  Option<bool> costModel{
      *this, "cost-model",
      llvm::cl::desc("kb-place chooses policies by the placement cost model "
                     "(else: the rule alone)"),
      llvm::cl::init(true)};
  Option<bool> advisePlacement{
      *this, "advise-placement",
      llvm::cl::desc("kb-place remarks on each given policy that its own "
                     "choice clearly beats (kb-place{advise=true})"),
      llvm::cl::init(false)};
};

/// Global view to the device: partition, canonicalize, place and (with
/// lower-to-device) overlap collectives with compute (with
/// overlap-collectives), outline kernels (with outline-ops), lower to
/// gemm_tile and check cube memory, rings and yield safety.
void buildKBPipeline(mlir::OpPassManager &pm, const KBPipelineOptions &options);

/// The kb-pipeline after kb-tp-partition, for a local-view program (one a user
/// wrote per rank, or kb-tp-partition made): canonicalize, place and (with
/// lower-to-device) outline kernels (with outline-ops), lower to gemm_tile and
/// check cube memory, rings and yield safety. buildKBPipeline is
/// kb-tp-partition followed by this, so a partition given as the local view
/// compiles to the same device program as its global view.
void buildKBDevicePipeline(mlir::OpPassManager &pm,
                           const KBPipelineOptions &options);

/// Registers `kb-pipeline` and `kb-device-pipeline`.
void registerKBPipelines();

} // namespace kb

#endif // KB_PIPELINES_PIPELINES_H
