//===- ReductionKind.h - the one reduction enum -----------------*- C++ -*-===//

#ifndef KB_DEVICE_REDUCTIONKIND_H
#define KB_DEVICE_REDUCTIONKIND_H

#include "mlir/IR/OpImplementation.h"

#include "kb/Device/ReductionKind.h.inc"

#endif // KB_DEVICE_REDUCTIONKIND_H
