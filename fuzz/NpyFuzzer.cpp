//===- NpyFuzzer.cpp - libFuzzer target: the .npy reader ------------------===//
//
// kb-run reads user-supplied .npy files; whatever the bytes, the reader must
// return a tensor or an error, never crash or allocate what the header merely
// claims.
//
//===----------------------------------------------------------------------===//

#include "kb/Runtime/Npy.h"

#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef bytes(reinterpret_cast<const char *>(data), size);
  for (std::optional<kb::runtime::DType> expected :
       {std::optional<kb::runtime::DType>(),
        std::optional(kb::runtime::DType::BF16)}) {
    llvm::Expected<kb::runtime::HostTensor> tensor =
        kb::runtime::parseNpy(bytes, "fuzz.npy", expected);
    if (!tensor) {
      llvm::consumeError(tensor.takeError());
      continue;
    }
    // A tensor that parsed must be self-consistent.
    if (static_cast<int64_t>(tensor->data.size()) != tensor->numElements())
      __builtin_trap();
  }
  return 0;
}
