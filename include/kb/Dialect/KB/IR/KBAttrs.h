//===- KBAttrs.h - kb attributes --------------------------------*- C++ -*-===//

#ifndef KB_DIALECT_KB_IR_KBATTRS_H
#define KB_DIALECT_KB_IR_KBATTRS_H

#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributeInterfaces.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/IR/TensorEncoding.h"

#include "kb/Device/ByteArithmetic.h"
#include "kb/Device/DeviceDescription.h"
#include "kb/Device/Placement.h"

#include "kb/Device/ReductionKind.h"

#define GET_ATTRDEF_CLASSES
#include "kb/Dialect/KB/IR/KBAttrs.h.inc"

#endif // KB_DIALECT_KB_IR_KBATTRS_H
