//===- Rope.cpp - rotary position embedding -------------------------------===//

#include "kb/Runtime/TransformerKernels.h"

#include <cmath>
#include <vector>

using namespace kb::runtime;

namespace {
/// Positions up to this are read from the thread's AngleTable; later ones
/// are computed per call (a table reaching them would be MBs per thread).
constexpr int64_t kTabledPositions = 8192;

/// The cosines and sines of positions [0, n) for one (θ, head dim): position
/// p's d/2 of each at [p · d/2, (p + 1) · d/2), computed as rope computes
/// them. One per thread, extended as asked: every tile and every rank that
/// rotates the same positions computed them again (the 2048-token Llama-2-7B
/// layer's q and k tiles on 8 ranks: 2% of its run was sin and cos).
struct AngleTable {
  double theta = 0;
  int64_t headDim = 0;
  std::vector<float> cosines, sines;
};
} // namespace

void kb::runtime::rope(DType dtype, const float *in, float *out, int64_t rows,
                       int64_t numHeads, int64_t headDim,
                       int64_t positionOffset, double theta) {
  int64_t half = headDim / 2, cols = numHeads * headDim;
  if (cols == 0) // no angle is needed, however many rows
    return;
  std::vector<double> invFreq(half);
  for (int64_t i = 0; i < half; ++i)
    invFreq[i] = std::pow(theta, -2.0 * i / headDim);
  // A position's cosines and sines, shared by its heads. In f64: an f32
  // angle at position 4096 is already off by about 2e-4 rad.
  auto angles = [&](int64_t position, float *cosines, float *sines) {
    for (int64_t i = 0; i < half; ++i) {
      double angle = static_cast<double>(position) * invFreq[i];
      cosines[i] = static_cast<float>(std::cos(angle));
      sines[i] = static_cast<float>(std::sin(angle));
    }
  };
  thread_local AngleTable table;
  bool tabled = half > 0 && positionOffset >= 0 &&
                positionOffset <= kTabledPositions - rows;
  if (tabled) {
    if (table.theta != theta || table.headDim != headDim)
      table = AngleTable{theta, headDim, {}, {}};
    int64_t have = static_cast<int64_t>(table.cosines.size()) / half,
            need = positionOffset + rows;
    if (have < need) {
      table.cosines.resize(need * half);
      table.sines.resize(need * half);
      for (int64_t p = have; p < need; ++p)
        angles(p, table.cosines.data() + p * half,
               table.sines.data() + p * half);
    }
  }
  std::vector<float> rowCosines(tabled ? 0 : half), rowSines(tabled ? 0 : half);
  for (int64_t r = 0; r < rows; ++r) {
    const float *cosines = rowCosines.data(), *sines = rowSines.data();
    if (tabled) {
      cosines = table.cosines.data() + (positionOffset + r) * half;
      sines = table.sines.data() + (positionOffset + r) * half;
    } else {
      angles(positionOffset + r, rowCosines.data(), rowSines.data());
    }
    for (int64_t h = 0; h < numHeads; ++h) {
      const float *x = in + r * cols + h * headDim;
      float *y = out + r * cols + h * headDim;
      // Independent lanes: the compiler vectorizes this loop. Both halves
      // are read before either is written, so `out` may be `in`.
      for (int64_t i = 0; i < half; ++i) {
        float lo = x[i], hi = x[i + half];
        y[i] = lo * cosines[i] - hi * sines[i];
        y[i + half] = hi * cosines[i] + lo * sines[i];
      }
    }
    roundBufferToDType(out + r * cols, cols, dtype);
  }
}
