//===- RegionKernels.h - elementwise work on regions of host tensors -*- C++ -*-===//
//
// A PE's elementwise op or copy names a region of its buffers (offsets and
// sizes). These run the kernel on the region where it lies, run by run of
// contiguous elements, instead of copying it out into a fresh tensor and
// back: fresh memory costs the kernel's page clearing, and two copies of
// the region cost more than the arithmetic. Regions of the same tensor that
// overlap without being the same region take the copy, which keeps the
// result that of reading the whole input before writing.
//
//===----------------------------------------------------------------------===//

#ifndef KB_EXECUTOR_REGIONKERNELS_H
#define KB_EXECUTOR_REGIONKERNELS_H

#include "kb/Runtime/HostTensor.h"
#include "kb/Runtime/Kernels.h"

#include "llvm/ADT/ArrayRef.h"

namespace kb::exec {

/// out[to : to + size] = scale · map(in[from : from + size]), rounded to
/// out's dtype. `in` may be `out` (the same region: in place).
void mapRegion(runtime::MapKernel map, float scale,
               const runtime::HostTensor &in, llvm::ArrayRef<int64_t> from,
               runtime::HostTensor &out, llvm::ArrayRef<int64_t> to,
               llvm::ArrayRef<int64_t> size);

/// out[to : to + size] = zip(lhs[lhsFrom : lhsFrom + size],
/// rhs[rhsFrom : rhsFrom + rhsSize]), rounded to out's dtype. A second
/// region of fewer elements, c, combines with each run of c elements of the
/// first taken in row-major order (a bias with every row).
void zipRegion(runtime::ZipKernel zip, const runtime::HostTensor &lhs,
               llvm::ArrayRef<int64_t> lhsFrom, const runtime::HostTensor &rhs,
               llvm::ArrayRef<int64_t> rhsFrom,
               llvm::ArrayRef<int64_t> rhsSize, runtime::HostTensor &out,
               llvm::ArrayRef<int64_t> to, llvm::ArrayRef<int64_t> size);

/// A vector a row kernel reads (a norm's weight, a bias): a region of a
/// tensor.
struct RowVector {
  const runtime::HostTensor *tensor;
  llvm::ArrayRef<int64_t> offsets, sizes;
};

/// out[to : to + size] = kernel(in[from : from + size], vectors, params), a
/// 2-D region of size[0] rows of size[1] elements, in out's dtype. Runs the
/// kernel on the regions where they lie when their rows are contiguous (full
/// rows, or one), else through one reused per-thread block: a fresh region
/// per tile cost the kernel's page clearing twice (the layer's norms were a
/// third of its CPU that way). `in` may be `out` (the same region).
void rowRegion(runtime::RowKernel kernel, llvm::ArrayRef<double> params,
               const runtime::HostTensor &in, llvm::ArrayRef<int64_t> from,
               llvm::ArrayRef<RowVector> vectors, runtime::HostTensor &out,
               llvm::ArrayRef<int64_t> to, llvm::ArrayRef<int64_t> size);

/// dst[dstOffsets : + sizes] = src[srcOffsets : + sizes] (f32 data; a half
/// `src` is widened as it is copied).
void copyRegion(const runtime::HostTensor &src,
                llvm::ArrayRef<int64_t> srcOffsets, runtime::HostTensor &dst,
                llvm::ArrayRef<int64_t> dstOffsets,
                llvm::ArrayRef<int64_t> sizes);

} // namespace kb::exec

#endif // KB_EXECUTOR_REGIONKERNELS_H
