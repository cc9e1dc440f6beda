//===- ByteArithmetic.cpp - byte counts that cannot wrap ------------------===//

#include "kb/Device/ByteArithmetic.h"

#include "llvm/Support/MathExtras.h"

#include <limits>

using namespace kb;

std::optional<int64_t> kb::checkedByteSize(llvm::ArrayRef<int64_t> shape,
                                           int64_t elementBytes) {
  int64_t bytes = elementBytes;
  for (int64_t s : shape)
    if (s < 0 || llvm::MulOverflow(bytes, s, bytes))
      return std::nullopt;
  return bytes;
}

int64_t kb::saturatingAdd(int64_t a, int64_t b) {
  int64_t r;
  return llvm::AddOverflow(a, b, r) ? std::numeric_limits<int64_t>::max() : r;
}

int64_t kb::saturatingMul(int64_t a, int64_t b) {
  int64_t r;
  return llvm::MulOverflow(a, b, r) ? std::numeric_limits<int64_t>::max() : r;
}

std::string kb::byteCountText(int64_t bytes) {
  return bytes == std::numeric_limits<int64_t>::max() ? "more than 2^63 - 1"
                                                      : std::to_string(bytes);
}
