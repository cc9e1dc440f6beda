//===- Place.cpp - DPPolicy placement inside each SIP ---------------------===//
//
// Values whose types must agree (an op's operand and result under
// SameOperandsAndResultType, say) share one policy, so the pass groups them
// into classes first and decides once per class: the user's policy when one
// member has it, otherwise the rule of docs/Placement.md.
//
//===----------------------------------------------------------------------===//

#include "kb/Dialect/GemmTile/IR/DeviceDescription.h"
#include "kb/Dialect/KB/IR/KBOps.h"
#include "kb/Dialect/KB/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/EquivalenceClasses.h"

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
                             DPPolicyAttr::kReplicate, device.cubes, 1);
  if (shape.size() == 1) {
    int64_t cubes = largestDivisor(shape[0], device.cubes);
    return DPPolicyAttr::get(ctx, cubes > 1 ? 0 : DPPolicyAttr::kReplicate,
                             DPPolicyAttr::kReplicate, cubes, 1);
  }
  if (shape.size() != 2)
    return DPPolicyAttr::getSeedDefault(ctx);
  int64_t cubes = largestDivisor(shape[1], device.cubes);
  int64_t pes = largestDivisor(shape[0], device.pesPerCube);
  return DPPolicyAttr::get(ctx, cubes > 1 ? 1 : DPPolicyAttr::kReplicate,
                           pes > 1 ? 0 : DPPolicyAttr::kReplicate, cubes, pes);
}

struct KBPlacePass : public kb::impl::KBPlacePassBase<KBPlacePass> {
  void runOnOperation() override;
  LogicalResult placeFunction(func::FuncOp func,
                              const gemm_tile::DeviceDescription &device);
};

} // namespace

/// Checks a policy against the device it will run on.
static LogicalResult checkAgainstDevice(Location loc, DPPolicyAttr policy,
                                        const gemm_tile::DeviceDescription &device) {
  if (policy.getNumCubes() > device.cubes)
    return emitError(loc) << "DPPolicy names " << policy.getNumCubes()
                          << " cubes, but the device has " << device.cubes;
  if (policy.getNumPes() > device.pesPerCube)
    return emitError(loc) << "DPPolicy names " << policy.getNumPes()
                          << " PEs per cube, but the device has "
                          << device.pesPerCube;
  return success();
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

  // Values that must share one type.
  llvm::EquivalenceClasses<Value> classes;
  for (Value v : values)
    if (isa<RankedTensorType>(v.getType()))
      classes.insert(v);
  func.walk([&](Operation *op) {
    if (auto gelu = dyn_cast<GeluOp>(op))
      classes.unionSets(gelu.getInput(), gelu.getResult());
    else if (auto reduce = dyn_cast<AllReduceOp>(op))
      classes.unionSets(reduce.getInput(), reduce.getResult());
    else if (auto add = dyn_cast<AddOp>(op))
      classes.unionSets(add.getLhs(), add.getResult());
  });

  MLIRContext *ctx = func.getContext();
  for (auto it = classes.begin(), end = classes.end(); it != end; ++it) {
    if (!(*it)->isLeader())
      continue;
    DPPolicyAttr policy;
    bool feedsGemmLhs = false;
    Value first;
    for (auto member = classes.member_begin(**it);
         member != classes.member_end(); ++member) {
      Value v = *member;
      if (!first)
        first = v;
      if (DPPolicyAttr given = getDPPolicy(v.getType())) {
        if (failed(checkAgainstDevice(v.getLoc(), given, device)))
          return failure();
        policy = given;
      }
      // A rank-dependent slice must find the whole tensor in one cube too.
      for (OpOperand &use : v.getUses()) {
        if (auto matmul = dyn_cast<MatmulOp>(use.getOwner()))
          feedsGemmLhs |= use.get() == matmul.getLhs();
        feedsGemmLhs |= isa<TPSliceOp>(use.getOwner());
      }
    }
    auto type = cast<RankedTensorType>(first.getType());
    if (!policy)
      policy = defaultPolicy(ctx, type.getShape(), feedsGemmLhs, device);
    for (auto member = classes.member_begin(**it);
         member != classes.member_end(); ++member) {
      Value v = *member;
      v.setType(withDPPolicy(cast<RankedTensorType>(v.getType()), policy));
    }
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
