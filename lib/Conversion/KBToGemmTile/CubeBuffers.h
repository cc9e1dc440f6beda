//===- CubeBuffers.h - placed tensors as the device holds them --*- C++ -*-===//
//
// What the patterns of convert-kb-to-gemm-tile share: a placed tensor seen
// as its cube pieces and their buffers, fresh buffers for an op's result,
// operand regions brought into a cube by DMA, waits, and the check that a
// value is placed. Private to the conversion library.
//
//===----------------------------------------------------------------------===//

#ifndef LIB_CONVERSION_KBTOGEMMTILE_CUBEBUFFERS_H
#define LIB_CONVERSION_KBTOGEMMTILE_CUBEBUFFERS_H

#include "kb/Conversion/KBToGemmTile/KBToGemmTile.h"
#include "kb/Device/MeshBroadcast.h"
#include "kb/Device/MeshRelay.h"
#include "kb/Device/Tiling.h"
#include "kb/Dialect/GemmTile/IR/GemmTileOps.h"
#include "kb/Dialect/KB/IR/KBOps.h"

#include <utility>

namespace kb::detail {

/// A cube piece of a tensor with the buffer that holds it.
struct Piece {
  int64_t cube;
  Box box;
  mlir::Value buffer;
};

/// A rank-local tensor as the device holds it: its pieces in cube order.
struct DeviceTensor {
  mlir::RankedTensorType type;
  llvm::SmallVector<Piece> pieces;
};

/// The tensor of placed type `type` held in `buffers`, the values the type
/// converter made of it (one per cube piece, in cube order) on `device`.
DeviceTensor deviceTensor(mlir::Type type, mlir::ValueRange buffers,
                          const gemm_tile::DeviceDescription &device);

/// The pieces with distinct regions, taking for each region the replica in
/// `preferredCube` if there is one, else the first.
llvm::SmallVector<const Piece *> distinctPieces(const DeviceTensor &tensor,
                                                int64_t preferredCube = -1);

/// The indices of the cube pieces of a placed `type` with distinct regions,
/// the first replica of each: what a function returns of a replicated value.
llvm::SmallVector<unsigned>
distinctPieceIndices(mlir::RankedTensorType type,
                     const gemm_tile::DeviceDescription &device);

/// Fresh buffers for a tensor of placed `type`, one per cube piece of it on
/// `device`.
DeviceTensor allocate(mlir::OpBuilder &builder, mlir::Location loc,
                      mlir::RankedTensorType type,
                      const gemm_tile::DeviceDescription &device);

/// The cube pieces of a placed `type` on `device` (its policy's counts
/// resolved there).
llvm::SmallVector<CubePiece>
cubePiecesOf(mlir::RankedTensorType type,
             const gemm_tile::DeviceDescription &device);

/// The buffers of `tensor`, in cube order.
llvm::SmallVector<mlir::Value> buffersOf(const DeviceTensor &tensor);

/// Replaces `op`, whose one result is a placed tensor, by the buffers of
/// `result`.
void replaceByBuffers(mlir::ConversionPatternRewriter &rewriter,
                      mlir::Operation *op, const DeviceTensor &result);

/// `type` when it is a placed tensor the device can hold; otherwise reports
/// on `where` what is wrong with it and fails.
mlir::FailureOr<mlir::RankedTensorType>
checkPlaced(mlir::Operation *where, mlir::Type type,
            const gemm_tile::DeviceDescription &device);

/// a + b, elementwise: offsets moved by an offset.
llvm::SmallVector<int64_t> plus(llvm::ArrayRef<int64_t> a,
                                llvm::ArrayRef<int64_t> b);

/// a - b, elementwise.
llvm::SmallVector<int64_t> minus(llvm::ArrayRef<int64_t> a,
                                 llvm::ArrayRef<int64_t> b);

mlir::Type tokenType(mlir::MLIRContext *ctx);

/// For a result replicated over its cubes, of which cube i computed
/// `computeBoxes[i]`: copies every cube's share into the other replicas, and
/// waits for the copies.
void copySharesToReplicas(mlir::OpBuilder &builder, mlir::Location loc,
                          const DeviceTensor &out,
                          llvm::ArrayRef<Box> computeBoxes);

/// Issues the copies of `share`, computed in `out.pieces[from]`, into the
/// other replicas of `out`, appending their tokens to `copies`.
void copyShareToReplicas(mlir::OpBuilder &builder, mlir::Location loc,
                         const DeviceTensor &out, unsigned from,
                         const Box &share,
                         llvm::SmallVectorImpl<mlir::Value> &copies);

/// Issues the copies of a mesh relay plan (kb/Device/MeshRelay.h): the
/// gather into fresh relay buffers, then `gathered`, then the deliveries
/// into `targetOf(request)` (a buffer and the box it holds). A copy that
/// reads what another copy of the plan brings (a hop-by-hop part forwarded,
/// a delivery out of a relay) is ordered after it (gemm_tile.dma's `after`):
/// the DMA engines keep the order, and the rank waits for none of them
/// here. `holders[i]` are the pieces holding the plan's piece i (a buffer
/// each, with the box it holds). Appends every copy's token to `copies`.
void issueRelayPlan(
    mlir::OpBuilder &builder, mlir::Location loc, const MeshRelayPlan &plan,
    mlir::Type elementType,
    llvm::ArrayRef<llvm::SmallVector<const Piece *, 4>> holders,
    llvm::function_ref<std::pair<mlir::Value, Box>(unsigned)> targetOf,
    llvm::function_ref<void()> gathered,
    llvm::SmallVectorImpl<mlir::Value> &copies);

/// The mesh relay that brings every share of a result replicated over its
/// cubes (cube i computed `computeBoxes[i]` of `out`) into every replica, as
/// placement prices it, with the piece holding each share.
struct ShareRelay {
  MeshRelayPlan plan;
  llvm::SmallVector<llvm::SmallVector<const Piece *, 4>> holders;
};
ShareRelay planShareRelay(const DeviceTensor &out,
                          llvm::ArrayRef<Box> computeBoxes,
                          int64_t elementBytes,
                          const gemm_tile::DeviceDescription &device);
/// Issues `relay` (which pays) into `out`'s replicas, appending the copies'
/// tokens to `copies`.
void issueShareRelay(mlir::OpBuilder &builder, mlir::Location loc,
                     const ShareRelay &relay, const DeviceTensor &out,
                     mlir::Type elementType,
                     llvm::SmallVectorImpl<mlir::Value> &copies);

/// Relays `rows` of a tensor, held by the pieces `held` (each a buffer on a
/// cube with the box it holds, inside `out` or not; of each, its part of
/// `rows`), into the buffers of
/// `out`'s pieces that lack them, over the mesh, when a replay finds that
/// faster than copying each piece straight (kb/Device/MeshRelay.h): a
/// collective's result band reaching every replica. Appends the copies'
/// tokens to `copies`; issues nothing and returns false when it does not
/// pay.
bool relayIntoPieces(mlir::OpBuilder &builder, mlir::Location loc,
                     llvm::ArrayRef<Piece> held, const DeviceTensor &out,
                     const Box &rows,
                     const gemm_tile::DeviceDescription &device,
                     llvm::SmallVectorImpl<mlir::Value> &copies);

/// Issues the copies of `tree` (kb/Device/MeshBroadcast.h) for rows
/// [firstRow, firstRow + rows) × `cols` columns, at the same offsets in each
/// cube's buffer (`bufferOn(cube)`): part after part, each part's copy into
/// a cube ordered after the copy that brought the part to its parent
/// (gemm_tile.dma's `after`), none waited for here. Returns, for each cube
/// of the tree in its order, the tokens of the copies into it (none for the
/// holder).
llvm::SmallVector<llvm::SmallVector<mlir::Value>>
issueMeshBroadcast(mlir::OpBuilder &builder, mlir::Location loc,
                   const MeshBroadcast &tree,
                   llvm::function_ref<mlir::Value(int64_t)> bufferOn,
                   int64_t firstRow, int64_t rows, int64_t cols);

/// The gemm tile (chooseGemmTile) of each slab shape a gemm's lowering
/// meets, chosen once: the PEs of a cube mostly share one.
class GemmTileChoices {
public:
  GemmTileChoices(int64_t k, int64_t elementBytes,
                  const gemm_tile::DeviceDescription &device)
      : k(k), elementBytes(elementBytes), device(device) {}

  /// The tile of a `rows` x `cols` slab; when none fits a PE buffer, an
  /// error at `op`, naming the buffer's bytes.
  mlir::FailureOr<GemmTileSizes> get(mlir::Operation *op, int64_t rows,
                                     int64_t cols);

  /// Issues PE `pe`'s gemm tiles over `slab` (rows and columns of `out`),
  /// row by row, the last row and column of tiles cut to what is left: the
  /// tile at (row, col) reads `lhs` from `lhsAt` (where the slab's first row
  /// is) moved down by row - slab's first row, all k of it, and `rhs` from
  /// `rhsAt` (the slab's first column) moved right by col - slab's first
  /// column. Appends the tiles' tokens to `tiles`; fails as `get` does.
  mlir::LogicalResult issueSlab(mlir::OpBuilder &builder, mlir::Location loc,
                                mlir::Operation *op, int64_t pe,
                                const Box &slab, mlir::Value lhs,
                                llvm::ArrayRef<int64_t> lhsAt, mlir::Value rhs,
                                llvm::ArrayRef<int64_t> rhsAt, mlir::Value out,
                                llvm::SmallVectorImpl<mlir::Value> &tiles);

private:
  int64_t k, elementBytes;
  const gemm_tile::DeviceDescription &device;
  llvm::DenseMap<std::pair<int64_t, int64_t>, std::optional<GemmTileSizes>>
      chosen;
};

/// Ends a group of asynchronous device work with one wait, if there is any.
void waitFor(mlir::OpBuilder &builder, mlir::Location loc,
             llvm::SmallVectorImpl<mlir::Value> &tokens);

/// Brings the regions of its operands that one op's work reads into the
/// cubes that compute, by DMA from the pieces that hold them, reusing a
/// region already there. The DMAs stay pending until `waitForStaging`.
class OperandStager {
public:
  OperandStager(mlir::OpBuilder &builder, mlir::Location loc)
      : builder(builder), loc(loc) {}

  /// A buffer in `cube` holding `box` of `tensor`, and the box's offsets in
  /// it.
  std::pair<mlir::Value, llvm::SmallVector<int64_t>>
  bring(const DeviceTensor &tensor, int64_t cube, const Box &box);

  /// Like `bring`, but copies only `part` of `box` now: the other parts
  /// come by later calls with the same `box`, into the same buffer, so that
  /// work on one part can start while the next moves.
  std::pair<mlir::Value, llvm::SmallVector<int64_t>>
  bringPart(const DeviceTensor &tensor, int64_t cube, const Box &box,
            const Box &part);

  /// Whether `cube` holds `box` of `tensor` already (a piece of it, or a
  /// region brought before), so that `bring` would issue no DMA.
  bool holds(const DeviceTensor &tensor, int64_t cube, const Box &box) const;

  /// Before the cubes of a mesh bring their regions of `tensor`
  /// (`requests`: each a cube and the box it will `bring`): stages them by
  /// relay (kb/Device/MeshRelay.h) when that is faster than each cube
  /// copying every piece straight — one cube of each mesh row per column
  /// gathers its row's pieces, a wait, then each requesting cube copies one
  /// box per row from the relays in its column. The requests' buffers are
  /// recorded as staged, so their `bring`s issue nothing; the copies into
  /// them stay pending, like any bring's.
  void relayByMeshRows(const DeviceTensor &tensor,
                       llvm::ArrayRef<std::pair<int64_t, Box>> requests,
                       const gemm_tile::DeviceDescription &device);

  /// Waits for the DMAs issued so far.
  void waitForStaging() { waitFor(builder, loc, pending); }

  /// The DMAs issued since the last wait or take, for the caller to wait for
  /// (one cube's operands, before that cube's tiles only).
  llvm::SmallVector<mlir::Value> takePending() {
    return std::exchange(pending, {});
  }

private:
  /// A region of a tensor already brought into a cube; the tensor is named
  /// by its first buffer, so `x + x` stages `x` once.
  struct Staged {
    mlir::Value tensor;
    int64_t cube;
    Box box;
    mlir::Value buffer;
  };

  mlir::OpBuilder &builder;
  mlir::Location loc;
  llvm::SmallVector<Staged, 4> staged;
  llvm::SmallVector<mlir::Value> pending;
};

} // namespace kb::detail

#endif // LIB_CONVERSION_KBTOGEMMTILE_CUBEBUFFERS_H
