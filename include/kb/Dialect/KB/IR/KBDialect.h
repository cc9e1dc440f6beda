//===- KBDialect.h - kb dialect ---------------------------------*- C++ -*-===//

#ifndef KB_DIALECT_KB_IR_KBDIALECT_H
#define KB_DIALECT_KB_IR_KBDIALECT_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Dialect.h"

#include "kb/Dialect/KB/IR/KBOpsDialect.h.inc"

#endif // KB_DIALECT_KB_IR_KBDIALECT_H
