//===- MeshRelay.h - many cubes gathering one region over a mesh -*- C++ -*-=//
//
// On a mesh a copy between cubes costs its latency (160-573 ns on ahbm)
// whatever its size, and holds every link of its route while it runs. When
// every cube needs a region cut over every cube (a row-parallel result that
// the next op reads whole, a K-sharded lhs), copying each piece straight to
// each cube is cubes² small copies crossing the mesh. Relayed, one cube of
// each mesh row per column first gathers its row's pieces along the row,
// and each cube then takes one copy per row along its column: at most
// (mesh columns - 1) + (mesh rows - 1) copies into a cube, routed on
// disjoint rows, then columns.
//
// A copy holds every link of its route for its whole time, so boxes sent
// straight down a column share its middle links: on the 4 x 4 mesh the link
// between the middle rows carries four of them. Where a replay finds it
// faster, the delivery is relayed hop by hop instead: each cube forwards a
// box it received to its next cube down the column, in parts, once each part
// is in (a pipeline down the column), so every copy is one hop and each link
// carries each box once. The gather along the rows may go the same way, a
// relay forwarding a piece to the next relay along its row.
//
// The lowering (OperandStager::relayByMeshRows) issues exactly this plan and
// placement prices it (PlacementCostModel.cpp): one plan for both, so the
// estimate and kb-run agree on it.
//
//===----------------------------------------------------------------------===//

#ifndef KB_DEVICE_MESHRELAY_H
#define KB_DEVICE_MESHRELAY_H

#include "kb/Device/DeviceDescription.h"
#include "kb/Device/Tiling.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"

#include <utility>

namespace kb {

/// A distinct region of a tensor and the cubes that hold it; a copy takes it
/// from the destination cube when that is one of them, else from the first.
struct HeldBox {
  Box box;
  llvm::SmallVector<int64_t, 4> cubes;
};

/// One copy of a relay plan: `region` of the tensor from cube `from` (out of
/// held piece `source`, out of relay `source` when `fromRelay`, or out of
/// request `source`'s buffer when `fromRequest`) into cube `to`, for relay or
/// request `target`. A copy with `after` >= 0 forwards what copy `after` of
/// its wave (gather or deliver) brought into `from`: it starts when that
/// copy ends (the lowering orders it after it, gemm_tile.dma's `after`).
struct RelayCopy {
  int64_t from;
  int64_t to;
  bool fromRelay;
  unsigned source;
  unsigned target;
  Box region;
  bool fromRequest = false;
  int after = -1;
};

struct MeshRelayPlan {
  /// A relay: `box` of the tensor gathered into `cube` for the cubes of its
  /// mesh column.
  struct Relay {
    int64_t cube;
    Box box;
  };
  /// The requests the plan serves: those no piece in their cube holds,
  /// without repeats.
  llvm::SmallVector<std::pair<int64_t, Box>> requests;
  llvm::SmallVector<Relay> relays;
  /// Into the relays, nearest first; all of them end before `deliver` starts.
  /// Relayed hop by hop like the delivery (`gatherChunks` > 0, below), along
  /// the mesh rows: a piece is forwarded by the relay one hop nearer it.
  llvm::SmallVector<RelayCopy> gather;
  unsigned gatherChunks = 0;
  /// Into the requests' buffers, nearest first: from the relays in the
  /// request's column, and from the pieces no relay copy covers. Relayed hop
  /// by hop (`chunks` > 0), a box from a relay more than one hop away is
  /// forwarded down the column instead, in `chunks` parts, by the cube one
  /// hop nearer the relay, from its own request's buffer, once the part is
  /// there (`after`); the copies are then in the order the rank issues them.
  llvm::SmallVector<RelayCopy> deliver;
  unsigned chunks = 0;
  /// The direct copies alone, and the relayed plan (gather, then deliver,
  /// each forwarded part once its source part is in), replayed on the
  /// device's CopySchedule. The replay starts the delivery when the whole
  /// gather ends, where the lowering orders each delivery only after the
  /// gather copies it depends on: the replay is the more cautious of the
  /// two, not an exact price.
  double directSeconds = 0;
  double gatheredSeconds = 0;
  double relayedSeconds = 0;

  /// Whether relaying is faster than copying each piece straight.
  bool pays() const {
    return !relays.empty() && relayedSeconds < directSeconds;
  }
};

/// The relay plan for bringing each request's box (a cube and the box it
/// reads) of a tensor whose distinct pieces are `pieces`, with elements of
/// `elementBytes` bytes. Empty (pays() false) off a full mesh of more than
/// one row, beyond `maxCubes` cubes (placement stays linear in the cubes
/// there), or when no cube would take two pieces from one other row.
/// With `inPlace`, each request's target is the buffer of the requesting
/// cube's own pieces (a replicated result's shares, computed into the
/// replicas' buffers): what a cube holds is in place and not copied.
MeshRelayPlan planMeshRelay(const DeviceDescription &device,
                            llvm::ArrayRef<HeldBox> pieces,
                            llvm::ArrayRef<std::pair<int64_t, Box>> requests,
                            double elementBytes, int64_t maxCubes = 64,
                            bool inPlace = false);

} // namespace kb

#endif // KB_DEVICE_MESHRELAY_H
