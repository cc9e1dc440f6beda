//===- KernelCalls.h - where a module's kernels are called ------*- C++ -*-===//
//
// The passes that move work across a kernel's boundary (prefetch-copies,
// defer-waits) rewrite a kernel's signature and every call of it, and scan
// the ops around each call; they need every call, and calls whose callers
// they can read in order.
//
//===----------------------------------------------------------------------===//

#ifndef KB_LIB_DIALECT_GEMMTILE_TRANSFORMS_KERNELCALLS_H
#define KB_LIB_DIALECT_GEMMTILE_TRANSFORMS_KERNELCALLS_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallVector.h"

namespace kb::gemm_tile {

/// The calls of a module's functions, found in one walk of its call ops (a
/// walk of every symbol use, attributes included, was most of a pass's time
/// on a small layer). A function's calls are kept when every call of it is a
/// func.call, by its own name, from the only block of a public function.
/// kb-outline-kernels makes nothing but calls refer to a kernel; a use of
/// another kind would make a rewritten signature fail verification, with
/// its location.
class KernelCalls {
public:
  explicit KernelCalls(mlir::ModuleOp module);

  /// `kernel`'s calls in program order; empty when it has none or one its
  /// callers cannot be read in order.
  llvm::ArrayRef<mlir::func::CallOp> of(mlir::func::FuncOp kernel) const;

private:
  llvm::DenseMap<mlir::StringAttr, llvm::SmallVector<mlir::func::CallOp>>
      calls;
};

} // namespace kb::gemm_tile

#endif // KB_LIB_DIALECT_GEMMTILE_TRANSFORMS_KERNELCALLS_H
