//===- KBAttrs.h - kb attributes --------------------------------*- C++ -*-===//

#ifndef KB_DIALECT_KB_IR_KBATTRS_H
#define KB_DIALECT_KB_IR_KBATTRS_H

#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributeInterfaces.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/IR/TensorEncoding.h"

#include <optional>

#include "kb/Dialect/KB/IR/KBEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "kb/Dialect/KB/IR/KBAttrs.h.inc"

namespace kb {

/// The bytes of a tensor of `shape` with `elementBytes`-byte elements, or
/// std::nullopt when a dimension is dynamic or the count overflows int64:
/// MLIR accepts any dimension up to 2^63 - 1, so every byte count kb makes of
/// a tensor, or of a piece of one, goes through here or is bounded by it.
std::optional<int64_t> checkedByteSize(llvm::ArrayRef<int64_t> shape,
                                       int64_t elementBytes);

} // namespace kb

#endif // KB_DIALECT_KB_IR_KBATTRS_H
