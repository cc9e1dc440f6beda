//===- HostTensor.cpp - a tensor in host memory ---------------------------===//

#include "kb/Runtime/HostTensor.h"

using namespace kb::runtime;

int64_t kb::runtime::checkedNumElements(llvm::ArrayRef<int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0 || __builtin_mul_overflow(n, d, &n))
      return -1;
  }
  return n;
}

int64_t HostTensor::numElements() const { return checkedNumElements(shape); }

HostTensor kb::runtime::makeTensor(DType dtype, llvm::ArrayRef<int64_t> shape) {
  HostTensor t;
  t.dtype = dtype;
  t.shape.assign(shape.begin(), shape.end());
  t.data.assign(t.numElements(), 0.0f);
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
