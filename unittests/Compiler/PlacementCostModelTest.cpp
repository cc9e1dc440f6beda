//===- PlacementCostModelTest.cpp - kb-place's estimate, op kind by op kind
//===//
//
// Each kind of local-view op is priced with the device's own functions
// (kb/Device/CostModel.h) over the pieces and slabs the lowering cuts
// (kb/Device/Tiling.h): these tests build the expected seconds from those
// functions for placements simple enough to follow by hand, and check that a
// count left open (kernbench's None) is priced as the device's count.
//
//===----------------------------------------------------------------------===//

#include "kb/Dialect/KB/Transforms/PlacementCostModel.h"
#include "kb/Device/CostModel.h"
#include "kb/Device/Tiling.h"
#include "kb/Dialect/GemmTile/IR/GemmTileDialect.h"
#include "kb/Dialect/KB/IR/KBOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "gtest/gtest.h"

#include <algorithm>
#include <cmath>
#include <string>

using namespace mlir;
using namespace kb;

namespace {

class PlacementCostModelTest : public ::testing::Test {
protected:
  PlacementCostModelTest() {
    DialectRegistry registry;
    registry.insert<KBDialect, func::FuncDialect, tensor::TensorDialect,
                    gemm_tile::GemmTileDialect>();
    ctx.appendDialectRegistry(registry);
    ctx.loadAllAvailableDialects();
  }

  /// The estimate of the op named `opName` in the function `body`, whose
  /// values carry their policies in their types, on `device`.
  double estimate(const std::string &body, StringRef opName,
                  const DeviceDescription &device =
                      DeviceDescription(DeviceDescription::Small{})) {
    module = parseSourceString<ModuleOp>(
        "module attributes {kb.spmd, kb.world_size = 1 : i64} {\n" + body +
            "\n}",
        &ctx);
    EXPECT_TRUE(module) << body;
    if (!module)
      return -1;
    Operation *found = nullptr;
    module->walk([&](Operation *op) {
      if (!found && op->getName().getStringRef() == opName)
        found = op;
    });
    EXPECT_NE(found, nullptr) << opName.str();
    if (!found)
      return -1;
    return estimateOpSeconds(
        found, [](Value v) { return getDPPolicy(v.getType()); },
        /*worldSize=*/1, device);
  }

  MLIRContext ctx;
  OwningOpRef<ModuleOp> module;
};

// 64 x 128 f16, columns over all cubes, each cube's rows over all of its PEs:
// on the built-in device (4 cubes of 8 PEs) every PE's slab is 8 x 32.
const char *kSplit =
    "tensor<64x128xf16, #kb.dp<cube = shard(1), pe = shard(0)>>";
const char *kBias = "tensor<128xf16, #kb.dp<cube = replicate, pe = replicate>>";

std::string unary(const std::string &op, const std::string &extra = "") {
  return std::string("func.func @f(%x: ") + kSplit + ") -> " + kSplit +
         " {\n  %y = kb." + op + " %x" + extra + " : " + kSplit +
         "\n  return %y : " + kSplit + "\n}";
}

std::string binary(const std::string &op, const std::string &rhsType) {
  return std::string("func.func @f(%x: ") + kSplit + ", %r: " + rhsType +
         ") -> " + kSplit + " {\n  %y = kb." + op + " %x, %r : " + kSplit +
         ", " + rhsType + "\n  return %y : " + kSplit + "\n}";
}

TEST_F(PlacementCostModelTest, EveryElementwiseOpIsItsBusiestSlabsBytes) {
  DeviceDescription device{DeviceDescription::Small{}};
  double one = peSeconds(device, elementwiseWork(8 * 32, 2, 1));
  double two = peSeconds(device, elementwiseWork(8 * 32, 2, 2));
  ASSERT_GT(one, 0);
  EXPECT_DOUBLE_EQ(estimate(unary("gelu"), "kb.gelu"), one);
  EXPECT_DOUBLE_EQ(estimate(unary("silu"), "kb.silu"), one);
  EXPECT_DOUBLE_EQ(estimate(unary("scale", " by 0.5"), "kb.scale"), one);
  EXPECT_DOUBLE_EQ(estimate(binary("add", kSplit), "kb.add"), two);
  EXPECT_DOUBLE_EQ(estimate(binary("mul", kSplit), "kb.mul"), two);
  // A replicated bias is in every cube already: its slab read is the cost.
  EXPECT_DOUBLE_EQ(estimate(binary("add", kBias), "kb.add"), two);
  EXPECT_DOUBLE_EQ(estimate(binary("mul", kBias), "kb.mul"), two);
}

TEST_F(PlacementCostModelTest, AnOperandItsCubeLacksArrivesByDMAFirst) {
  DeviceDescription device{DeviceDescription::Small{}};
  // The rhs split by rows: each cube needs all 64 rows of its 32 columns and
  // holds 16 of them, so the 64 x 32 box is staged from the four pieces, 16
  // rows each, one after another on the cube's DMA engine: three over the
  // fabric, one within the cube.
  std::string rows =
      "tensor<64x128xf16, #kb.dp<cube = shard(0), pe = replicate>>";
  EXPECT_DOUBLE_EQ(estimate(binary("mul", rows), "kb.mul"),
                   3 * dmaSeconds(device, 16 * 32 * 2, 0, 1) +
                       dmaSeconds(device, 16 * 32 * 2, 0, 0) +
                       peSeconds(device, elementwiseWork(8 * 32, 2, 2)));
}

TEST_F(PlacementCostModelTest, CopiesOnAMeshWaitForTheirEngineAndLinks) {
  // ahbm: 16 cubes on a 4 x 4 mesh. A gemm whose weight is on cube 0 alone,
  // its result's columns over the 16 cubes: every other cube fetches its 16
  // columns from cube 0, and all 15 copies leave cube 0 over its two links
  // (cube 1 to the east, cube 4 to the south), so the copies through each
  // link run one after another.
  DeviceDescription device = *DeviceDescription::preset("ahbm");
  std::string body =
      "func.func @f(%x: tensor<64x64xf16, #kb.dp<cube = replicate, pe = "
      "replicate>>, %w: tensor<64x256xf16, #kb.dp<cube = replicate, pe = "
      "replicate, num_cubes = 1, num_pes = 1>>) -> tensor<64x256xf16, "
      "#kb.dp<cube = shard(1), pe = shard(0)>> {\n"
      "  %y = kb.matmul %x, %w : (tensor<64x64xf16, #kb.dp<cube = replicate, "
      "pe = replicate>>, tensor<64x256xf16, #kb.dp<cube = replicate, pe = "
      "replicate, num_cubes = 1, num_pes = 1>>) -> tensor<64x256xf16, "
      "#kb.dp<cube = shard(1), pe = shard(0)>>\n"
      "  return %y : tensor<64x256xf16, #kb.dp<cube = shard(1), pe = "
      "shard(0)>>\n}";
  double seconds = estimate(body, "kb.matmul", device);
  double compute = peSeconds(device, matmulWork(8, 16, 64, 2, 2, false, false));
  double box = 64 * 16 * 2;
  // X then Y: cubes 1, 2, 3 leave east, every other cube (4..15 but the first
  // row) leaves east too when its column is not 0, else south. The east link
  // carries the copies to cubes whose column is 1..3: 12 of them.
  double east = 0;
  for (int64_t to = 1; to < 16; ++to)
    if (to % 4 != 0)
      east += dmaSeconds(device, box, 0, to);
  EXPECT_GE(seconds, east + compute);
  // Each copy alone, at the mean hops, as if it had its engine and links to
  // itself, is far less.
  EXPECT_GT(seconds, 5 * (dmaSeconds(device, box, /*withinCube=*/false) +
                          compute));
}

TEST_F(PlacementCostModelTest, KeptRelayPlansPriceAsFreshOnes) {
  // ahbm: the lhs's columns (the gemm's K) over the 16 cubes; every cube
  // reads whole rows, which the mesh relays (kb/Device/MeshRelay.h).
  DeviceDescription device = *DeviceDescription::preset("ahbm");
  std::string lhs = "tensor<64x256xf16, #kb.dp<cube = shard(1), pe = "
                    "replicate>>";
  std::string rhs = "tensor<256x256xf16, #kb.dp<cube = shard(1), pe = "
                    "replicate>>";
  std::string out = "tensor<64x256xf16, #kb.dp<cube = shard(1), pe = "
                    "shard(0)>>";
  std::string body = "func.func @f(%x: " + lhs + ", %w: " + rhs + ") -> " +
                     out + " {\n  %y = kb.matmul %x, %w : (" + lhs + ", " +
                     rhs + ") -> " + out + "\n  return %y : " + out + "\n}";
  uint64_t before = relaysPricedOnThisThread();
  double fresh = estimate(body, "kb.matmul", device);
  ASSERT_GT(relaysPricedOnThisThread(), before) << "the case must relay";
  RelayPlanCacheScope scope;
  before = relaysPricedOnThisThread();
  EXPECT_DOUBLE_EQ(estimate(body, "kb.matmul", device), fresh);
  // The second time the plan is the kept one, counted as relayed all the
  // same (kb-place's search without relays relies on the count).
  EXPECT_DOUBLE_EQ(estimate(body, "kb.matmul", device), fresh);
  EXPECT_EQ(relaysPricedOnThisThread(), before + 2);
}

TEST_F(PlacementCostModelTest, KeptRelaysPriceAsFreshOnesUnderOtherPolicies) {
  // The lhs relay of the test above under candidates a search prices: a
  // policy of the same pieces (the plan found by another type and policy),
  // and rhs policies that stage differently after the same relay (the
  // relay's copies kept with the plan). Each prices as without kept plans.
  DeviceDescription device = *DeviceDescription::preset("ahbm");
  auto matmul = [](const std::string &lhsPE, const std::string &rhsCube) {
    std::string lhs = "tensor<64x256xf16, #kb.dp<cube = shard(1), pe = " +
                      lhsPE + ">>";
    std::string rhs = "tensor<256x256xf16, #kb.dp<cube = " + rhsCube +
                      ", pe = replicate>>";
    std::string out = "tensor<64x256xf16, #kb.dp<cube = shard(1), pe = "
                      "shard(0)>>";
    return "func.func @f(%x: " + lhs + ", %w: " + rhs + ") -> " + out +
           " {\n  %y = kb.matmul %x, %w : (" + lhs + ", " + rhs + ") -> " +
           out + "\n  return %y : " + out + "\n}";
  };
  std::vector<std::string> bodies = {
      matmul("replicate", "shard(1)"), matmul("shard(0)", "shard(1)"),
      matmul("replicate", "shard(0)"), matmul("shard(0)", "shard(0)"),
      matmul("replicate", "replicate")};
  std::vector<double> fresh;
  uint64_t before = relaysPricedOnThisThread();
  for (const std::string &body : bodies)
    fresh.push_back(estimate(body, "kb.matmul", device));
  uint64_t relays = relaysPricedOnThisThread() - before;
  ASSERT_GT(relays, 0u) << "the cases must relay";
  // Not all alike: the rhs's staging after the relay differs.
  EXPECT_NE(fresh[0], fresh[2]);
  RelayPlanCacheScope scope;
  before = relaysPricedOnThisThread();
  for (int round = 0; round < 2; ++round)
    for (auto [body, seconds] : llvm::zip_equal(bodies, fresh))
      EXPECT_DOUBLE_EQ(estimate(body, "kb.matmul", device), seconds) << body;
  EXPECT_EQ(relaysPricedOnThisThread(), before + 2 * relays);
}

TEST_F(PlacementCostModelTest, KeptElementwiseRelaysPriceAsFreshOnes) {
  // ahbm: both operands' columns over the 16 cubes, the result's rows: each
  // cube reads a slab of rows of every cube's piece, relayed. The first
  // relay starts the staging (its copies kept with its plan), the second
  // is recorded after it.
  DeviceDescription device = *DeviceDescription::preset("ahbm");
  auto add = [](const std::string &rhsPE) {
    std::string x = "tensor<64x256xf16, #kb.dp<cube = shard(1), pe = "
                    "replicate>>";
    std::string r = "tensor<64x256xf16, #kb.dp<cube = shard(1), pe = " +
                    rhsPE + ">>";
    std::string y = "tensor<64x256xf16, #kb.dp<cube = shard(0), pe = "
                    "shard(0)>>";
    return "func.func @f(%x: " + x + ", %r: " + r + ") -> " + y +
           " {\n  %y = kb.add %x, %r : " + x + ", " + r + " -> " + y +
           "\n  return %y : " + y + "\n}";
  };
  std::vector<std::string> bodies = {add("replicate"), add("shard(0)"),
                                     add("replicate")};
  std::vector<double> fresh;
  uint64_t before = relaysPricedOnThisThread();
  for (const std::string &body : bodies)
    fresh.push_back(estimate(body, "kb.add", device));
  uint64_t relays = relaysPricedOnThisThread() - before;
  ASSERT_EQ(relays, 2 * bodies.size()) << "both operands must relay";
  RelayPlanCacheScope scope;
  before = relaysPricedOnThisThread();
  for (auto [body, seconds] : llvm::zip_equal(bodies, fresh))
    EXPECT_DOUBLE_EQ(estimate(body, "kb.add", device), seconds) << body;
  EXPECT_EQ(relaysPricedOnThisThread(), before + relays);
}

TEST_F(PlacementCostModelTest, OpenCountsArePricedAsTheDevicesCounts) {
  std::string given = unary("gelu");
  for (size_t at; (at = given.find("pe = shard(0)>")) != std::string::npos;)
    given.replace(at, 14, "pe = shard(0), num_cubes = 4, num_pes = 8>");
  EXPECT_DOUBLE_EQ(estimate(unary("gelu"), "kb.gelu"),
                   estimate(given, "kb.gelu"));
  // On a device of 2 cubes of 2 PEs the same text means 32 x 64 slabs.
  DeviceDescription small{DeviceDescription::Small{}};
  small.cubes = 2;
  small.pesPerCube = 2;
  EXPECT_DOUBLE_EQ(estimate(unary("gelu"), "kb.gelu", small),
                   peSeconds(small, elementwiseWork(32 * 64, 2, 1)));
}

// Rows over the cubes, the weight in every cube: no staging; each cube's 16
// rows are dealt to its PEs as the lowering deals them.
const char *kRows =
    "tensor<64x128xf16, #kb.dp<cube = shard(0), pe = replicate>>";

TEST_F(PlacementCostModelTest, RowOpsChargeTheBusiestPEsWholeRows) {
  DeviceDescription device{DeviceDescription::Small{}};
  int64_t rows = 0;
  for (const Box &share : rowShares(Box{{0, 0}, {16, 128}}, 0, 8))
    rows = std::max(rows, share.sizes[0]);
  ASSERT_GT(rows, 0);
  std::string x = kRows, w = kBias;
  std::string rms = "func.func @f(%x: " + x + ", %w: " + w + ") -> " + x +
                    " {\n  %y = kb.rms_norm %x, %w : " + x + ", " + w +
                    "\n  return %y : " + x + "\n}";
  EXPECT_DOUBLE_EQ(estimate(rms, "kb.rms_norm"),
                   peSeconds(device, normWork(rows, 128, 2, 1, false, false)));
  std::string layer = "func.func @f(%x: " + x + ", %w: " + w + ", %b: " + w +
                      ") -> " + x +
                      " {\n  %y = kb.layer_norm %x, %w, %b : " + x + ", " + w +
                      ", " + w + "\n  return %y : " + x + "\n}";
  EXPECT_DOUBLE_EQ(estimate(layer, "kb.layer_norm"),
                   peSeconds(device, normWork(rows, 128, 2, 2, true, false)));
  double rope = 0;
  for (const Box &share : rowShares(Box{{0, 0}, {16, 128}}, 32, 8))
    rope = std::max(
        rope,
        peSeconds(device, ropeWork(share.sizes[0], share.sizes[1], 2, false)));
  std::string ropeOp = "func.func @f(%x: " + x + ") -> " + x +
                       " {\n  %y = kb.rope %x head_dim 32 : " + x +
                       "\n  return %y : " + x + "\n}";
  EXPECT_DOUBLE_EQ(estimate(ropeOp, "kb.rope"), rope);
  // Split by columns, a norm stages whole rows and copies its columns out:
  // dearer than the row split.
  std::string cols = kSplit;
  std::string staged = "func.func @f(%x: " + cols + ", %w: " + w + ") -> " +
                       cols + " {\n  %y = kb.rms_norm %x, %w : " + cols + ", " +
                       w + "\n  return %y : " + cols + "\n}";
  EXPECT_GT(estimate(staged, "kb.rms_norm"), estimate(rms, "kb.rms_norm"));
}

TEST_F(PlacementCostModelTest, AttentionAndGemmSpreadBeatsOnePE) {
  auto attention = [](const std::string &policy) {
    std::string q = "tensor<16x128xf16, " + policy + ">",
                kv = "tensor<16x64xf16, " + policy + ">";
    return "func.func @f(%q: " + q + ", %k: " + kv + ", %v: " + kv + ") -> " +
           q + " {\n  %y = kb.attention %q, %k, %v heads 4 kv_heads 2 : (" + q +
           ", " + kv + ", " + kv + ") -> " + q + "\n  return %y : " + q + "\n}";
  };
  double spread = estimate(
      attention("#kb.dp<cube = replicate, pe = replicate>"), "kb.attention");
  double onePE = estimate(attention("#kb.dp<cube = replicate, pe = replicate, "
                                    "num_cubes = 1, num_pes = 1>"),
                          "kb.attention");
  EXPECT_TRUE(std::isfinite(spread));
  EXPECT_GT(spread, 0);
  EXPECT_GT(onePE, spread);

  auto gemm = [](const std::string &out) {
    std::string x = "tensor<64x256xf16, #kb.dp<cube = replicate, pe = "
                    "replicate>>",
                w = "tensor<256x256xf16, #kb.dp<cube = shard(1), pe = "
                    "replicate>>",
                y = "tensor<64x256xf16, " + out + ">";
    return "func.func @f(%x: " + x + ", %w: " + w + ") -> " + y +
           " {\n  %y = kb.matmul %x, %w : (" + x + ", " + w + ") -> " + y +
           "\n  return %y : " + y + "\n}";
  };
  double allPEs =
      estimate(gemm("#kb.dp<cube = shard(1), pe = replicate>"), "kb.matmul");
  double oneEach =
      estimate(gemm("#kb.dp<cube = shard(1), pe = replicate, num_pes = 1>"),
               "kb.matmul");
  EXPECT_GT(allPEs, 0);
  EXPECT_GT(oneEach, 4 * allPEs);
}

} // namespace
