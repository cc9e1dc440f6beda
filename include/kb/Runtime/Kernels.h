//===- Kernels.h - host compute kernels -------------------------*- C++ -*-===//
//
// The arithmetic behind kb-run: one f32 gemm (the device accumulates in f32;
// f16/bf16 values are exact in f32) and the elementwise ops. The gemm is a
// packed, cache-blocked kernel with an AVX-512 or AVX2 register tile chosen
// at run time.
//
//===----------------------------------------------------------------------===//

#ifndef KB_RUNTIME_KERNELS_H
#define KB_RUNTIME_KERNELS_H

#include "kb/Runtime/DType.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace kb::runtime {
class PackedWeights;

/// C[m×n] = (accumulate ? C : 0) + A[m×k] · B[k×n], row-major with leading
/// dimensions lda, ldb, ldc, accumulating in f32.
void gemm(const float *a, int64_t lda, const float *b, int64_t ldb, float *c,
          int64_t ldc, int64_t m, int64_t n, int64_t k, bool accumulate);
/// The same with B held as f16 bits (an f16 weight kept 16-bit on the host):
/// each element is widened to f32 (exactly) as the kernel reads it, in B's
/// packing or, for few rows of A, as B streams. The sums are those of the f32
/// gemm on the widened B.
void gemm(const float *a, int64_t lda, const uint16_t *b, int64_t ldb, float *c,
          int64_t ldc, int64_t m, int64_t n, int64_t k, bool accumulate);

/// One block of columns of a product whose A other blocks share
/// (gemmColumns): B's columns (f32 `b`, or f16 bits `halfB`; ldb), C's (ldc),
/// n of them.
struct GemmColumns {
  const float *b = nullptr;
  const uint16_t *halfB = nullptr;
  int64_t ldb = 0;
  float *c = nullptr;
  int64_t ldc = 0;
  int64_t n = 0;
};
/// For each block s of cols[0 : count] (all f32 B or all f16 B):
/// C_s = (accumulate ? C_s : 0) + A[m×k] · B_s, bit for bit what gemm gives
/// for the block alone; A is read, or packed, once for all of them. With
/// `weights`, the blocks' B must not change while it lives: a product of
/// few rows takes their packed panels from it (packing them on first use).
void gemmColumns(const float *a, int64_t lda, const GemmColumns *cols,
                 int64_t count, int64_t m, int64_t k, bool accumulate,
                 PackedWeights *weights = nullptr);

/// Products of at most this many rows of A take the unpacked, B-streaming
/// kernel (a matrix-vector product per row group), more the packed one.
constexpr int64_t kGemvMaxRows = 8;

/// The register-tile variants of gemm; gemm uses the best the CPU has.
enum class GemmKernel { Portable, AVX2, AVX512 };
/// Whether this CPU can run `kernel`.
bool gemmKernelSupported(GemmKernel kernel);
/// gemm with a given variant (tests cover every variant the host supports).
void gemmWith(GemmKernel kernel, const float *a, int64_t lda, const float *b,
              int64_t ldb, float *c, int64_t ldc, int64_t m, int64_t n,
              int64_t k, bool accumulate);
void gemmWith(GemmKernel kernel, const float *a, int64_t lda,
              const uint16_t *b, int64_t ldb, float *c, int64_t ldc, int64_t m,
              int64_t n, int64_t k, bool accumulate);
/// gemmColumns with the given variant (which the CPU must support).
void gemmColumnsWith(GemmKernel kernel, const float *a, int64_t lda,
                     const GemmColumns *cols, int64_t count, int64_t m,
                     int64_t k, bool accumulate,
                     PackedWeights *weights = nullptr);

/// out = 0.5·x·(1 + tanh(y)) with y = √(2/π)·(x + 0.044715·x³), in f32,
/// computed as x / (1 + e^(-2y)).
void geluTanh(const float *in, float *out, size_t n);

/// out = x / (1 + e^-x) (SiLU, x · sigmoid(x)), in f32.
void silu(const float *in, float *out, size_t n);

/// out = in (a region copied, e.g. before it is scaled).
void copy(const float *in, float *out, size_t n);

/// dst *= src, elementwise.
void mulInPlace(float *dst, const float *src, size_t n);

/// dst[r][c] *= row[c].
void mulRows(float *dst, const float *row, int64_t rows, int64_t cols);

/// dst += src.
void addInPlace(float *dst, const float *src, size_t n);

/// dst[r][c] += bias[c].
void addBiasRows(float *dst, const float *bias, int64_t rows, int64_t cols);

enum class ReduceOp { Sum = 0, Max = 1, Min = 2 };
/// dst = op(dst, src), elementwise.
void reduceInto(float *dst, const float *src, size_t n, ReduceOp op);

/// data *= factor.
void scale(float *data, size_t n, float factor);

/// An elementwise kernel of one input: out[i] = f(in[i]); `in` may be `out`.
using MapKernel = void (*)(const float *in, float *out, size_t n);
/// An elementwise kernel of two inputs, in place: dst[i] = f(dst[i], src[i]).
using ZipKernel = void (*)(float *dst, const float *src, size_t n);

/// The kernels gemm_tile.map and gemm_tile.zip name (their `kernel`), or
/// nullptr for a name no kernel has; registered in Elementwise.cpp.
MapKernel lookupMapKernel(llvm::StringRef name);
ZipKernel lookupZipKernel(llvm::StringRef name);
/// Every registered name, in registration order (for messages).
llvm::SmallVector<llvm::StringRef> mapKernelNames();
llvm::SmallVector<llvm::StringRef> zipKernelNames();

/// A kernel over whole rows (a norm, rope): out = f(in) for a rows × cols
/// row-major region, with `vectors` of `cols` elements each (a weight, a
/// bias) and the kernel's numbers `params`, rounded to `dtype`. `out` may be
/// `in`.
using RowKernel = void (*)(DType dtype, const float *in,
                           llvm::ArrayRef<const float *> vectors, float *out,
                           int64_t rows, int64_t cols,
                           llvm::ArrayRef<double> params);
/// A row kernel with the number of vectors and params it takes.
struct RowKernelInfo {
  RowKernel kernel;
  unsigned vectors, params;
  /// The param that is the first row's position, for a kernel whose rows
  /// differ by position (rope); -1 if every row is computed alike. A band
  /// of rows is then computed apart as a region's rows are together, the
  /// position moved by the band's first row.
  int positionParam = -1;
};
/// The row kernels gemm_tile's row ops name (GemmTileRowOps.td's host
/// kernels: rms_norm, layer_norm, rope), or nullptr.
const RowKernelInfo *lookupRowKernel(llvm::StringRef name);

/// GFLOP/s of gemm on m×n×k (best of `repeats` runs).
double measureGemmGflops(int64_t m, int64_t n, int64_t k, int repeats);

} // namespace kb::runtime

#endif // KB_RUNTIME_KERNELS_H
