//===- RegionKernelsTest.cpp - elementwise work on regions in place -------===//

#include "kb/Executor/RegionKernels.h"
#include "kb/Runtime/TransformerKernels.h"

#include "gtest/gtest.h"

#include <cmath>
#include <vector>

using namespace kb;
using namespace kb::exec;
using runtime::DType;
using runtime::HostTensor;

namespace {

/// The f64 value of element (i, j) of `t` (2-D).
double at(const HostTensor &t, int64_t i, int64_t j) {
  return t.data[i * t.shape[1] + j];
}

double siluOf(double x) { return x / (1 + std::exp(-x)); }

/// A 12 x 20 region of a 16 x 24 tensor, at (3, 2): rows 24 apart.
TEST(RegionKernelsTest, MapOnAStridedRegionMatchesDoubles) {
  HostTensor in = runtime::randomTensor(DType::F32, {16, 24}, 1);
  HostTensor out = runtime::randomTensor(DType::F32, {20, 30}, 2);
  HostTensor before = out;
  mapRegion(runtime::lookupMapKernel("silu"), 0.5f, in, {3, 2}, out, {5, 7},
            {12, 20});
  for (int64_t i = 0; i < 20; ++i)
    for (int64_t j = 0; j < 30; ++j) {
      bool inside = i >= 5 && i < 17 && j >= 7 && j < 27;
      double expected =
          inside ? 0.5 * siluOf(at(in, i - 5 + 3, j - 7 + 2)) : at(before, i, j);
      ASSERT_NEAR(at(out, i, j), expected, 1e-6 * (1 + std::abs(expected)))
          << i << "," << j;
    }
}

/// The same region in place, rounded to f16 as the output's dtype asks.
TEST(RegionKernelsTest, MapInPlaceRoundsToTheOutputsDType) {
  HostTensor t = runtime::randomTensor(DType::F16, {10, 40}, 3);
  HostTensor before = t;
  mapRegion(runtime::lookupMapKernel("silu"), 1.0f, t, {2, 8}, t, {2, 8},
            {6, 24});
  for (int64_t i = 0; i < 10; ++i)
    for (int64_t j = 0; j < 40; ++j) {
      bool inside = i >= 2 && i < 8 && j >= 8 && j < 32;
      double x = at(before, i, j);
      double expected = inside ? siluOf(x) : x;
      ASSERT_NEAR(at(t, i, j), expected, 1e-3 * (1 + std::abs(expected)))
          << i << "," << j;
      if (inside) {
        ASSERT_EQ(static_cast<float>(at(t, i, j)),
                  runtime::roundToDType(static_cast<float>(at(t, i, j)),
                                        DType::F16));
      }
    }
}

/// Overlapping regions of one tensor that are not the same region: the
/// result is that of reading the whole input first.
TEST(RegionKernelsTest, OverlappingRegionsReadTheInputBeforeWriting) {
  HostTensor t = runtime::randomTensor(DType::F32, {12, 8}, 4);
  HostTensor before = t;
  mapRegion(runtime::lookupMapKernel("silu"), 1.0f, t, {0, 0}, t, {2, 0},
            {8, 8});
  for (int64_t i = 2; i < 10; ++i)
    for (int64_t j = 0; j < 8; ++j)
      ASSERT_NEAR(at(t, i, j), siluOf(at(before, i - 2, j)), 1e-6)
          << i << "," << j;
}

/// A product of two strided regions into a third tensor, and a bias row
/// added to every row of a region in place, against doubles.
TEST(RegionKernelsTest, ZipOfRegionsAndABiasRowMatchDoubles) {
  HostTensor lhs = runtime::randomTensor(DType::F32, {9, 33}, 5);
  HostTensor rhs = runtime::randomTensor(DType::F32, {14, 21}, 6);
  HostTensor out = runtime::makeTensor(DType::F32, {8, 20});
  zipRegion(runtime::lookupZipKernel("mul"), lhs, {1, 4}, rhs, {5, 1}, {7, 17},
            out, {1, 2}, {7, 17});
  for (int64_t i = 0; i < 8; ++i)
    for (int64_t j = 0; j < 20; ++j) {
      bool inside = i >= 1 && j >= 2 && j < 19;
      double expected = inside ? at(lhs, i - 1 + 1, j - 2 + 4) *
                                     at(rhs, i - 1 + 5, j - 2 + 1)
                               : 0.0;
      ASSERT_NEAR(at(out, i, j), expected, 1e-6) << i << "," << j;
    }
  HostTensor bias = runtime::randomTensor(DType::F32, {3, 10}, 7);
  HostTensor before = lhs;
  zipRegion(runtime::lookupZipKernel("add"), lhs, {2, 5}, bias, {1, 0}, {1, 10},
            lhs, {2, 5}, {6, 10});
  for (int64_t i = 0; i < 9; ++i)
    for (int64_t j = 0; j < 33; ++j) {
      bool inside = i >= 2 && i < 8 && j >= 5 && j < 15;
      double expected =
          at(before, i, j) + (inside ? at(bias, 1, j - 5) : 0.0);
      ASSERT_NEAR(at(lhs, i, j), expected, 1e-6) << i << "," << j;
    }
}

/// A copy between regions, from a half tensor widened as it goes.
TEST(RegionKernelsTest, CopyRegionWidensAHalfSource) {
  HostTensor wide = runtime::randomTensor(DType::F16, {6, 50}, 8);
  HostTensor half = wide;
  half.narrow();
  HostTensor out = runtime::makeTensor(DType::F16, {5, 7});
  copyRegion(half, {2, 40}, out, {1, 1}, {4, 6});
  for (int64_t i = 0; i < 5; ++i)
    for (int64_t j = 0; j < 7; ++j)
      ASSERT_EQ(at(out, i, j),
                i >= 1 && j >= 1 ? at(wide, i - 1 + 2, j - 1 + 40) : 0.0)
          << i << "," << j;
}

/// A row kernel on regions where they lie gives, bit for bit, what the
/// kernel gives on a dense copy of the rows: full rows (read in place),
/// part of each row (through the thread's block) and in place, with the
/// weight read from its offset in a longer vector. Rope's first position
/// is its parameter, so its rows are not renumbered.
TEST(RegionKernelsTest, RowKernelsOnRegionsMatchTheKernelOnACopy) {
  HostTensor in = runtime::randomTensor(DType::F16, {12, 64}, 5);
  HostTensor weight = runtime::randomTensor(DType::F32, {80}, 6);
  const runtime::RowKernelInfo *norm = runtime::lookupRowKernel("rms_norm");
  const runtime::RowKernelInfo *rope = runtime::lookupRowKernel("rope");
  ASSERT_TRUE(norm && rope);
  // (from, to, sizes) of a 12 x 64 input in a 16 x 64 output.
  struct Case {
    int64_t fromRow, fromCol, toRow, toCol, rows, cols;
  };
  for (Case c : {Case{2, 0, 3, 0, 8, 64}, Case{1, 16, 5, 32, 6, 32},
                 Case{4, 0, 0, 0, 1, 64}}) {
    for (bool isNorm : {true, false}) {
      const runtime::RowKernelInfo *kernel = isNorm ? norm : rope;
      llvm::SmallVector<double, 3> params;
      if (isNorm)
        params = {1e-5};
      else
        params = {16, 7, 10000.0};
      HostTensor out = runtime::randomTensor(DType::F16, {16, 64}, 7);
      HostTensor expected = out;
      std::vector<float> rows(c.rows * c.cols), result(c.rows * c.cols);
      for (int64_t i = 0; i < c.rows; ++i)
        for (int64_t j = 0; j < c.cols; ++j)
          rows[i * c.cols + j] = at(in, c.fromRow + i, c.fromCol + j);
      kernel->kernel(DType::F16, rows.data(), {weight.data.data() + 9},
                     result.data(), c.rows, c.cols, params);
      for (int64_t i = 0; i < c.rows; ++i)
        for (int64_t j = 0; j < c.cols; ++j)
          expected.data[(c.toRow + i) * 64 + c.toCol + j] =
              result[i * c.cols + j];
      llvm::SmallVector<int64_t, 2> offsets{9}, sizes{c.cols};
      RowVector vector{&weight, offsets, sizes};
      llvm::ArrayRef<RowVector> vectors =
          isNorm ? llvm::ArrayRef<RowVector>(vector)
                 : llvm::ArrayRef<RowVector>();
      rowRegion(kernel->kernel, params, in, {c.fromRow, c.fromCol}, vectors,
                out, {c.toRow, c.toCol}, {c.rows, c.cols});
      ASSERT_EQ(out.data, expected.data) << c.fromCol << " " << isNorm;
      // In place: the input's own region.
      HostTensor self = in;
      HostTensor selfExpected = in;
      for (int64_t i = 0; i < c.rows; ++i)
        for (int64_t j = 0; j < c.cols; ++j)
          selfExpected.data[(c.fromRow + i) * 64 + c.fromCol + j] =
              result[i * c.cols + j];
      rowRegion(kernel->kernel, params, self, {c.fromRow, c.fromCol}, vectors,
                self, {c.fromRow, c.fromCol}, {c.rows, c.cols});
      ASSERT_EQ(self.data, selfExpected.data) << c.fromCol << " " << isNorm;
    }
  }
}

} // namespace
