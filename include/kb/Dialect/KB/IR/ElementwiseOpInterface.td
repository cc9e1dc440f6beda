//===- ElementwiseOpInterface.td - ops that are one kernel per element -*- tablegen -*-===//
//
// The contract between a kb elementwise op and everything below the
// partitioner: the op is the runtime kernel of its name applied to every
// element (two operands: element by element, or a rank-1 right-hand side
// broadcast over rows), times a constant. One lowering pattern turns every
// such op into `gemm_tile.map` / `gemm_tile.zip` naming that kernel, and the
// unsharded reference interpreter runs the same kernel, so a new elementwise
// op needs no pattern, device op or interpreter code of its own.
//
//===----------------------------------------------------------------------===//

#ifndef KB_DIALECT_KB_IR_ELEMENTWISEOPINTERFACE_TD
#define KB_DIALECT_KB_IR_ELEMENTWISEOPINTERFACE_TD

include "mlir/IR/OpBase.td"

def KB_ElementwiseOpInterface : OpInterface<"ElementwiseOpInterface"> {
  let cppNamespace = "::kb";
  let description = [{
    An op of one or two tensor operands whose result is the runtime kernel
    `getKernelName()` applied element by element, multiplied by
    `getKernelScale()`. The kernel is a map kernel (one operand) or a zip
    kernel (two), registered in lib/Runtime/Elementwise.cpp.
  }];
  let methods = [
    InterfaceMethod<[{
        The runtime kernel's name: by default the op's mnemonic (`kb.silu`
        runs kernel "silu").
      }],
      "::llvm::StringRef", "getKernelName", (ins), "",
      "return $_op->getName().stripDialect();">,
    InterfaceMethod<[{
        The constant the kernel's result is multiplied by (a scale's factor).
      }],
      "double", "getKernelScale">,
  ];
}

#endif // KB_DIALECT_KB_IR_ELEMENTWISEOPINTERFACE_TD
