//===- Tiling.h - how a placement cuts a tensor into pieces, tiles -*- C++ -*-//
//
// Pure shape arithmetic shared by placement, the lowering, the gemm_tile
// verifiers and the cost model: which cube holds which region of a
// rank-local tensor, which cube and PE compute which part of a result, and
// how big a gemm tile can be.
//
//===----------------------------------------------------------------------===//

#ifndef KB_DEVICE_TILING_H
#define KB_DEVICE_TILING_H

#include "kb/Device/DeviceDescription.h"
#include "kb/Device/Placement.h"

#include "llvm/ADT/SmallVector.h"

#include <optional>

namespace kb {

/// A box inside a tensor: `offsets` and `sizes`, one per dimension.
struct Box {
  llvm::SmallVector<int64_t, 2> offsets;
  llvm::SmallVector<int64_t, 2> sizes;

  bool contains(const Box &other) const;
  /// The overlap of two boxes, or std::nullopt when they do not meet.
  std::optional<Box> intersect(const Box &other) const;
  bool operator==(const Box &other) const {
    return offsets == other.offsets && sizes == other.sizes;
  }
  /// The product of `sizes`, saturating at INT64_MAX: a box of an absurd
  /// tensor must compare as huge, not wrap.
  int64_t numElements() const;
};

/// The part of a rank-local tensor one cube holds.
struct CubePiece {
  int64_t cube;
  Box box;
};

/// The cube pieces of a tensor of `shape` under `policy`, in cube order. A
/// replicated tensor has one full piece per cube of the policy.
llvm::SmallVector<CubePiece> cubePieces(llvm::ArrayRef<int64_t> shape,
                                        const Placement &policy);
/// The box cubePieces gives cube `cube`, without making the others (a device
/// of thousands of cubes asks this once per cube); std::nullopt when the
/// policy leaves the cube out.
std::optional<Box> cubePieceBox(llvm::ArrayRef<int64_t> shape,
                                const Placement &policy, int64_t cube);

/// Cuts `box` into `count` consecutive parts along `dim`, as even as can be
/// (the first `size % count` parts one longer; parts may be empty).
llvm::SmallVector<Box> splitEvenly(const Box &box, int64_t dim, int64_t count);

/// The shares of `box` that the PEs of one cube compute, PE by PE: split along
/// the policy's PE dimension over its PE count, or, for a PE-level
/// `replicate`, along the longer dimension over the `num_pes` PEs that hold
/// the tensor (a replicated output is still computed once; kernbench's
/// `DPPolicy(replicate, replicate, 1, 1)` puts the whole of it on one PE).
/// Empty shares are dropped from the end.
llvm::SmallVector<Box> peShares(const Box &box, const Placement &policy,
                                int64_t pesPerCube);

/// What each cube computes of a gemm result of `shape` placed by `policy`,
/// one box per cube piece, in cube order: its piece when the result is split
/// over the cubes; when it is replicated, a share of the whole cut along the
/// longer dimension (then copied to the other replicas), so no cube needs
/// every weight column.
llvm::SmallVector<Box> matmulComputeBoxes(llvm::ArrayRef<int64_t> shape,
                                          const Placement &policy);

/// Whether a gemm result of `shape` placed by `policy` can be computed in
/// bands of whole rows, each band's ring run on its own: every cube
/// computes exactly its own piece (no replica shares), and every piece spans
/// all the rows.
bool gemmRowsChunkable(llvm::ArrayRef<int64_t> shape, const Placement &policy);

/// The cubes and boxes that compute a gemm result of `shape` placed by
/// `policy` band by band of whole rows (kb.matmul_all_reduce), each box
/// once: the result's distinct cube pieces when gemmRowsChunkable; for a
/// result replicated over the cubes, its column shares (matmulComputeBoxes,
/// share i on the cube of piece i), whose band rows every replica then
/// receives as each band's ring ends. Empty when neither holds (a share
/// that does not span all the rows).
llvm::SmallVector<CubePiece> gemmBandPieces(llvm::ArrayRef<int64_t> shape,
                                            const Placement &policy);

/// The box a cube computes for `piece` of a row op's [rows, cols] result:
/// the piece widened in its last dimension to whole rows (`unit` 0, a norm)
/// or to whole multiples of `unit` (rope's heads).
Box rowWorkBox(const Box &piece, int64_t cols, int64_t unit);

/// The PE shares of a row op's work box `local` (at the origin): its rows
/// split over the cube's PEs; or, when there are fewer rows than PEs and
/// `unit` is a head, its whole heads. Empty shares are dropped.
llvm::SmallVector<Box> rowShares(const Box &local, int64_t unit,
                                 int64_t pesPerCube);

/// Bytes of the PE buffer a norm of rows of `cols` values occupies: one row,
/// its result and the `vectors` (weight, bias) it scales by; saturating.
int64_t normRowWorkingSet(int64_t cols, int64_t elementBytes, int64_t vectors);

/// Tile sizes for a gemm slab of m × n with reduction k on one PE.
struct GemmTileSizes {
  int64_t m, n, kChunk;
};

/// The tile of highest arithmetic intensity whose double-buffered operand
/// chunks of at least 16 (or k) and f32 accumulator fit the PE buffer, with
/// the largest k chunk that then fits. Each tile dimension is the slab's whole
/// extent or a power of two up to 128 below it, so a slab that fits is one
/// tile. Fails when no tile fits.
std::optional<GemmTileSizes> chooseGemmTile(int64_t m, int64_t n, int64_t k,
                                            int64_t elementBytes,
                                            const DeviceDescription &device);

/// Bytes of the PE buffer a tile of m × n with chunk kc occupies.
int64_t gemmTileWorkingSet(int64_t m, int64_t n, int64_t kc,
                           int64_t elementBytes);

} // namespace kb

#endif // KB_DEVICE_TILING_H
