//===- KernelCalls.cpp - where a module's kernels are called --------------===//

#include "KernelCalls.h"

#include "llvm/ADT/DenseSet.h"

using namespace mlir;
using namespace kb::gemm_tile;

KernelCalls::KernelCalls(ModuleOp module) {
  llvm::DenseSet<StringAttr> unreadable;
  module.walk([&](CallOpInterface call) {
    auto callee =
        dyn_cast_if_present<SymbolRefAttr>(call.getCallableForCallee());
    if (!callee)
      return;
    StringAttr name = callee.getRootReference();
    auto funcCall = dyn_cast<func::CallOp>(call.getOperation());
    auto caller = funcCall ? funcCall->getParentOfType<func::FuncOp>()
                           : func::FuncOp();
    if (!caller || caller.isPrivate() || !caller.getBody().hasOneBlock() ||
        funcCall->getBlock() != &caller.getBody().front() ||
        !isa<FlatSymbolRefAttr>(callee))
      unreadable.insert(name);
    else
      calls[name].push_back(funcCall);
  });
  for (StringAttr name : unreadable)
    calls.erase(name);
}

ArrayRef<func::CallOp> KernelCalls::of(func::FuncOp kernel) const {
  auto it = calls.find(kernel.getSymNameAttr());
  if (it == calls.end())
    return {};
  return it->second;
}
