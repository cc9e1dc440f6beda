//===- AttentionTiling.h - causal attention cut into PE blocks --*- C++ -*-===//
//
// How the device runs a rank-local kb.attention: as blocks, each one
// gemm_tile.attention on one PE, of some query heads that share one KV head
// times a run of query rows. convert-kb-to-gemm-tile emits these blocks and
// placement prices the same ones (docs/design/0010-attention-on-pes.md).
//
//===----------------------------------------------------------------------===//

#ifndef KB_DEVICE_ATTENTIONTILING_H
#define KB_DEVICE_ATTENTIONTILING_H

#include "kb/Device/Tiling.h"

#include "llvm/Support/Error.h"

namespace kb {

/// Bytes of PE buffer a gemm_tile.attention of `stackedRows` query rows (its
/// heads times its rows) with `keyChunk` keys per step and `headDim` takes:
/// the queries, two chunks each of k and v in flight (double buffering), the
/// f32 scores of a chunk, the f32 output accumulator and each row's running
/// maximum and sum (the online softmax). Saturates.
int64_t attentionWorkingSet(int64_t stackedRows, int64_t keyChunk,
                            int64_t headDim, int64_t elementBytes);

/// Bytes of PE buffer a gemm_tile.attention_combine of `stackedRows` rows
/// takes: the f32 accumulator with each row's m and l, and two splits'
/// partial rows (headDim + 2 f32 each) in flight. Saturates.
int64_t attentionCombineWorkingSet(int64_t stackedRows, int64_t headDim);

/// A key range is split off only when it keeps at least this many keys:
/// shorter caches stay one op per block (a partial row and a combine cost
/// about as much traffic as a few keys, and a launch each).
constexpr int64_t kMinKeysPerSplit = 64;

/// The shape of a rank-local attention.
struct AttentionShape {
  int64_t queries, keys;        // S and T; query i sits at T − S + i
  int64_t numHeads, numKVHeads; // query heads over KV heads (GQA)
  int64_t headDim;
  int64_t elementBytes;
};

/// One gemm_tile.attention: query heads [head, head + heads) (all of one KV
/// head, `kvHead`) for query rows [row, row + rows), on PE `pe` of the cube
/// of the result's piece `piece`. Its first row sits at `position` and the
/// block reads keys [0, keys) = [0, position + rows): the keys after its last
/// query are masked for all of its rows and not read.
struct AttentionBlock {
  int64_t piece, pe;
  int64_t row, rows;
  int64_t head, heads, kvHead;
  int64_t position, keys;
  int64_t keyChunk;
  /// 1: one gemm_tile.attention on PE `pe`. More: split over keys, range i
  /// a gemm_tile.attention_partial on PE `pe + i` (keyRange(i)), then a
  /// gemm_tile.attention_combine on PE `pe` (docs/design/0015).
  int64_t splits = 1;

  /// Split i's keys [first, first + count): the block's keys cut evenly.
  std::pair<int64_t, int64_t> keyRange(int64_t i) const {
    int64_t first = keys * i / splits, end = keys * (i + 1) / splits;
    return {first, end - first};
  }

  /// The block's region of the result (and of q): rows × heads · headDim.
  Box outBox(int64_t headDim) const {
    return Box{{row, head * headDim}, {rows, heads * headDim}};
  }
};

/// More blocks than this means a program no device could hold; the bound
/// keeps absurd shapes from exhausting the compiler's memory.
constexpr size_t kMaxAttentionBlocks = size_t(1) << 20;

/// The blocks of an attention of `shape` whose result is placed by `policy`.
/// Fails, with a message naming the numbers, when not even one query row of
/// one head fits a PE's buffer with a chunk of min(keys, 16) keys, or when
/// it would take more than kMaxAttentionBlocks blocks.
///
/// Work is (query row, head) pairs, never part of a head. A cube computes
/// the rows of its piece and the heads whose first column is in its piece
/// (a head cut by the policy is computed whole in one cube and copied to
/// the others); of a replicated result, a share of the rows or of the heads,
/// whichever are more, then copied to the other replicas. Its PEs split the
/// rows or the heads as the policy splits the result's rows or columns, or,
/// for a PE-level replicate, the longer of the two over every PE. A PE's
/// heads of one KV head are stacked into one block (they read the same keys
/// and values) and its rows cut into runs, as many as fit the buffer: the
/// most stacked rows that fit with a chunk of min(keys, 16) keys (the whole
/// run, else a power of two), then the largest chunk that fits.
///
/// Split over keys: when each busy PE of a cube has one block and fewer
/// blocks than PEs (decode: few query rows), the cube's PEs are dealt out
/// evenly to its blocks and each block's keys split over its PEs, into as
/// many ranges (of at least kMinKeysPerSplit keys) as make the block's
/// time (the longest partial, then the combine, by the cost model) least.
llvm::Expected<llvm::SmallVector<AttentionBlock>>
attentionBlocks(const AttentionShape &shape, const Placement &policy,
                const DeviceDescription &device);

/// Seconds each PE spends on block `b` by the cost model: one entry for an
/// unsplit block; for a split one each range's partial on its PE, and the
/// combine added to PE `b.pe`'s.
llvm::SmallVector<std::pair<int64_t, double>, 8>
attentionBlockPESeconds(const AttentionBlock &b, int64_t headDim,
                        int64_t elementBytes, bool f32,
                        const DeviceDescription &device);

/// The regions of q and of k and v (the same for both) that the blocks of
/// one cube read: the smallest boxes holding those of its blocks. What the
/// lowering stages in the cube once for all its blocks.
struct AttentionOperandBoxes {
  Box q, kv;
};

/// Per piece of the result (`numPieces`), the operand boxes of its cube's
/// blocks, or std::nullopt for a cube that computes none.
llvm::SmallVector<std::optional<AttentionOperandBoxes>>
attentionOperandBoxes(llvm::ArrayRef<AttentionBlock> blocks, size_t numPieces,
                      int64_t headDim);

} // namespace kb

#endif // KB_DEVICE_ATTENTIONTILING_H
