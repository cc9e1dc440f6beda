//===- InitAllDialects.h - every dialect kb tools load ----------*- C++ -*-===//

#ifndef KB_INITALLDIALECTS_H
#define KB_INITALLDIALECTS_H

#include "kb/Dialect/GemmTile/IR/GemmTileDialect.h"
#include "kb/Dialect/KB/IR/KBDialect.h"
#include "kb/Dialect/KB/IR/UpstreamTPPartitionModels.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/DialectRegistry.h"

namespace kb {

/// Registers kb's dialects and the upstream ones its programs use.
inline void registerAllDialects(mlir::DialectRegistry &registry) {
  registry.insert<KBDialect, gemm_tile::GemmTileDialect,
                  mlir::func::FuncDialect, mlir::arith::ArithDialect,
                  mlir::cf::ControlFlowDialect, mlir::memref::MemRefDialect,
                  mlir::scf::SCFDialect, mlir::tensor::TensorDialect>();
  registerUpstreamTPPartitionModels(registry);
}

} // namespace kb

#endif // KB_INITALLDIALECTS_H
