//===- Reduction.h - a collective's reduction on host data ------*- C++ -*-===//
//
// How both interpreters apply a kb::ReductionKind: `avg` sums like `sum`
// and divides once, after the last contribution.
//
//===----------------------------------------------------------------------===//

#ifndef KB_LIB_EXECUTOR_REDUCTION_H
#define KB_LIB_EXECUTOR_REDUCTION_H

#include "kb/Device/ReductionKind.h"
#include "kb/Runtime/Kernels.h"

namespace kb::exec {

/// dst = kind(dst, src), elementwise (a sum for `avg`).
inline void reduceInto(float *dst, const float *src, size_t n,
                       ReductionKind kind) {
  runtime::reduceInto(dst, src, n,
                      kind == ReductionKind::Max   ? runtime::ReduceOp::Max
                      : kind == ReductionKind::Min ? runtime::ReduceOp::Min
                                                   : runtime::ReduceOp::Sum);
}

/// After the last of `contributions` values was reduced into `data`: the
/// division that turns an `avg`'s sum into the mean.
inline void finishReduction(float *data, size_t n, ReductionKind kind,
                            int64_t contributions) {
  if (kind == ReductionKind::Avg)
    runtime::scale(data, n, 1.0f / contributions);
}

} // namespace kb::exec

#endif // KB_LIB_EXECUTOR_REDUCTION_H
