//===- FirstDivergence.h - which kb op a failed check starts at -*- C++ -*-===//

#ifndef KB_RUN_FIRSTDIVERGENCE_H
#define KB_RUN_FIRSTDIVERGENCE_H

#include "kb/Dialect/GemmTile/IR/DeviceDescription.h"
#include "kb/Runtime/HostTensor.h"
#include "mlir/Pass/PassManager.h"

#include "mlir/IR/BuiltinOps.h"

#include <string>

namespace kb {

/// When --check fails on the global-view program `global`: the first kb op,
/// in program order, whose result the compiled program computes differently
/// from the unsharded one on `inputs` ("kb.add at model.py:15:9 (Add):
/// result 0 element ..."), or "" when no op's result fails alone. Each op's
/// result is compared by compiling and running the program cut after that op
/// (its result returned, the ops after it removed), so the intermediates are
/// gathered and checked exactly as results are.
std::string findFirstDivergingOp(
    mlir::ModuleOp global, llvm::StringRef entryName,
    llvm::ArrayRef<runtime::HostTensor> inputs,
    const gemm_tile::DeviceDescription &device,
    llvm::function_ref<void(mlir::OpPassManager &)> buildPipeline, int threads);

} // namespace kb

#endif // KB_RUN_FIRSTDIVERGENCE_H
