//===- PlacementCostModel.cpp - what a placement costs on the device ------===//

#include "kb/Dialect/KB/Transforms/PlacementCostModel.h"
#include "kb/Device/AttentionTiling.h"
#include "kb/Device/CostModel.h"
#include "kb/Device/MeshRelay.h"
#include "kb/Device/Tiling.h"
#include "kb/Dialect/KB/IR/KBOps.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/ADT/Hashing.h"

#include <limits>
#include <unordered_map>

using namespace mlir;
using namespace kb;

namespace {

int64_t elementBytes(Value v) {
  return cast<RankedTensorType>(v.getType()).getElementTypeBitWidth() / 8;
}

ArrayRef<int64_t> shapeOf(Value v) {
  return cast<RankedTensorType>(v.getType()).getShape();
}

// Byte counts are estimated in double: the shapes MLIR accepts (dimensions up
// to 2^63 - 1) multiply past int64, and an estimate only needs magnitude.

/// Bytes of `box` of a tensor with `eb`-byte elements.
double boxBytes(const Box &box, int64_t eb) {
  double bytes = eb;
  for (int64_t s : box.sizes)
    bytes *= static_cast<double>(s);
  return bytes;
}

/// Bytes of the whole of `v`.
double tensorBytes(Value v) {
  double bytes = elementBytes(v);
  for (int64_t s : shapeOf(v))
    bytes *= static_cast<double>(s);
  return bytes;
}

/// Whether one of the pieces of `v` in cube `cube` contains `box`.
bool holds(Value v, DPPolicyAttr policy, int64_t cube, const Box &box,
           const DeviceDescription &device) {
  // The cube's own piece only: asked once per cube, enumerating every piece
  // would cost cubes squared.
  std::optional<Box> piece =
      cubePieceBox(shapeOf(v), policy.resolve(device), cube);
  return piece && piece->contains(box);
}

/// Devices with more cubes than this are priced without source cubes: the
/// pieces a copy draws from cost O(cubes) to find, per copy.
constexpr int64_t kMaxCubesWithSources = 64;

/// The copies of one phase of an op's lowering (those issued together, before
/// one wait), priced as kb-run charges them (CopySchedule: in issue order, on
/// the destination's DMA engine and every mesh link of the route); the phase
/// takes until the last copy ends. Charging a copy its hops alone, as if
/// every copy had its engine and links to itself, misses most of the time of
/// copies that fan out of one cube or cross the middle of the mesh.
class Copies : public CopySchedule {
public:
  explicit Copies(const DeviceDescription &device)
      : CopySchedule(device), cubes(device.cubes) {}

  /// Copies that start as `schedule` does, issuing from `issued` on.
  Copies(const CopySchedule &schedule, double issued,
         const DeviceDescription &device)
      : CopySchedule(schedule), issued(issued), cubes(device.cubes) {}

  /// A copy of `bytes` from cube `from` to cube `to`. Beyond
  /// kMaxCubesWithSources cubes it is priced from anywhere: an op's copies
  /// can number cubes², and each route up to a mesh's width plus height links.
  /// A copy within one cube has no route to find, so it stays exact there.
  void add(int64_t from, int64_t to, double bytes) {
    if (from != to && cubes > kMaxCubesWithSources)
      addFromAnywhere(to, bytes, issued);
    else
      CopySchedule::add(from, to, bytes, issued);
  }

  /// When the copies added from now on are issued: after the wait that
  /// ends a relay's gather (relayed below).
  double issued = 0;

  /// The distinct pieces of `v` placed by `policy`, in the order of their
  /// first cube, each with the cubes that hold it. Found once per phase:
  /// a phase brings the same operand into every cube, and enumerating and
  /// comparing its pieces per cube was most of kb-place's time.
  struct DistinctPiece {
    Box box;
    SmallVector<int64_t, 4> cubes;
  };
  ArrayRef<DistinctPiece> distinctPieces(Value v, DPPolicyAttr policy,
                                         const DeviceDescription &device) {
    for (auto &[key, pieces] : known)
      if (key.first == v && key.second == policy)
        return pieces;
    SmallVector<DistinctPiece> pieces;
    for (CubePiece &p : cubePieces(shapeOf(v), policy.resolve(device))) {
      auto *it = llvm::find_if(
          pieces, [&](const DistinctPiece &q) { return q.box == p.box; });
      if (it == pieces.end())
        pieces.push_back({std::move(p.box), {p.cube}});
      else
        it->cubes.push_back(p.cube);
    }
    known.emplace_back(std::make_pair(v, policy), std::move(pieces));
    return known.back().second;
  }

private:
  int64_t cubes;
  SmallVector<std::pair<std::pair<Value, DPPolicyAttr>,
                        SmallVector<DistinctPiece>>,
              2>
      known;
};

/// Records the DMAs that bring `box` of `v` (placed by `policy`) into cube
/// `cube` as the lowering issues them when it copies whatever the cube holds
/// (copyBox, and operand staging once it decided to stage): one from each
/// distinct piece of `v` that overlaps the box (of equal pieces the one in
/// `cube`, else the first), within the cube when that piece is the cube's
/// own. `bytesOf` gives the bytes moved for an overlap (the overlap's own by
/// default; a row gather moves its tokens' rows of it). Beyond
/// kMaxCubesWithSources cubes only the cube's own piece is looked at: the
/// whole box then comes from it, or from anywhere.
void copyBox(Copies &copies, Value v, DPPolicyAttr policy, int64_t cube,
             const Box &box, const DeviceDescription &device,
             function_ref<double(const Box &)> bytesOf = nullptr) {
  int64_t eb = elementBytes(v);
  auto bytes = [&](const Box &overlap) {
    return bytesOf ? bytesOf(overlap) : boxBytes(overlap, eb);
  };
  if (device.cubes > kMaxCubesWithSources) {
    // Only what the tensor has of the box moves: a kv_append's piece may
    // reach past the cache, or lie wholly in the new rows.
    Box whole{SmallVector<int64_t, 2>(shapeOf(v).size(), 0),
              SmallVector<int64_t, 2>(shapeOf(v))};
    std::optional<Box> inside = whole.intersect(box);
    if (!inside)
      return;
    if (holds(v, policy, cube, *inside, device))
      copies.add(cube, cube, bytes(*inside));
    else
      copies.addFromAnywhere(cube, bytes(*inside));
    return;
  }
  for (const Copies::DistinctPiece &source :
       copies.distinctPieces(v, policy, device))
    if (std::optional<Box> overlap = source.box.intersect(box))
      copies.add(llvm::is_contained(source.cubes, cube) ? cube
                                                        : source.cubes.front(),
                 cube, bytes(*overlap));
}

/// Records the copies that bring `box` of `v` into cube `cube`, as the
/// lowering's operand staging issues them: none when a piece of `v` there
/// holds the box, else copyBox's.
void bring(Copies &copies, Value v, DPPolicyAttr policy, int64_t cube,
           const Box &box, const DeviceDescription &device) {
  if (holds(v, policy, cube, box, device))
    return;
  if (device.cubes > kMaxCubesWithSources) {
    copies.addFromAnywhere(cube, boxBytes(box, elementBytes(v)));
    return;
  }
  copyBox(copies, v, policy, cube, box, device);
}

/// Records the copies that fill the destination piece `to` with the elements
/// of `source` (placed by `from`) at `origin` + the piece's box, as the
/// lowering of a data-moving op issues them: from each source piece the box
/// overlaps, over the mesh from where that piece sits, or within the cube
/// when the piece is the cube's own. The source's placement decides where
/// the copies come from and how far they go; the destination's, where they
/// land and how many there are.
void copyInto(Copies &copies, Value source, DPPolicyAttr from,
              const CubePiece &to, ArrayRef<int64_t> origin,
              const DeviceDescription &device) {
  Box box = to.box;
  for (auto [offset, by] : llvm::zip_equal(box.offsets, origin))
    offset += by;
  copyBox(copies, source, from, to.cube, box, device);
}

/// The relays priced as paying on this thread (relaysPricedOnThisThread).
thread_local uint64_t relaysPriced = 0;

/// A relay plan and, once asked for, its copies recorded into Copies that
/// had none (relayedFromStart): what they leave, the same for every op that
/// relays the same plan first.
struct KeptRelay {
  MeshRelayPlan plan;
  std::optional<CopySchedule> fromStart;
  double fromStartIssued = 0;
};

} // namespace

/// Relay plans by their inputs, encoded as integers (RelayPlanCacheScope).
struct RelayPlanCacheScope::Plans {
  struct Hash {
    size_t operator()(const std::vector<int64_t> &key) const {
      return llvm::hash_combine_range(key.begin(), key.end());
    }
  };
  std::unordered_map<std::vector<int64_t>, KeptRelay, Hash> byInputs;
  /// The encoded pieces of an operand (its type and policy, one object per
  /// value each): a kept plan is found without enumerating the pieces again.
  llvm::DenseMap<std::pair<const void *, const void *>, std::vector<int64_t>>
      operandPieces;
};

namespace {

/// The innermost live RelayPlanCacheScope's plans on this thread, if any.
thread_local RelayPlanCacheScope::Plans *activeRelayPlans = nullptr;

void appendBox(std::vector<int64_t> &key, const Box &box) {
  key.push_back(static_cast<int64_t>(box.offsets.size()));
  key.insert(key.end(), box.offsets.begin(), box.offsets.end());
  key.insert(key.end(), box.sizes.begin(), box.sizes.end());
}

/// Appends `pieces` to a plan's key.
void appendPieces(std::vector<int64_t> &key, ArrayRef<HeldBox> pieces) {
  key.push_back(static_cast<int64_t>(pieces.size()));
  for (const HeldBox &piece : pieces) {
    appendBox(key, piece.box);
    key.push_back(static_cast<int64_t>(piece.cubes.size()));
    key.insert(key.end(), piece.cubes.begin(), piece.cubes.end());
  }
}

/// planMeshRelay's plan for the pieces `piecesOf` makes, kept by the live
/// RelayPlanCacheScope when there is one, by the pieces' inputs as
/// `keyOfPieces` encodes them: a kept plan is found without making the
/// pieces (for an operand, enumerating them cost more than the lookup). The
/// reference is valid until the next call on this thread.
KeptRelay &
planRelay(const DeviceDescription &device,
          function_ref<void(std::vector<int64_t> &)> keyOfPieces,
          function_ref<SmallVector<HeldBox>()> piecesOf,
          ArrayRef<std::pair<int64_t, Box>> requests, int64_t eb,
          int64_t maxCubes, bool inPlace) {
  if (!activeRelayPlans) {
    static thread_local KeptRelay uncached;
    uncached.plan = planMeshRelay(device, piecesOf(), requests, double(eb),
                                  maxCubes, inPlace);
    uncached.fromStart.reset();
    return uncached;
  }
  // Looked up with one buffer per thread: most lookups find a kept plan,
  // and the key is copied only into a new entry.
  static thread_local std::vector<int64_t> key;
  key.clear();
  key.push_back(eb);
  key.push_back(maxCubes);
  key.push_back(inPlace);
  keyOfPieces(key);
  for (const auto &[cube, box] : requests) {
    key.push_back(cube);
    appendBox(key, box);
  }
  auto found = activeRelayPlans->byInputs.find(key);
  if (found != activeRelayPlans->byInputs.end())
    return found->second;
  KeptRelay kept{
      planMeshRelay(device, piecesOf(), requests, double(eb), maxCubes,
                    inPlace),
      std::nullopt};
  return activeRelayPlans->byInputs.emplace(key, std::move(kept)).first->second;
}

/// Records `plan`'s copies into `copies` (see relayed).
void recordRelay(Copies &copies, const MeshRelayPlan &plan, double eb) {
  // A forwarded part is issued once the rank has waited for the copy that
  // brought it, as the lowering waits (a wave relayed hop by hop); the
  // copies added after it issue no earlier.
  auto replay = [&](ArrayRef<RelayCopy> wave) {
    SmallVector<double> ends;
    ends.reserve(wave.size());
    for (const RelayCopy &c : wave) {
      if (c.after >= 0)
        copies.issued = std::max(copies.issued, ends[c.after]);
      ends.push_back(copies.CopySchedule::add(
          c.from, c.to, double(c.region.numElements()) * eb, copies.issued));
    }
  };
  replay(plan.gather);
  copies.issued = std::max(copies.issued, copies.seconds());
  replay(plan.deliver);
}

/// The relay plan for staging `requests` of `v` (see relayed), with the
/// pieces of `v` from `copies`.
KeptRelay &relayPlan(Copies &copies, Value v, DPPolicyAttr policy,
                     ArrayRef<std::pair<int64_t, Box>> requests,
                     const DeviceDescription &device) {
  auto piecesOf = [&] {
    SmallVector<HeldBox> held;
    for (const Copies::DistinctPiece &p :
         copies.distinctPieces(v, policy, device))
      held.push_back({p.box, p.cubes});
    return held;
  };
  // The pieces are those of `v`'s type under `policy` on the scope's one
  // device: encoded once per pair.
  auto keyOfPieces = [&](std::vector<int64_t> &key) {
    auto [it, inserted] = activeRelayPlans->operandPieces.try_emplace(
        {v.getType().getAsOpaquePointer(), policy.getAsOpaquePointer()});
    if (inserted)
      appendPieces(it->second, piecesOf());
    key.insert(key.end(), it->second.begin(), it->second.end());
  };
  return planRelay(device, keyOfPieces, piecesOf, requests, elementBytes(v),
                   kMaxCubesWithSources, /*inPlace=*/false);
}

/// When `requests` (each a cube and the box of `v` it reads) are staged by
/// relay over the mesh, as the lowering's OperandStager::relayByMeshRows does
/// when kb/Device/MeshRelay.h finds it faster than each cube copying every
/// piece straight: records the relays' gather (before the copies already in
/// `copies`' schedule start, which is where the lowering issues it, first),
/// then the copies into the requesting cubes after it, and makes the copies
/// added later issue after the gather too; returns whether it relays. The
/// requests' own staging then copies nothing.
bool relayed(Copies &copies, Value v, DPPolicyAttr policy,
             ArrayRef<std::pair<int64_t, Box>> requests,
             const DeviceDescription &device) {
  if (device.cubes > kMaxCubesWithSources)
    return false;
  const MeshRelayPlan &plan =
      relayPlan(copies, v, policy, requests, device).plan;
  if (!plan.pays())
    return false;
  ++relaysPriced;
  recordRelay(copies, plan, double(elementBytes(v)));
  return true;
}

/// An op's staging that starts with relayed(`v`, `policy`, `requests`),
/// `relays` telling whether it relays. The copies the relay leaves are kept
/// with its plan: a search prices the same relay first for many candidates
/// of the other operands (replaying its copies was a tenth of kb-place's
/// instructions on kb-run's mlp).
Copies relayedFromStart(Value v, DPPolicyAttr policy,
                        ArrayRef<std::pair<int64_t, Box>> requests,
                        const DeviceDescription &device, bool &relays) {
  relays = false;
  if (device.cubes > kMaxCubesWithSources)
    return Copies(device);
  Copies pieces(device);
  KeptRelay &kept = relayPlan(pieces, v, policy, requests, device);
  if (!kept.plan.pays())
    return Copies(device);
  ++relaysPriced;
  relays = true;
  if (!kept.fromStart) {
    Copies copies(device);
    recordRelay(copies, kept.plan, double(elementBytes(v)));
    kept.fromStart.emplace(copies);
    kept.fromStartIssued = copies.issued;
  }
  return Copies(*kept.fromStart, kept.fromStartIssued, device);
}

/// The boxes of `v` each cube computes, with their cubes.
SmallVector<std::pair<int64_t, Box>>
computeBoxes(Value v, DPPolicyAttr policy, const DeviceDescription &device) {
  SmallVector<std::pair<int64_t, Box>> boxes;
  Placement placement = policy.resolve(device);
  for (auto [piece, box] :
       llvm::zip_equal(cubePieces(shapeOf(v), placement),
                       matmulComputeBoxes(shapeOf(v), placement)))
    boxes.push_back({piece.cube, box});
  return boxes;
}

/// The rows of lhs and columns of rhs a cube multiplies to compute `box` of a
/// kb.matmul's result.
std::pair<Box, Box> operandBoxes(MatmulOp op, const Box &box) {
  int64_t k = shapeOf(op.getLhs())[1];
  return {Box{{box.offsets[0], 0}, {box.sizes[0], k}},
          Box{{0, box.offsets[1]}, {k, box.sizes[1]}}};
}

/// The copies after a cube-replicated result is computed in shares (the
/// lowering's copySharesToReplicas): each replica receives every share but its
/// own. One routed copy per share on a mesh small enough to route, else one
/// charge per replica for all its copies from anywhere (cubes² routes would
/// cost more than the whole program's placement).
double sharesToReplicasSeconds(
    const SmallVector<std::pair<int64_t, Box>> &boxes, int64_t eb,
    const DeviceDescription &device,
    const SmallVector<std::pair<int64_t, Box>> *replicaBoxes = nullptr) {
  Copies broadcast(device);
  if (device.cubes > kMaxCubesWithSources) {
    int64_t shares = 0;
    double bytes = 0;
    for (auto &[from, box] : boxes)
      if (box.numElements() != 0) {
        ++shares;
        bytes += boxBytes(box, eb);
      }
    for (auto &[to, own] : boxes) {
      bool owns = own.numElements() != 0;
      broadcast.addManyFromAnywhere(to, shares - owns,
                                    bytes - (owns ? boxBytes(own, eb) : 0));
    }
    return broadcast.seconds();
  }
  for (auto &[from, box] : boxes) {
    if (box.numElements() == 0)
      continue;
    for (auto &[to, other] : boxes)
      if (to != from)
        broadcast.add(from, to, boxBytes(box, eb));
  }
  // Relayed along the mesh's rows, then its columns, when that is faster,
  // as the lowering does (kb/Device/MeshRelay.h): the replicas' requests are
  // the whole result, each share held in place by its cube.
  if (replicaBoxes) {
    SmallVector<HeldBox> shares;
    for (auto &[from, box] : boxes)
      if (box.numElements() != 0)
        shares.push_back({box, {from}});
    auto keyOfPieces = [&](std::vector<int64_t> &key) {
      appendPieces(key, shares);
    };
    const MeshRelayPlan &plan =
        planRelay(device, keyOfPieces, [&] { return shares; }, *replicaBoxes,
                  eb, kMaxCubesWithSources, /*inPlace=*/true)
            .plan;
    if (plan.pays()) {
      ++relaysPriced;
      return plan.relayedSeconds;
    }
  }
  return broadcast.seconds();
}

double matmulSeconds(MatmulOp op, function_ref<DPPolicyAttr(Value)> policyOf,
                     const DeviceDescription &device, bool meshRelays) {
  DPPolicyAttr out = policyOf(op.getResult()), lhs = policyOf(op.getLhs()),
               rhs = policyOf(op.getRhs());
  int64_t k = shapeOf(op.getLhs())[1], eb = elementBytes(op.getLhs());
  bool f32 = op.getType().getElementType().isF32();
  auto boxes = computeBoxes(op.getResult(), out, device);
  // The lhs rows every cube reads whole, relayed over the mesh first when
  // that pays (a K-sharded lhs); the lowering's first cube then waits for
  // all of those copies, which it takes with its own.
  SmallVector<std::pair<int64_t, Box>> lhsRequests;
  for (auto &[cube, box] : boxes)
    if (box.numElements() != 0)
      lhsRequests.push_back({cube, operandBoxes(op, box).first});
  bool lhsRelayed = false;
  Copies staging =
      meshRelays ? relayedFromStart(op.getLhs(), lhs, lhsRequests, device,
                                    lhsRelayed)
                 : Copies(device);
  double relayDone = lhsRelayed ? staging.seconds() : 0;
  SmallVector<double> compute(boxes.size(), 0);
  for (auto [index, cubeBox] : llvm::enumerate(boxes)) {
    auto &[cube, box] = cubeBox;
    if (box.numElements() == 0)
      continue;
    auto [rows, cols] = operandBoxes(op, box);
    if (!lhsRelayed)
      bring(staging, op.getLhs(), lhs, cube, rows, device);
    bring(staging, op.getRhs(), rhs, cube, cols, device);
    Box local{{0, 0}, box.sizes};
    // Each PE's slab as one tile: the lowering's tiles of a slab read its
    // operands about once.
    for (const Box &share :
         peShares(local, out.resolve(device), device.pesPerCube))
      compute[index] = std::max(
          compute[index],
          peSeconds(device, matmulWork(share.sizes[0], share.sizes[1], k, eb,
                                       eb, /*accumulate=*/false, f32)));
  }
  // As the lowering waits, cube after cube, for each cube's own copies
  // before its tiles: a cube starts once its copies and those of the cubes
  // before it are in (a cube that holds its operands, at once).
  double waited = relayDone, end = 0;
  for (auto [index, cubeBox] : llvm::enumerate(boxes)) {
    if (cubeBox.second.numElements() == 0)
      continue;
    waited = std::max(waited, staging.secondsInto(cubeBox.first));
    end = std::max(end, waited + compute[index]);
  }
  double broadcast = 0;
  if (out.isCubeReplicated()) {
    SmallVector<std::pair<int64_t, Box>> replicas;
    for (const CubePiece &piece :
         cubePieces(shapeOf(op.getResult()), out.resolve(device)))
      replicas.push_back({piece.cube, piece.box});
    broadcast = sharesToReplicasSeconds(boxes, eb, device,
                                        meshRelays ? &replicas : nullptr);
  }
  return end + broadcast;
}

/// The tied head as the lowering runs it: each cube brings its input rows and
/// the table rows of its columns, and its PEs multiply them transposed at a
/// gemm's cost. A rank that reads its rows from the whole table copies them
/// into a buffer of the cube's first, even from the cube's own piece (a
/// gemm's operand offsets are the same on every rank, a DMA's move with it):
/// each cube's share of the vocabulary, so a result whose cubes each compute
/// every column copies the rank's whole share of the table into every cube.
double lmHeadSeconds(LMHeadOp op, function_ref<DPPolicyAttr(Value)> policyOf,
                     const DeviceDescription &device) {
  DPPolicyAttr out = policyOf(op.getResult()), in = policyOf(op.getInput()),
               table = policyOf(op.getTable());
  int64_t k = shapeOf(op.getInput())[1], eb = elementBytes(op.getInput());
  int64_t tableRows = shapeOf(op.getTable())[0];
  bool f32 = op.getType().getElementType().isF32();
  bool moves = op.getRank() && !op.holdsShard();
  if (moves)
    for (const CubePiece &piece :
         cubePieces(shapeOf(op.getTable()), table.resolve(device)))
      if (piece.box.sizes[0] != tableRows)
        return std::numeric_limits<double>::infinity(); // refused
  double compute = 0;
  Copies staging(device);
  auto boxes = computeBoxes(op.getResult(), out, device);
  for (auto &[cube, box] : boxes) {
    if (box.numElements() == 0)
      continue;
    Box rows{{box.offsets[0], 0}, {box.sizes[0], k}};
    int64_t first = std::min(box.offsets[1], tableRows);
    Box tableBox{{first, 0},
                 {std::min(box.sizes[1], tableRows - first), k}};
    bring(staging, op.getInput(), in, cube, rows, device);
    if (moves)
      copyBox(staging, op.getTable(), table, cube,
              Box{{0, 0}, {box.sizes[1], k}}, device);
    else
      bring(staging, op.getTable(), table, cube, tableBox, device);
    Box local{{0, 0}, box.sizes};
    for (const Box &share :
         peShares(local, out.resolve(device), device.pesPerCube))
      compute = std::max(
          compute,
          peSeconds(device, matmulWork(share.sizes[0], share.sizes[1], k, eb,
                                       eb, /*accumulate=*/false, f32)));
  }
  // As the lowering, a cube-replicated result is computed in shares and
  // copied to the replicas.
  double broadcast =
      out.isCubeReplicated() ? sharesToReplicasSeconds(boxes, eb, device) : 0;
  return staging.seconds() + compute + broadcast;
}

double elementwiseSeconds(Operation *op,
                          function_ref<DPPolicyAttr(Value)> policyOf,
                          const DeviceDescription &device, bool meshRelays) {
  Value result = op->getResult(0);
  DPPolicyAttr out = policyOf(result);
  int64_t eb = elementBytes(result);
  double compute = 0;
  SmallVector<CubePiece> pieces =
      cubePieces(shapeOf(result), out.resolve(device));
  // Each operand of the result's shape, relayed over the mesh first when
  // that pays, as the lowering does. The operands before the first that
  // relays record nothing, so that one starts the staging
  // (relayedFromStart).
  SmallVector<std::pair<int64_t, Box>> requests;
  for (const CubePiece &piece : pieces)
    requests.push_back({piece.cube, piece.box});
  SmallVector<Value> relayedOperands;
  std::optional<Copies> relayedStaging;
  for (Value operand : op->getOperands()) {
    if (!meshRelays || shapeOf(operand).size() != shapeOf(result).size() ||
        llvm::is_contained(relayedOperands, operand))
      continue;
    if (relayedStaging) {
      if (relayed(*relayedStaging, operand, policyOf(operand), requests,
                  device))
        relayedOperands.push_back(operand);
      continue;
    }
    bool relays = false;
    Copies started = relayedFromStart(operand, policyOf(operand), requests,
                                      device, relays);
    if (relays) {
      relayedStaging.emplace(std::move(started));
      relayedOperands.push_back(operand);
    }
  }
  Copies staging =
      relayedStaging ? std::move(*relayedStaging) : Copies(device);
  for (const CubePiece &piece : pieces) {
    for (Value operand : op->getOperands()) {
      if (llvm::is_contained(relayedOperands, operand))
        continue;
      Box box = piece.box;
      if (shapeOf(operand).size() != shapeOf(result).size())
        box = Box{{piece.box.offsets.back()}, {piece.box.sizes.back()}};
      bring(staging, operand, policyOf(operand), piece.cube, box, device);
    }
    Box local{SmallVector<int64_t, 2>(piece.box.sizes.size(), 0),
              piece.box.sizes};
    for (const Box &share :
         peShares(local, out.resolve(device), device.pesPerCube))
      compute = std::max(
          compute, peSeconds(device, elementwiseWork(boxBytes(share, 1), eb,
                                                     op->getNumOperands())));
  }
  return staging.seconds() + compute;
}

/// The blocks convert-kb-to-gemm-tile cuts `op` into under `policyOf`, or
/// std::nullopt when it would refuse the op.
std::optional<SmallVector<AttentionBlock>>
attentionBlocksOf(AttentionOp op, function_ref<DPPolicyAttr(Value)> policyOf,
                  const DeviceDescription &device) {
  ArrayRef<int64_t> q = shapeOf(op.getQ()), k = shapeOf(op.getK());
  AttentionShape shape{q[0],
                       k[0],
                       static_cast<int64_t>(op.getNumHeads()),
                       static_cast<int64_t>(op.getNumKvHeads()),
                       op.getHeadDim(),
                       elementBytes(op.getQ())};
  llvm::Expected<SmallVector<AttentionBlock>> blocks =
      attentionBlocks(shape, policyOf(op.getResult()).resolve(device), device);
  if (!blocks) {
    llvm::consumeError(blocks.takeError());
    return std::nullopt;
  }
  return std::move(*blocks);
}

/// The lowering's blocks priced: operand DMA into the busiest cube, the
/// busiest PE's blocks, then each block's region copied to the other pieces
/// that share it (replicas, or a head the policy cuts), the busiest cube's
/// copies. A placement the lowering refuses costs infinitely much.
double attentionSeconds(AttentionOp op,
                        function_ref<DPPolicyAttr(Value)> policyOf,
                        const DeviceDescription &device) {
  std::optional<SmallVector<AttentionBlock>> blocks =
      attentionBlocksOf(op, policyOf, device);
  if (!blocks)
    return std::numeric_limits<double>::infinity();
  Value result = op.getResult();
  DPPolicyAttr out = policyOf(result);
  SmallVector<CubePiece> pieces =
      cubePieces(shapeOf(result), out.resolve(device));
  int64_t d = op.getHeadDim(), eb = elementBytes(result);
  bool f32 = op.getType().getElementType().isF32();
  Copies staging(device), copies(device);
  for (auto [piece, boxes] : llvm::zip_equal(
           pieces, attentionOperandBoxes(*blocks, pieces.size(), d))) {
    if (!boxes)
      continue;
    bring(staging, op.getQ(), policyOf(op.getQ()), piece.cube, boxes->q,
          device);
    bring(staging, op.getK(), policyOf(op.getK()), piece.cube, boxes->kv,
          device);
    bring(staging, op.getV(), policyOf(op.getV()), piece.cube, boxes->kv,
          device);
  }
  // Replicas overlap a block alike: each distinct piece box is intersected
  // once per block (a replicated result has one, where 16 intersections a
  // block were a sixth of kb-place's time on the Llama-2-7B layer), and the
  // copies still go out piece by piece, in the lowering's order.
  SmallVector<const Box *> distinctBoxes;
  SmallVector<size_t> boxOf;
  for (const CubePiece &piece : pieces) {
    const Box *const *it = llvm::find_if(
        distinctBoxes, [&](const Box *b) { return *b == piece.box; });
    boxOf.push_back(it - distinctBoxes.begin());
    if (it == distinctBoxes.end())
      distinctBoxes.push_back(&piece.box);
  }
  SmallVector<std::optional<Box>> overlaps(distinctBoxes.size());
  // The PEs that get blocks, not every PE of every piece.
  llvm::DenseMap<int64_t, double> peBusy;
  for (const AttentionBlock &b : *blocks) {
    // A block split over keys busies its PEs with a partial each, and its
    // first PE with the combine too.
    for (auto [pe, seconds] : attentionBlockPESeconds(b, d, eb, f32, device))
      peBusy[b.piece * device.pesPerCube + pe] += seconds;
    Box box = b.outBox(d);
    bool inPlace = pieces[b.piece].box.contains(box);
    for (auto [overlap, distinct] : llvm::zip_equal(overlaps, distinctBoxes))
      overlap = distinct->intersect(box);
    for (auto [index, to] : llvm::enumerate(pieces)) {
      if (inPlace && index == static_cast<size_t>(b.piece))
        continue;
      if (const std::optional<Box> &overlap = overlaps[boxOf[index]])
        copies.add(pieces[b.piece].cube, to.cube, boxBytes(*overlap, eb));
    }
  }
  double compute = 0;
  for (const auto &[pe, seconds] : peBusy)
    compute = std::max(compute, seconds);
  return staging.seconds() + compute + copies.seconds();
}

/// A norm or rope as the lowering emits it: each cube stages the whole rows
/// (heads) of its piece and the vectors, its PEs share the rows out, and a
/// piece narrower than the rows is copied out of a scratch buffer. A policy
/// that splits the last dimension therefore pays the staging and the copy,
/// and each cube computes its rows whole.
double rowOpSeconds(Operation *op, function_ref<DPPolicyAttr(Value)> policyOf,
                    const DeviceDescription &device) {
  Value input = op->getOperand(0), result = op->getResult(0);
  ArrayRef<int64_t> shape = shapeOf(result);
  if (shape.size() != 2)
    return 0;
  DPPolicyAttr out = policyOf(result);
  int64_t eb = elementBytes(result);
  bool f32 = cast<RankedTensorType>(result.getType()).getElementType().isF32();
  auto rope = dyn_cast<RoPEOp>(op);
  int64_t unit = rope ? static_cast<int64_t>(rope.getHeadDim()) : 0;
  double compute = 0;
  Copies staging(device), copies(device);
  for (const CubePiece &piece : cubePieces(shape, out.resolve(device))) {
    Box work = rowWorkBox(piece.box, shape[1], unit);
    bring(staging, input, policyOf(input), piece.cube, work, device);
    for (Value vector : op->getOperands().drop_front())
      bring(staging, vector, policyOf(vector), piece.cube, Box{{0}, {shape[1]}},
            device);
    for (const Box &share :
         rowShares(Box{{0, 0}, work.sizes}, unit, device.pesPerCube)) {
      PEWork w =
          rope ? ropeWork(share.sizes[0], share.sizes[1], eb, f32)
               : normWork(share.sizes[0], share.sizes[1], eb,
                          op->getNumOperands() - 1, isa<LayerNormOp>(op), f32);
      compute = std::max(compute, peSeconds(device, w));
    }
    if (!(work == piece.box))
      copies.add(piece.cube, piece.cube, boxBytes(piece.box, eb));
  }
  return staging.seconds() + compute + copies.seconds();
}

/// A kv_append as the lowering issues it: each result piece takes the
/// cache rows it covers, then the new rows it covers (moved down by the
/// cached rows), from wherever their pieces sit; all in one phase. A cache
/// placed like the result costs one copy within each cube; placed otherwise,
/// every piece pulls its rows over the mesh.
double kvAppendSeconds(KVAppendOp op,
                       function_ref<DPPolicyAttr(Value)> policyOf,
                       const DeviceDescription &device) {
  Value cache = op.getCache(), rows = op.getNewRows(), result = op.getResult();
  int64_t cached = shapeOf(cache)[0];
  SmallVector<int64_t, 2> atCache(shapeOf(result).size(), 0),
      atRows(shapeOf(result).size(), 0);
  atRows[0] = -cached;
  Copies copies(device);
  for (const CubePiece &piece :
       cubePieces(shapeOf(result), policyOf(result).resolve(device))) {
    copyInto(copies, cache, policyOf(cache), piece, atCache, device);
    copyInto(copies, rows, policyOf(rows), piece, atRows, device);
  }
  return copies.seconds();
}

/// A static slice as the lowering issues it: each result piece copies its
/// box, moved by the slice's offsets, from the source pieces that hold it.
/// A slice the lowering refuses (dynamic offsets, strides, fewer
/// dimensions) is priced as one copy a piece from anywhere.
double extractSliceSeconds(tensor::ExtractSliceOp op,
                           function_ref<DPPolicyAttr(Value)> policyOf,
                           const DeviceDescription &device) {
  Value source = op.getSource(), result = op.getResult();
  bool lowered =
      op->getNumOperands() == 1 &&
      llvm::all_of(op.getStaticStrides(), [](int64_t s) { return s == 1; }) &&
      shapeOf(source).size() == shapeOf(result).size();
  Copies copies(device);
  for (const CubePiece &piece :
       cubePieces(shapeOf(result), policyOf(result).resolve(device))) {
    if (lowered)
      copyInto(copies, source, policyOf(source), piece, op.getStaticOffsets(),
               device);
    else
      copies.addFromAnywhere(piece.cube,
                             boxBytes(piece.box, elementBytes(result)));
  }
  return copies.seconds();
}

/// A row gather by token id as the lowering issues it: each result piece
/// stages its token ids, then gathers its columns from each distinct table
/// piece that holds some of them, charged as a copy of the piece's rows of
/// those columns from the table piece's cube (kb-run cannot know the ids).
double embeddingSeconds(EmbeddingOp op,
                        function_ref<DPPolicyAttr(Value)> policyOf,
                        const DeviceDescription &device) {
  Value ids = op.getIds(), table = op.getTable(), result = op.getResult();
  int64_t eb = elementBytes(result), vocabRows = shapeOf(table)[0];
  Copies staging(device), gathers(device);
  SmallVector<CubePiece> pieces =
      cubePieces(shapeOf(result), policyOf(result).resolve(device));
  for (const CubePiece &piece : pieces)
    bring(staging, ids, policyOf(ids),
          piece.cube, Box{{piece.box.offsets[0]}, {piece.box.sizes[0]}},
          device);
  for (const CubePiece &piece : pieces) {
    int64_t tokens = piece.box.sizes[0];
    Box columns{{0, piece.box.offsets[1]}, {vocabRows, piece.box.sizes[1]}};
    copyBox(gathers, table, policyOf(table), piece.cube, columns, device,
            [&](const Box &overlap) {
              return static_cast<double>(tokens) * overlap.sizes[1] * eb;
            });
  }
  return staging.seconds() + gathers.seconds();
}

/// A rank-dependent slice as the lowering issues it: one DMA a result
/// piece, from a source piece that holds every rank's slice of it (the
/// cube's own preferred). A placement the lowering refuses, with no such
/// piece, costs infinitely much.
double tpSliceSeconds(TPSliceOp op, function_ref<DPPolicyAttr(Value)> policyOf,
                      const DeviceDescription &device) {
  Value input = op.getInput(), result = op.getResult();
  int64_t eb = elementBytes(result);
  DPPolicyAttr from = policyOf(input);
  Copies copies(device);
  SmallVector<CubePiece> sources;
  for (const CubePiece &piece :
       cubePieces(shapeOf(result), policyOf(result).resolve(device))) {
    Box reach = piece.box;
    op.widenToReach(reach.offsets, reach.sizes);
    double bytes = boxBytes(piece.box, eb);
    if (holds(input, from, piece.cube, reach, device)) {
      copies.add(piece.cube, piece.cube, bytes);
      continue;
    }
    if (device.cubes > kMaxCubesWithSources) {
      copies.addFromAnywhere(piece.cube, bytes);
      continue;
    }
    if (sources.empty())
      sources = cubePieces(shapeOf(input), from.resolve(device));
    const CubePiece *source = llvm::find_if(
        sources, [&](const CubePiece &p) { return p.box.contains(reach); });
    if (source == sources.end())
      return std::numeric_limits<double>::infinity();
    copies.add(source->cube, piece.cube, bytes);
  }
  return copies.seconds();
}

double allReduceOpSeconds(AllReduceOp op,
                          function_ref<DPPolicyAttr(Value)> policyOf,
                          int64_t worldSize, const DeviceDescription &device) {
  if (worldSize == 1)
    return 0;
  DPPolicyAttr policy = policyOf(op.getResult());
  double bytes = tensorBytes(op.getResult());
  double ring = kb::allReduceSeconds(device, bytes, worldSize);
  // The ring runs on the distinct pieces; each other replica copies the
  // reduced piece it repeats.
  Copies replicas(device);
  if (policy.isCubeReplicated()) {
    SmallVector<CubePiece> pieces =
        cubePieces(shapeOf(op.getResult()), policy.resolve(device));
    for (const CubePiece &piece : llvm::drop_begin(pieces))
      if (device.cubes > kMaxCubesWithSources)
        replicas.addFromAnywhere(piece.cube, bytes);
      else
        replicas.add(pieces.front().cube, piece.cube, bytes);
  }
  return ring + replicas.seconds();
}

/// The bytes of the largest operand box a cube's attention blocks stage
/// when no piece of the operand in that cube holds it. Shapes are sized by
/// the default device: the boxes a cube reads are bounded by the keys and
/// one KV head's columns whatever the PE buffer.
int64_t largestAttentionStagedBytes(AttentionOp op,
                                    function_ref<DPPolicyAttr(Value)> policyOf,
                                    const DeviceDescription &device) {
  if (!llvm::all_of(
          op->getOperandTypes(),
          [](Type t) { return cast<RankedTensorType>(t).hasStaticShape(); }) ||
      !op.getType().hasStaticShape())
    return 0;
  // Counts left open are the device's; the blocks are cut for the default
  // PE buffer.
  DeviceDescription blockDevice;
  blockDevice.cubes = device.cubes;
  blockDevice.pesPerCube = device.pesPerCube;
  std::optional<SmallVector<AttentionBlock>> blocks =
      attentionBlocksOf(op, policyOf, blockDevice);
  if (!blocks)
    return 0;
  SmallVector<CubePiece> pieces = cubePieces(
      shapeOf(op.getResult()), policyOf(op.getResult()).resolve(device));
  int64_t eb = elementBytes(op.getQ()), largest = 0;
  auto staged = [&](Value v, int64_t cube, const Box &box) -> int64_t {
    if (holds(v, policyOf(v), cube, box, device))
      return 0;
    return checkedByteSize(box.sizes, eb)
        .value_or(std::numeric_limits<int64_t>::max());
  };
  for (auto [piece, boxes] :
       llvm::zip_equal(pieces, attentionOperandBoxes(*blocks, pieces.size(),
                                                     op.getHeadDim()))) {
    if (!boxes)
      continue;
    largest = std::max({largest, staged(op.getQ(), piece.cube, boxes->q),
                        staged(op.getK(), piece.cube, boxes->kv),
                        staged(op.getV(), piece.cube, boxes->kv)});
  }
  return largest;
}

/// An all_gather or reduce_scatter along a dimension: one ring half over
/// the whole tensor, the rank's slice into or out of the ring buffer, and a
/// copy of the whole to every other piece of an all_gather's result.
double alongDimSeconds(Operation *op, Value whole,
                       function_ref<DPPolicyAttr(Value)> policyOf,
                       int64_t worldSize, const DeviceDescription &device) {
  if (worldSize == 1)
    return 0;
  double bytes = tensorBytes(whole);
  bool reduce = isa<ReduceScatterOp>(op);
  double ring =
      kb::alongDimCollectiveSeconds(device, bytes, worldSize, reduce);
  double slice = dmaSeconds(device, bytes / worldSize, /*withinCube=*/false);
  DPPolicyAttr policy = policyOf(op->getResult(0));
  double copies = isa<AllGatherOp>(op) && policy && policy.isCubeReplicated()
                      ? dmaSeconds(device, bytes, /*withinCube=*/false)
                      : 0;
  return ring + slice + copies;
}

} // namespace

uint64_t kb::relaysPricedOnThisThread() { return relaysPriced; }

RelayPlanCacheScope::RelayPlanCacheScope()
    : plans(std::make_unique<Plans>()), outer(activeRelayPlans) {
  activeRelayPlans = plans.get();
}

RelayPlanCacheScope::~RelayPlanCacheScope() { activeRelayPlans = outer; }

double kb::estimateOpSeconds(Operation *op,
                             function_ref<DPPolicyAttr(Value)> policyOf,
                             int64_t worldSize, const DeviceDescription &device,
                             bool meshRelays) {
  // Pieces and boxes of a dynamic shape mean nothing; such a program cannot
  // be lowered either, so there is no device time to estimate.
  auto isStaticTensor = [](Type type) {
    auto tensor = dyn_cast<RankedTensorType>(type);
    return !tensor || tensor.hasStaticShape();
  };
  if (!llvm::all_of(op->getOperandTypes(), isStaticTensor) ||
      !llvm::all_of(op->getResultTypes(), isStaticTensor))
    return 0;
  if (auto matmul = dyn_cast<MatmulOp>(op))
    return matmulSeconds(matmul, policyOf, device, meshRelays);
  if (auto head = dyn_cast<LMHeadOp>(op))
    return lmHeadSeconds(head, policyOf, device);
  // Every elementwise op, whatever its function: the device charges each
  // one's slabs by its bytes (kb::elementwiseWork), so one estimate fits all.
  if (isa<ElementwiseOpInterface>(op))
    return elementwiseSeconds(op, policyOf, device, meshRelays);
  if (auto attention = dyn_cast<AttentionOp>(op))
    return attentionSeconds(attention, policyOf, device);
  if (isa<RMSNormOp, LayerNormOp, RoPEOp>(op))
    return rowOpSeconds(op, policyOf, device);
  if (auto append = dyn_cast<KVAppendOp>(op))
    return kvAppendSeconds(append, policyOf, device);
  if (auto slice = dyn_cast<tensor::ExtractSliceOp>(op))
    return extractSliceSeconds(slice, policyOf, device);
  if (auto embedding = dyn_cast<EmbeddingOp>(op))
    return embeddingSeconds(embedding, policyOf, device);
  if (auto reduce = dyn_cast<AllReduceOp>(op))
    return allReduceOpSeconds(reduce, policyOf, worldSize, device);
  if (auto gather = dyn_cast<AllGatherOp>(op))
    return alongDimSeconds(op, gather.getResult(), policyOf, worldSize,
                           device);
  if (auto scatter = dyn_cast<ReduceScatterOp>(op))
    return alongDimSeconds(op, scatter.getInput(), policyOf, worldSize,
                           device);
  if (auto slice = dyn_cast<TPSliceOp>(op))
    return tpSliceSeconds(slice, policyOf, device);
  return 0;
}

int64_t kb::largestStagedBytes(Operation *op,
                               function_ref<DPPolicyAttr(Value)> policyOf,
                               const DeviceDescription &device) {
  if (auto attention = dyn_cast<AttentionOp>(op))
    return largestAttentionStagedBytes(attention, policyOf, device);
  auto matmul = dyn_cast<MatmulOp>(op);
  if (!matmul || !matmul.getLhs().getType().hasStaticShape() ||
      !matmul.getRhs().getType().hasStaticShape() ||
      !matmul.getType().hasStaticShape())
    return 0;
  DPPolicyAttr lhs = policyOf(matmul.getLhs()), rhs = policyOf(matmul.getRhs());
  int64_t eb = elementBytes(matmul.getLhs()), largest = 0;
  auto staged = [&](Value v, DPPolicyAttr policy, int64_t cube,
                    const Box &box) -> int64_t {
    if (holds(v, policy, cube, box, device))
      return 0;
    return checkedByteSize(box.sizes, eb)
        .value_or(std::numeric_limits<int64_t>::max());
  };
  for (auto &[cube, box] :
       computeBoxes(matmul.getResult(), policyOf(matmul.getResult()), device)) {
    if (box.numElements() == 0)
      continue;
    auto [rows, cols] = operandBoxes(matmul, box);
    largest = std::max({largest, staged(matmul.getLhs(), lhs, cube, rows),
                        staged(matmul.getRhs(), rhs, cube, cols)});
  }
  return largest;
}

SmallVector<DPPolicyAttr>
kb::candidatePolicies(MLIRContext *ctx, ArrayRef<int64_t> shape,
                      const DeviceDescription &device) {
  auto largestDivisor = [](int64_t size, int64_t limit) {
    for (int64_t count = std::min(size, limit); count > 1; --count)
      if (size % count == 0)
        return count;
    return int64_t(1);
  };
  // All the cubes, and on a mesh also one row of it: a small tensor whose
  // pieces every cube needs costs fewer and nearer copies on a few
  // neighbouring cubes than spread over the whole mesh.
  SmallVector<int64_t, 2> cubeCounts = {device.cubes};
  if (device.meshCols > 1 && device.meshCols < device.cubes)
    cubeCounts.push_back(device.meshCols);
  SmallVector<std::pair<int64_t, int64_t>> cubeLevels;
  for (int64_t limit : cubeCounts) {
    cubeLevels.push_back({DPPolicyAttr::kReplicate, limit});
    for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d)
      if (int64_t count = largestDivisor(shape[d], limit);
          count > 1 && !llvm::is_contained(cubeLevels, std::pair{d, count}))
        cubeLevels.push_back({d, count});
  }
  SmallVector<DPPolicyAttr> candidates;
  for (auto [cubeDim, cubes] : cubeLevels) {
    SmallVector<int64_t> piece(shape);
    if (cubeDim != DPPolicyAttr::kReplicate)
      piece[cubeDim] /= cubes;
    candidates.push_back(
        DPPolicyAttr::get(ctx, cubeDim, DPPolicyAttr::kReplicate, cubes,
                          device.pesPerCube));
    for (int64_t d = 0; d < static_cast<int64_t>(piece.size()); ++d)
      if (int64_t pes = largestDivisor(piece[d], device.pesPerCube); pes > 1)
        candidates.push_back(DPPolicyAttr::get(ctx, cubeDim, d, cubes, pes));
  }
  return candidates;
}
