//===- RegionKernels.cpp - elementwise work on regions of host tensors ----===//

#include "kb/Executor/RegionKernels.h"

#include "kb/Executor/Program.h"

#include "llvm/ADT/SmallVector.h"

#include <algorithm>
#include <vector>

using namespace kb;
using namespace kb::exec;
using runtime::HostTensor;
using llvm::ArrayRef;
using llvm::SmallVector;

namespace {
/// Where each contiguous run of a region starts in its tensor (runs of
/// sizes.back() elements, one for a scalar).
SmallVector<int64_t> runStarts(const HostTensor &t, ArrayRef<int64_t> offsets,
                               ArrayRef<int64_t> sizes) {
  SmallVector<int64_t> starts;
  forEachBoxRow(t.shape, offsets, sizes,
                [&](int64_t at, int64_t, int64_t) { starts.push_back(at); });
  return starts;
}

int64_t runLength(ArrayRef<int64_t> sizes) {
  return sizes.empty() ? 1 : sizes.back();
}

/// Calls fn(r, inAt, outAt, n) for each contiguous run r of a region of
/// `size`, at `from` in `in` and at `to` in `out`: the two regions' runs pair
/// up in order, each n elements long, starting at inAt and outAt. The one
/// walk that every region kernel below makes.
template <typename Fn>
void forEachRun(const HostTensor &in, ArrayRef<int64_t> from,
                const HostTensor &out, ArrayRef<int64_t> to,
                ArrayRef<int64_t> size, Fn fn) {
  SmallVector<int64_t> src = runStarts(in, from, size);
  int64_t n = runLength(size);
  forEachBoxRow(out.shape, to, size, [&](int64_t at, int64_t dense, int64_t) {
    size_t r = n > 0 ? static_cast<size_t>(dense / n) : 0;
    fn(r, src[r], at, n);
  });
}

int64_t count(ArrayRef<int64_t> sizes) {
  int64_t n = 1;
  for (int64_t s : sizes)
    n *= s;
  return n;
}

/// Whether two regions of the same tensor share an element.
bool overlap(ArrayRef<int64_t> aFrom, ArrayRef<int64_t> aSize,
             ArrayRef<int64_t> bFrom, ArrayRef<int64_t> bSize) {
  if (count(aSize) == 0 || count(bSize) == 0)
    return false;
  for (size_t d = 0; d < aSize.size() && d < bSize.size(); ++d)
    if (aFrom[d] + aSize[d] <= bFrom[d] || bFrom[d] + bSize[d] <= aFrom[d])
      return false;
  return true;
}

/// Whether writing region `to` of `out` while reading `from` of `in` run by
/// run could overwrite input not yet read: the same tensor, overlapping
/// regions that are not the same region.
bool clobbers(const HostTensor &in, ArrayRef<int64_t> from,
              ArrayRef<int64_t> inSize, const HostTensor &out,
              ArrayRef<int64_t> to, ArrayRef<int64_t> size) {
  if (&in != &out || !overlap(from, inSize, to, size))
    return false;
  return !(ArrayRef<int64_t>(from) == to && inSize == size);
}
} // namespace

void kb::exec::mapRegion(runtime::MapKernel map, float scale,
                         const HostTensor &in, ArrayRef<int64_t> from,
                         HostTensor &out, ArrayRef<int64_t> to,
                         ArrayRef<int64_t> size) {
  if (count(size) == 0)
    return;
  if (clobbers(in, from, size, out, to, size)) {
    HostTensor region = extractBox(in, from, size);
    SmallVector<int64_t> zero(size.size(), 0);
    mapRegion(map, scale, region, zero, region, zero, size);
    insertBox(out, region, to);
    return;
  }
  forEachRun(in, from, out, to, size,
             [&](size_t, int64_t inAt, int64_t outAt, int64_t n) {
               float *row = out.data.data() + outAt;
               map(in.data.data() + inAt, row, n);
               if (scale != 1.0f)
                 runtime::scale(row, n, scale);
               runtime::roundBufferToDType(row, n, out.dtype);
             });
}

void kb::exec::zipRegion(runtime::ZipKernel zip, const HostTensor &lhs,
                         ArrayRef<int64_t> lhsFrom, const HostTensor &rhs,
                         ArrayRef<int64_t> rhsFrom, ArrayRef<int64_t> rhsSize,
                         HostTensor &out, ArrayRef<int64_t> to,
                         ArrayRef<int64_t> size) {
  int64_t total = count(size), n = runLength(size);
  if (total == 0)
    return;
  int64_t cols = std::max<int64_t>(count(rhsSize), 1);
  // The second region's runs line up with the first's (the same sizes), or
  // it is one run as long as a run of the first (a bias row); anything else
  // is cut the dense way, below.
  bool sameShape = rhsSize == size;
  bool biasRow = cols == n && runLength(rhsSize) == n;
  if ((!sameShape && !biasRow) || clobbers(lhs, lhsFrom, size, out, to, size) ||
      (&rhs == &out && overlap(rhsFrom, rhsSize, to, size))) {
    HostTensor region = extractBox(lhs, lhsFrom, size);
    HostTensor other = extractBox(rhs, rhsFrom, rhsSize);
    for (int64_t at = 0; at < total; at += cols)
      zip(region.data.data() + at, other.data.data(), cols);
    runtime::roundBufferToDType(region.data.data(), region.data.size(),
                                out.dtype);
    insertBox(out, region, to);
    return;
  }
  SmallVector<int64_t> other = runStarts(rhs, rhsFrom, rhsSize);
  forEachRun(lhs, lhsFrom, out, to, size,
             [&](size_t r, int64_t inAt, int64_t outAt, int64_t n) {
               float *row = out.data.data() + outAt;
               const float *in = lhs.data.data() + inAt;
               if (in != row)
                 std::copy_n(in, n, row);
               zip(row, rhs.data.data() + other[sameShape ? r : 0], n);
               runtime::roundBufferToDType(row, n, out.dtype);
             });
}

namespace {
/// Whether a 2-D region's rows lie one after another in `t`: full rows, or
/// a single row.
bool denseRows(const HostTensor &t, ArrayRef<int64_t> from,
               ArrayRef<int64_t> size) {
  return t.shape.size() == 2 && !t.isHalf() &&
         (size[0] <= 1 || (from[1] == 0 && size[1] == t.shape[1]));
}
/// A block of `n` floats that lives with the host thread, reused by its
/// later row kernels.
float *scratch(size_t n) {
  thread_local std::vector<float> block;
  if (block.size() < n)
    block.resize(n);
  return block.data();
}
} // namespace

void kb::exec::rowRegion(runtime::RowKernel kernel, ArrayRef<double> params,
                         const HostTensor &in, ArrayRef<int64_t> from,
                         ArrayRef<RowVector> vectors, HostTensor &out,
                         ArrayRef<int64_t> to, ArrayRef<int64_t> size) {
  int64_t rows = size[0], cols = size.size() > 1 ? size[1] : 1;
  if (count(size) == 0)
    return;
  // The vectors: in place when 1-D (a weight row), else copied out.
  SmallVector<HostTensor, 2> copied;
  SmallVector<const float *, 2> vectorData;
  for (const RowVector &v : vectors) {
    if (v.tensor->shape.size() == 1 && !v.tensor->isHalf()) {
      vectorData.push_back(v.tensor->data.data() + v.offsets[0]);
      continue;
    }
    copied.push_back(extractBox(*v.tensor, v.offsets, v.sizes));
    vectorData.push_back(copied.back().data.data());
  }
  bool direct = size.size() == 2 && denseRows(in, from, size) &&
                denseRows(out, to, size) &&
                !clobbers(in, from, size, out, to, size);
  if (direct) {
    kernel(out.dtype, in.data.data() + from[0] * in.shape[1] + from[1],
           vectorData, out.data.data() + to[0] * out.shape[1] + to[1], rows,
           cols, params);
    return;
  }
  // Copied into the thread's block, computed there in place, copied back.
  float *block = scratch(static_cast<size_t>(count(size)));
  if (in.isHalf()) {
    forEachBoxRow(in.shape, from, size, [&](int64_t src, int64_t dst, int64_t n) {
      runtime::halvesToFloats(in.halves.data() + src, block + dst, n);
    });
  } else {
    forEachBoxRow(in.shape, from, size, [&](int64_t src, int64_t dst, int64_t n) {
      std::copy_n(in.data.data() + src, n, block + dst);
    });
  }
  kernel(out.dtype, block, vectorData, block, rows, cols, params);
  forEachBoxRow(out.shape, to, size, [&](int64_t dst, int64_t src, int64_t n) {
    std::copy_n(block + src, n, out.data.data() + dst);
  });
}

void kb::exec::copyRegion(const HostTensor &src, ArrayRef<int64_t> srcOffsets,
                          HostTensor &dst, ArrayRef<int64_t> dstOffsets,
                          ArrayRef<int64_t> sizes) {
  if (count(sizes) == 0)
    return;
  if (clobbers(src, srcOffsets, sizes, dst, dstOffsets, sizes)) {
    insertBox(dst, extractBox(src, srcOffsets, sizes), dstOffsets);
    return;
  }
  forEachRun(src, srcOffsets, dst, dstOffsets, sizes,
             [&](size_t, int64_t from, int64_t to, int64_t n) {
               float *row = dst.data.data() + to;
               if (src.isHalf())
                 runtime::halvesToFloats(src.halves.data() + from, row, n);
               else
                 std::copy_n(src.data.data() + from, n, row);
             });
}
