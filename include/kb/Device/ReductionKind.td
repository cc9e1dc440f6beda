//===- ReductionKind.td - the one reduction enum -----------*- tablegen -*-===//
//
// What a collective combines partial values with. kb's `kb.all_reduce` and
// gemm_tile's ring steps wrap this one enum in their own attributes
// (`#kb.reduction<sum>`, `#gemm_tile.reduce<sum>`), so lowering passes the
// value through unchanged.
//
//===----------------------------------------------------------------------===//

#ifndef KB_DEVICE_REDUCTIONKIND_TD
#define KB_DEVICE_REDUCTIONKIND_TD

include "mlir/IR/EnumAttr.td"

def KB_ReductionKind : I32EnumAttr<"ReductionKind",
    "reduction applied by a collective", [
      I32EnumAttrCase<"Sum", 0, "sum">,
      I32EnumAttrCase<"Max", 1, "max">,
      I32EnumAttrCase<"Min", 2, "min">,
      I32EnumAttrCase<"Avg", 3, "avg">
    ]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::kb";
}

#endif // KB_DEVICE_REDUCTIONKIND_TD
