//===- AttentionTest.cpp - causal GQA attention against a double reference ===//

#include "KernelTestSupport.h"
#include "kb/Runtime/TransformerKernels.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <tuple>
#include <vector>

using namespace kb::runtime;
using namespace kb::runtime::testing;

namespace {

struct Case {
  int64_t queries, keys, heads, kvHeads, headDim;
  float spread; // input magnitude: large spreads make scores of ±100
};

class AttentionTest : public ::testing::TestWithParam<std::tuple<DType, Case>> {
};

/// Loops over heads, queries and keys as the formula reads, with the causal
/// limit of query i at position keys − queries + i and the max-subtracted
/// softmax, all in double.
std::vector<double> naiveAttention(const std::vector<float> &q,
                                   const std::vector<float> &k,
                                   const std::vector<float> &v, const Case &c) {
  int64_t qCols = c.heads * c.headDim, kvCols = c.kvHeads * c.headDim;
  std::vector<double> out(c.queries * qCols);
  for (int64_t h = 0; h < c.heads; ++h) {
    int64_t g = h / (c.heads / c.kvHeads);
    for (int64_t i = 0; i < c.queries; ++i) {
      int64_t last = c.keys - c.queries + i;
      std::vector<double> scores(last + 1);
      for (int64_t t = 0; t <= last; ++t) {
        double dot = 0;
        for (int64_t d = 0; d < c.headDim; ++d)
          dot += static_cast<double>(q[i * qCols + h * c.headDim + d]) *
                 k[t * kvCols + g * c.headDim + d];
        scores[t] = dot / std::sqrt(static_cast<double>(c.headDim));
      }
      double m = *std::max_element(scores.begin(), scores.end()), total = 0;
      for (double &s : scores)
        total += (s = std::exp(s - m));
      for (int64_t d = 0; d < c.headDim; ++d) {
        double acc = 0;
        for (int64_t t = 0; t <= last; ++t)
          acc += scores[t] / total * v[t * kvCols + g * c.headDim + d];
        out[i * qCols + h * c.headDim + d] = acc;
      }
    }
  }
  return out;
}

TEST_P(AttentionTest, MatchesDouble) {
  auto [dtype, c] = GetParam();
  int64_t qCols = c.heads * c.headDim, kvCols = c.kvHeads * c.headDim;
  std::vector<float> q = randomValues(dtype, c.queries * qCols, 1, c.spread);
  std::vector<float> k = randomValues(dtype, c.keys * kvCols, 2, c.spread);
  std::vector<float> v = randomValues(dtype, c.keys * kvCols, 3);
  std::vector<float> out(c.queries * qCols, -7.0f);
  causalAttention(dtype, q.data(), k.data(), v.data(), out.data(), c.queries,
                  c.keys, c.heads, c.kvHeads, c.headDim);
  std::vector<double> expected = naiveAttention(q, k, v, c);
  for (size_t i = 0; i < out.size(); ++i) {
    // Outputs are convex combinations of v in [-1, 1]; the f32 scores of
    // magnitude up to spread²·sqrt(hd) carry a relative error of ~1e-6.
    double absolute = 2e-6 * (1 + c.spread * c.spread);
    ASSERT_TRUE(std::isfinite(out[i])) << i;
    EXPECT_NEAR(out[i], expected[i], tolerance(dtype, expected[i], absolute))
        << "element " << i;
    EXPECT_EQ(out[i], roundToDType(out[i], dtype)) << "not rounded at " << i;
  }
}

TEST_P(AttentionTest, LastQueryEqualsADecodeStep) {
  // The last query of a prefill over T keys is decode at position T − 1:
  // one query row against the same T keys.
  auto [dtype, c] = GetParam();
  int64_t qCols = c.heads * c.headDim, kvCols = c.kvHeads * c.headDim;
  std::vector<float> q = randomValues(dtype, c.queries * qCols, 4, c.spread);
  std::vector<float> k = randomValues(dtype, c.keys * kvCols, 5, c.spread);
  std::vector<float> v = randomValues(dtype, c.keys * kvCols, 6);
  std::vector<float> all(c.queries * qCols), one(qCols);
  causalAttention(dtype, q.data(), k.data(), v.data(), all.data(), c.queries,
                  c.keys, c.heads, c.kvHeads, c.headDim);
  causalAttention(dtype, q.data() + (c.queries - 1) * qCols, k.data(), v.data(),
                  one.data(), 1, c.keys, c.heads, c.kvHeads, c.headDim);
  for (int64_t d = 0; d < qCols; ++d) {
    float prefill = all[(c.queries - 1) * qCols + d];
    EXPECT_NEAR(one[d], prefill, tolerance(dtype, prefill, 1e-6)) << d;
  }
}

TEST(AttentionTest, FirstQuerySeesOnlyTheFirstKey) {
  // Causal: in a prefill, query 0 attends to key 0 alone, so its output is
  // v's first row (for its KV head) exactly, whatever the scores.
  int64_t heads = 4, kvHeads = 2, hd = 8, tokens = 5;
  std::vector<float> q = randomValues(DType::F32, tokens * heads * hd, 21);
  std::vector<float> k = randomValues(DType::F32, tokens * kvHeads * hd, 22);
  std::vector<float> v = randomValues(DType::F32, tokens * kvHeads * hd, 23);
  std::vector<float> out(tokens * heads * hd);
  causalAttention(DType::F32, q.data(), k.data(), v.data(), out.data(), tokens,
                  tokens, heads, kvHeads, hd);
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t d = 0; d < hd; ++d)
      EXPECT_EQ(out[h * hd + d], v[(h / 2) * hd + d]) << h << "," << d;
}

TEST(AttentionTest, BlocksOfRowsAndHeadsOnStridedViewsEqualTheWhole) {
  // A device op computes a block of query rows of some heads of one KV head
  // on regions of larger buffers: every such block, placed with its row
  // position, reproduces the whole attention, and leaves the other columns
  // of its output rows untouched.
  for (DType dtype : {DType::F32, DType::F16, DType::BF16}) {
    Case c{7, 11, 4, 2, 6, 1.0f};
    int64_t qCols = c.heads * c.headDim, kvCols = c.kvHeads * c.headDim;
    int64_t group = c.heads / c.kvHeads;
    std::vector<float> q = randomValues(dtype, c.queries * qCols, 41);
    std::vector<float> k = randomValues(dtype, c.keys * kvCols, 42);
    std::vector<float> v = randomValues(dtype, c.keys * kvCols, 43);
    std::vector<double> expected = naiveAttention(q, k, v, c);
    std::vector<float> out(c.queries * qCols, -7.0f);
    for (int64_t h = 0; h < c.heads; h += group)
      for (int64_t first = 0; first < c.queries; first += 3) {
        int64_t rows = std::min<int64_t>(3, c.queries - first);
        int64_t position = c.keys - c.queries + first;
        int64_t g = h / group;
        causalAttentionBlock(
            dtype, q.data() + first * qCols + h * c.headDim, qCols,
            k.data() + g * c.headDim, kvCols, v.data() + g * c.headDim, kvCols,
            out.data() + first * qCols + h * c.headDim, qCols, rows,
            position + rows, group, 1, c.headDim, position);
        // Later rows of these heads and of later heads are not written yet.
        for (int64_t i = first + rows; i < c.queries; ++i)
          for (int64_t d = h * c.headDim; d < qCols; ++d)
            ASSERT_EQ(out[i * qCols + d], -7.0f) << i << "," << d;
      }
    for (size_t i = 0; i < out.size(); ++i)
      EXPECT_NEAR(out[i], expected[i], tolerance(dtype, expected[i], 4e-6))
          << dtypeName(dtype).str() << " element " << i;
  }
}

TEST(AttentionTest, KeysAndValuesInRowPiecesEqualTheWhole) {
  // Keys and values held in row bands of separate buffers (a relay's
  // gathered bands, read where each cube made them), listed out of order:
  // the same attention as the contiguous form, within rounding (the product
  // by v adds band by band); one piece each gives the same bits.
  Case c{6, 11, 2, 1, 8, 1.0f};
  int64_t qCols = c.heads * c.headDim, kvCols = c.kvHeads * c.headDim;
  std::vector<float> q = randomValues(DType::F32, c.queries * qCols, 51);
  std::vector<float> k = randomValues(DType::F32, c.keys * kvCols, 52);
  std::vector<float> v = randomValues(DType::F32, c.keys * kvCols, 53);
  std::vector<double> expected = naiveAttention(q, k, v, c);
  int64_t position = c.keys - c.queries;
  std::vector<float> whole(c.queries * qCols);
  causalAttentionBlock(DType::F32, q.data(), qCols, k.data(), kvCols, v.data(),
                       kvCols, whole.data(), qCols, c.queries, c.keys, c.heads,
                       c.kvHeads, c.headDim, position);
  std::vector<float> single(c.queries * qCols);
  RowPiece kAll{0, c.keys, k.data(), kvCols}, vAll{0, c.keys, v.data(), kvCols};
  causalAttentionBlock(DType::F32, q.data(), qCols, kAll, vAll, single.data(),
                       qCols, c.queries, c.keys, c.heads, c.kvHeads, c.headDim,
                       position);
  EXPECT_EQ(single, whole);
  // Bands of 4, 4 and 3 rows, each copied into a buffer of its own with a
  // wider leading dimension.
  int64_t ld = kvCols + 3;
  std::vector<std::vector<float>> kBands, vBands;
  std::vector<RowPiece> kPieces, vPieces;
  for (int64_t row : {8, 0, 4}) {
    int64_t rows = std::min<int64_t>(4, c.keys - row);
    kBands.emplace_back(rows * ld, 99.0f);
    vBands.emplace_back(rows * ld, 99.0f);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t col = 0; col < kvCols; ++col) {
        kBands.back()[r * ld + col] = k[(row + r) * kvCols + col];
        vBands.back()[r * ld + col] = v[(row + r) * kvCols + col];
      }
    kPieces.push_back({row, rows, kBands.back().data(), ld});
    vPieces.push_back({row, rows, vBands.back().data(), ld});
  }
  std::vector<float> banded(c.queries * qCols);
  causalAttentionBlock(DType::F32, q.data(), qCols, kPieces, vPieces,
                       banded.data(), qCols, c.queries, c.keys, c.heads,
                       c.kvHeads, c.headDim, position);
  for (size_t i = 0; i < banded.size(); ++i) {
    EXPECT_NEAR(banded[i], whole[i], 1e-6) << i;
    EXPECT_NEAR(banded[i], expected[i],
                tolerance(DType::F32, expected[i], 4e-6))
        << i;
  }
}

TEST(AttentionTest, SoftmaxRowSumsToOneAndZeroesTheMaskedTail) {
  for (int64_t cols : {1, 3, 4, 9, 130}) {
    for (int64_t visible : {int64_t(1), (cols + 1) / 2, cols}) {
      std::vector<float> row = randomValues(DType::F32, cols, 30 + cols, 50.0f);
      scaledMaskedSoftmaxRow(row.data(), cols, visible, 0.125f);
      double total = 0;
      for (int64_t c = 0; c < cols; ++c) {
        if (c >= visible) {
          EXPECT_EQ(row[c], 0.0f) << cols << "," << visible << "," << c;
        }
        EXPECT_GE(row[c], 0.0f);
        total += row[c];
      }
      EXPECT_NEAR(total, 1.0, 1e-6) << cols << "," << visible;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, AttentionTest,
    ::testing::Combine(
        ::testing::Values(DType::F32, DType::F16, DType::BF16),
        ::testing::Values(
            Case{1, 1, 1, 1, 2, 1.0f},     // one token
            Case{5, 5, 4, 2, 6, 1.0f},     // GQA prefill, odd sizes
            Case{7, 7, 3, 3, 16, 1.0f},    // MHA
            Case{13, 13, 8, 1, 32, 1.0f},  // multi-query
            Case{1, 65, 8, 2, 64, 1.0f},   // decode at P = 64
            Case{1, 19, 4, 4, 10, 1.0f},   // decode at P = 18
            Case{3, 10, 6, 3, 10, 1.0f},   // three new tokens after seven
            Case{9, 9, 2, 1, 12, 6.0f},    // scores of about ±100
            Case{300, 300, 2, 1, 8, 1.0f}, // groups of 2: blocks of 128 rows
            Case{257, 270, 2, 2, 4, 1.0f}, // a block of one row, after 13
            Case{200, 200, 6, 2, 4, 1.0f}, // groups of 3: blocks of 85 rows
            Case{2, 3, 600, 2, 2, 1.0f},   // 300 heads a group: 2 blocks
            Case{300, 20000, 1, 1, 2, 1.0f})), // 209 rows of 20000 keys
    [](const auto &info) {
      DType dtype = std::get<0>(info.param);
      const auto &c = std::get<1>(info.param);
      return dtypeName(dtype).str() + "_S" + std::to_string(c.queries) + "_T" +
             std::to_string(c.keys) + "_h" + std::to_string(c.heads) + "_kv" +
             std::to_string(c.kvHeads) + "_hd" + std::to_string(c.headDim) +
             "_spread" + std::to_string(static_cast<int>(c.spread));
    });

} // namespace
