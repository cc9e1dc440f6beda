//===- Embedding.cpp - token-id lookups -----------------------------------===//

#include "kb/Runtime/EmbeddingKernels.h"

#include <algorithm>

using namespace kb::runtime;

std::optional<BadTokenId>
kb::runtime::gatherRows(const float *ids, int64_t rows, const float *table,
                        int64_t ldTable, int64_t tableBase, int64_t ownedBegin,
                        int64_t ownedEnd, int64_t vocabSize, float *out,
                        int64_t ldOut, int64_t cols) {
  for (int64_t i = 0; i < rows; ++i) {
    // Ids are exact integers of magnitude at most 2^24 (kMaxExactInteger).
    auto id = static_cast<int64_t>(ids[i]);
    if (id < 0 || id >= vocabSize || static_cast<float>(id) != ids[i])
      return BadTokenId{i, id};
    float *row = out + i * ldOut;
    if (id >= ownedBegin && id < ownedEnd)
      std::copy_n(table + (id - tableBase) * ldTable, cols, row);
    else
      std::fill_n(row, cols, 0.0f);
  }
  return std::nullopt;
}
