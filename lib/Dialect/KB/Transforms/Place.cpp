//===- Place.cpp - DPPolicy placement inside each SIP ---------------------===//
//
// Values whose types must agree (an op's operand and result under
// SameOperandsAndResultType, say) share one policy, so the pass groups them
// into classes first and decides once per class: the user's policy when one
// member has it, otherwise the rule of docs/Placement.md.
//
//===----------------------------------------------------------------------===//

#include "kb/Device/Tiling.h"
#include "kb/Dialect/GemmTile/IR/DeviceDescription.h"
#include "kb/Dialect/KB/IR/KBOps.h"
#include "kb/Dialect/KB/Transforms/Passes.h"
#include "kb/Dialect/KB/Transforms/PlacementCostModel.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/EquivalenceClasses.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MathExtras.h"

#include <limits>
#include <map>

namespace kb {
#define GEN_PASS_DEF_KBPLACEPASS
#include "kb/Dialect/KB/Transforms/Passes.h.inc"
} // namespace kb

using namespace mlir;
using namespace kb;

namespace {

/// The largest count in [1, limit] that divides `size`.
int64_t largestDivisor(int64_t size, int64_t limit) {
  for (int64_t count = std::min(size, limit); count > 1; --count)
    if (size % count == 0)
      return count;
  return 1;
}

/// The default rule for a tensor of `shape` that no user placed.
DPPolicyAttr defaultPolicy(MLIRContext *ctx, ArrayRef<int64_t> shape,
                           bool feedsGemmLhs,
                           const gemm_tile::DeviceDescription &device) {
  if (feedsGemmLhs)
    // Every cube's PEs read all of the lhs rows they multiply: a copy per
    // cube turns those reads into local ones.
    return DPPolicyAttr::get(ctx, DPPolicyAttr::kReplicate,
                             DPPolicyAttr::kReplicate, device.cubes,
                             device.pesPerCube);
  if (shape.size() == 1) {
    int64_t cubes = largestDivisor(shape[0], device.cubes);
    return DPPolicyAttr::get(ctx, cubes > 1 ? 0 : DPPolicyAttr::kReplicate,
                             DPPolicyAttr::kReplicate, cubes,
                             device.pesPerCube);
  }
  if (shape.size() != 2)
    return DPPolicyAttr::get(ctx, DPPolicyAttr::kReplicate,
                             DPPolicyAttr::kReplicate, 1, device.pesPerCube);
  int64_t cubes = largestDivisor(shape[1], device.cubes);
  int64_t pes = largestDivisor(shape[0], device.pesPerCube);
  return DPPolicyAttr::get(ctx, cubes > 1 ? 1 : DPPolicyAttr::kReplicate,
                           pes > 1 ? 0 : DPPolicyAttr::kReplicate, cubes,
                           pes > 1 ? pes : device.pesPerCube);
}

/// The number of cubes over which `v` keeps whole heads a cube when it is a
/// decode attention's q, k, v or result, or the cache or new rows a
/// kv_append joins into its k or v (an attention reading a KV cache): the
/// largest count of at most the device's cubes that divides the KV heads,
/// so that a cube holds whole KV heads and the query heads that read them.
/// Each cube's attention blocks then read the keys and values where the
/// cache lives, and the append writes each cube's heads in that cube,
/// instead of staging every KV head's columns from the cubes a plain column
/// split spreads them over (docs/design/0016-kv-cache-with-its-heads.md).
/// std::nullopt for any other value.
std::optional<int64_t>
attentionCubes(Value v, const gemm_tile::DeviceDescription &device) {
  auto type = dyn_cast<RankedTensorType>(v.getType());
  if (!type || type.getRank() != 2)
    return std::nullopt;
  auto readsCache = [](AttentionOp op) {
    return op.getK().getDefiningOp<KVAppendOp>() ||
           op.getV().getDefiningOp<KVAppendOp>();
  };
  auto cubesOf = [&](AttentionOp op) -> std::optional<int64_t> {
    if (!readsCache(op))
      return std::nullopt;
    return largestDivisor(op.getNumKvHeads(), device.cubes);
  };
  if (auto op = v.getDefiningOp<AttentionOp>())
    return cubesOf(op);
  auto viaAppend = [&](KVAppendOp append) -> std::optional<int64_t> {
    for (OpOperand &use : append.getResult().getUses())
      if (auto op = dyn_cast<AttentionOp>(use.getOwner());
          op && use.get() != op.getQ())
        return cubesOf(op);
    return std::nullopt;
  };
  for (OpOperand &use : v.getUses()) {
    if (auto op = dyn_cast<AttentionOp>(use.getOwner()))
      if (std::optional<int64_t> cubes = cubesOf(op))
        return cubes;
    if (auto append = dyn_cast<KVAppendOp>(use.getOwner()))
      if (std::optional<int64_t> cubes = viaAppend(append))
        return cubes;
  }
  if (auto append = v.getDefiningOp<KVAppendOp>())
    return viaAppend(append);
  return std::nullopt;
}

struct KBPlacePass : public kb::impl::KBPlacePassBase<KBPlacePass> {
  using KBPlacePassBase::KBPlacePassBase;
  void runOnOperation() override;
  LogicalResult placeFunction(func::FuncOp func,
                              const gemm_tile::DeviceDescription &device);
};

} // namespace

/// Checks a policy against the device it will run on: its counts (given, or
/// the device's) and the splits they make of `type`.
static LogicalResult
checkAgainstDevice(Location loc, Type type, DPPolicyAttr policy,
                   const gemm_tile::DeviceDescription &device) {
  return policy.verifyOnDevice(cast<RankedTensorType>(type).getShape(), device,
                               [&] { return emitError(loc); });
}

/// Bytes of the piece of a tensor of `type` (static, of floats) that each
/// cube of `policy` holds, or std::nullopt when that does not fit in int64.
std::optional<int64_t>
cubePieceBytes(RankedTensorType type, DPPolicyAttr policy,
               const gemm_tile::DeviceDescription &device) {
  SmallVector<int64_t> piece(type.getShape());
  if (!policy.isCubeReplicated() && policy.getCubeDim() < type.getRank())
    piece[policy.getCubeDim()] /= policy.getNumCubes(device);
  return checkedByteSize(piece, type.getElementTypeBitWidth() / 8);
}

/// What an op's placement-dependent figures (its estimate, the bytes it
/// stages) depend on: its kind, attributes, types and the policies of its
/// values. A model repeats its layers, so equal keys share those figures and
/// placement costs the same per layer however deep the model is.
using OpPlacementKey = SmallVector<const void *, 12>;
/// Appends the key of `op` to `key`, with `policyKey` standing for the
/// policy of each tensor.
static void appendOpPlacementKey(OpPlacementKey &key, Operation *op,
                                 function_ref<const void *(Value)> policyKey) {
  key.push_back(op->getName().getAsOpaquePointer());
  key.push_back(op->getRawDictionaryAttrs().getAsOpaquePointer());
  // The count keeps the keys of several ops in a row apart.
  key.push_back(reinterpret_cast<const void *>(
      static_cast<uintptr_t>(op->getNumOperands() + op->getNumResults())));
  for (ValueRange values :
       {ValueRange(op->getOperands()), ValueRange(op->getResults())})
    for (Value v : values) {
      key.push_back(v.getType().getAsOpaquePointer());
      key.push_back(isa<RankedTensorType>(v.getType()) ? policyKey(v)
                                                        : nullptr);
    }
}
static OpPlacementKey
opPlacementKey(Operation *op, function_ref<DPPolicyAttr(Value)> policyOf) {
  OpPlacementKey key;
  appendOpPlacementKey(key, op, [&](Value v) {
    return policyOf(v).getAsOpaquePointer();
  });
  return key;
}

/// Rejects placements that put more in one cube than any device's cube holds:
/// a tensor's piece, the arguments together (all resident from the start), or
/// the operand rows and columns a gemm stages next to its result piece. Sizes
/// between this device's cube and that bound are left to the lowering, which
/// counts everything a cube holds at once; this keeps its int64 tallies, a
/// few such terms at a time, from overflowing.
static LogicalResult
checkCubeBytes(func::FuncOp func, ArrayRef<Value> values,
               function_ref<DPPolicyAttr(Value)> policyOf,
               const gemm_tile::DeviceDescription &device) {
  // Unsigned and saturating: each term is at most
  // gemm_tile::kMaxCubeMemoryBytes, but a function may have any number of
  // arguments.
  SmallVector<uint64_t> argBytes(device.cubes, 0);
  for (Value v : values) {
    auto type = dyn_cast<RankedTensorType>(v.getType());
    if (!type || !type.hasStaticShape())
      continue;
    DPPolicyAttr policy = policyOf(v);
    std::optional<int64_t> bytes = cubePieceBytes(type, policy, device);
    if (!bytes || *bytes > gemm_tile::kMaxCubeMemoryBytes) {
      return emitError(v.getLoc())
             << "a tensor of type "
             << RankedTensorType::get(type.getShape(), type.getElementType())
             << " needs "
             << gemm_tile::byteCountText(
                    bytes.value_or(std::numeric_limits<int64_t>::max()))
             << " bytes in each of its cubes under " << policy
             << ", more than any device's cube holds (2^50 bytes)";
    }
    if (isa<BlockArgument>(v))
      for (int64_t cube = 0;
           cube < std::min(policy.getNumCubes(device), device.cubes); ++cube)
        argBytes[cube] = llvm::SaturatingAdd<uint64_t>(argBytes[cube], *bytes);
  }
  for (auto [cube, bytes] : llvm::enumerate(argBytes))
    if (bytes > static_cast<uint64_t>(gemm_tile::kMaxCubeMemoryBytes))
      return func.emitOpError()
             << "has arguments that need " << bytes << " bytes in cube " << cube
             << ", more than any device's cube holds (2^50 bytes)";
  // Layers repeat: equal ops under equal policies stage equal bytes.
  std::map<OpPlacementKey, int64_t> stagedBytes;
  WalkResult walk = func.walk([&](Operation *op) {
    if (!isa<MatmulOp, AttentionOp>(op))
      return WalkResult::advance();
    auto [it, inserted] =
        stagedBytes.try_emplace(opPlacementKey(op, policyOf), 0);
    if (inserted)
      it->second = largestStagedBytes(op, policyOf, device);
    int64_t bytes = it->second;
    if (bytes <= gemm_tile::kMaxCubeMemoryBytes)
      return WalkResult::advance();
    op->emitOpError() << "stages " << bytes
                      << " bytes of its operands in one cube under these "
                         "placements, more than any device's cube holds "
                         "(2^50 bytes)";
    return WalkResult::interrupt();
  });
  return failure(walk.wasInterrupted());
}

LogicalResult
KBPlacePass::placeFunction(func::FuncOp func,
                           const gemm_tile::DeviceDescription &device) {
  if (func.isExternal())
    return success();
  SmallVector<Value> values;
  for (BlockArgument arg : func.getArguments())
    values.push_back(arg);
  func.walk([&](Operation *op) {
    for (Value result : op->getResults())
      values.push_back(result);
  });
  // Placement sizes pieces in bytes, and the device's buffers hold only these
  // element types (a tensor of index has no byte size at all).
  for (Value v : values) {
    auto type = dyn_cast<RankedTensorType>(v.getType());
    if (type && !gemm_tile::isDeviceElementType(type.getElementType()))
      return emitError(v.getLoc())
             << "kb-place cannot place a tensor of type " << type
             << ": the device holds f16, bf16, f32, i32 and i64 elements";
    // No device work produces or reads an empty tensor, so nothing would
    // make a rank program with it yield or return defined data.
    if (type && llvm::is_contained(type.getShape(), 0))
      return emitError(v.getLoc()) << "kb-place cannot place a tensor of type "
                                   << type << ": it has a dimension of size 0";
  }

  // Values that must share one type.
  // Elementwise ops, norms, rope and all_reduce: the type constraints that
  // tie a result to its operand tie their policies too. A norm's or a binary
  // op's result may be placed apart from its first operand, and is worth
  // placing apart when that operand is read elsewhere too: a residual
  // stream, read by a norm and an add. Tied, the stream, both norms and the
  // layer's output share the policy the gemms' lhs wants (replicated), and
  // each residual add gathers the all-reduced sum into every cube; apart, an
  // add can sum where the ring left the pieces. The search decides the tied
  // classes first and then, from there, the parts such a tie joined
  // (`apart`, below): searched apart from the start, the greedy sweeps lost
  // the placement that moves a whole stream at once (GPT-2 small's onto one
  // mesh row, 340.4 against 354.4 us).
  auto buildClasses = [&](bool apart) {
    llvm::EquivalenceClasses<Value> result;
    for (Value v : values)
      if (isa<RankedTensorType>(v.getType()))
        result.insert(v);
    func.walk([&](Operation *op) {
      if (op->getNumResults() != 1 || op->getNumOperands() == 0 ||
          !isa<RankedTensorType>(op->getResult(0).getType()))
        return;
      if (op->hasTrait<mlir::OpTrait::SameOperandsAndResultType>())
        for (Value operand : op->getOperands())
          result.unionSets(operand, op->getResult(0));
      else if (op->hasTrait<kb::ResultTypeOfFirstOperand>() &&
               (!apart || op->getOperand(0).hasOneUse()))
        result.unionSets(op->getOperand(0), op->getResult(0));
    });
    return result;
  };
  llvm::EquivalenceClasses<Value> classes = buildClasses(/*apart=*/false);
  // Whether a tie joins a first operand read elsewhere too: else the parts
  // are the classes, and there is nothing to search apart.
  bool anyApart = false;
  func.walk([&](Operation *op) {
    anyApart |= op->hasTrait<kb::ResultTypeOfFirstOperand>() &&
                op->getNumResults() == 1 && op->getNumOperands() != 0 &&
                !op->getOperand(0).hasOneUse();
  });

  MLIRContext *ctx = func.getContext();
  // One decision per class, taken by its leader; program order keeps the
  // greedy choice deterministic and lets producers decide before consumers.
  auto membersOf = [&](Value v) {
    return llvm::make_range(classes.findLeader(v), classes.member_end());
  };
  llvm::DenseMap<Value, DPPolicyAttr> chosen;
  SmallVector<Value> undecided, given;
  for (Value v : values) {
    if (!isa<RankedTensorType>(v.getType()) || classes.getLeaderValue(v) != v)
      continue;
    DPPolicyAttr policy;
    bool feedsGemmLhs = false;
    for (Value m : membersOf(v)) {
      if (DPPolicyAttr given = getDPPolicy(m.getType())) {
        if (failed(checkAgainstDevice(m.getLoc(), m.getType(), given, device)))
          return failure();
        policy = given;
      }
      // A rank-dependent slice must find the whole tensor in one cube too.
      for (OpOperand &use : m.getUses()) {
        if (auto matmul = dyn_cast<MatmulOp>(use.getOwner()))
          feedsGemmLhs |= use.get() == matmul.getLhs();
        feedsGemmLhs |= isa<TPSliceOp>(use.getOwner());
      }
    }
    std::optional<int64_t> headCubes;
    for (Value m : membersOf(v))
      if (!headCubes)
        headCubes = attentionCubes(m, device);
    if (!policy && headCubes && !feedsGemmLhs) {
      // Whole heads a cube, the columns split over the cubes the KV heads
      // divide into; the rows over the PEs as the rule would.
      DPPolicyAttr rule = defaultPolicy(
          ctx, cast<RankedTensorType>(v.getType()).getShape(), false, device);
      policy = DPPolicyAttr::get(
          ctx, *headCubes > 1 ? 1 : DPPolicyAttr::kReplicate,
          rule.getPeDim(), *headCubes, rule.getNumPes(device));
      undecided.push_back(v);
    } else if (!policy) {
      policy =
          defaultPolicy(ctx, cast<RankedTensorType>(v.getType()).getShape(),
                        feedsGemmLhs, device);
      if (!feedsGemmLhs || !llvm::any_of(membersOf(v), [](Value m) {
            return llvm::any_of(m.getUsers(), llvm::IsaPred<TPSliceOp>);
          }))
        undecided.push_back(v);
    } else {
      given.push_back(v);
    }
    chosen[v] = policy;
  }
  auto policyOf = [&](Value v) -> DPPolicyAttr {
    return chosen.lookup(classes.getLeaderValue(v));
  };

  int64_t worldSize = lookupWorldSize(func).value_or(1);
  // Every candidate of a class re-prices its neighbours' operand staging:
  // the relay plans repeat, and each is kept once.
  RelayPlanCacheScope relayPlans;
  // One estimate per distinct op (opPlacementKey), priced with the mesh
  // relays the lowering takes, or (`meshRelays` false, for the second
  // search below) without them.
  bool meshRelays = true;
  std::map<OpPlacementKey, double> estimates[2];
  auto estimateCached = [&](Operation *op) {
    auto [it, inserted] =
        estimates[meshRelays].try_emplace(opPlacementKey(op, policyOf), 0.0);
    if (inserted) {
      uint64_t relaysBefore = relaysPricedOnThisThread();
      it->second =
          estimateOpSeconds(op, policyOf, worldSize, device, meshRelays);
      // An estimate that relayed nothing is the one without relays too: the
      // second search finds it instead of pricing the op again.
      if (meshRelays && relaysPricedOnThisThread() == relaysBefore)
        estimates[false].try_emplace(it->first, it->second);
    }
    return it->second;
  };
  // The estimated seconds of the ops whose cost depends on a class: its
  // producers and users, under the policies chosen so far.
  auto classOps = [&](Value leader) {
    llvm::SetVector<Operation *> ops;
    for (Value m : membersOf(leader)) {
      if (Operation *def = m.getDefiningOp())
        ops.insert(def);
      for (Operation *user : m.getUsers())
        ops.insert(user);
    }
    return ops.takeVector();
  };
  auto opsSeconds = [&](ArrayRef<Operation *> ops) {
    double seconds = 0;
    for (Operation *op : ops)
      seconds += estimateCached(op);
    return seconds;
  };
  // The fastest of the candidates for a class and `start`, its estimate
  // `startSeconds` over the class's ops `ops` (only a clear gain displaces
  // it: estimates within 1% are ties). Leaves the class at `start`.
  auto bestPolicy = [&](Value leader, ArrayRef<Operation *> ops,
                        DPPolicyAttr start, double startSeconds) {
    std::pair<DPPolicyAttr, double> best{start, startSeconds};
    for (DPPolicyAttr candidate : candidatePolicies(
             ctx, cast<RankedTensorType>(leader.getType()).getShape(),
             device)) {
      chosen[leader] = candidate;
      double seconds = opsSeconds(ops);
      if (seconds < best.second * 0.99)
        best = {candidate, seconds};
    }
    chosen[leader] = start;
    return best;
  };
  auto us = [](double seconds) {
    return llvm::formatv("{0:F3}", seconds * 1e6).str();
  };
  // Layers repeat, and so do their classes: a class decides the same as
  // another when its type, its rule's policy and the keys of the ops around
  // it agree, its own members' policies left out (those are what the
  // candidates replace). One search per distinct class.
  struct Decision {
    DPPolicyAttr best;
    double bestSeconds, ruleSeconds;
  };
  auto decisionKey = [&](Value leader, DPPolicyAttr rule,
                         ArrayRef<Operation *> ops) {
    OpPlacementKey key{leader.getType().getAsOpaquePointer(),
                       rule.getAsOpaquePointer()};
    // A placeholder no attribute has, for a member of the class deciding.
    static const char member = 0;
    auto policyOrMember = [&](Value v) -> const void * {
      if (classes.getLeaderValue(v) == leader)
        return &member;
      return policyOf(v).getAsOpaquePointer();
    };
    for (Operation *op : ops)
      appendOpPlacementKey(key, op, policyOrMember);
    return key;
  };
  struct RuleChoice {
    Value leader;
    DPPolicyAttr rule;
    Decision decision;
  };
  // The greedy search: the first sweep, then the second.
  auto search = [&] {
    std::map<OpPlacementKey, Decision> decisions;
    SmallVector<RuleChoice> rules;
    for (Value leader : undecided) {
      if (!useCostModel)
        break;
      DPPolicyAttr rule = chosen[leader];
      SmallVector<Operation *> ops = classOps(leader);
      auto [it, inserted] =
          decisions.try_emplace(decisionKey(leader, rule, ops), Decision{});
      if (inserted) {
        double ruleSeconds = opsSeconds(ops);
        auto [best, bestSeconds] = bestPolicy(leader, ops, rule, ruleSeconds);
        it->second = {best, bestSeconds, ruleSeconds};
      }
      chosen[leader] = it->second.best;
      rules.push_back({leader, rule, it->second});
    }
    // A class decided before the classes after it, against their rules: a
    // bias sharded like its add's rule, say, when the add's result then moved
    // to one mesh row. A second sweep in program order lets each class answer
    // its neighbours' choices; a class moves only for a clear gain, as above,
    // so the sweep does not undo the first.
    std::map<OpPlacementKey, Decision> refinements;
    for (RuleChoice &r : rules) {
      DPPolicyAttr current = chosen[r.leader];
      SmallVector<Operation *> ops = classOps(r.leader);
      auto [it, inserted] = refinements.try_emplace(
          decisionKey(r.leader, current, ops), Decision{});
      if (inserted) {
        double seconds = opsSeconds(ops);
        auto [best, bestSeconds] = bestPolicy(r.leader, ops, current, seconds);
        it->second = {best, bestSeconds, seconds};
      }
      if (it->second.best != current)
        r.decision.best = it->second.best;
      r.decision.bestSeconds = it->second.bestSeconds;
      chosen[r.leader] = r.decision.best;
    }
    return rules;
  };
  auto functionSeconds = [&] {
    double total = 0;
    func.walk([&](Operation *op) { total += estimateCached(op); });
    return total;
  };
  // Relays make a region cut over every cube cheap to read whole, which can
  // lead the greedy sweeps to another, worse, end: on the seed's block they
  // sharded an activation that its one-cube weight then had to meet across
  // the mesh (13.3 us against 9.3). So the search runs twice, pricing
  // relays and not, and keeps the placement whose whole function is faster
  // as the lowering runs it (relays priced); a tie keeps the first.
  llvm::DenseMap<Value, DPPolicyAttr> start = chosen;
  SmallVector<RuleChoice> rules = search();
  if (useCostModel) {
    double relayedSeconds = functionSeconds();
    llvm::DenseMap<Value, DPPolicyAttr> relayedChoice = std::move(chosen);
    chosen = std::move(start);
    meshRelays = false;
    SmallVector<RuleChoice> plainRules = search();
    meshRelays = true;
    if (functionSeconds() < relayedSeconds)
      rules = std::move(plainRules);
    else
      chosen = std::move(relayedChoice);
  }
  // The parts of a class that a residual stream's tie joined, each from
  // the policy its class took, in program order; a part moves only for a
  // clear gain, as in the sweeps, so the whole function only gets faster.
  if (useCostModel && anyApart) {
    llvm::EquivalenceClasses<Value> apart = buildClasses(/*apart=*/true);
    llvm::DenseSet<Value> searched(undecided.begin(), undecided.end());
    llvm::DenseMap<Value, DPPolicyAttr> parted;
    SmallVector<Value> parts;
    for (Value v : values) {
      if (!isa<RankedTensorType>(v.getType()))
        continue;
      Value leader = apart.getLeaderValue(v);
      if (parted.count(leader))
        continue;
      parted[leader] = policyOf(v);
      Value whole = classes.getLeaderValue(v);
      if (searched.contains(whole) &&
          std::distance(apart.findLeader(v), apart.member_end()) !=
              std::distance(classes.findLeader(v), classes.member_end()))
        parts.push_back(leader);
    }
    if (!parts.empty()) {
      classes = apart;
      chosen = std::move(parted);
      for (Value part : parts) {
        DPPolicyAttr current = chosen[part];
        SmallVector<Operation *> ops = classOps(part);
        double seconds = opsSeconds(ops);
        auto [best, bestSeconds] = bestPolicy(part, ops, current, seconds);
        chosen[part] = best;
        if (best != current)
          rules.push_back({part, current, {best, bestSeconds, seconds}});
      }
    }
  }
  // Both estimates under the final placement of the other classes.
  if (emitRemarks)
    for (const RuleChoice &r : rules) {
      Value leader = classes.getLeaderValue(r.leader);
      SmallVector<Operation *> ops = classOps(leader);
      DPPolicyAttr kept = chosen[leader];
      chosen[leader] = r.rule;
      double ruleSeconds = opsSeconds(ops);
      chosen[leader] = kept;
      emitRemark(r.leader.getLoc())
          << "kb-place: " << kept << " (estimated " << us(opsSeconds(ops))
          << " us for the ops using it; the rule's " << r.rule << ": "
          << us(ruleSeconds) << " us)";
    }
  // A policy the user gave is kept; asked to advise, kb-place says when it
  // clearly loses to the one kb would choose, with both estimates.
  if (advise) {
    for (Value givenLeader : given) {
      Value leader = classes.getLeaderValue(givenLeader);
      DPPolicyAttr theirs = chosen[leader];
      SmallVector<Operation *> ops = classOps(leader);
      double theirSeconds = opsSeconds(ops);
      auto [best, bestSeconds] =
          bestPolicy(leader, ops, theirs, theirSeconds);
      if (best != theirs)
        emitRemark(leader.getLoc())
            << "kb-place advice: the given " << theirs << " is estimated at "
            << us(theirSeconds) << " us for the ops using it; kb's choice "
            << best << " at " << us(bestSeconds) << " us";
    }
  }

  // The whole function under the chosen placements: the number to hold
  // against kb-run's device time (the estimate runs the ops one after the
  // other, as their waits do).
  if (emitRemarks) {
    emitRemark(func.getLoc())
        << "kb-place: @" << func.getSymName() << " is estimated at "
        << us(functionSeconds()) << " us on the device under these placements";
  }

  if (failed(checkCubeBytes(func, values, policyOf, device)))
    return failure();

  for (Value v : values) {
    if (!isa<RankedTensorType>(v.getType()))
      continue;
    v.setType(withDPPolicy(cast<RankedTensorType>(v.getType()), policyOf(v)));
  }

  auto ret = cast<func::ReturnOp>(func.getBody().front().getTerminator());
  func.setFunctionType(FunctionType::get(
      ctx, func.getBody().front().getArgumentTypes(), ret.getOperandTypes()));
  return success();
}

void KBPlacePass::runOnOperation() {
  ModuleOp module = getOperation();
  if (!module->hasAttr(KBDialect::kSPMDAttrName)) {
    module.emitError() << "kb-place works on the local view: run "
                          "kb-tp-partition first";
    return signalPassFailure();
  }
  gemm_tile::DeviceDescription device = gemm_tile::lookupDevice(module);
  for (auto func : module.getOps<func::FuncOp>())
    if (failed(placeFunction(func, device)))
      return signalPassFailure();
}
