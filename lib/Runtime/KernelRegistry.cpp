//===- KernelRegistry.cpp - row kernels by name ---------------------------===//
//
// Where a row op's `kernel` name meets its host code: kb-run looks the kernel
// of every gemm_tile row op (a norm, rope) up here, so a new row op needs a
// kernel and a row below, and no executor code. The elementwise kernels are
// registered beside their definitions, in Elementwise.cpp.
//
//===----------------------------------------------------------------------===//

#include "kb/Runtime/Kernels.h"
#include "kb/Runtime/TransformerKernels.h"

#include "llvm/ADT/STLExtras.h"

using namespace kb::runtime;

namespace {

// The row kernels in the registry's one signature: the params are the
// device op's attributes (GemmTileRowOps.cpp's getHostKernel).
void rmsNormRows(DType dtype, const float *in,
                 llvm::ArrayRef<const float *> vectors, float *out,
                 int64_t rows, int64_t cols, llvm::ArrayRef<double> params) {
  rmsNorm(dtype, in, vectors[0], out, rows, cols,
          static_cast<float>(params[0]));
}
void layerNormRows(DType dtype, const float *in,
                   llvm::ArrayRef<const float *> vectors, float *out,
                   int64_t rows, int64_t cols, llvm::ArrayRef<double> params) {
  layerNorm(dtype, in, vectors[0], vectors[1], out, rows, cols,
            static_cast<float>(params[0]));
}
/// params: head_dim, the position of the first row, theta.
void ropeRows(DType dtype, const float *in, llvm::ArrayRef<const float *>,
              float *out, int64_t rows, int64_t cols,
              llvm::ArrayRef<double> params) {
  int64_t headDim = static_cast<int64_t>(params[0]);
  rope(dtype, in, out, rows, cols / headDim, headDim,
       static_cast<int64_t>(params[1]), params[2]);
}

struct RowEntry {
  llvm::StringLiteral name;
  RowKernelInfo info;
};
constexpr RowEntry kRowKernels[] = {
    {"rms_norm", {rmsNormRows, 1, 1, -1}},
    {"layer_norm", {layerNormRows, 2, 1, -1}},
    {"rope", {ropeRows, 0, 3, 1}},
};
} // namespace

const RowKernelInfo *kb::runtime::lookupRowKernel(llvm::StringRef name) {
  const RowEntry *it = llvm::find_if(
      kRowKernels, [&](const RowEntry &e) { return e.name == name; });
  return it == std::end(kRowKernels) ? nullptr : &it->info;
}
