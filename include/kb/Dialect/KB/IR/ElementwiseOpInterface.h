//===- ElementwiseOpInterface.h - ops that are one kernel per element -*- C++ -*-===//

#ifndef KB_DIALECT_KB_IR_ELEMENTWISEOPINTERFACE_H
#define KB_DIALECT_KB_IR_ELEMENTWISEOPINTERFACE_H

#include "mlir/IR/OpDefinition.h"

#include "kb/Dialect/KB/IR/ElementwiseOpInterface.h.inc"

#endif // KB_DIALECT_KB_IR_ELEMENTWISEOPINTERFACE_H
