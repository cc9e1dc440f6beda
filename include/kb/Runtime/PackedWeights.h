//===- PackedWeights.h - constant B blocks packed once per run --*- C++ -*-===//
//
// The blocked gemm packs B into NR-wide, KC-deep panels (widening f16 to f32)
// before it multiplies. A product of few rows then spends as long packing B
// as multiplying by it, and a row-parallel layer whose gemm the overlap of
// collectives cuts into row chunks multiplies the same weight block in many
// products, each packing it again (Llama-2-7B's down projection at 2048
// tokens: 36 products per rank, each packing 1376 × 4096 weights). A block
// whose B cannot change for the cache's life — an input weight of a run —
// is packed once into this cache, in its own element type (f16 panels, which
// the micro-kernel widens as it loads them: half the bytes to read again),
// and read from it by every later product.
//
// Owned by the run, not the process: a weight's address means that weight
// only while the run holds its inputs.
//
//===----------------------------------------------------------------------===//

#ifndef KB_RUNTIME_PACKEDWEIGHTS_H
#define KB_RUNTIME_PACKEDWEIGHTS_H

#include "llvm/ADT/STLFunctionalExtras.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>

namespace kb::runtime {

class PackedWeights {
public:
  /// What kb-run's run gives the cache: its host-memory estimate counts it
  /// (exec::hostBytesNeeded).
  static constexpr size_t kRunBytes = size_t{512} << 20;

  /// Holds at most `byteLimit` bytes of panels; a block beyond it is packed
  /// by each product, as without the cache.
  explicit PackedWeights(size_t byteLimit) : byteLimit(byteLimit) {}

  /// A block's packing: its B (first element, leading dimension, n columns,
  /// k rows, element size) and the kernel's panel shape (NR, KC).
  struct Key {
    const void *b = nullptr;
    int64_t ldb = 0, n = 0, k = 0, elementBytes = 0, nr = 0, kc = 0;
    auto tuple() const { return std::tie(b, ldb, n, k, elementBytes, nr, kc); }
    bool operator<(const Key &o) const { return tuple() < o.tuple(); }
  };

  /// The packed panels of `key`'s block, `bytes` long: packed by `pack` on
  /// the first call (a concurrent caller waits for it), read by later ones.
  /// Null when the block would pass the byte limit.
  const void *get(const Key &key, size_t bytes,
                  llvm::function_ref<void(void *)> pack);

  /// Blocks packed, reads of a block packed before, bytes held.
  size_t packs() const { return packCount; }
  size_t hits() const { return hitCount; }
  size_t bytes() const;

private:
  struct Entry {
    std::once_flag packed;
    void *data = nullptr;
    size_t bytes = 0;
    ~Entry();
  };
  size_t byteLimit;
  mutable std::mutex mutex;
  size_t heldBytes = 0;
  std::map<Key, std::unique_ptr<Entry>> entries;
  std::atomic<size_t> packCount{0}, hitCount{0};
};

} // namespace kb::runtime

#endif // KB_RUNTIME_PACKEDWEIGHTS_H
