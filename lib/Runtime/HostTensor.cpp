//===- HostTensor.cpp - a tensor in host memory ---------------------------===//

#include "kb/Runtime/HostTensor.h"

#include "llvm/Support/ErrorHandling.h"

#include <atomic>
#include <cstdint>
#include <cstdlib>

#include <sys/mman.h>
#include <unistd.h>

using namespace kb::runtime;

#if defined(__SANITIZE_ADDRESS__)
#define KB_TENSORS_FROM_MALLOC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KB_TENSORS_FROM_MALLOC 1
#endif
#endif

namespace {
// Under AddressSanitizer every tensor comes from malloc, so overflows of
// large tensors are still caught.
#ifdef KB_TENSORS_FROM_MALLOC
constexpr size_t kHugePage = SIZE_MAX;
constexpr size_t kMappedFrom = SIZE_MAX;
#else
constexpr size_t kHugePage = size_t{2} << 20;
// From here on a tensor's storage is mapped rather than calloc'd, and
// unmapped when freed: calloc clears a block malloc recycled with a
// memset on the allocating thread (on a 4-rank MLP at 2 threads, 10 of the
// simulating thread's 35 ms; most of its blocks are below 256 KiB), and
// malloc keeps what is freed. Adjacent mappings merge into one kernel
// mapping, so their count stays far below the limit.
constexpr size_t kMappedFrom = size_t{64} << 10;
#endif
constexpr size_t kPage = 4096;
size_t roundUp(size_t bytes, size_t to) { return (bytes + to - 1) / to * to; }
// Faults in a fresh mapping's pages with one call (Linux 5.14 on; an older
// kernel refuses the advice and the pages fault one at a time as before).
// Each first touch of a page is otherwise a page fault, and a fault is
// dear in a virtual machine (an exit to the hypervisor): on a 2-core VM
// they were a fifth of a 2048-token Llama MLP's time (6.9 -> 5.7 s at 1
// host thread, 4.9 -> 3.8 at 2; the 512-token MLP 0.31 -> 0.26 s and
// 0.235 -> 0.205). The pages are cleared on the allocating thread rather
// than by the tiles that first write them; that costs less than the faults.
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
void populate(void *p, size_t length) {
  (void)madvise(p, length, MADV_POPULATE_WRITE);
}
// Open TransientTensorScopes, on any thread.
std::atomic<int> transientScopes{0};
// The block offered to this thread's next allocation (offerNextAllocation).
thread_local void *offeredBlock = nullptr;
thread_local size_t offeredBytes = 0;
} // namespace

size_t kb::runtime::minimumAdoptedBytes() { return kHugePage; }

void kb::runtime::offerNextAllocation(void *p, size_t bytes) {
  offeredBlock = p;
  offeredBytes = bytes;
}

bool kb::runtime::takeBackOffer() {
  bool pending = offeredBlock != nullptr;
  offeredBlock = nullptr;
  return pending;
}

kb::runtime::TransientTensorScope::TransientTensorScope() {
  ++transientScopes;
}
kb::runtime::TransientTensorScope::~TransientTensorScope() {
  --transientScopes;
}

void *kb::runtime::allocateTensorStorage(size_t bytes) {
  if (offeredBlock && bytes == offeredBytes && bytes >= kHugePage) {
    void *p = offeredBlock;
    offeredBlock = nullptr;
    return p;
  }
  void *p = nullptr;
  // Huge pages only for tensors that live long. Not for transient ones: with
  // THP's defrag at "madvise" (Debian's default) a fault on advised memory
  // compacts memory to find a huge page, on every fresh block, and the
  // executor makes and frees thousands (6 of the 13 s of system time of the
  // Llama-2-7B layer on 1024 tokens).
  bool huge = bytes >= kHugePage &&
              transientScopes.load(std::memory_order_relaxed) == 0;
  if (bytes >= kMappedFrom && !huge) {
    // Exactly as long as the tensor: aligning it as below would unmap the
    // slack, and every munmap while another host thread runs interrupts
    // that thread's core to flush its TLB (an exit to the hypervisor in a
    // VM: on the 512-token MLP at 2 host threads, those flushes were 4% of
    // its samples).
    void *mapped = mmap(nullptr, roundUp(bytes, kPage), PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mapped != MAP_FAILED) {
      p = mapped;
      populate(p, roundUp(bytes, kPage));
    }
  } else if (huge) {
    // Mapped directly, 2 MiB-aligned and exactly as long as the tensor (the
    // slack around the alignment is unmapped), and unmapped when freed: malloc
    // would keep freed blocks and raise its mmap threshold, which cost RSS.
    size_t length = roundUp(bytes, kPage);
    void *mapped = mmap(nullptr, length + kHugePage, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mapped != MAP_FAILED) {
      auto begin = reinterpret_cast<uintptr_t>(mapped);
      uintptr_t aligned = roundUp(begin, kHugePage);
      if (aligned != begin)
        munmap(mapped, aligned - begin);
      if (size_t tail = begin + length + kHugePage - (aligned + length))
        munmap(reinterpret_cast<void *>(aligned + length), tail);
      p = reinterpret_cast<void *>(aligned);
      // Advice only: where THP is off, the pages are simply small. The tail
      // past the last whole huge page keeps small pages.
      (void)madvise(p, bytes / kHugePage * kHugePage, MADV_HUGEPAGE);
      populate(p, length);
    }
  } else {
    p = std::calloc(bytes ? bytes : 1, 1);
  }
  // kb-run checks a program's host memory against its limit before it runs,
  // so this is a host out of memory, as for any allocation.
  if (!p)
    llvm::report_bad_alloc_error("kb-run: out of host memory for a tensor");
  return p;
}

void kb::runtime::freeTensorStorage(void *p, size_t bytes) {
  if (bytes >= kMappedFrom) {
    // From the page holding `p`: an adopted file mapping starts at its
    // file's page, before the data (a .npy header).
    // (The system's page, as the mapping was made: munmap rounds the
    // length up itself.)
    static const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
    auto at = reinterpret_cast<uintptr_t>(p);
    uintptr_t start = at / page * page;
    munmap(reinterpret_cast<void *>(start), at - start + bytes);
  } else
    std::free(p);
}

int64_t kb::runtime::checkedNumElements(llvm::ArrayRef<int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0 || __builtin_mul_overflow(n, d, &n))
      return -1;
  }
  return n;
}

int64_t HostTensor::numElements() const { return checkedNumElements(shape); }

void HostTensor::widen() {
  if (!isHalf())
    return;
  data.resize(halves.size());
  halvesToFloats(halves.data(), data.data(), halves.size());
  HalfData().swap(halves);
}

void HostTensor::narrow() {
  if (dtype != DType::F16 || isHalf() || data.empty())
    return;
  halves.resize(data.size());
  for (size_t i = 0; i < data.size(); ++i)
    halves[i] = floatToHalf(data[i]);
  TensorData().swap(data);
}

HostTensor kb::runtime::widened(const HostTensor &t) {
  if (!t.isHalf())
    return t;
  HostTensor w;
  w.dtype = t.dtype;
  w.shape = t.shape;
  w.data.resize(t.halves.size());
  halvesToFloats(t.halves.data(), w.data.data(), t.halves.size());
  return w;
}

HostTensor kb::runtime::makeTensor(DType dtype, llvm::ArrayRef<int64_t> shape) {
  HostTensor t;
  t.dtype = dtype;
  t.shape.assign(shape.begin(), shape.end());
  // Zero as allocated (allocateTensorStorage): resize writes nothing.
  t.data.resize(t.numElements());
  return t;
}

HostTensor kb::runtime::randomTensor(DType dtype, llvm::ArrayRef<int64_t> shape,
                                     uint64_t seed) {
  HostTensor t = makeTensor(dtype, shape);
  // splitmix64: portable and cheap; the top 24 bits make an exact f32 in
  // [0, 1).
  uint64_t state = seed * 0x9e3779b97f4a7c15ull + 0x632be59bd9b4e019ull;
  for (float &v : t.data) {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    v = static_cast<float>(z >> 40) * (1.0f / 16777216.0f) * 2.0f - 1.0f;
  }
  roundBufferToDType(t.data.data(), t.data.size(), dtype);
  return t;
}

std::string kb::runtime::shapeString(llvm::ArrayRef<int64_t> shape) {
  if (shape.empty())
    return "scalar";
  std::string s;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i)
      s += "x";
    s += std::to_string(shape[i]);
  }
  return s;
}
