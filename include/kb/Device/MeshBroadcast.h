//===- MeshBroadcast.h - one cube's region sent to many over a mesh -*- C++
//-*-//
//
// A region one cube holds, wanted whole by many cubes (a sequence-parallel
// chunk of tokens, all-gathered into the ring's cube, that every cube's
// gemm tiles read). A copy holds every mesh link of its route for its whole
// time and is booked on its destination cube's DMA engine, so sending it
// straight from the holder queues every copy on the holder's few links, and
// doubling the holders level by level (each holder copying to one more,
// every level waited for) sends copies of several hops whose routes share
// the middle links. Along a tree of one-hop copies, each link carries the
// region once; cut into parts, each cube forwards a part as soon as it is
// in (a pipeline down the tree), so the last cube has it after about
// (depth + parts - 1) part-copies instead of depth whole ones.
//
//===----------------------------------------------------------------------===//

#ifndef KB_DEVICE_MESHBROADCAST_H
#define KB_DEVICE_MESHBROADCAST_H

#include "kb/Device/DeviceDescription.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"

#include <optional>

namespace kb {

/// The most parts a region is cut into on its way down the tree: beyond,
/// each part's copy latency outweighs the pipeline it shortens.
constexpr int64_t kMaxMeshBroadcastParts = 32;

struct MeshBroadcast {
  /// The cubes in the order they join the tree, the holder first: each
  /// later one one hop from a cube before it where the mesh allows.
  llvm::SmallVector<int64_t> cubes;
  /// Each cube's parent, an index into `cubes` (the holder's is 0).
  llvm::SmallVector<unsigned> parent;
  /// The parts the region is cut into, each forwarded once it is in.
  int64_t parts = 1;
  /// When the last part reaches the last cube, replayed on the device's
  /// CopySchedule as kb-run books the copies: part after part, each part's
  /// copies in `cubes` order, each starting once its parent has the part.
  double seconds = 0;
};

/// The tree from `holder` to `targets` and the part count, of 1, 2, 4, ...
/// up to `maxParts`, that replays fastest for a region of `bytes` bytes.
MeshBroadcast planMeshBroadcast(const DeviceDescription &device, int64_t holder,
                                llvm::ArrayRef<int64_t> targets, double bytes,
                                int64_t maxParts);

/// How one cube's region of `bytes` bytes, first copied into that cube's own
/// replica (a copy within the cube), reaches the replicas on every cube of
/// `targets`: down the planMeshBroadcast tree when that replays faster than
/// a straight copy from the holder to each in turn (`tree` empty), and when
/// the last replica has it. The lowering of a fused reduce-scatter with a
/// replicated result copies each chunk out this way, and
/// kb-overlap-collectives prices the same plan.
struct ReplicaDelivery {
  std::optional<MeshBroadcast> tree;
  double seconds = 0;
};
ReplicaDelivery planReplicaDelivery(const DeviceDescription &device,
                                    int64_t holder,
                                    llvm::ArrayRef<int64_t> targets,
                                    double bytes, int64_t maxParts);

} // namespace kb

#endif // KB_DEVICE_MESHBROADCAST_H
