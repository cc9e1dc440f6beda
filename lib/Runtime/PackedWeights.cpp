//===- PackedWeights.cpp - constant B blocks packed once per run ----------===//

#include "kb/Runtime/PackedWeights.h"

#include "kb/Runtime/HostTensor.h"

using namespace kb::runtime;

PackedWeights::Entry::~Entry() {
  if (data)
    freeTensorStorage(data, bytes);
}

const void *PackedWeights::get(const Key &key, size_t bytes,
                               llvm::function_ref<void(void *)> pack) {
  Entry *entry;
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = entries.find(key);
    if (it == entries.end()) {
      if (bytes > byteLimit - std::min(byteLimit, heldBytes))
        return nullptr;
      heldBytes += bytes;
      it = entries.emplace(key, std::make_unique<Entry>()).first;
      // As a tensor's storage: mapped, faulted in with one call and in huge
      // pages where it is large (a weight block's panels are MBs, written
      // once: a page fault per 4 KiB cost more than the packing saved).
      it->second->bytes = bytes;
      it->second->data = allocateTensorStorage(bytes);
    }
    entry = it->second.get();
  }
  // The map only grows while the cache lives, so the entry stays put
  // outside the lock; the packing runs once, others wait for it here.
  bool packedHere = false;
  std::call_once(entry->packed, [&] {
    pack(entry->data);
    packedHere = true;
  });
  ++(packedHere ? packCount : hitCount);
  return entry->data;
}

size_t PackedWeights::bytes() const {
  std::lock_guard<std::mutex> lock(mutex);
  return heldBytes;
}
