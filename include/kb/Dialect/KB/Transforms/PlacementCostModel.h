//===- PlacementCostModel.h - what a placement costs on the device -*- C++
//-*-===//
//
// An analytic estimate, op by op, of the device time that
// convert-kb-to-gemm-tile's lowering of a local-view op takes under given
// policies: operand copies into each cube, tile compute on the busiest PE,
// copies to replicas and ring collectives. The copies issued together are
// replayed as kb-run charges them: from their source cubes, in issue order,
// each waiting for its destination's DMA engine and its mesh route's links. It cuts tensors with the
// lowering's tiling and prices work with the device's cost model, both in
// kb/Device. kb-place compares candidate policies with it; kb-run's
// simulation is the measurement.
//
//===----------------------------------------------------------------------===//

#ifndef KB_DIALECT_KB_TRANSFORMS_PLACEMENTCOSTMODEL_H
#define KB_DIALECT_KB_TRANSFORMS_PLACEMENTCOSTMODEL_H

#include "kb/Device/DeviceDescription.h"
#include "kb/Dialect/KB/IR/KBAttrs.h"

#include "mlir/IR/Operation.h"

#include <memory>

namespace kb {

/// Estimated seconds for `op` (a local-view kb op) when each tensor value `v`
/// is placed by `policyOf(v)`.
/// With `meshRelays` false, operands are priced as if each cube copied every
/// piece straight, never relayed over the mesh (kb/Device/MeshRelay.h): what
/// the lowering did before it relayed, which kb-place searches with too.
double estimateOpSeconds(mlir::Operation *op,
                         llvm::function_ref<DPPolicyAttr(mlir::Value)> policyOf,
                         int64_t worldSize, const DeviceDescription &device,
                         bool meshRelays = true);

/// How many times estimateOpSeconds (with `meshRelays`) has found relaying an
/// operand or a result's shares faster than copying straight, on this
/// thread so far. An estimate during which it did not grow equals the one
/// without relays: kb-place reuses it for its search without relays.
uint64_t relaysPricedOnThisThread();

/// While one is alive on a thread, estimateOpSeconds keeps each mesh relay
/// plan it makes (kb/Device/MeshRelay.h) by the plan's inputs and reuses it.
/// A search prices one operand's staging under many candidates of the other
/// classes: on a two-gemm MLP kb-place asked for 269 plans, most of them
/// repeats, and a plan on a 4 x 4 mesh costs more than the rest of an
/// estimate. An operand's plan is found by its type and policy (its pieces
/// are enumerated once per pair), and a relay that starts an op's staging
/// keeps the schedule its copies leave with the plan. Scopes nest; one
/// device per scope (the device is not part of the key).
class RelayPlanCacheScope {
public:
  RelayPlanCacheScope();
  ~RelayPlanCacheScope();
  RelayPlanCacheScope(const RelayPlanCacheScope &) = delete;
  RelayPlanCacheScope &operator=(const RelayPlanCacheScope &) = delete;

  struct Plans;

private:
  std::unique_ptr<Plans> plans;
  Plans *outer;
};

/// The bytes of the largest operand region convert-kb-to-gemm-tile stages in
/// one cube to lower `op` under `policyOf`: for a kb.matmul, the lhs rows or
/// rhs columns a cube's share of the result multiplies, when no piece of the
/// operand in that cube holds them (saturating at INT64_MAX); for a
/// kb.attention, the q rows or the keys and values of the KV heads a cube's
/// blocks read; 0 for other ops, whose staged regions are no larger than
/// their result's pieces. Counts a policy leaves open are `device`'s.
int64_t
largestStagedBytes(mlir::Operation *op,
                   llvm::function_ref<DPPolicyAttr(mlir::Value)> policyOf,
                   const DeviceDescription &device);

/// The policies kb-place considers for a tensor of `shape` on `device`:
/// replicated or sharded along each dimension at the cube level, by the
/// largest count that divides the cubes and, on a mesh, one row of it;
/// likewise at the PE level.
llvm::SmallVector<DPPolicyAttr>
candidatePolicies(mlir::MLIRContext *ctx, llvm::ArrayRef<int64_t> shape,
                  const DeviceDescription &device);

} // namespace kb

#endif // KB_DIALECT_KB_TRANSFORMS_PLACEMENTCOSTMODEL_H
