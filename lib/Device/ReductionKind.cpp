//===- ReductionKind.cpp - the one reduction enum -------------------------===//

#include "kb/Device/ReductionKind.h"

#include "kb/Device/ReductionKind.cpp.inc"
