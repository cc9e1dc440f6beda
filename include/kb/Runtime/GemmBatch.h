//===- GemmBatch.h - the independent gemms between two waits ----*- C++ -*-===//
//
// A device program gives each PE its own gemm tile, so the tiles a wait
// covers often share an operand: the 8 PEs of a cube multiply the same rows
// of A by neighbouring column blocks of B, or neighbouring row blocks of A by
// the same B. Run one by one, each tile packs the shared operand again (the
// blocked kernel packs B per call, and A when the tile is wide). A batch
// joins such tiles into one gemm first, so the shared operand is read and
// packed once, gathers the tiles that still share A (each PE's C in its own
// buffer) into one task of column blocks, so A is read and packed once for
// them too, then cuts the joined gemms into about as many parts as the
// host threads need to share them evenly — by rows when a gemm is taller
// than it is wide (each part then packs only its own rows of A), else by
// columns.
//
//===----------------------------------------------------------------------===//

#ifndef KB_RUNTIME_GEMMBATCH_H
#define KB_RUNTIME_GEMMBATCH_H

#include "kb/Runtime/DType.h"
#include "kb/Runtime/Kernels.h"
#include "kb/Runtime/PackedWeights.h"

#include <cstdint>
#include <memory>
#include <vector>

namespace kb::runtime {

/// A box of an A that lies in several buffers: rows [row, row + rows) and
/// columns [col, col + cols) of A are `data` (leading dimension ld).
struct APiece {
  int64_t row = 0, col = 0, rows = 0, cols = 0;
  const float *data = nullptr;
  int64_t ld = 0;
};
/// An A made of pieces that tile it (a relay's replica, read where its
/// parts were copied from), shared by the tasks that read it.
using APieces = std::shared_ptr<const std::vector<APiece>>;

/// C[m×n] = (accumulate ? C : 0) + A[m×k] · B[k×n] (row-major, leading
/// dimensions lda, ldb, ldc), then C rounded to `outType`. B is f32 (`b`) or
/// f16 bits (`halfB`), exactly one of them set. A is `a`, or, with
/// `aPieces`, rows [aRow, aRow + m) of the A its pieces tile, gathered into
/// a buffer of the running thread when the task runs.
struct GemmTask {
  const float *a = nullptr;
  int64_t lda = 0;
  APieces aPieces;
  int64_t aRow = 0;
  const float *b = nullptr;
  const uint16_t *halfB = nullptr;
  int64_t ldb = 0;
  float *c = nullptr;
  int64_t ldc = 0;
  int64_t m = 0, n = 0, k = 0;
  bool accumulate = false;
  DType outType = DType::F32;
  /// B does not change while this cache lives (an input weight of the run):
  /// a product of few rows takes B's packed panels from it (gemmColumns).
  PackedWeights *weights = nullptr;
  /// Set by groupGemms: the column blocks of B and C (each n_s wide, n in
  /// all) that share this task's A; `b`, `halfB` and `c` are then unused.
  std::vector<GemmColumns> blocks;
  /// Set by stackGemms: tiles of rows of A by the same B blocks, whose A
  /// rows and Cs lie apart, stacked top to bottom (m rows in all); each
  /// names its A (as `a` or `aPieces` do) and every block's C for its rows.
  /// The task's own A and the blocks' `c` are then unused.
  struct RowTile {
    int64_t m = 0;
    const float *a = nullptr;
    int64_t lda = 0;
    APieces aPieces;
    int64_t aRow = 0;
    struct Out {
      float *c;
      int64_t ldc;
    };
    std::vector<Out> outs; // one per block
  };
  std::vector<RowTile> tiles;

  double flops() const { return 2.0 * m * n * k; }
  /// B and C (b or halfB, c) as one column block.
  GemmColumns columns() const;
  /// Runs the product and the rounding.
  void run() const;

private:
  /// run() of a stacked task.
  void runStacked() const;
};

/// Joins tasks that are one gemm cut in two: the same A rows and B, C
/// columns side by side (`b`/`c` of the second start n columns after the
/// first's), or the same B and A, C rows one after the other. The tasks
/// must be independent (disjoint C regions, no C read as A or B); each
/// element of C gets the same sum as before, term by term.
std::vector<GemmTask> joinGemms(std::vector<GemmTask> tasks);

/// Gathers the tasks that share A (the same rows, m, k, B's element type,
/// accumulate flag and output type) but whose columns are not one product's
/// (each tile's C in its own buffer) into one task of several column blocks,
/// so that its blocked gemm reads and packs A once for all of them
/// (gemmColumns); its n is then the blocks' total. Sums as before.
std::vector<GemmTask> groupGemms(std::vector<GemmTask> tasks);

/// Stacks the tasks that multiply rows of A, wherever they lie, by the same
/// B blocks into Cs of their own (a row-parallel gemm's band cut among a
/// cube's PEs, each PE's rows of A staged apart): one task then packs B once
/// for all of them, where each tile of a few rows packed all of B again. It
/// copies the tiles' rows of A into a buffer of its thread, multiplies into
/// another and copies each tile's rows of C out. Only tiles of more than
/// kGemvMaxRows rows stack (all take the blocked kernel, alone or stacked),
/// up to kMaxStackedRows rows; every element of C gets the same sum as
/// before.
std::vector<GemmTask> stackGemms(std::vector<GemmTask> tasks);
constexpr int64_t kMaxStackedRows = 256;

/// Cuts each task so that `threads` threads share the batch evenly: a task
/// of f of the batch's F flops goes into about 2·threads·f / F parts (at most
/// `threads`, each of a few MFLOP at least), by rows (in whole multiples of
/// every kernel's MR) when m > n, else by columns (whole 64-column blocks; a
/// grouped task's parts take whole blocks).
/// Largest parts first.
std::vector<GemmTask> splitGemms(std::vector<GemmTask> tasks, int threads);

} // namespace kb::runtime

#endif // KB_RUNTIME_GEMMBATCH_H
