//===- EmbeddingKernels.h - token-id lookups --------------------*- C++ -*-===//
//
// The host kernel of a vocabulary-parallel embedding: rows of a table
// gathered by token id, Megatron's VocabParallelEmbedding on one rank. Ids
// arrive as exact f32 integers (HostTensor.h).
//
//===----------------------------------------------------------------------===//

#ifndef KB_RUNTIME_EMBEDDINGKERNELS_H
#define KB_RUNTIME_EMBEDDINGKERNELS_H

#include <cstdint>
#include <optional>

namespace kb::runtime {

/// Where a gather found a token id outside the vocabulary.
struct BadTokenId {
  int64_t position; // index into `ids`
  int64_t id;
};

/// For i < rows and c < cols, with id = ids[i]:
///   out[i·ldOut + c] = table[(id − tableBase)·ldTable + c]
///                      when ownedBegin <= id < ownedEnd, else 0.
/// The owned ids are those of the table's rows (a rank's vocabulary shard);
/// every other id contributes zero, to be summed over the ranks. Returns the
/// first id outside [0, vocabSize) instead of writing anything past it.
std::optional<BadTokenId>
gatherRows(const float *ids, int64_t rows, const float *table, int64_t ldTable,
           int64_t tableBase, int64_t ownedBegin, int64_t ownedEnd,
           int64_t vocabSize, float *out, int64_t ldOut, int64_t cols);

} // namespace kb::runtime

#endif // KB_RUNTIME_EMBEDDINGKERNELS_H
