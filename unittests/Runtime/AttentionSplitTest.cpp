//===- AttentionSplitTest.cpp - key-range partials and their combine ------===//
//
// attentionPartialBlock against its float64 formula (m, l and the
// unnormalized o of a key range, causal), attentionCombine against the
// float64 merge, and partials plus combine against whole attention.
//
//===----------------------------------------------------------------------===//

#include "KernelTestSupport.h"
#include "kb/Runtime/TransformerKernels.h"

#include "gtest/gtest.h"

#include <cmath>
#include <limits>
#include <vector>

using namespace kb::runtime;
using namespace kb::runtime::testing;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

/// [o (hd), m, l] of one stacked row in float64 by the formula: the keys
/// keyBegin + t <= position of the range, s_t = q·k_t / sqrt(hd).
std::vector<double> partialRow(const float *q, const float *k, int64_t ldk,
                               const float *v, int64_t ldv, int64_t keys,
                               int64_t hd, int64_t position,
                               int64_t keyBegin) {
  std::vector<double> row(hd + 2, 0.0);
  std::vector<double> s;
  for (int64_t t = 0; t < keys && keyBegin + t <= position; ++t) {
    double dot = 0;
    for (int64_t d = 0; d < hd; ++d)
      dot += static_cast<double>(q[d]) * k[t * ldk + d];
    s.push_back(dot / std::sqrt(static_cast<double>(hd)));
  }
  double m = -kInf;
  for (double x : s)
    m = std::max(m, x);
  row[hd] = m;
  for (size_t t = 0; t < s.size(); ++t) {
    double e = std::exp(s[t] - m);
    row[hd + 1] += e;
    for (int64_t d = 0; d < hd; ++d)
      row[d] += e * v[t * ldv + d];
  }
  return row;
}

struct PartialCase {
  int64_t queries, keys, heads, hd, position, keyBegin;
};

class AttentionPartialTest : public ::testing::TestWithParam<PartialCase> {};

TEST_P(AttentionPartialTest, MatchesDouble) {
  PartialCase c = GetParam();
  int64_t ldq = c.heads * c.hd + 3, ldkv = c.hd + 5, ldp = c.hd + 2 + 1;
  std::vector<float> q = randomValues(DType::F32, c.queries * ldq, 1, 2.0f);
  std::vector<float> k = randomValues(DType::F32, c.keys * ldkv, 2, 2.0f);
  std::vector<float> v = randomValues(DType::F32, c.keys * ldkv, 3);
  std::vector<float> p(c.heads * c.queries * ldp, -7.0f);
  attentionPartialBlock(q.data(), ldq, k.data(), ldkv, v.data(), ldkv,
                        p.data(), ldp, c.queries, c.keys, c.heads, c.hd,
                        c.position, c.keyBegin);
  for (int64_t j = 0; j < c.heads; ++j)
    for (int64_t i = 0; i < c.queries; ++i) {
      std::vector<double> want =
          partialRow(q.data() + i * ldq + j * c.hd, k.data(), ldkv, v.data(),
                     ldkv, c.keys, c.hd, c.position + i, c.keyBegin);
      const float *got = p.data() + (j * c.queries + i) * ldp;
      if (want[c.hd] == -kInf) {
        // A row that sees none of the range.
        EXPECT_EQ(got[c.hd], -std::numeric_limits<float>::infinity());
        EXPECT_EQ(got[c.hd + 1], 0.0f);
        for (int64_t d = 0; d < c.hd; ++d)
          EXPECT_EQ(got[d], 0.0f) << d;
      } else {
        EXPECT_NEAR(got[c.hd], want[c.hd], 1e-5 * (1 + std::fabs(want[c.hd])));
        EXPECT_NEAR(got[c.hd + 1], want[c.hd + 1], 1e-5 * want[c.hd + 1]);
        for (int64_t d = 0; d < c.hd; ++d)
          EXPECT_NEAR(got[d], want[d], 1e-5 * want[c.hd + 1]) << d;
      }
      // The column past the row is not touched.
      EXPECT_EQ(got[c.hd + 2], -7.0f);
    }
}

INSTANTIATE_TEST_SUITE_P(
    Ranges, AttentionPartialTest,
    ::testing::Values(
        // Decode: one query at 999 against the range [500, 1000).
        PartialCase{1, 500, 4, 16, 999, 500},
        // One key.
        PartialCase{1, 1, 2, 8, 0, 0},
        // A range entirely after the first query rows' positions: rows 0
        // and 1 (positions 8, 9) see none of [10, 14), rows 2.. see some.
        PartialCase{5, 4, 2, 8, 8, 10},
        // head_dim not a multiple of the vector width, odd range.
        PartialCase{3, 37, 3, 7, 60, 24}));

TEST(AttentionCombineTest, MatchesTheDoubleMerge) {
  // Three partials of two heads × two rows, one with m = −inf (a range the
  // row does not see), hand-set: the combine is Σ w_s o_s / Σ w_s l_s.
  int64_t splits = 3, heads = 2, rows = 2, hd = 5, stacked = heads * rows;
  int64_t ldp = hd + 2, ldo = heads * hd + 1;
  std::vector<float> p = randomValues(DType::F32, splits * stacked * ldp, 9);
  for (int64_t s = 0; s < splits; ++s)
    for (int64_t r = 0; r < stacked; ++r) {
      float *row = p.data() + (s * stacked + r) * ldp;
      row[hd] = 3.0f * s - 2.0f * r;                // m
      row[hd + 1] = 1.0f + 0.5f * s + 0.25f * r;     // l
    }
  float *masked = p.data() + (2 * stacked + 1) * ldp;
  masked[hd] = -std::numeric_limits<float>::infinity();
  masked[hd + 1] = 0.0f;
  for (int64_t d = 0; d < hd; ++d)
    masked[d] = 0.0f;
  for (DType dtype : {DType::F32, DType::BF16}) {
    std::vector<float> out(rows * ldo, -7.0f);
    attentionCombine(dtype, p.data(), ldp, splits, rows, heads, hd, out.data(),
                     ldo);
    for (int64_t r = 0; r < stacked; ++r) {
      int64_t j = r / rows, i = r % rows;
      double m = -kInf;
      for (int64_t s = 0; s < splits; ++s)
        m = std::max<double>(m, p[(s * stacked + r) * ldp + hd]);
      double total = 0;
      std::vector<double> acc(hd, 0.0);
      for (int64_t s = 0; s < splits; ++s) {
        const float *row = p.data() + (s * stacked + r) * ldp;
        double w = row[hd] == -std::numeric_limits<float>::infinity()
                       ? 0.0
                       : std::exp(static_cast<double>(row[hd]) - m);
        total += w * row[hd + 1];
        for (int64_t d = 0; d < hd; ++d)
          acc[d] += w * row[d];
      }
      for (int64_t d = 0; d < hd; ++d) {
        float got = out[i * ldo + j * hd + d];
        EXPECT_NEAR(got, acc[d] / total, tolerance(dtype, acc[d] / total, 1e-6))
            << r << "," << d;
        EXPECT_EQ(got, roundToDType(got, dtype));
      }
    }
    for (int64_t i = 0; i < rows; ++i)
      EXPECT_EQ(out[i * ldo + heads * hd], -7.0f) << "column past the heads";
  }
}

TEST(AttentionCombineTest, RowThatNoSplitSeesIsZero) {
  int64_t hd = 4;
  std::vector<float> p(2 * (hd + 2), 0.0f);
  p[hd] = p[(hd + 2) + hd] = -std::numeric_limits<float>::infinity();
  std::vector<float> out(hd, -7.0f);
  attentionCombine(DType::F32, p.data(), hd + 2, 2, 1, 1, hd, out.data(), hd);
  for (float x : out)
    EXPECT_EQ(x, 0.0f);
}

TEST(AttentionSplitTest, PartialsAndCombineEqualWholeAttention) {
  // Prefill rows and decode, keys cut into uneven ranges, f16 and f32:
  // the partials merged equal causalAttentionBlock over all keys to f32
  // rounding (then one rounding to the dtype).
  for (DType dtype : {DType::F32, DType::F16}) {
    for (int64_t queries : {1, 4}) {
      int64_t heads = 3, hd = 12, keys = 203, position = keys - queries;
      int64_t ld = heads * hd;
      std::vector<float> q = randomValues(dtype, queries * ld, 31, 1.5f);
      std::vector<float> k = randomValues(dtype, keys * hd, 32, 1.5f);
      std::vector<float> v = randomValues(dtype, keys * hd, 33);
      std::vector<float> whole(queries * ld), split(queries * ld);
      causalAttentionBlock(dtype, q.data(), ld, k.data(), hd, v.data(), hd,
                           whole.data(), ld, queries, keys, heads, 1, hd,
                           position);
      std::vector<int64_t> bounds{0, 50, 51, 150, keys};
      int64_t splits = bounds.size() - 1, stacked = heads * queries;
      std::vector<float> p(splits * stacked * (hd + 2));
      for (int64_t s = 0; s < splits; ++s)
        attentionPartialBlock(q.data(), ld, k.data() + bounds[s] * hd, hd,
                              v.data() + bounds[s] * hd, hd,
                              p.data() + s * stacked * (hd + 2), hd + 2,
                              queries, bounds[s + 1] - bounds[s], heads, hd,
                              position, bounds[s]);
      attentionCombine(dtype, p.data(), hd + 2, splits, queries, heads, hd,
                       split.data(), ld);
      for (size_t i = 0; i < whole.size(); ++i)
        EXPECT_NEAR(split[i], whole[i], tolerance(dtype, whole[i], 1e-5))
            << "element " << i << " of " << queries << " queries";
    }
  }
}

} // namespace
