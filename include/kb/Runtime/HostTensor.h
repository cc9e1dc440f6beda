//===- HostTensor.h - a tensor in host memory -------------------*- C++ -*-===//

#ifndef KB_RUNTIME_HOSTTENSOR_H
#define KB_RUNTIME_HOSTTENSOR_H

#include "kb/Runtime/DType.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"

#include <string>
#include <utility>
#include <vector>

namespace kb::runtime {

/// Raw storage for tensor data, always zero: blocks of 2 MiB and more are
/// mapped 2 MiB-aligned and advised as transparent huge pages (outside a
/// TransientTensorScope), so touching a
/// fresh tensor faults once per 2 MiB rather than once per 4 KiB (page faults
/// were a third of kb-run's time on a 170 MiB run). Smaller blocks come from
/// calloc. Mapped blocks are faulted in when made, with one call
/// (MADV_POPULATE_WRITE) rather than a fault per page: still zero, never
/// written by the thread that made them.
void *allocateTensorStorage(size_t bytes);
/// While one is open (on any thread), blocks are not advised as huge pages:
/// the executor's cube buffers, made and freed by the thousand during a
/// run, would each pay the kernel's compaction for a huge page at its first
/// fault. Tensors that live long (the inputs, read once, which every gemm
/// reads) keep the advice and its fewer TLB misses.
struct TransientTensorScope {
  TransientTensorScope();
  ~TransientTensorScope();
  TransientTensorScope(const TransientTensorScope &) = delete;
  TransientTensorScope &operator=(const TransientTensorScope &) = delete;
};
/// Frees what allocateTensorStorage(bytes) returned.
void freeTensorStorage(void *p, size_t bytes);
/// The smallest block a tensor can adopt (adoptMappedStorage): smaller
/// tensors come from calloc, which cannot own a mapping. Never, under
/// AddressSanitizer (every tensor comes from malloc there).
size_t minimumAdoptedBytes();
/// Makes the next allocateTensorStorage(bytes) on this thread return `p`
/// instead of fresh memory; taken back (false) if that allocation did not
/// come. Use adoptMappedStorage.
void offerNextAllocation(void *p, size_t bytes);
bool takeBackOffer();

template <typename T> struct TensorAllocator {
  using value_type = T;
  TensorAllocator() = default;
  template <typename U> TensorAllocator(const TensorAllocator<U> &) {}
  T *allocate(size_t n) {
    return static_cast<T *>(allocateTensorStorage(n * sizeof(T)));
  }
  void deallocate(T *p, size_t n) { freeTensorStorage(p, n * sizeof(T)); }
  /// Elements made without a value are default-initialised, i.e. not
  /// written: resize() on an empty vector leaves allocateTensorStorage's
  /// zeros untouched (value-initialising would zero-fill every page on the
  /// calling thread). Growing a vector within capacity it had before a
  /// shrink therefore keeps the old values: tensors are sized once.
  template <typename U> void construct(U *p) noexcept {
    ::new (static_cast<void *>(p)) U;
  }
  template <typename U, typename... Args>
  void construct(U *p, Args &&...args) {
    ::new (static_cast<void *>(p)) U(std::forward<Args>(args)...);
  }
  template <typename U> bool operator==(const TensorAllocator<U> &) const {
    return true;
  }
  template <typename U> bool operator!=(const TensorAllocator<U> &) const {
    return false;
  }
};

using TensorData = std::vector<float, TensorAllocator<float>>;
using HalfData = std::vector<uint16_t, TensorAllocator<uint16_t>>;

/// Makes the empty `v` hold the `count` elements at `p` without copying
/// them: `p` is a private file mapping of at least minimumAdoptedBytes()
/// (InputFile::mapPrivate), which `v` then owns and frees by unmapping it,
/// as any large tensor's storage. kb-run's inputs are held this way: reading
/// them into fresh memory cost more in the kernel's clearing of the fresh
/// pages than in the copy. False (and `v` still empty, `p` still the
/// caller's) if `v` is not empty or the block is too small.
template <typename T>
bool adoptMappedStorage(std::vector<T, TensorAllocator<T>> &v, T *p,
                        size_t count) {
  if (!v.empty() || count * sizeof(T) < minimumAdoptedBytes())
    return false;
  offerNextAllocation(p, count * sizeof(T));
  v.resize(count);
  if (!takeBackOffer())
    return true;
  // The vector asked for another size: it has fresh memory, not `p`.
  std::vector<T, TensorAllocator<T>>().swap(v);
  return false;
}

/// A dense row-major tensor. Values are held as f32 that are exactly
/// representable in `dtype`: an f16 tensor holds f32 values rounded to f16,
/// which lets one f32 kernel serve every dtype with f32 accumulation.
///
/// An f16 tensor may instead keep its elements as f16 bits in `halves`
/// (`data` empty; isHalf()): half the memory of the f32 form. kb-run reads
/// its f16 .npy inputs this way, since the weights are most of a run's
/// memory. Only the readers that say so take a half tensor (the gemm's B
/// operand, extractBox, serializeNpy); anything else first calls widen().
struct HostTensor {
  DType dtype = DType::F32;
  llvm::SmallVector<int64_t, 4> shape;
  TensorData data;
  HalfData halves;

  int64_t numElements() const;
  /// Bytes the tensor takes in its dtype (what the device stores).
  size_t storageBytes() const { return numElements() * dtypeSize(dtype); }
  /// Whether the elements are in `halves` rather than `data`.
  bool isHalf() const { return !halves.empty(); }
  /// Moves the elements from `halves` to `data` (exact); no-op otherwise.
  void widen();
  /// Moves the elements from `data` to `halves` (an f16 tensor's values are
  /// exact f16, so nothing is rounded); no-op for other dtypes.
  void narrow();
};

/// The tensor with its elements in `data` (a copy, widened if half).
HostTensor widened(const HostTensor &t);

/// Elements in a tensor of `shape`, or -1 when the count overflows int64 or a
/// dimension is negative.
int64_t checkedNumElements(llvm::ArrayRef<int64_t> shape);

/// A zero tensor.
HostTensor makeTensor(DType dtype, llvm::ArrayRef<int64_t> shape);

/// A tensor of values uniform in [-1, 1), rounded to `dtype`, the same on
/// every platform for a given seed.
HostTensor randomTensor(DType dtype, llvm::ArrayRef<int64_t> shape,
                        uint64_t seed);

/// "512x1024" ("scalar" for rank 0).
std::string shapeString(llvm::ArrayRef<int64_t> shape);

} // namespace kb::runtime

#endif // KB_RUNTIME_HOSTTENSOR_H
