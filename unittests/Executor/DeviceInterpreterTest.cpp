//===- DeviceInterpreterTest.cpp - ring collectives and the cost model ----===//

#include "kb/Executor/Execute.h"
#include "kb/Runtime/TransformerKernels.h"
#include "kb/InitAllDialects.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "gtest/gtest.h"

#include <algorithm>
#include <cmath>
#include <string>

using namespace kb;
using namespace kb::exec;
using runtime::DType;
using runtime::HostTensor;

namespace {

class DeviceInterpreterTest : public ::testing::Test {
protected:
  DeviceInterpreterTest() {
    mlir::DialectRegistry registry;
    kb::registerAllDialects(registry);
    ctx.appendDialectRegistry(registry);
    ctx.loadAllAvailableDialects();
  }

  /// Runs `text` on `inputs`; fails the test on any error. With `memory`,
  /// the run's host memory is handed over there.
  llvm::SmallVector<HostTensor> run(const std::string &text,
                                    llvm::ArrayRef<HostTensor> inputs,
                                    DeviceRun &stats,
                                    RunMemory *memory = nullptr) {
    module = mlir::parseSourceString<mlir::ModuleOp>(text, &ctx);
    EXPECT_TRUE(module) << text;
    if (!module)
      return {};
    // A failed Expected is reported and consumed, never dereferenced.
    llvm::Expected<Program> program = analyzeProgram(*module, "");
    if (!program) {
      ADD_FAILURE() << llvm::toString(program.takeError());
      return {};
    }
    llvm::Expected<llvm::SmallVector<HostTensor>> results = runDeviceProgram(
        *program, inputs,
        gemm_tile::DeviceDescription(gemm_tile::DeviceDescription::Small{}),
        stats, true, /*threads=*/1, /*progress=*/nullptr, memory);
    if (!results) {
      ADD_FAILURE() << llvm::toString(results.takeError());
      return {};
    }
    return *results;
  }

  mlir::MLIRContext ctx;
  mlir::OwningOpRef<mlir::ModuleOp> module;
};

/// A program that all-reduces each rank's rows x cols slice on a ring.
std::string ringProgram(int64_t world, int64_t rows, int64_t cols,
                        const std::string &kind) {
  std::string type = "memref<" + std::to_string(rows) + "x" +
                     std::to_string(cols) + "xf32, #gemm_tile.cube<0>>";
  std::string tensor =
      "tensor<" + std::to_string(rows) + "x" + std::to_string(cols) + "xf32>";
  std::string piece =
      "{gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>}";
  std::string body;
  for (int64_t s = 0; s + 1 < world; ++s)
    body += "    gemm_tile.reduce_scatter_step <" + kind + "> %b step " +
            std::to_string(s) + " of " + std::to_string(world) + " : " + type +
            "\n";
  for (int64_t s = 0; s + 1 < world; ++s)
    body += "    gemm_tile.all_gather_step %b step " + std::to_string(s) +
            " of " + std::to_string(world) + " : " + type + "\n";
  return "module attributes {kb.spmd, kb.world_size = " +
         std::to_string(world) + " : i64} {\n  func.func @ring(%b: " + type +
         " " + piece + ") -> (" + type + " " + piece +
         ") attributes {kb.local_function_type = (" + tensor + ") -> " +
         tensor +
         ", kb.arg_split_dims = array<i64: 0>, kb.result_split_dims = "
         "array<i64: -1>} {\n" +
         body + "    return %b : " + type + "\n  }\n}\n";
}

TEST_F(DeviceInterpreterTest, RingAllReduceMatchesADirectReduction) {
  for (int64_t world = 2; world <= 8; ++world) {
    for (std::string kind : {"sum", "max", "min", "avg"}) {
      // 5 x 3 = 15 elements: uneven chunks for most ring sizes.
      HostTensor global =
          runtime::randomTensor(DType::F32, {5 * world, 3}, world);
      DeviceRun stats;
      llvm::SmallVector<HostTensor> results =
          run(ringProgram(world, 5, 3, kind), {global}, stats);
      ASSERT_EQ(results.size(), 1u);
      for (int64_t i = 0; i < 15; ++i) {
        double expected = kind == "max" ? -1e30 : kind == "min" ? 1e30 : 0.0;
        for (int64_t r = 0; r < world; ++r) {
          double v = global.data[r * 15 + i];
          expected = kind == "max"   ? std::max(expected, v)
                     : kind == "min" ? std::min(expected, v)
                                     : expected + v;
        }
        if (kind == "avg")
          expected /= world;
        EXPECT_NEAR(results[0].data[i], expected, 1e-5)
            << kind << " W=" << world << " element " << i;
      }
      // Rank r sends every chunk but (r + 1) mod W in the reduce-scatter and
      // every chunk but (r + 2) mod W in the all-gather; the first 15 mod W
      // chunks hold one element more. On average that is the lower bound.
      ASSERT_EQ(stats.collectives.size(), 1u);
      const CollectiveStats &ring = stats.collectives[0];
      auto chunkBytes = [&](int64_t c) {
        return 4 * (15 / world + (c < 15 % world ? 1 : 0));
      };
      ASSERT_EQ(ring.bytesSentByRank.size(), static_cast<size_t>(world));
      for (int64_t r = 0; r < world; ++r)
        EXPECT_EQ(ring.bytesSentByRank[r], 2 * 60 -
                                               chunkBytes((r + 1) % world) -
                                               chunkBytes((r + 2) % world))
            << "W=" << world << " rank " << r;
      EXPECT_DOUBLE_EQ(ring.lowerBoundBytesPerRank(),
                       2.0 * (world - 1) * 60 / world);
      EXPECT_EQ(ring.bytesSentPerRank(), ring.lowerBoundBytesPerRank())
          << "W=" << world;
    }
  }
}

TEST_F(DeviceInterpreterTest, EvenRingsMeetTheLowerBound) {
  DeviceRun stats;
  HostTensor global = runtime::randomTensor(DType::F32, {32, 4}, 3);
  run(ringProgram(4, 8, 4, "sum"), {global}, stats);
  ASSERT_EQ(stats.collectives.size(), 1u);
  EXPECT_EQ(stats.collectives[0].bytesSentPerRank(),
            stats.collectives[0].lowerBoundBytesPerRank());
  EXPECT_EQ(stats.collectives[0].maxBytesSentByARank(), 6 * 32);
  // Six steps of one 32-byte chunk over a 100 GB/s link.
  EXPECT_NEAR(stats.sips[0].collectiveSeconds, 6 * 32 / 100e9, 1e-15);
}

const char *kOneTile = R"(
module attributes {kb.spmd, kb.world_size = 2 : i64} {
  func.func @tile(%a: memref<64x256xf16, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>},
                  %b: memref<256x128xf16, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 1, offsets = [0, 0]>})
      -> (memref<64x128xf16, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>})
      attributes {kb.local_function_type = (tensor<64x256xf16>, tensor<256x128xf16>) -> tensor<64x128xf16>,
                  kb.arg_split_dims = array<i64: -1, -1>, kb.result_split_dims = array<i64: -1>} {
    %c = gemm_tile.alloc : memref<64x128xf16, #gemm_tile.cube<0>>
    %t = gemm_tile.matmul pe 0 %a [0, 0], %b [0, 0] to %c [0, 0] sizes [64, 128, 256] k_chunk 256
        : memref<64x256xf16, #gemm_tile.cube<0>>, memref<256x128xf16, #gemm_tile.cube<0>>, memref<64x128xf16, #gemm_tile.cube<0>>
    gemm_tile.wait %t
    return %c : memref<64x128xf16, #gemm_tile.cube<0>>
  }
}
)";

TEST_F(DeviceInterpreterTest, TileTimeIsTheCostModelsFormula) {
  HostTensor a = runtime::randomTensor(DType::F16, {64, 256}, 1);
  HostTensor b = runtime::randomTensor(DType::F16, {256, 128}, 2);
  DeviceRun stats;
  llvm::SmallVector<HostTensor> results = run(kOneTile, {a, b}, stats);
  gemm_tile::DeviceDescription d{gemm_tile::DeviceDescription::Small{}};
  double flops = 2.0 * 64 * 128 * 256;
  double bytes = (64 * 256 + 256 * 128 + 64 * 128) * 2.0;
  double expected = std::max(flops / (d.peGflops * 1e9),
                             bytes / (d.cubePeGBps * 1e9 / d.pesPerCube));
  ASSERT_EQ(stats.sips.size(), 2u);
  EXPECT_DOUBLE_EQ(stats.sips[0].computeSeconds, expected);
  EXPECT_DOUBLE_EQ(stats.deviceSeconds, expected);
  EXPECT_DOUBLE_EQ(stats.sips[1].flops, flops);
  // The numbers: f16 products of exact f16 values, accumulated in f32.
  double dot = 0;
  for (int p = 0; p < 256; ++p)
    dot += static_cast<double>(a.data[p]) * b.data[p * 128];
  EXPECT_NEAR(results[0].data[0], dot, std::abs(dot) * 1e-3 + 1e-3);
}

/// %c is read by two gemms after waits (its data is freed only after the
/// second), and %e by three; f = (a·b)·e, g = ((a·b)·e)·e.
const char *kChain = R"(
module attributes {kb.spmd, kb.world_size = 2 : i64} {
  func.func @chain(%a: memref<64x256xf16, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>},
                   %b: memref<256x128xf16, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 1, offsets = [0, 0]>},
                   %e: memref<128x128xf16, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 2, offsets = [0, 0]>})
      -> (memref<64x128xf16, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>},
          memref<64x128xf16, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 1, offsets = [0, 0]>})
      attributes {kb.local_function_type = (tensor<64x256xf16>, tensor<256x128xf16>, tensor<128x128xf16>) -> (tensor<64x128xf16>, tensor<64x128xf16>),
                  kb.arg_split_dims = array<i64: -1, -1, -1>, kb.result_split_dims = array<i64: -1, -1>} {
    %c = gemm_tile.alloc : memref<64x128xf16, #gemm_tile.cube<0>>
    %t = gemm_tile.matmul pe 0 %a [0, 0], %b [0, 0] to %c [0, 0] sizes [64, 128, 256] k_chunk 256
        : memref<64x256xf16, #gemm_tile.cube<0>>, memref<256x128xf16, #gemm_tile.cube<0>>, memref<64x128xf16, #gemm_tile.cube<0>>
    gemm_tile.wait %t
    %d = gemm_tile.alloc : memref<64x128xf16, #gemm_tile.cube<0>>
    %t2 = gemm_tile.matmul pe 0 %c [0, 0], %e [0, 0] to %d [0, 0] sizes [64, 128, 128] k_chunk 128
        : memref<64x128xf16, #gemm_tile.cube<0>>, memref<128x128xf16, #gemm_tile.cube<0>>, memref<64x128xf16, #gemm_tile.cube<0>>
    gemm_tile.wait %t2
    %f = gemm_tile.alloc : memref<64x128xf16, #gemm_tile.cube<0>>
    %t3 = gemm_tile.matmul pe 1 %c [0, 0], %e [0, 0] to %f [0, 0] sizes [64, 128, 128] k_chunk 128
        : memref<64x128xf16, #gemm_tile.cube<0>>, memref<128x128xf16, #gemm_tile.cube<0>>, memref<64x128xf16, #gemm_tile.cube<0>>
    gemm_tile.wait %t3
    %g = gemm_tile.alloc : memref<64x128xf16, #gemm_tile.cube<0>>
    %t4 = gemm_tile.matmul pe 0 %d [0, 0], %e [0, 0] to %g [0, 0] sizes [64, 128, 128] k_chunk 128
        : memref<64x128xf16, #gemm_tile.cube<0>>, memref<128x128xf16, #gemm_tile.cube<0>>, memref<64x128xf16, #gemm_tile.cube<0>>
    gemm_tile.wait %t4
    return %f, %g : memref<64x128xf16, #gemm_tile.cube<0>>, memref<64x128xf16, #gemm_tile.cube<0>>
  }
}
)";

TEST_F(DeviceInterpreterTest, HalfInputsAndFreedBuffersGiveTheSameResults) {
  llvm::SmallVector<HostTensor> wide = {
      runtime::randomTensor(DType::F16, {64, 256}, 1),
      runtime::randomTensor(DType::F16, {256, 128}, 2),
      runtime::randomTensor(DType::F16, {128, 128}, 3)};
  for (HostTensor &t : wide)
    for (float &v : t.data)
      v = runtime::roundToDType(v * 0.125f, DType::F16);
  llvm::SmallVector<HostTensor> half = wide;
  for (HostTensor &t : half)
    t.narrow();
  DeviceRun wideRun, halfRun;
  llvm::SmallVector<HostTensor> fromWide = run(kChain, wide, wideRun);
  llvm::SmallVector<HostTensor> fromHalf = run(kChain, half, halfRun);
  ASSERT_EQ(fromWide.size(), 2u);
  ASSERT_EQ(fromHalf.size(), 2u);
  for (size_t r = 0; r < 2; ++r)
    EXPECT_EQ(fromHalf[r].data, fromWide[r].data) << "result " << r;
  // Against double-precision products, each rounded to f16 as the device
  // rounds every gemm's result.
  auto product = [](const std::vector<double> &x, const std::vector<double> &y,
                    int m, int k, int n) {
    std::vector<double> z(m * n);
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < n; ++j) {
        double sum = 0;
        for (int p = 0; p < k; ++p)
          sum += x[i * k + p] * y[p * n + j];
        z[i * n + j] = runtime::roundToDType(static_cast<float>(sum), DType::F16);
      }
    return z;
  };
  auto values = [](const HostTensor &t) {
    return std::vector<double>(t.data.begin(), t.data.end());
  };
  std::vector<double> c = product(values(wide[0]), values(wide[1]), 64, 256, 128);
  std::vector<double> f = product(c, values(wide[2]), 64, 128, 128);
  std::vector<double> g = product(f, values(wide[2]), 64, 128, 128);
  for (auto [got, expected] : {std::pair{&fromHalf[0], &f}, {&fromHalf[1], &g}})
    for (size_t i = 0; i < expected->size(); ++i)
      EXPECT_NEAR(got->data[i], (*expected)[i],
                  4e-3 * (1 + std::abs((*expected)[i])))
          << "element " << i;
}

/// The same figures and the same timeline, event for event.
void expectSameTimeline(const DeviceRun &a, const DeviceRun &b) {
  EXPECT_EQ(a.deviceSeconds, b.deviceSeconds);
  ASSERT_EQ(a.sips.size(), b.sips.size());
  for (auto [x, y] : llvm::zip_equal(a.sips, b.sips)) {
    EXPECT_EQ(x.computeSeconds, y.computeSeconds);
    EXPECT_EQ(x.dmaSeconds, y.dmaSeconds);
    EXPECT_EQ(x.collectiveSeconds, y.collectiveSeconds);
    EXPECT_EQ(x.endSeconds, y.endSeconds);
    EXPECT_EQ(x.flops, y.flops);
    EXPECT_EQ(x.dmaBytes, y.dmaBytes);
    EXPECT_EQ(x.linkBytesSent, y.linkBytesSent);
  }
  ASSERT_EQ(a.collectives.size(), b.collectives.size());
  for (auto [x, y] : llvm::zip_equal(a.collectives, b.collectives))
    EXPECT_EQ(x.bytesSentByRank, y.bytesSentByRank);
  ASSERT_EQ(a.trace.size(), b.trace.size());
  for (auto [x, y] : llvm::zip_equal(a.trace, b.trace)) {
    EXPECT_EQ(x.rank, y.rank);
    EXPECT_EQ(x.track, y.track);
    EXPECT_EQ(x.site, y.site);
    EXPECT_EQ(x.start, y.start);
    EXPECT_EQ(x.duration, y.duration);
    EXPECT_EQ(x.bytes, y.bytes);
  }
}

/// A cost-only run (estimateDeviceProgram) has every figure and trace event
/// of the numeric run, exactly.
void expectSameCosts(const DeviceRun &numeric, const DeviceRun &cost) {
  expectSameTimeline(numeric, cost);
  // The numeric run was asked for a trace, the estimate was not: only the
  // former keeps the events' details.
  EXPECT_EQ(numeric.details.size(), numeric.trace.size());
  EXPECT_TRUE(cost.details.empty());
  for (const TraceEvent &e : cost.trace)
    EXPECT_EQ(e.detail, -1);
}

TEST_F(DeviceInterpreterTest, CostOnlyRunsTheSameScheduleWithoutNumbers) {
  for (const std::string &text :
       {ringProgram(8, 5, 3, "sum"), std::string(kOneTile)}) {
    bool ring = text.find("reduce_scatter_step") != std::string::npos;
    llvm::SmallVector<HostTensor> inputs;
    if (ring)
      inputs.push_back(runtime::randomTensor(DType::F32, {40, 3}, 9));
    else
      inputs = {runtime::randomTensor(DType::F16, {64, 256}, 1),
                runtime::randomTensor(DType::F16, {256, 128}, 2)};
    DeviceRun numeric, cost;
    run(text, inputs, numeric);
    ASSERT_GT(numeric.deviceSeconds, 0);
    module = mlir::parseSourceString<mlir::ModuleOp>(text, &ctx);
    ASSERT_TRUE(module);
    llvm::Expected<Program> program = analyzeProgram(*module, "");
    ASSERT_TRUE(static_cast<bool>(program));
    llvm::Error e = estimateDeviceProgram(
        *program, gemm_tile::DeviceDescription(gemm_tile::DeviceDescription::Small{}), cost);
    ASSERT_FALSE(static_cast<bool>(e)) << llvm::toString(std::move(e));
    expectSameCosts(numeric, cost);
  }
}

/// `sequential` copies each waited for before the next, then `together`
/// copies into disjoint rows waited for at once.
std::string copyRounds(int64_t sequential, int64_t together) {
  const std::string type = "memref<16x24xf32, #gemm_tile.cube<0>>";
  const std::string piece =
      "{gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>}";
  std::string body = "    %d = gemm_tile.alloc : " + type + "\n";
  for (int64_t i = 0; i < sequential; ++i)
    body += "    %s" + std::to_string(i) +
            " = gemm_tile.dma %a [0, 0] to %d [0, 0] sizes [16, 24] : " +
            type + ", " + type + "\n    gemm_tile.wait %s" +
            std::to_string(i) + "\n";
  std::string tokens;
  for (int64_t i = 0; i < together; ++i) {
    std::string row = std::to_string(i);
    body += "    %p" + row + " = gemm_tile.dma %a [" + row + ", 0] to %d [" +
            row + ", 0] sizes [1, 24] : " + type + ", " + type + "\n";
    tokens += (i ? ", %p" : "%p") + row;
  }
  if (together)
    body += "    gemm_tile.wait " + tokens + "\n";
  return "module attributes {kb.spmd, kb.world_size = 2 : i64} {\n"
         "  func.func @f(%a: " +
         type + " " + piece + ") -> (" + type + " " + piece +
         ") attributes {kb.local_function_type = (tensor<16x24xf32>) -> "
         "tensor<16x24xf32>, kb.arg_split_dims = array<i64: -1>, "
         "kb.result_split_dims = array<i64: -1>} {\n" +
         body + "    return %d : " + type + "\n  }\n}\n";
}

/// A wait retires the asynchronous ops it waits for: the simulator holds the
/// ops in flight, not every op of the run, whose count grows with a model's
/// layers. The events stay on the timeline.
TEST_F(DeviceInterpreterTest, AWaitRetiresTheOpsItWaitsFor) {
  HostTensor a = runtime::randomTensor(DType::F32, {16, 24}, 3);
  for (auto [sequential, together] :
       {std::pair<int64_t, int64_t>{20, 3}, {1, 5}, {40, 0}}) {
    DeviceRun stats;
    llvm::SmallVector<HostTensor> results =
        run(copyRounds(sequential, together), {a}, stats);
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(stats.trace.size(), 2u * (sequential + together));
    EXPECT_EQ(stats.maxOutstandingOps, std::max<int64_t>(together, 1))
        << sequential << " sequential, " << together << " together";
    // The copied rows arrived: the retired ops' work was done.
    for (int64_t i = 0; i < 16 * 24; ++i)
      ASSERT_EQ(results[0].data[i], a.data[i]);
  }
}

/// `rounds` buffers, each allocated, filled from the input and dead after
/// its wait, then the returned one.
std::string deadBufferRounds(int64_t rounds) {
  const std::string type = "memref<16x24xf32, #gemm_tile.cube<0>>";
  const std::string piece =
      "{gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>}";
  std::string body;
  for (int64_t i = 0; i <= rounds; ++i) {
    std::string n = std::to_string(i);
    body += "    %b" + n + " = gemm_tile.alloc : " + type + "\n    %s" + n +
            " = gemm_tile.dma %a [0, 0] to %b" + n + " [0, 0] sizes [16, 24] : " +
            type + ", " + type + "\n    gemm_tile.wait %s" + n + "\n";
  }
  return "module attributes {kb.spmd, kb.world_size = 2 : i64} {\n"
         "  func.func @f(%a: " +
         type + " " + piece + ") -> (" + type + " " + piece +
         ") attributes {kb.local_function_type = (tensor<16x24xf32>) -> "
         "tensor<16x24xf32>, kb.arg_split_dims = array<i64: -1>, "
         "kb.result_split_dims = array<i64: -1>} {\n" +
         body + "    return %b" + std::to_string(rounds) + " : " + type +
         "\n  }\n}\n";
}

/// A cost-only run holds the buffers live at once: a dead one's slot goes to
/// the next allocation (a whole model's estimate would otherwise hold one
/// buffer per allocation and rank). The schedule is the numeric run's.
TEST_F(DeviceInterpreterTest, CostOnlyReusesTheSlotsOfDeadBuffers) {
  HostTensor a = runtime::randomTensor(DType::F32, {16, 24}, 4);
  for (int64_t rounds : {1, 30}) {
    std::string text = deadBufferRounds(rounds);
    DeviceRun numeric, cost;
    llvm::SmallVector<HostTensor> results = run(text, {a}, numeric);
    ASSERT_EQ(results.size(), 1u);
    module = mlir::parseSourceString<mlir::ModuleOp>(text, &ctx);
    ASSERT_TRUE(module);
    llvm::Expected<Program> program = analyzeProgram(*module, "");
    ASSERT_TRUE(static_cast<bool>(program));
    llvm::Error e = estimateDeviceProgram(
        *program,
        gemm_tile::DeviceDescription(gemm_tile::DeviceDescription::Small{}),
        cost);
    ASSERT_FALSE(static_cast<bool>(e)) << llvm::toString(std::move(e));
    expectSameCosts(numeric, cost);
    // The input and at most the previous round's buffer beside the new one.
    EXPECT_LE(cost.maxShapeBuffers, 3) << rounds << " rounds";
    EXPECT_GE(cost.maxShapeBuffers, 2) << rounds << " rounds";
  }
}

/// Cost-only ranks simulated on host threads at once give the timeline of
/// ranks simulated in turn, event for event and in the same order, and the
/// error of the first failing rank. (Rounds of fewer than 16 ops, as between
/// the steps of a ring, are stepped in turn: the programs here have longer
/// ones.)
TEST_F(DeviceInterpreterTest, CostOnlyRanksSteppedAtOnceGiveTheSameTimeline) {
  gemm_tile::DeviceDescription device(gemm_tile::DeviceDescription::Small{});
  auto estimate = [&](const std::string &text, int threads, DeviceRun &out) {
    module = mlir::parseSourceString<mlir::ModuleOp>(text, &ctx);
    EXPECT_TRUE(module);
    llvm::Expected<Program> program = analyzeProgram(*module, "");
    EXPECT_TRUE(static_cast<bool>(program));
    llvm::Error e = estimateDeviceProgram(*program, device, out, nullptr,
                                          /*traceDetails=*/true, threads);
    return e ? llvm::toString(std::move(e)) : std::string();
  };
  for (const std::string &text :
       {copyRounds(20, 3), deadBufferRounds(30), ringProgram(8, 5, 3, "sum")}) {
    DeviceRun inTurn, atOnce;
    ASSERT_EQ(estimate(text, 1, inTurn), "");
    ASSERT_EQ(estimate(text, 3, atOnce), "");
    ASSERT_GT(inTurn.trace.size(), 0u);
    expectSameTimeline(inTurn, atOnce);
    EXPECT_EQ(inTurn.maxOutstandingOps, atOnce.maxOutstandingOps);
    EXPECT_EQ(inTurn.maxShapeBuffers, atOnce.maxShapeBuffers);
    ASSERT_EQ(inTurn.details.size(), atOnce.details.size());
    for (auto [a, b] : llvm::zip_equal(inTurn.trace, atOnce.trace)) {
      ASSERT_GE(b.detail, 0);
      EXPECT_EQ(inTurn.details[a.detail].deviceOp,
                atOnce.details[b.detail].deviceOp);
      EXPECT_EQ(inTurn.details[a.detail].tile, atOnce.details[b.detail].tile);
    }
  }
  // Ranks 2 and 3 of 4 read past their input (rank_stride 5 rows of 16),
  // after 10 copies of it: rank 2 is named, as when the ranks run in turn.
  const std::string type16 = "memref<16x24xf32, #gemm_tile.cube<0>>",
                    type8 = "memref<8x24xf32, #gemm_tile.cube<0>>",
                    piece = "{gemm_tile.piece = #gemm_tile.piece<tensor = 0, "
                            "offsets = [0, 0]>}";
  std::string padding;
  for (int i = 0; i < 10; ++i)
    padding +=
        "    %c" + std::to_string(i) +
        " = gemm_tile.dma %a [0, 0] to %p [0, 0] sizes [16, 24] : " + type16 +
        ", " + type16 + "\n    gemm_tile.wait %c" + std::to_string(i) + "\n";
  std::string strided =
      "module attributes {kb.spmd, kb.world_size = 4 : i64} {\n"
      "  func.func @f(%a: " +
      type16 + " " + piece + ") -> (" + type8 + " " + piece +
      ") attributes {kb.local_function_type = (tensor<16x24xf32>) -> "
      "tensor<8x24xf32>, kb.arg_split_dims = array<i64: -1>, "
      "kb.result_split_dims = array<i64: -1>} {\n"
      "    %p = gemm_tile.alloc : " +
      type16 + "\n" + padding + "    %d = gemm_tile.alloc : " + type8 +
      "\n"
      "    %s = gemm_tile.dma %a [0, 0] to %d [0, 0] sizes [8, 24] "
      "rank_stride [5, 0] : " +
      type16 + ", " + type8 +
      "\n"
      "    gemm_tile.wait %s\n"
      "    return %d : " +
      type8 + "\n  }\n}\n";
  for (int threads : {1, 3}) {
    DeviceRun out;
    EXPECT_NE(estimate(strided, threads, out)
                  .find("rank 2 reads outside the source in dimension 0"),
              std::string::npos)
        << threads << " threads";
  }
}

/// y = x · w (x m × k, w k × n, the f32 values of f16 inputs) within f16's
/// rounding, against doubles.
void expectHalfProduct(const HostTensor &x, const HostTensor &w,
                       const HostTensor &y) {
  int64_t m = x.shape[0], k = x.shape[1], n = w.shape[1];
  ASSERT_EQ(y.shape, (llvm::SmallVector<int64_t, 4>{m, n}));
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double sum = 0;
      for (int64_t p = 0; p < k; ++p)
        sum += static_cast<double>(x.data[i * k + p]) * w.data[p * n + j];
      ASSERT_NEAR(y.data[i * n + j], sum, 2e-3 * (1 + std::abs(sum)))
          << i << "," << j;
    }
}

/// An f16 input read as a gemm's A by every rank, two cube pieces per rank
/// at different rows: each reads its rows of the one widened copy the ranks
/// share (and a zip then reads a piece as its own data).
const char *kSharedA = R"(
module attributes {kb.spmd, kb.world_size = 4 : i64} {
  func.func @f(%x0: memref<12x64xf16, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>},
               %x1: memref<12x64xf16, #gemm_tile.cube<1>> {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [12, 0]>},
               %w0: memref<64x48xf16, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 1, offsets = [0, 0]>},
               %w1: memref<64x48xf16, #gemm_tile.cube<1>> {gemm_tile.piece = #gemm_tile.piece<tensor = 1, offsets = [0, 0]>})
      -> (memref<12x48xf16, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>},
          memref<12x48xf16, #gemm_tile.cube<1>> {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [12, 0]>},
          memref<12x64xf16, #gemm_tile.cube<1>> {gemm_tile.piece = #gemm_tile.piece<tensor = 1, offsets = [0, 0]>})
      attributes {kb.local_function_type = (tensor<24x64xf16>, tensor<64x48xf16>) -> (tensor<24x48xf16>, tensor<12x64xf16>),
                  kb.arg_split_dims = array<i64: 0, -1>, kb.result_split_dims = array<i64: 0, -1>} {
    %y0 = gemm_tile.alloc : memref<12x48xf16, #gemm_tile.cube<0>>
    %y1 = gemm_tile.alloc : memref<12x48xf16, #gemm_tile.cube<1>>
    %t0 = gemm_tile.matmul pe 0 %x0 [0, 0], %w0 [0, 0] to %y0 [0, 0] sizes [12, 48, 64] k_chunk 64
        : memref<12x64xf16, #gemm_tile.cube<0>>, memref<64x48xf16, #gemm_tile.cube<0>>, memref<12x48xf16, #gemm_tile.cube<0>>
    %t1 = gemm_tile.matmul pe 0 %x1 [0, 0], %w1 [0, 0] to %y1 [0, 0] sizes [12, 48, 64] k_chunk 64
        : memref<12x64xf16, #gemm_tile.cube<1>>, memref<64x48xf16, #gemm_tile.cube<1>>, memref<12x48xf16, #gemm_tile.cube<1>>
    gemm_tile.wait %t0, %t1
    %z = gemm_tile.alloc : memref<12x64xf16, #gemm_tile.cube<1>>
    %t2 = gemm_tile.zip "add" pe 1 %x1 [0, 0], %x1 [0, 0] to %z [0, 0] sizes [12, 64]
        : memref<12x64xf16, #gemm_tile.cube<1>>, memref<12x64xf16, #gemm_tile.cube<1>>, memref<12x64xf16, #gemm_tile.cube<1>>
    gemm_tile.wait %t2
    return %y0, %y1, %z : memref<12x48xf16, #gemm_tile.cube<0>>, memref<12x48xf16, #gemm_tile.cube<1>>, memref<12x64xf16, #gemm_tile.cube<1>>
  }
}
)";

TEST_F(DeviceInterpreterTest, RanksShareOneWidenedCopyOfAHalfA) {
  HostTensor x = runtime::randomTensor(DType::F16, {96, 64}, 11);
  HostTensor w = runtime::randomTensor(DType::F16, {64, 48}, 12);
  llvm::SmallVector<HostTensor> half = {x, w};
  for (HostTensor &t : half)
    t.narrow();
  DeviceRun stats;
  llvm::SmallVector<HostTensor> results = run(kSharedA, half, stats);
  ASSERT_EQ(results.size(), 2u);
  // y = x · w, rounded to f16, against doubles: every rank's rows.
  expectHalfProduct(x, w, results[0]);
  // One widening of x in all: the four ranks' eight gemm pieces and the
  // zips (which copy their piece out of the widened data) share it.
  EXPECT_EQ(stats.hostWidenings, 1);
  // z = 2 x of rank 0's second piece (rows 12 to 24).
  ASSERT_EQ(results[1].shape, (llvm::SmallVector<int64_t, 4>{12, 64}));
  for (int64_t i = 0; i < 12; ++i)
    for (int64_t j = 0; j < 64; ++j)
      ASSERT_EQ(results[1].data[i * 64 + j], 2 * x.data[(12 + i) * 64 + j])
          << i << "," << j;
}

/// A replicated f16 input that two cubes of each of four ranks read as
/// their own data (an add of the residual), never as a gemm's operand: the
/// eight pieces show the same rows, so the run widens them once and every
/// zip reads that one copy.
const char *kSharedPiece = R"(
module attributes {kb.spmd, kb.world_size = 4 : i64} {
  func.func @f(%x0: memref<8x32xf16, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>},
               %x1: memref<8x32xf16, #gemm_tile.cube<1>> {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>})
      -> (memref<8x32xf16, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>},
          memref<8x32xf16, #gemm_tile.cube<1>> {gemm_tile.piece = #gemm_tile.piece<tensor = 1, offsets = [0, 0]>})
      attributes {kb.local_function_type = (tensor<8x32xf16>) -> (tensor<8x32xf16>, tensor<8x32xf16>),
                  kb.arg_split_dims = array<i64: -1>, kb.result_split_dims = array<i64: -1, -1>} {
    %y0 = gemm_tile.alloc : memref<8x32xf16, #gemm_tile.cube<0>>
    %y1 = gemm_tile.alloc : memref<8x32xf16, #gemm_tile.cube<1>>
    %t0 = gemm_tile.zip "add" pe 0 %x0 [0, 0], %x0 [0, 0] to %y0 [0, 0] sizes [8, 32]
        : memref<8x32xf16, #gemm_tile.cube<0>>, memref<8x32xf16, #gemm_tile.cube<0>>, memref<8x32xf16, #gemm_tile.cube<0>>
    %t1 = gemm_tile.zip "add" pe 0 %x1 [0, 0], %x1 [0, 0] to %y1 [0, 0] sizes [8, 32]
        : memref<8x32xf16, #gemm_tile.cube<1>>, memref<8x32xf16, #gemm_tile.cube<1>>, memref<8x32xf16, #gemm_tile.cube<1>>
    gemm_tile.wait %t0, %t1
    return %y0, %y1 : memref<8x32xf16, #gemm_tile.cube<0>>, memref<8x32xf16, #gemm_tile.cube<1>>
  }
}
)";

TEST_F(DeviceInterpreterTest, RanksShareOneCopyOfAReplicatedPiece) {
  HostTensor x = runtime::randomTensor(DType::F16, {8, 32}, 21);
  HostTensor half = x;
  half.narrow();
  DeviceRun stats;
  llvm::SmallVector<HostTensor> results = run(kSharedPiece, {half}, stats);
  ASSERT_EQ(results.size(), 2u);
  for (const HostTensor &y : results) {
    ASSERT_EQ(y.shape, (llvm::SmallVector<int64_t, 4>{8, 32}));
    for (int64_t i = 0; i < 8 * 32; ++i)
      ASSERT_EQ(y.data[i], 2 * x.data[i]) << i;
  }
  // Once, not once per piece (8).
  EXPECT_EQ(stats.hostWidenings, 1);
}

/// Three row bands of one product in three waits (as the overlap of
/// collectives cuts a row-parallel gemm), each rank's B a half view of the
/// f16 weight: the weight is packed for the kernel once, and the later
/// bands read it packed.
const char *kRowBands = R"(
module attributes {kb.spmd, kb.world_size = 2 : i64} {
  func.func @f(%x: memref<48x64xf16, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>},
               %w: memref<64x48xf16, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 1, offsets = [0, 0]>})
      -> (memref<48x48xf16, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>})
      attributes {kb.local_function_type = (tensor<48x64xf16>, tensor<64x48xf16>) -> (tensor<48x48xf16>),
                  kb.arg_split_dims = array<i64: -1, -1>, kb.result_split_dims = array<i64: -1>} {
    %y = gemm_tile.alloc : memref<48x48xf16, #gemm_tile.cube<0>>
    %t0 = gemm_tile.matmul pe 0 %x [0, 0], %w [0, 0] to %y [0, 0] sizes [16, 48, 64] k_chunk 64
        : memref<48x64xf16, #gemm_tile.cube<0>>, memref<64x48xf16, #gemm_tile.cube<0>>, memref<48x48xf16, #gemm_tile.cube<0>>
    gemm_tile.wait %t0
    %t1 = gemm_tile.matmul pe 0 %x [16, 0], %w [0, 0] to %y [16, 0] sizes [16, 48, 64] k_chunk 64
        : memref<48x64xf16, #gemm_tile.cube<0>>, memref<64x48xf16, #gemm_tile.cube<0>>, memref<48x48xf16, #gemm_tile.cube<0>>
    gemm_tile.wait %t1
    %t2 = gemm_tile.matmul pe 0 %x [32, 0], %w [0, 0] to %y [32, 0] sizes [16, 48, 64] k_chunk 64
        : memref<48x64xf16, #gemm_tile.cube<0>>, memref<64x48xf16, #gemm_tile.cube<0>>, memref<48x48xf16, #gemm_tile.cube<0>>
    gemm_tile.wait %t2
    return %y : memref<48x48xf16, #gemm_tile.cube<0>>
  }
}
)";

TEST_F(DeviceInterpreterTest, RowBandsOfAWeightReadItPackedOnce) {
  HostTensor x = runtime::randomTensor(DType::F16, {48, 64}, 31);
  HostTensor w = runtime::randomTensor(DType::F16, {64, 48}, 32);
  llvm::SmallVector<HostTensor> half = {x, w};
  for (HostTensor &t : half)
    t.narrow();
  DeviceRun stats;
  llvm::SmallVector<HostTensor> results = run(kRowBands, half, stats);
  ASSERT_EQ(results.size(), 1u);
  expectHalfProduct(x, w, results[0]);
  // Both ranks' weight (replicated) is the one input piece: packed once
  // for the run; the five other bands read it packed.
  EXPECT_EQ(stats.packedWeightBlocks, 1);
  EXPECT_EQ(stats.packedWeightReads, 5);

  // Asked for, the run's host memory (its packed weights among it) is the
  // caller's to free or to leave to the process's exit; the results are
  // the same and do not depend on it.
  DeviceRun kept;
  RunMemory memory;
  llvm::SmallVector<HostTensor> again = run(kRowBands, half, kept, &memory);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_TRUE(memory);
  EXPECT_EQ(memory.use_count(), 1);
  memory.reset();
  EXPECT_EQ(again[0].data, results[0].data);
}

/// %b1 is filled as %b0 is (both copies of %a), so it views %b0's data. A
/// zip then reads %b1 while, in the same wait, a gemm overwrites %b0: the
/// zip must read %a's values, not the gemm's. (The gemm runs before the
/// zip on one host thread, so a zip reading %b0's current data would see
/// the product.)
const char *kViewerRead = R"(
module attributes {kb.spmd, kb.world_size = 1 : i64} {
  func.func @f(%a: memref<8x16xf32, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>},
               %w: memref<16x16xf32, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 1, offsets = [0, 0]>})
      -> (memref<8x16xf32, #gemm_tile.cube<1>> {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>},
          memref<8x16xf32, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 1, offsets = [0, 0]>},
          memref<8x16xf32, #gemm_tile.cube<1>> {gemm_tile.piece = #gemm_tile.piece<tensor = 2, offsets = [0, 0]>})
      attributes {kb.local_function_type = (tensor<8x16xf32>, tensor<16x16xf32>) -> (tensor<8x16xf32>, tensor<8x16xf32>, tensor<8x16xf32>),
                  kb.arg_split_dims = array<i64: -1, -1>, kb.result_split_dims = array<i64: -1, -1, -1>} {
    %b0 = gemm_tile.alloc : memref<8x16xf32, #gemm_tile.cube<0>>
    %b1 = gemm_tile.alloc : memref<8x16xf32, #gemm_tile.cube<1>>
    %t0 = gemm_tile.dma %a [0, 0] to %b0 [0, 0] sizes [8, 16] : memref<8x16xf32, #gemm_tile.cube<0>>, memref<8x16xf32, #gemm_tile.cube<0>>
    %t1 = gemm_tile.dma %a [0, 0] to %b1 [0, 0] sizes [8, 16] : memref<8x16xf32, #gemm_tile.cube<0>>, memref<8x16xf32, #gemm_tile.cube<1>>
    gemm_tile.wait %t0, %t1
    %o = gemm_tile.alloc : memref<8x16xf32, #gemm_tile.cube<1>>
    %t2 = gemm_tile.zip "add" pe 0 %b1 [0, 0], %b1 [0, 0] to %o [0, 0] sizes [8, 16]
        : memref<8x16xf32, #gemm_tile.cube<1>>, memref<8x16xf32, #gemm_tile.cube<1>>, memref<8x16xf32, #gemm_tile.cube<1>>
    %t3 = gemm_tile.matmul pe 0 %a [0, 0], %w [0, 0] to %b0 [0, 0] sizes [8, 16, 16] k_chunk 16
        : memref<8x16xf32, #gemm_tile.cube<0>>, memref<16x16xf32, #gemm_tile.cube<0>>, memref<8x16xf32, #gemm_tile.cube<0>>
    gemm_tile.wait %t2, %t3
    return %o, %b0, %b1 : memref<8x16xf32, #gemm_tile.cube<1>>, memref<8x16xf32, #gemm_tile.cube<0>>, memref<8x16xf32, #gemm_tile.cube<1>>
  }
}
)";

TEST_F(DeviceInterpreterTest, AViewerIsReadAsItWasFilled) {
  HostTensor a = runtime::randomTensor(DType::F32, {8, 16}, 22);
  HostTensor w = runtime::randomTensor(DType::F32, {16, 16}, 23);
  DeviceRun stats;
  llvm::SmallVector<HostTensor> results = run(kViewerRead, {a, w}, stats);
  ASSERT_EQ(results.size(), 3u);
  for (int64_t i = 0; i < 8; ++i)
    for (int64_t j = 0; j < 16; ++j) {
      double sum = 0;
      for (int64_t p = 0; p < 16; ++p)
        sum += static_cast<double>(a.data[i * 16 + p]) * w.data[p * 16 + j];
      ASSERT_EQ(results[0].data[i * 16 + j], 2 * a.data[i * 16 + j]);
      ASSERT_NEAR(results[1].data[i * 16 + j], sum, 1e-5);
      ASSERT_EQ(results[2].data[i * 16 + j], a.data[i * 16 + j]);
    }
}

/// Each rank's cubes 0 and 1 compute the RMSNorm of the same rows of x
/// with the same weight (a replicated op, as placement leaves the layer's
/// norms): the host computes cube 1's tiles not at all, %y1 viewing %y0's
/// numbers. Cube 2 normalizes other rows and computes them. %y0 is then
/// doubled in place: %y1 must keep the norm.
const char *kReplicatedNorm = R"(
module attributes {kb.spmd, kb.world_size = 2 : i64} {
  func.func @f(%x0: memref<8x32xf16, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>},
               %x1: memref<8x32xf16, #gemm_tile.cube<1>> {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>},
               %x2: memref<8x32xf16, #gemm_tile.cube<2>> {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [8, 0]>},
               %w0: memref<32xf16, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 1, offsets = [0]>},
               %w1: memref<32xf16, #gemm_tile.cube<1>> {gemm_tile.piece = #gemm_tile.piece<tensor = 1, offsets = [0]>},
               %w2: memref<32xf16, #gemm_tile.cube<2>> {gemm_tile.piece = #gemm_tile.piece<tensor = 1, offsets = [0]>})
      -> (memref<8x32xf16, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>},
          memref<8x32xf16, #gemm_tile.cube<1>> {gemm_tile.piece = #gemm_tile.piece<tensor = 1, offsets = [0, 0]>},
          memref<8x32xf16, #gemm_tile.cube<2>> {gemm_tile.piece = #gemm_tile.piece<tensor = 2, offsets = [0, 0]>})
      attributes {kb.local_function_type = (tensor<16x32xf16>, tensor<32xf16>) -> (tensor<8x32xf16>, tensor<8x32xf16>, tensor<8x32xf16>),
                  kb.arg_split_dims = array<i64: -1, -1>, kb.result_split_dims = array<i64: -1, -1, -1>} {
    %y0 = gemm_tile.alloc : memref<8x32xf16, #gemm_tile.cube<0>>
    %y1 = gemm_tile.alloc : memref<8x32xf16, #gemm_tile.cube<1>>
    %y2 = gemm_tile.alloc : memref<8x32xf16, #gemm_tile.cube<2>>
    %n00 = gemm_tile.rms_norm pe 0 %x0 [0, 0], %w0 to %y0 [0, 0] sizes [4, 32] eps 9.99999974E-6 : memref<8x32xf16, #gemm_tile.cube<0>>, memref<32xf16, #gemm_tile.cube<0>>, memref<8x32xf16, #gemm_tile.cube<0>>
    %n01 = gemm_tile.rms_norm pe 1 %x0 [4, 0], %w0 to %y0 [4, 0] sizes [4, 32] eps 9.99999974E-6 : memref<8x32xf16, #gemm_tile.cube<0>>, memref<32xf16, #gemm_tile.cube<0>>, memref<8x32xf16, #gemm_tile.cube<0>>
    %n10 = gemm_tile.rms_norm pe 0 %x1 [0, 0], %w1 to %y1 [0, 0] sizes [4, 32] eps 9.99999974E-6 : memref<8x32xf16, #gemm_tile.cube<1>>, memref<32xf16, #gemm_tile.cube<1>>, memref<8x32xf16, #gemm_tile.cube<1>>
    %n11 = gemm_tile.rms_norm pe 1 %x1 [4, 0], %w1 to %y1 [4, 0] sizes [4, 32] eps 9.99999974E-6 : memref<8x32xf16, #gemm_tile.cube<1>>, memref<32xf16, #gemm_tile.cube<1>>, memref<8x32xf16, #gemm_tile.cube<1>>
    %n20 = gemm_tile.rms_norm pe 0 %x2 [0, 0], %w2 to %y2 [0, 0] sizes [4, 32] eps 9.99999974E-6 : memref<8x32xf16, #gemm_tile.cube<2>>, memref<32xf16, #gemm_tile.cube<2>>, memref<8x32xf16, #gemm_tile.cube<2>>
    %n21 = gemm_tile.rms_norm pe 1 %x2 [4, 0], %w2 to %y2 [4, 0] sizes [4, 32] eps 9.99999974E-6 : memref<8x32xf16, #gemm_tile.cube<2>>, memref<32xf16, #gemm_tile.cube<2>>, memref<8x32xf16, #gemm_tile.cube<2>>
    gemm_tile.wait %n00, %n01, %n10, %n11, %n20, %n21
    %t = gemm_tile.zip "add" pe 0 %y0 [0, 0], %y0 [0, 0] to %y0 [0, 0] sizes [8, 32] : memref<8x32xf16, #gemm_tile.cube<0>>, memref<8x32xf16, #gemm_tile.cube<0>>, memref<8x32xf16, #gemm_tile.cube<0>>
    gemm_tile.wait %t
    return %y0, %y1, %y2 : memref<8x32xf16, #gemm_tile.cube<0>>, memref<8x32xf16, #gemm_tile.cube<1>>, memref<8x32xf16, #gemm_tile.cube<2>>
  }
}
)";

TEST_F(DeviceInterpreterTest, AReplicatedNormIsComputedOncePerRank) {
  HostTensor x = runtime::randomTensor(DType::F16, {16, 32}, 31);
  HostTensor w = runtime::randomTensor(DType::F16, {32}, 32);
  HostTensor halfX = x, halfW = w;
  halfX.narrow();
  halfW.narrow();
  DeviceRun stats;
  llvm::SmallVector<HostTensor> results = run(kReplicatedNorm, {halfX, halfW}, stats);
  ASSERT_EQ(results.size(), 3u);
  std::vector<float> norm(16 * 32);
  runtime::rmsNorm(DType::F16, x.data.data(), w.data.data(), norm.data(), 16,
                   32, 9.99999974E-6f);
  for (int64_t i = 0; i < 8 * 32; ++i) {
    ASSERT_EQ(results[0].data[i],
              runtime::roundToDType(2 * norm[i], DType::F16)) << i;
    ASSERT_EQ(results[1].data[i], norm[i]) << i;
    ASSERT_EQ(results[2].data[i], norm[8 * 32 + i]) << i;
  }
  // Cube 1's two tiles on each of the two ranks; the device runs them all
  // (six norm tiles and the zip per rank).
  EXPECT_EQ(stats.sharedResults, 4);
  int64_t tiles = 0;
  for (const TraceEvent &e : stats.trace)
    tiles += e.engine == EngineKind::PE;
  EXPECT_EQ(tiles, 2 * 7);
}

/// %c is freed after its last use and %e, of the same size, reuses its
/// block: the rows no DMA writes must read as zero, as in a fresh buffer.
const char *kReuse = R"(
module attributes {kb.spmd, kb.world_size = 1 : i64} {
  func.func @f(%a: memref<16x32xf32, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>},
               %b: memref<32x24xf32, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 1, offsets = [0, 0]>})
      -> (memref<16x24xf32, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>},
          memref<16x24xf32, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 1, offsets = [0, 0]>})
      attributes {kb.local_function_type = (tensor<16x32xf32>, tensor<32x24xf32>) -> (tensor<16x24xf32>, tensor<16x24xf32>),
                  kb.arg_split_dims = array<i64: -1, -1>, kb.result_split_dims = array<i64: -1, -1>} {
    %c = gemm_tile.alloc : memref<16x24xf32, #gemm_tile.cube<0>>
    %t = gemm_tile.matmul pe 0 %a [0, 0], %b [0, 0] to %c [0, 0] sizes [16, 24, 32] k_chunk 32
        : memref<16x32xf32, #gemm_tile.cube<0>>, memref<32x24xf32, #gemm_tile.cube<0>>, memref<16x24xf32, #gemm_tile.cube<0>>
    gemm_tile.wait %t
    %d = gemm_tile.alloc : memref<16x24xf32, #gemm_tile.cube<0>>
    %t2 = gemm_tile.dma %c [0, 0] to %d [0, 0] sizes [8, 24] : memref<16x24xf32, #gemm_tile.cube<0>>, memref<16x24xf32, #gemm_tile.cube<0>>
    gemm_tile.wait %t2
    %e = gemm_tile.alloc : memref<16x24xf32, #gemm_tile.cube<0>>
    %t3 = gemm_tile.dma %d [0, 0] to %e [0, 0] sizes [4, 24] : memref<16x24xf32, #gemm_tile.cube<0>>, memref<16x24xf32, #gemm_tile.cube<0>>
    gemm_tile.wait %t3
    return %d, %e : memref<16x24xf32, #gemm_tile.cube<0>>, memref<16x24xf32, #gemm_tile.cube<0>>
  }
}
)";

/// Element (i, j) of a · b for the 16x32 and 32x24 operands of the reuse
/// programs below, in double.
double product16x24(const HostTensor &a, const HostTensor &b, int64_t i,
                    int64_t j) {
  double sum = 0;
  for (int64_t p = 0; p < 32; ++p)
    sum += static_cast<double>(a.data[i * 32 + p]) * b.data[p * 24 + j];
  return sum;
}

TEST_F(DeviceInterpreterTest, AReusedBlockIsZeroWhereNothingWroteIt) {
  HostTensor a = runtime::randomTensor(DType::F32, {16, 32}, 13);
  HostTensor b = runtime::randomTensor(DType::F32, {32, 24}, 14);
  DeviceRun stats;
  llvm::SmallVector<HostTensor> results = run(kReuse, {a, b}, stats);
  ASSERT_EQ(results.size(), 2u);
  for (auto [result, rows] : {std::pair{&results[0], 8}, {&results[1], 4}})
    for (int64_t i = 0; i < 16; ++i)
      for (int64_t j = 0; j < 24; ++j) {
        double expected = i < rows ? product16x24(a, b, i, j) : 0.0;
        ASSERT_NEAR(result->data[i * 24 + j], expected, 1e-5)
            << "rows " << rows << " at " << i << "," << j;
      }
}

/// Every one of four ranks computes two temporaries, %c1 and %c2, adds
/// them into its result %d and drops them. With one host thread a rank runs
/// on to its end (no ring step here) before the next starts, so each later
/// rank's temporaries take the blocks the rank before it freed: fresh
/// memory for the first rank's three buffers and each later rank's %d, 6
/// in all. A rank yielding at each wait had all eight temporaries live at
/// once: 9.
const char *kRankTemporaries = R"(
module attributes {kb.spmd, kb.world_size = 4 : i64} {
  func.func @f(%a: memref<16x32xf32, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>},
               %b: memref<32x24xf32, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 1, offsets = [0, 0]>})
      -> (memref<16x24xf32, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>})
      attributes {kb.local_function_type = (tensor<16x32xf32>, tensor<32x24xf32>) -> (tensor<16x24xf32>),
                  kb.arg_split_dims = array<i64: -1, -1>, kb.result_split_dims = array<i64: -1>} {
    %c1 = gemm_tile.alloc : memref<16x24xf32, #gemm_tile.cube<0>>
    %c2 = gemm_tile.alloc : memref<16x24xf32, #gemm_tile.cube<0>>
    %t = gemm_tile.matmul pe 0 %a [0, 0], %b [0, 0] to %c1 [0, 0] sizes [16, 24, 32] k_chunk 32
        : memref<16x32xf32, #gemm_tile.cube<0>>, memref<32x24xf32, #gemm_tile.cube<0>>, memref<16x24xf32, #gemm_tile.cube<0>>
    %t1 = gemm_tile.matmul pe 1 %a [0, 0], %b [0, 0] to %c2 [0, 0] sizes [16, 24, 32] k_chunk 32
        : memref<16x32xf32, #gemm_tile.cube<0>>, memref<32x24xf32, #gemm_tile.cube<0>>, memref<16x24xf32, #gemm_tile.cube<0>>
    gemm_tile.wait %t, %t1
    %d = gemm_tile.alloc : memref<16x24xf32, #gemm_tile.cube<0>>
    %t2 = gemm_tile.zip "add" pe 0 %c1 [0, 0], %c2 [0, 0] to %d [0, 0] sizes [16, 24]
        : memref<16x24xf32, #gemm_tile.cube<0>>, memref<16x24xf32, #gemm_tile.cube<0>>, memref<16x24xf32, #gemm_tile.cube<0>>
    gemm_tile.wait %t2
    return %d : memref<16x24xf32, #gemm_tile.cube<0>>
  }
}
)";

TEST_F(DeviceInterpreterTest, OneThreadRanksReuseTheBlocksTheRankBeforeFreed) {
  HostTensor a = runtime::randomTensor(DType::F32, {16, 32}, 31);
  HostTensor b = runtime::randomTensor(DType::F32, {32, 24}, 32);
  DeviceRun stats;
  llvm::SmallVector<HostTensor> results = run(kRankTemporaries, {a, b}, stats);
  ASSERT_EQ(results.size(), 1u);
  for (int64_t i = 0; i < 16; ++i)
    for (int64_t j = 0; j < 24; ++j)
      ASSERT_NEAR(results[0].data[i * 24 + j], 2 * product16x24(a, b, i, j),
                  1e-5)
          << i << "," << j;
  EXPECT_EQ(stats.freshBlocks, 3 + 3);
}

/// %g, which nothing reads, is freed at the first wait and %e reuses its
/// block; a zip fills %e's first 4 rows: the others must read as zero. A
/// map then fills all of %f, in %c's or %d's block: %f is the map's,
/// whatever the block held, without being zeroed first.
const char *kReuseByZip = R"(
module attributes {kb.spmd, kb.world_size = 1 : i64} {
  func.func @f(%a: memref<16x32xf32, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>},
               %b: memref<32x24xf32, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 1, offsets = [0, 0]>})
      -> (memref<16x24xf32, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>},
          memref<16x24xf32, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 1, offsets = [0, 0]>})
      attributes {kb.local_function_type = (tensor<16x32xf32>, tensor<32x24xf32>) -> (tensor<16x24xf32>, tensor<16x24xf32>),
                  kb.arg_split_dims = array<i64: -1, -1>, kb.result_split_dims = array<i64: -1, -1>} {
    %c = gemm_tile.alloc : memref<16x24xf32, #gemm_tile.cube<0>>
    %d = gemm_tile.alloc : memref<16x24xf32, #gemm_tile.cube<0>>
    %t = gemm_tile.matmul pe 0 %a [0, 0], %b [0, 0] to %c [0, 0] sizes [16, 24, 32] k_chunk 32
        : memref<16x32xf32, #gemm_tile.cube<0>>, memref<32x24xf32, #gemm_tile.cube<0>>, memref<16x24xf32, #gemm_tile.cube<0>>
    %t1 = gemm_tile.matmul pe 1 %a [0, 0], %b [0, 0] to %d [0, 0] sizes [16, 24, 32] k_chunk 32
        : memref<16x32xf32, #gemm_tile.cube<0>>, memref<32x24xf32, #gemm_tile.cube<0>>, memref<16x24xf32, #gemm_tile.cube<0>>
    %g = gemm_tile.alloc : memref<16x24xf32, #gemm_tile.cube<0>>
    %t4 = gemm_tile.matmul pe 2 %a [0, 0], %b [0, 0] to %g [0, 0] sizes [16, 24, 32] k_chunk 32
        : memref<16x32xf32, #gemm_tile.cube<0>>, memref<32x24xf32, #gemm_tile.cube<0>>, memref<16x24xf32, #gemm_tile.cube<0>>
    gemm_tile.wait %t, %t1, %t4
    %e = gemm_tile.alloc : memref<16x24xf32, #gemm_tile.cube<0>>
    %f = gemm_tile.alloc : memref<16x24xf32, #gemm_tile.cube<0>>
    %t2 = gemm_tile.zip "add" pe 0 %c [0, 0], %d [0, 0] to %e [0, 0] sizes [4, 24] : memref<16x24xf32, #gemm_tile.cube<0>>, memref<16x24xf32, #gemm_tile.cube<0>>, memref<16x24xf32, #gemm_tile.cube<0>>
    gemm_tile.wait %t2
    %t3 = gemm_tile.map "silu" pe 0 %e [0, 0] to %f [0, 0] sizes [16, 24] : memref<16x24xf32, #gemm_tile.cube<0>>, memref<16x24xf32, #gemm_tile.cube<0>>
    gemm_tile.wait %t3
    return %e, %f : memref<16x24xf32, #gemm_tile.cube<0>>, memref<16x24xf32, #gemm_tile.cube<0>>
  }
}
)";

TEST_F(DeviceInterpreterTest, AReusedBlockAZipFillsInPartIsZeroElsewhere) {
  HostTensor a = runtime::randomTensor(DType::F32, {16, 32}, 15);
  HostTensor b = runtime::randomTensor(DType::F32, {32, 24}, 16);
  DeviceRun stats;
  llvm::SmallVector<HostTensor> results = run(kReuseByZip, {a, b}, stats);
  ASSERT_EQ(results.size(), 2u);
  for (int64_t i = 0; i < 16; ++i)
    for (int64_t j = 0; j < 24; ++j) {
      double e = i < 4 ? 2 * product16x24(a, b, i, j) : 0.0;
      ASSERT_NEAR(results[0].data[i * 24 + j], e, 1e-4) << i << "," << j;
      ASSERT_NEAR(results[1].data[i * 24 + j], e / (1 + std::exp(-e)), 1e-4)
          << i << "," << j;
    }
}

/// The up-front memory check counts an f16 input 16-bit, as kb-run holds it.
TEST_F(DeviceInterpreterTest, HostBytesCountHalfInputsAtTwoBytes) {
  module = mlir::parseSourceString<mlir::ModuleOp>(kSharedA, &ctx);
  ASSERT_TRUE(module);
  llvm::Expected<Program> program = analyzeProgram(*module, "");
  ASSERT_TRUE(static_cast<bool>(program)) << llvm::toString(program.takeError());
  // Inputs 96x64 and 64x48 at 2 bytes; results 96x48 and 12x64, and the 4
  // ranks' allocations (2 x 12x48 + 12x64), at 4. Of the arguments, only
  // what the executor makes: the one widened x (96x64) the gemms' A reads,
  // and %x1, which the zip reads as data, once per rank's slice of x (4 x
  // 12x64); %x0 and the weights are views.
  double inputs = 2.0 * (96 * 64 + 64 * 48);
  double results = 4.0 * (96 * 48 + 12 * 64);
  double buffers = 4.0 * 4 * (2 * 12 * 48 + 12 * 64) +
                   4.0 * (96 * 64 + 4 * 12 * 64);
  // And room for the f16 inputs packed once for the run's gemms, at most as
  // many bytes again (runtime::PackedWeights).
  double packed = inputs;
  EXPECT_EQ(hostBytesNeeded(*program, false),
            inputs + results + buffers + packed);
}

/// A replicated piece read as data by two cubes on each of four ranks is
/// one copy in the estimate, as in the run (kSharedPiece).
TEST_F(DeviceInterpreterTest, HostBytesCountASharedPieceOnce) {
  module = mlir::parseSourceString<mlir::ModuleOp>(kSharedPiece, &ctx);
  ASSERT_TRUE(module);
  llvm::Expected<Program> program = analyzeProgram(*module, "");
  ASSERT_TRUE(static_cast<bool>(program)) << llvm::toString(program.takeError());
  // The input at 2 bytes; the results, the one shared 8x32 piece and the
  // 4 ranks' two allocations at 4.
  double inputs = 2.0 * 8 * 32, results = 4.0 * 2 * 8 * 32;
  double buffers = 4.0 * (8 * 32 + 4 * 2 * 8 * 32), packed = inputs;
  EXPECT_EQ(hostBytesNeeded(*program, false),
            inputs + results + buffers + packed);
}

/// The up-front memory check counts the allocations live at once, as the
/// executor makes them at their first use and frees them at the wait after
/// their last: in kReuse, %c (freed at the second wait) and %d, then %d and
/// %e (both returned) — two of its three 16x24 buffers at the peak.
TEST_F(DeviceInterpreterTest, HostBytesCountTheAllocationsLiveAtOnce) {
  module = mlir::parseSourceString<mlir::ModuleOp>(kReuse, &ctx);
  ASSERT_TRUE(module);
  llvm::Expected<Program> program = analyzeProgram(*module, "");
  ASSERT_TRUE(static_cast<bool>(program)) << llvm::toString(program.takeError());
  EXPECT_EQ(peakLiveAllocationElements(program->entry), 2.0 * 16 * 24);
  // Inputs and results at 4 bytes, and the peak; the arguments, which only
  // the gemm reads, are views of the inputs.
  double inputs = 4.0 * (16 * 32 + 32 * 24), results = 4.0 * 2 * 16 * 24;
  double buffers = 4.0 * (2 * 16 * 24);
  EXPECT_EQ(hostBytesNeeded(*program, false), inputs + results + buffers);
}

TEST_F(DeviceInterpreterTest, RunsAreDeterministic) {
  HostTensor global = runtime::randomTensor(DType::F32, {40, 3}, 9);
  DeviceRun first, second;
  llvm::SmallVector<HostTensor> a =
      run(ringProgram(8, 5, 3, "sum"), {global}, first);
  llvm::SmallVector<HostTensor> b =
      run(ringProgram(8, 5, 3, "sum"), {global}, second);
  EXPECT_EQ(a[0].data, b[0].data);
  EXPECT_EQ(first.deviceSeconds, second.deviceSeconds);
  ASSERT_EQ(first.trace.size(), second.trace.size());
  for (size_t i = 0; i < first.trace.size(); ++i) {
    EXPECT_EQ(first.trace[i].rank, second.trace[i].rank);
    EXPECT_EQ(first.trace[i].start, second.trace[i].start);
  }
}


/// A relay's box forwarded hop by hop: %s (cube 0) goes to %a (cube 1) in
/// two parts, and %a forwards it to %b (cube 2) a part per wait, while %c
/// takes it whole from %s. Each holds all of %s, so each views it (%b
/// views %a, which stands for %s) and the host runs none of the copies.
/// %a is then doubled in place: the others keep what they were filled with.
const char *kForwardedReplicas = R"(
module attributes {kb.spmd, kb.world_size = 1 : i64} {
  func.func @f(%x: memref<8x16xf32, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>})
      -> (memref<8x16xf32, #gemm_tile.cube<1>> {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>},
          memref<8x16xf32, #gemm_tile.cube<2>> {gemm_tile.piece = #gemm_tile.piece<tensor = 1, offsets = [0, 0]>},
          memref<8x16xf32, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 2, offsets = [0, 0]>})
      attributes {kb.local_function_type = (tensor<8x16xf32>) -> (tensor<8x16xf32>, tensor<8x16xf32>, tensor<8x16xf32>),
                  kb.arg_split_dims = array<i64: -1>, kb.result_split_dims = array<i64: -1, -1, -1>} {
    %s = gemm_tile.alloc : memref<8x16xf32, #gemm_tile.cube<0>>
    %t0 = gemm_tile.dma %x [0, 0] to %s [0, 0] sizes [8, 16] : memref<8x16xf32, #gemm_tile.cube<0>>, memref<8x16xf32, #gemm_tile.cube<0>>
    gemm_tile.wait %t0
    %a = gemm_tile.alloc : memref<8x16xf32, #gemm_tile.cube<1>>
    %b = gemm_tile.alloc : memref<8x16xf32, #gemm_tile.cube<2>>
    %c = gemm_tile.alloc : memref<8x16xf32, #gemm_tile.cube<0>>
    %t1 = gemm_tile.dma %s [0, 0] to %a [0, 0] sizes [4, 16] : memref<8x16xf32, #gemm_tile.cube<0>>, memref<8x16xf32, #gemm_tile.cube<1>>
    %t2 = gemm_tile.dma %s [4, 0] to %a [4, 0] sizes [4, 16] : memref<8x16xf32, #gemm_tile.cube<0>>, memref<8x16xf32, #gemm_tile.cube<1>>
    %t3 = gemm_tile.dma %s [0, 0] to %c [0, 0] sizes [8, 16] : memref<8x16xf32, #gemm_tile.cube<0>>, memref<8x16xf32, #gemm_tile.cube<0>>
    gemm_tile.wait %t1, %t2, %t3
    %t4 = gemm_tile.dma %a [0, 0] to %b [0, 0] sizes [4, 16] : memref<8x16xf32, #gemm_tile.cube<1>>, memref<8x16xf32, #gemm_tile.cube<2>>
    gemm_tile.wait %t4
    %t5 = gemm_tile.dma %a [4, 0] to %b [4, 0] sizes [4, 16] : memref<8x16xf32, #gemm_tile.cube<1>>, memref<8x16xf32, #gemm_tile.cube<2>>
    gemm_tile.wait %t5
    %t6 = gemm_tile.zip "add" pe 0 %a [0, 0], %a [0, 0] to %a [0, 0] sizes [8, 16] : memref<8x16xf32, #gemm_tile.cube<1>>, memref<8x16xf32, #gemm_tile.cube<1>>, memref<8x16xf32, #gemm_tile.cube<1>>
    gemm_tile.wait %t6
    return %a, %b, %c : memref<8x16xf32, #gemm_tile.cube<1>>, memref<8x16xf32, #gemm_tile.cube<2>>, memref<8x16xf32, #gemm_tile.cube<0>>
  }
}
)";

TEST_F(DeviceInterpreterTest, ARelaysForwardedBoxesViewTheFirstReplica) {
  HostTensor x = runtime::randomTensor(DType::F32, {8, 16}, 41);
  DeviceRun stats;
  llvm::SmallVector<HostTensor> results = run(kForwardedReplicas, {x}, stats);
  ASSERT_EQ(results.size(), 3u);
  for (int64_t i = 0; i < 8 * 16; ++i) {
    ASSERT_EQ(results[0].data[i], 2 * x.data[i]) << i;
    ASSERT_EQ(results[1].data[i], x.data[i]) << i;
    ASSERT_EQ(results[2].data[i], x.data[i]) << i;
  }
  EXPECT_EQ(stats.replicaViews, 3);
}

/// The same relay where %s changes between the copies: doubled in place
/// after %a is filled and while %f has only its first part, then copied to
/// %c and forwarded from %a to %b. %a and %b must hold the first %s, %c the
/// doubled one, %f one half of each. %a views %s until %s changes (then it
/// takes the data), %c views the doubled %s and %b views %a, not %s; %f,
/// whose first part's source changed before its second came, is copied.
const char *kChangedSource = R"(
module attributes {kb.spmd, kb.world_size = 1 : i64} {
  func.func @f(%x: memref<8x16xf32, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>})
      -> (memref<8x16xf32, #gemm_tile.cube<1>> {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>},
          memref<8x16xf32, #gemm_tile.cube<2>> {gemm_tile.piece = #gemm_tile.piece<tensor = 1, offsets = [0, 0]>},
          memref<8x16xf32, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 2, offsets = [0, 0]>},
          memref<8x16xf32, #gemm_tile.cube<2>> {gemm_tile.piece = #gemm_tile.piece<tensor = 3, offsets = [0, 0]>})
      attributes {kb.local_function_type = (tensor<8x16xf32>) -> (tensor<8x16xf32>, tensor<8x16xf32>, tensor<8x16xf32>, tensor<8x16xf32>),
                  kb.arg_split_dims = array<i64: -1>, kb.result_split_dims = array<i64: -1, -1, -1, -1>} {
    %s = gemm_tile.alloc : memref<8x16xf32, #gemm_tile.cube<0>>
    %t0 = gemm_tile.dma %x [0, 0] to %s [0, 0] sizes [8, 16] : memref<8x16xf32, #gemm_tile.cube<0>>, memref<8x16xf32, #gemm_tile.cube<0>>
    gemm_tile.wait %t0
    %a = gemm_tile.alloc : memref<8x16xf32, #gemm_tile.cube<1>>
    %b = gemm_tile.alloc : memref<8x16xf32, #gemm_tile.cube<2>>
    %c = gemm_tile.alloc : memref<8x16xf32, #gemm_tile.cube<0>>
    %f = gemm_tile.alloc : memref<8x16xf32, #gemm_tile.cube<2>>
    %t1 = gemm_tile.dma %s [0, 0] to %a [0, 0] sizes [8, 16] : memref<8x16xf32, #gemm_tile.cube<0>>, memref<8x16xf32, #gemm_tile.cube<1>>
    %t2 = gemm_tile.dma %s [0, 0] to %f [0, 0] sizes [4, 16] : memref<8x16xf32, #gemm_tile.cube<0>>, memref<8x16xf32, #gemm_tile.cube<2>>
    gemm_tile.wait %t1, %t2
    %t3 = gemm_tile.zip "add" pe 0 %s [0, 0], %s [0, 0] to %s [0, 0] sizes [8, 16] : memref<8x16xf32, #gemm_tile.cube<0>>, memref<8x16xf32, #gemm_tile.cube<0>>, memref<8x16xf32, #gemm_tile.cube<0>>
    gemm_tile.wait %t3
    %t4 = gemm_tile.dma %s [0, 0] to %c [0, 0] sizes [8, 16] : memref<8x16xf32, #gemm_tile.cube<0>>, memref<8x16xf32, #gemm_tile.cube<0>>
    %t5 = gemm_tile.dma %a [0, 0] to %b [0, 0] sizes [8, 16] : memref<8x16xf32, #gemm_tile.cube<1>>, memref<8x16xf32, #gemm_tile.cube<2>>
    %t6 = gemm_tile.dma %s [4, 0] to %f [4, 0] sizes [4, 16] : memref<8x16xf32, #gemm_tile.cube<0>>, memref<8x16xf32, #gemm_tile.cube<2>>
    gemm_tile.wait %t4, %t5, %t6
    return %a, %b, %c, %f : memref<8x16xf32, #gemm_tile.cube<1>>, memref<8x16xf32, #gemm_tile.cube<2>>, memref<8x16xf32, #gemm_tile.cube<0>>, memref<8x16xf32, #gemm_tile.cube<2>>
  }
}
)";

TEST_F(DeviceInterpreterTest, AReplicaOfAChangedSourceIsItsOwn) {
  HostTensor x = runtime::randomTensor(DType::F32, {8, 16}, 42);
  DeviceRun stats;
  llvm::SmallVector<HostTensor> results = run(kChangedSource, {x}, stats);
  ASSERT_EQ(results.size(), 4u);
  for (int64_t i = 0; i < 8 * 16; ++i) {
    ASSERT_EQ(results[0].data[i], x.data[i]) << i;
    ASSERT_EQ(results[1].data[i], x.data[i]) << i;
    ASSERT_EQ(results[2].data[i], 2 * x.data[i]) << i;
    ASSERT_EQ(results[3].data[i], i < 4 * 16 ? x.data[i] : 2 * x.data[i])
        << i;
  }
  EXPECT_EQ(stats.replicaViews, 3);
}

/// The eviction programs' results: %e holds 2 a·b in its first 4 rows and
/// zeros below (`rows` in all), %h the SiLU of those 4 rows.
void expectEvictResults(llvm::ArrayRef<HostTensor> results, const HostTensor &a,
                        const HostTensor &b, int64_t rows) {
  ASSERT_EQ(results.size(), 2u);
  ASSERT_EQ(results[0].data.size(), size_t(rows) * 24);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < 24; ++j) {
      double e = i < 4 ? 2 * product16x24(a, b, i, j) : 0.0;
      ASSERT_NEAR(results[0].data[i * 24 + j], e, 1e-4) << i << "," << j;
      if (i < 4) {
        ASSERT_NEAR(results[1].data[i * 24 + j], e / (1 + std::exp(-e)), 1e-4)
            << i << "," << j;
      }
    }
}

/// %c and %g (16x24) are dead after the first wait: their blocks are kept
/// for reuse. %e (its type `eType`) takes one of them or fresh memory; %h
/// (4x24), a size none has, needs fresh memory, so a kept block is freed
/// for good first. %e, which the zip fills in part, still reads as zero
/// elsewhere.
std::string evictProgram(const std::string &eType) {
  std::string text = R"(
module attributes {kb.spmd, kb.world_size = 1 : i64} {
  func.func @f(%a: memref<16x32xf32, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>},
               %b: memref<32x24xf32, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 1, offsets = [0, 0]>})
      -> (memref<E, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>},
          memref<4x24xf32, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 1, offsets = [0, 0]>})
      attributes {kb.local_function_type = (tensor<16x32xf32>, tensor<32x24xf32>) -> (tensor<E>, tensor<4x24xf32>),
                  kb.arg_split_dims = array<i64: -1, -1>, kb.result_split_dims = array<i64: -1, -1>} {
    %c = gemm_tile.alloc : memref<16x24xf32, #gemm_tile.cube<0>>
    %d = gemm_tile.alloc : memref<16x24xf32, #gemm_tile.cube<0>>
    %g = gemm_tile.alloc : memref<16x24xf32, #gemm_tile.cube<0>>
    %t = gemm_tile.matmul pe 0 %a [0, 0], %b [0, 0] to %c [0, 0] sizes [16, 24, 32] k_chunk 32
        : memref<16x32xf32, #gemm_tile.cube<0>>, memref<32x24xf32, #gemm_tile.cube<0>>, memref<16x24xf32, #gemm_tile.cube<0>>
    %t1 = gemm_tile.matmul pe 1 %a [0, 0], %b [0, 0] to %d [0, 0] sizes [16, 24, 32] k_chunk 32
        : memref<16x32xf32, #gemm_tile.cube<0>>, memref<32x24xf32, #gemm_tile.cube<0>>, memref<16x24xf32, #gemm_tile.cube<0>>
    %t4 = gemm_tile.matmul pe 2 %a [0, 0], %b [0, 0] to %g [0, 0] sizes [16, 24, 32] k_chunk 32
        : memref<16x32xf32, #gemm_tile.cube<0>>, memref<32x24xf32, #gemm_tile.cube<0>>, memref<16x24xf32, #gemm_tile.cube<0>>
    gemm_tile.wait %t, %t1, %t4
    %e = gemm_tile.alloc : memref<E, #gemm_tile.cube<0>>
    %t2 = gemm_tile.zip "add" pe 0 %d [0, 0], %d [0, 0] to %e [0, 0] sizes [4, 24] : memref<16x24xf32, #gemm_tile.cube<0>>, memref<16x24xf32, #gemm_tile.cube<0>>, memref<E, #gemm_tile.cube<0>>
    gemm_tile.wait %t2
    %h = gemm_tile.alloc : memref<4x24xf32, #gemm_tile.cube<0>>
    %t3 = gemm_tile.map "silu" pe 0 %e [0, 0] to %h [0, 0] sizes [4, 24] : memref<E, #gemm_tile.cube<0>>, memref<4x24xf32, #gemm_tile.cube<0>>
    gemm_tile.wait %t3
    return %e, %h : memref<E, #gemm_tile.cube<0>>, memref<4x24xf32, #gemm_tile.cube<0>>
  }
}
)";
  for (size_t at; (at = text.find("<E")) != std::string::npos;)
    text.replace(at + 1, 1, eType);
  return text;
}
/// %e of the kept blocks' size: it takes one of them, and %h frees the other.
const std::string kEvict = evictProgram("16x24xf32");

TEST_F(DeviceInterpreterTest, AFreshSizeFreesKeptBlocksOfOtherSizes) {
  HostTensor a = runtime::randomTensor(DType::F32, {16, 32}, 17);
  HostTensor b = runtime::randomTensor(DType::F32, {32, 24}, 18);
  DeviceRun stats;
  expectEvictResults(run(kEvict, {a, b}, stats), a, b, 16);
  // %h's 384 bytes need one of the two kept 1536-byte blocks freed, not both.
  EXPECT_EQ(stats.evictedBlocks, 1);
  EXPECT_EQ(stats.largerKeptBlocks, 0);
}

/// A relay's hop: %x (cube 0) copied into %r (cube 1), then on from there
/// into %o (back on cube 0), and a PE's gelu of %x beside them. With
/// `ordered`, the second copy is ordered after the first (`after`): the
/// DMA engine starts it when the first ends and the rank goes on to the
/// gelu at once. Else the rank waits for the first copy before issuing the
/// second, and the gelu with it.
std::string hopProgram(bool ordered) {
  std::string hop =
      ordered ? "    %c2 = gemm_tile.dma %r [0, 0] to %o [0, 0] sizes [8, 16] "
                "after %c1 : !r, !a\n"
              : "    gemm_tile.wait %c1\n"
                "    %c2 = gemm_tile.dma %r [0, 0] to %o [0, 0] sizes [8, 16] "
                ": !r, !a\n";
  std::string waited = ordered ? "%c1, %c2, %t" : "%c2, %t";
  return R"(
!a = memref<8x16xf32, #gemm_tile.cube<0>>
!r = memref<8x16xf32, #gemm_tile.cube<1>>
module attributes {kb.spmd, kb.world_size = 1 : i64} {
  func.func @f(%x: !a {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>})
      -> (!a {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>},
          !a {gemm_tile.piece = #gemm_tile.piece<tensor = 1, offsets = [0, 0]>})
      attributes {kb.local_function_type = (tensor<8x16xf32>) -> (tensor<8x16xf32>, tensor<8x16xf32>),
                  kb.arg_split_dims = array<i64: -1>, kb.result_split_dims = array<i64: -1, -1>} {
    %r = gemm_tile.alloc : !r
    %o = gemm_tile.alloc : !a
    %g = gemm_tile.alloc : !a
    %c1 = gemm_tile.dma %x [0, 0] to %r [0, 0] sizes [8, 16] : !a, !r
)" + hop +
         R"(    %t = gemm_tile.map "gelu" pe 0 %x [0, 0] to %g [0, 0] sizes [8, 16] : !a, !a
    gemm_tile.wait )" +
         waited + R"(
    return %o, %g : !a, !a
  }
}
)";
}

TEST_F(DeviceInterpreterTest, ACopyOrderedAfterAnotherDoesNotHoldTheRank) {
  HostTensor x = runtime::randomTensor(DType::F32, {8, 16}, 21);
  DeviceRun ordered, waited;
  llvm::SmallVector<HostTensor> a = run(hopProgram(true), {x}, ordered);
  llvm::SmallVector<HostTensor> b = run(hopProgram(false), {x}, waited);
  ASSERT_EQ(a.size(), 2u);
  ASSERT_EQ(b.size(), 2u);
  // The hop forwards what the first copy brought, in either form.
  for (int64_t i = 0; i < 8 * 16; ++i) {
    ASSERT_EQ(a[0].data[i], x.data[i]) << i;
    ASSERT_EQ(b[0].data[i], x.data[i]) << i;
    ASSERT_EQ(a[1].data[i], b[1].data[i]) << i;
  }
  // The second copy starts when the first ends, in both; the gelu starts
  // at once only when the rank did not wait for the first copy.
  auto events = [](const DeviceRun &r, EngineKind engine) {
    std::vector<TraceEvent> found;
    for (const TraceEvent &e : r.trace)
      if (e.engine == engine)
        found.push_back(e);
    std::sort(found.begin(), found.end(),
              [](const TraceEvent &x, const TraceEvent &y) {
                return x.start < y.start;
              });
    return found;
  };
  std::vector<TraceEvent> copies = events(ordered, EngineKind::DMA),
                          gelu = events(ordered, EngineKind::PE),
                          waitedCopies = events(waited, EngineKind::DMA),
                          waitedGelu = events(waited, EngineKind::PE);
  ASSERT_EQ(copies.size(), 2u);
  ASSERT_EQ(gelu.size(), 1u);
  ASSERT_EQ(waitedCopies.size(), 2u);
  ASSERT_EQ(waitedGelu.size(), 1u);
  EXPECT_DOUBLE_EQ(copies[1].start, copies[0].start + copies[0].duration);
  EXPECT_DOUBLE_EQ(copies[1].start, waitedCopies[1].start);
  EXPECT_EQ(gelu[0].start, 0.0);
  EXPECT_DOUBLE_EQ(waitedGelu[0].start,
                   waitedCopies[0].start + waitedCopies[0].duration);
  EXPECT_LT(ordered.deviceSeconds, waited.deviceSeconds);
}

/// A kernel's copy ordered after a token its caller passes in: the verifier
/// cannot see what made it, kb-run can, and a gelu's token is no copy.
const char *kAfterCompute = R"(
!a = memref<8x16xf32, #gemm_tile.cube<0>>
!r = memref<8x16xf32, #gemm_tile.cube<1>>
module attributes {kb.spmd, kb.world_size = 1 : i64} {
  func.func private @copy(%x: !a, %after: !gemm_tile.token) -> !r {
    %r = gemm_tile.alloc : !r
    %c = gemm_tile.dma %x [0, 0] to %r [0, 0] sizes [8, 16] after %after : !a, !r
    gemm_tile.wait %c
    return %r : !r
  }
  func.func @f(%x: !a {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>})
      -> (!r {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>})
      attributes {kb.local_function_type = (tensor<8x16xf32>) -> (tensor<8x16xf32>),
                  kb.arg_split_dims = array<i64: -1>, kb.result_split_dims = array<i64: -1>} {
    %g = gemm_tile.alloc : !a
    %t = gemm_tile.map "gelu" pe 0 %x [0, 0] to %g [0, 0] sizes [8, 16] : !a, !a
    %r = call @copy(%x, %t) : (!a, !gemm_tile.token) -> !r
    gemm_tile.wait %t
    return %r : !r
  }
}
)";

TEST_F(DeviceInterpreterTest, ACopyOrderedAfterAComputeIsRefused) {
  module = mlir::parseSourceString<mlir::ModuleOp>(kAfterCompute, &ctx);
  ASSERT_TRUE(module);
  llvm::Expected<Program> program = analyzeProgram(*module, "");
  ASSERT_TRUE(static_cast<bool>(program))
      << llvm::toString(program.takeError());
  HostTensor x = runtime::randomTensor(DType::F32, {8, 16}, 22);
  DeviceRun stats;
  llvm::Expected<llvm::SmallVector<HostTensor>> results = runDeviceProgram(
      *program, {x},
      gemm_tile::DeviceDescription(gemm_tile::DeviceDescription::Small{}),
      stats, true, /*threads=*/1);
  ASSERT_FALSE(static_cast<bool>(results));
  std::string message = llvm::toString(results.takeError());
  EXPECT_NE(message.find("is ordered after the 'gemm_tile.map'"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("'after' names copies only"), std::string::npos)
      << message;
}

/// As kEvict, but %e (12x24) is smaller than the kept 16x24 blocks by less
/// than half: it takes one of them, and reads as zero where the zip did not
/// write, though the block held %c's or %g's products; %h (4x24), a
/// quarter of their size, still takes fresh memory.
const std::string kLargerKeptBlock = evictProgram("12x24xf32");

TEST_F(DeviceInterpreterTest,
       ASmallerBufferTakesAKeptBlockUpToHalfAsLargeAgain) {
  HostTensor a = runtime::randomTensor(DType::F32, {16, 32}, 19);
  HostTensor b = runtime::randomTensor(DType::F32, {32, 24}, 20);
  DeviceRun stats;
  expectEvictResults(run(kLargerKeptBlock, {a, b}, stats), a, b, 12);
  EXPECT_EQ(stats.largerKeptBlocks, 1);
  // %h takes fresh memory: the other kept block is freed for it.
  EXPECT_EQ(stats.evictedBlocks, 1);
}

} // namespace

/// A relay's replica read where its parts were copied from. %r (cube 2)
/// takes %x's two column halves from %s0 (cube 0) and %s1 (cube 1); %f
/// (cube 3) takes all of %r, so it stands for both halves; %q (cube 1)
/// takes %s1. The wait for %t5 runs host work (%t9), so %r, dead after
/// %t5, is released there. The matmul reads %f's two pieces from %s0 and
/// %s1, copying neither into %f. The zip then reads %f (its copies run),
/// after which %s0, dead since it was relayed and read by no replica still
/// to be copied, frees its block while the matmul that reads it is
/// pending; %n, of its size, is written in the same wait.
const char *kReadThrough = R"(
module attributes {kb.spmd, kb.world_size = 1 : i64} {
  func.func @f(%x: memref<8x16xf32, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>},
               %y: memref<16x12xf32, #gemm_tile.cube<3>> {gemm_tile.piece = #gemm_tile.piece<tensor = 1, offsets = [0, 0]>})
      -> (memref<8x12xf32, #gemm_tile.cube<3>> {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>},
          memref<8x8xf32, #gemm_tile.cube<1>> {gemm_tile.piece = #gemm_tile.piece<tensor = 1, offsets = [0, 0]>},
          memref<8x16xf32, #gemm_tile.cube<3>> {gemm_tile.piece = #gemm_tile.piece<tensor = 2, offsets = [0, 0]>},
          memref<8x8xf32, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 3, offsets = [0, 0]>})
      attributes {kb.local_function_type = (tensor<8x16xf32>, tensor<16x12xf32>) -> (tensor<8x12xf32>, tensor<8x8xf32>, tensor<8x16xf32>, tensor<8x8xf32>),
                  kb.arg_split_dims = array<i64: -1, -1>, kb.result_split_dims = array<i64: -1, -1, -1, -1>} {
    %s0 = gemm_tile.alloc : memref<8x8xf32, #gemm_tile.cube<0>>
    %s1 = gemm_tile.alloc : memref<8x8xf32, #gemm_tile.cube<1>>
    %t0 = gemm_tile.dma %x [0, 0] to %s0 [0, 0] sizes [8, 8] : memref<8x16xf32, #gemm_tile.cube<0>>, memref<8x8xf32, #gemm_tile.cube<0>>
    %t1 = gemm_tile.dma %x [0, 8] to %s1 [0, 0] sizes [8, 8] : memref<8x16xf32, #gemm_tile.cube<0>>, memref<8x8xf32, #gemm_tile.cube<1>>
    gemm_tile.wait %t0, %t1
    %r = gemm_tile.alloc : memref<8x16xf32, #gemm_tile.cube<2>>
    %q = gemm_tile.alloc : memref<8x8xf32, #gemm_tile.cube<1>>
    %t2 = gemm_tile.dma %s0 [0, 0] to %r [0, 0] sizes [8, 8] : memref<8x8xf32, #gemm_tile.cube<0>>, memref<8x16xf32, #gemm_tile.cube<2>>
    %t3 = gemm_tile.dma %s1 [0, 0] to %r [0, 8] sizes [8, 8] : memref<8x8xf32, #gemm_tile.cube<1>>, memref<8x16xf32, #gemm_tile.cube<2>>
    %t4 = gemm_tile.dma %s1 [0, 0] to %q [0, 0] sizes [8, 8] : memref<8x8xf32, #gemm_tile.cube<1>>, memref<8x8xf32, #gemm_tile.cube<1>>
    gemm_tile.wait %t2, %t3, %t4
    %f = gemm_tile.alloc : memref<8x16xf32, #gemm_tile.cube<3>>
    %t5 = gemm_tile.dma %r [0, 0] to %f [0, 0] sizes [8, 16] : memref<8x16xf32, #gemm_tile.cube<2>>, memref<8x16xf32, #gemm_tile.cube<3>>
    %m = gemm_tile.alloc : memref<8x16xf32, #gemm_tile.cube<0>>
    %t9 = gemm_tile.zip "add" pe 1 %x [0, 0], %x [0, 0] to %m [0, 0] sizes [8, 16] : memref<8x16xf32, #gemm_tile.cube<0>>, memref<8x16xf32, #gemm_tile.cube<0>>, memref<8x16xf32, #gemm_tile.cube<0>>
    gemm_tile.wait %t5, %t9
    %c = gemm_tile.alloc : memref<8x12xf32, #gemm_tile.cube<3>>
    %t6 = gemm_tile.matmul pe 0 %f [0, 0], %y [0, 0] to %c [0, 0] sizes [8, 12, 16] k_chunk 16
        : memref<8x16xf32, #gemm_tile.cube<3>>, memref<16x12xf32, #gemm_tile.cube<3>>, memref<8x12xf32, #gemm_tile.cube<3>>
    %w = gemm_tile.alloc : memref<8x16xf32, #gemm_tile.cube<3>>
    %t7 = gemm_tile.zip "add" pe 1 %f [0, 0], %f [0, 0] to %w [0, 0] sizes [8, 16] : memref<8x16xf32, #gemm_tile.cube<3>>, memref<8x16xf32, #gemm_tile.cube<3>>, memref<8x16xf32, #gemm_tile.cube<3>>
    %n = gemm_tile.alloc : memref<8x8xf32, #gemm_tile.cube<0>>
    %t8 = gemm_tile.dma %x [4, 8] to %n [0, 0] sizes [4, 8] : memref<8x16xf32, #gemm_tile.cube<0>>, memref<8x8xf32, #gemm_tile.cube<0>>
    gemm_tile.wait %t6, %t7, %t8
    return %c, %q, %w, %n : memref<8x12xf32, #gemm_tile.cube<3>>, memref<8x8xf32, #gemm_tile.cube<1>>, memref<8x16xf32, #gemm_tile.cube<3>>, memref<8x8xf32, #gemm_tile.cube<0>>
  }
}
)";

TEST_F(DeviceInterpreterTest, AGemmReadsAReplicaWhereItsPartsWereCopiedFrom) {
  HostTensor x = runtime::randomTensor(DType::F32, {8, 16}, 51);
  HostTensor y = runtime::randomTensor(DType::F32, {16, 12}, 52);
  DeviceRun stats;
  llvm::SmallVector<HostTensor> results = run(kReadThrough, {x, y}, stats);
  ASSERT_EQ(results.size(), 4u);
  for (int64_t i = 0; i < 8; ++i) {
    for (int64_t j = 0; j < 12; ++j) {
      double e = 0;
      for (int64_t p = 0; p < 16; ++p)
        e += double(x.data[i * 16 + p]) * y.data[p * 12 + j];
      ASSERT_NEAR(results[0].data[i * 12 + j], e, 1e-4) << i << "," << j;
    }
    for (int64_t j = 0; j < 8; ++j) {
      ASSERT_EQ(results[1].data[i * 8 + j], x.data[i * 16 + 8 + j]);
      ASSERT_EQ(results[3].data[i * 8 + j],
                i < 4 ? x.data[(i + 4) * 16 + 8 + j] : 0)
          << i << "," << j;
    }
    for (int64_t j = 0; j < 16; ++j)
      ASSERT_EQ(results[2].data[i * 16 + j], 2 * x.data[i * 16 + j]);
  }
  // The matmul's A, in two pieces; %f's copies ran for the zip only.
  EXPECT_EQ(stats.replicaReads, 1);
}

/// The start of the gathered-band programs below: cube 0 computes rows 0-3
/// of %k0 (2x), cube 1 rows 4-7 of %k1 (from its copy %xb of x's rows 4-7).
const char *kTwoBands = R"(
    %xb = gemm_tile.alloc : memref<4x8xf32, #gemm_tile.cube<1>>
    %t0 = gemm_tile.dma %x [4, 0] to %xb [0, 0] sizes [4, 8] : memref<8x8xf32, #gemm_tile.cube<0>>, memref<4x8xf32, #gemm_tile.cube<1>>
    gemm_tile.wait %t0
    %k0 = gemm_tile.alloc : memref<8x8xf32, #gemm_tile.cube<0>>
    %k1 = gemm_tile.alloc : memref<8x8xf32, #gemm_tile.cube<1>>
    %t1 = gemm_tile.zip "add" pe 0 %x [0, 0], %x [0, 0] to %k0 [0, 0] sizes [4, 8] : memref<8x8xf32, #gemm_tile.cube<0>>, memref<8x8xf32, #gemm_tile.cube<0>>, memref<8x8xf32, #gemm_tile.cube<0>>
    %t2 = gemm_tile.zip "add" pe 0 %xb [0, 0], %xb [0, 0] to %k1 [4, 0] sizes [4, 8] : memref<4x8xf32, #gemm_tile.cube<1>>, memref<4x8xf32, #gemm_tile.cube<1>>, memref<8x8xf32, #gemm_tile.cube<1>>
    gemm_tile.wait %t1, %t2
)";
/// A module of one 8x8 input on cube 0 and two 8x8 results (cubes 0 and 1)
/// whose function starts with kTwoBands.
const std::string kTwoBandsModule =
    R"(module attributes {kb.spmd, kb.world_size = 1 : i64} {
  func.func @f(%x: memref<8x8xf32, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>})
      -> (memref<8x8xf32, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>},
          memref<8x8xf32, #gemm_tile.cube<1>> {gemm_tile.piece = #gemm_tile.piece<tensor = 1, offsets = [0, 0]>})
      attributes {kb.local_function_type = (tensor<8x8xf32>) -> (tensor<8x8xf32>, tensor<8x8xf32>),
                  kb.arg_split_dims = array<i64: -1>, kb.result_split_dims = array<i64: -1, -1>} {
)" + std::string(kTwoBands);

/// A relay that gathers each cube's band of keys into a buffer on every
/// cube, the buffer already holding the band its cube computed (a
/// column-parallel k or v projection's rows, gathered for attention). Cube
/// 0 computes rows 0-3 of %k0 (2x), cube 1 rows 4-7 of %k1; each band is
/// relayed into the other cube's buffer. Both cubes rotate all 8 rows
/// (rope) and attend with them as keys and the gathered rows as values.
/// Neither relay copy runs: the rotations read each band where its cube
/// made it (one rotation serves both cubes), the attention reads the
/// values so, and the result %k1 is assembled from the bands.
const std::string kGatheredBands = R"(
module attributes {kb.spmd, kb.world_size = 1 : i64} {
  func.func @f(%x: memref<8x8xf32, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>})
      -> (memref<4x8xf32, #gemm_tile.cube<0>> {gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>},
          memref<4x8xf32, #gemm_tile.cube<1>> {gemm_tile.piece = #gemm_tile.piece<tensor = 1, offsets = [0, 0]>},
          memref<8x8xf32, #gemm_tile.cube<1>> {gemm_tile.piece = #gemm_tile.piece<tensor = 2, offsets = [0, 0]>})
      attributes {kb.local_function_type = (tensor<8x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>),
                  kb.arg_split_dims = array<i64: -1>, kb.result_split_dims = array<i64: -1, -1, -1>} {
)" + std::string(kTwoBands) + R"(
    %t3 = gemm_tile.dma %k0 [0, 0] to %k1 [0, 0] sizes [4, 8] : memref<8x8xf32, #gemm_tile.cube<0>>, memref<8x8xf32, #gemm_tile.cube<1>>
    %t4 = gemm_tile.dma %k1 [4, 0] to %k0 [4, 0] sizes [4, 8] : memref<8x8xf32, #gemm_tile.cube<1>>, memref<8x8xf32, #gemm_tile.cube<0>>
    gemm_tile.wait %t3, %t4
    %r0 = gemm_tile.alloc : memref<8x8xf32, #gemm_tile.cube<0>>
    %r1 = gemm_tile.alloc : memref<8x8xf32, #gemm_tile.cube<1>>
    %t5 = gemm_tile.rope pe 0 %k0 [0, 0] to %r0 [0, 0] sizes [8, 8] head_dim 8 position 0 theta 1.0e4 : memref<8x8xf32, #gemm_tile.cube<0>>, memref<8x8xf32, #gemm_tile.cube<0>>
    %t6 = gemm_tile.rope pe 0 %k1 [0, 0] to %r1 [0, 0] sizes [8, 8] head_dim 8 position 0 theta 1.0e4 : memref<8x8xf32, #gemm_tile.cube<1>>, memref<8x8xf32, #gemm_tile.cube<1>>
    gemm_tile.wait %t5, %t6
    %o0 = gemm_tile.alloc : memref<4x8xf32, #gemm_tile.cube<0>>
    %o1 = gemm_tile.alloc : memref<4x8xf32, #gemm_tile.cube<1>>
    %t7 = gemm_tile.attention pe 0 %r0 [0, 0], %r0 [0, 0], %k0 [0, 0] to %o0 [0, 0] sizes [4, 4, 8] heads 1 position 0 key_chunk 4 : memref<8x8xf32, #gemm_tile.cube<0>>, memref<8x8xf32, #gemm_tile.cube<0>>, memref<8x8xf32, #gemm_tile.cube<0>>, memref<4x8xf32, #gemm_tile.cube<0>>
    %t8 = gemm_tile.attention pe 0 %r1 [4, 0], %r1 [0, 0], %k1 [0, 0] to %o1 [0, 0] sizes [4, 8, 8] heads 1 position 4 key_chunk 4 : memref<8x8xf32, #gemm_tile.cube<1>>, memref<8x8xf32, #gemm_tile.cube<1>>, memref<8x8xf32, #gemm_tile.cube<1>>, memref<4x8xf32, #gemm_tile.cube<1>>
    gemm_tile.wait %t7, %t8
    return %o0, %o1, %k1 : memref<4x8xf32, #gemm_tile.cube<0>>, memref<4x8xf32, #gemm_tile.cube<1>>, memref<8x8xf32, #gemm_tile.cube<1>>
  }
}
)";

TEST_F(DeviceInterpreterTest,
       BandsGatheredOnEveryCubeAreReadWhereTheyWereMade) {
  HostTensor x = runtime::randomTensor(DType::F32, {8, 8}, 61);
  DeviceRun stats;
  llvm::SmallVector<HostTensor> results = run(kGatheredBands, {x}, stats);
  ASSERT_EQ(results.size(), 3u);
  // The reference in doubles: v = 2x, k = q = rope(v) at positions 0-7.
  double v[8][8], k[8][8];
  for (int r = 0; r < 8; ++r)
    for (int c = 0; c < 8; ++c)
      v[r][c] = 2.0 * x.data[r * 8 + c];
  for (int r = 0; r < 8; ++r)
    for (int i = 0; i < 4; ++i) {
      double angle = r * std::pow(1.0e4, -2.0 * i / 8);
      k[r][i] = v[r][i] * std::cos(angle) - v[r][i + 4] * std::sin(angle);
      k[r][i + 4] = v[r][i + 4] * std::cos(angle) + v[r][i] * std::sin(angle);
    }
  for (int p = 0; p < 8; ++p) {
    double scores[8], peak = -1e300, total = 0;
    for (int t = 0; t <= p; ++t) {
      scores[t] = 0;
      for (int c = 0; c < 8; ++c)
        scores[t] += k[p][c] * k[t][c] / std::sqrt(8.0);
      peak = std::max(peak, scores[t]);
    }
    for (int t = 0; t <= p; ++t)
      total += std::exp(scores[t] - peak);
    const HostTensor &out = results[p / 4];
    for (int c = 0; c < 8; ++c) {
      double e = 0;
      for (int t = 0; t <= p; ++t)
        e += std::exp(scores[t] - peak) / total * v[t][c];
      ASSERT_NEAR(out.data[(p % 4) * 8 + c], e, 1e-5) << p << "," << c;
    }
  }
  for (int r = 0; r < 8; ++r)
    for (int c = 0; c < 8; ++c)
      ASSERT_EQ(results[2].data[r * 8 + c], static_cast<float>(v[r][c]));
  // The two rotations and the two values, read in bands; cube 1's
  // rotation is cube 0's.
  EXPECT_EQ(stats.replicaReads, 4);
  EXPECT_EQ(stats.sharedResults, 1);
}

/// A gathered buffer (as kGatheredBands) written after the relay: the
/// relayed band is copied in before the write, which overwrites the cube's
/// own band, and the other cube's buffer keeps the band it was sent.
const std::string kGatheredThenWritten = kTwoBandsModule + R"(
    %t3 = gemm_tile.dma %k0 [0, 0] to %k1 [0, 0] sizes [4, 8] : memref<8x8xf32, #gemm_tile.cube<0>>, memref<8x8xf32, #gemm_tile.cube<1>>
    %t4 = gemm_tile.dma %k1 [4, 0] to %k0 [4, 0] sizes [4, 8] : memref<8x8xf32, #gemm_tile.cube<1>>, memref<8x8xf32, #gemm_tile.cube<0>>
    gemm_tile.wait %t3, %t4
    %t5 = gemm_tile.zip "mul" pe 0 %xb [0, 0], %xb [0, 0] to %k1 [4, 0] sizes [4, 8] : memref<4x8xf32, #gemm_tile.cube<1>>, memref<4x8xf32, #gemm_tile.cube<1>>, memref<8x8xf32, #gemm_tile.cube<1>>
    gemm_tile.wait %t5
    return %k0, %k1 : memref<8x8xf32, #gemm_tile.cube<0>>, memref<8x8xf32, #gemm_tile.cube<1>>
  }
}
)";

TEST_F(DeviceInterpreterTest,
       AGatheredBufferWrittenAfterItsRelayGetsItsBandsFirst) {
  HostTensor x = runtime::randomTensor(DType::F32, {8, 8}, 62);
  DeviceRun stats;
  llvm::SmallVector<HostTensor> results = run(kGatheredThenWritten, {x}, stats);
  ASSERT_EQ(results.size(), 2u);
  for (int r = 0; r < 8; ++r)
    for (int c = 0; c < 8; ++c) {
      float e = x.data[r * 8 + c];
      ASSERT_EQ(results[0].data[r * 8 + c], e + e) << r << "," << c;
      ASSERT_EQ(results[1].data[r * 8 + c], r < 4 ? e + e : e * e)
          << r << "," << c;
    }
}

/// A relay into rows of a gathered buffer that another uncopied replica
/// reads from it: %k1 takes %k0's rows 0-3; then %k0's rows 0-3 are relayed
/// over from %k1's own rows 4-7, and %k0 is read as data (copying its parts
/// in) before %k1 is. That copy runs as a plain copy, after %k1 has taken
/// the rows it was sent, not as a part of %k0: %k1 keeps 2x's rows 0-3.
const std::string kRelayOverAReadRoot = kTwoBandsModule + R"(
    %t3 = gemm_tile.dma %k0 [0, 0] to %k1 [0, 0] sizes [4, 8] : memref<8x8xf32, #gemm_tile.cube<0>>, memref<8x8xf32, #gemm_tile.cube<1>>
    gemm_tile.wait %t3
    %t4 = gemm_tile.dma %k1 [4, 0] to %k0 [0, 0] sizes [4, 8] : memref<8x8xf32, #gemm_tile.cube<1>>, memref<8x8xf32, #gemm_tile.cube<0>>
    gemm_tile.wait %t4
    %m = gemm_tile.alloc : memref<8x8xf32, #gemm_tile.cube<0>>
    %t5 = gemm_tile.zip "add" pe 0 %k0 [0, 0], %k0 [0, 0] to %m [0, 0] sizes [8, 8] : memref<8x8xf32, #gemm_tile.cube<0>>, memref<8x8xf32, #gemm_tile.cube<0>>, memref<8x8xf32, #gemm_tile.cube<0>>
    gemm_tile.wait %t5
    return %m, %k1 : memref<8x8xf32, #gemm_tile.cube<0>>, memref<8x8xf32, #gemm_tile.cube<1>>
  }
}
)";

TEST_F(DeviceInterpreterTest,
       ARelayOverRowsAReplicaReadsRunsAfterThatReplicasCopy) {
  HostTensor x = runtime::randomTensor(DType::F32, {8, 8}, 63);
  DeviceRun stats;
  llvm::SmallVector<HostTensor> results = run(kRelayOverAReadRoot, {x}, stats);
  ASSERT_EQ(results.size(), 2u);
  for (int r = 0; r < 8; ++r)
    for (int c = 0; c < 8; ++c) {
      float e = x.data[r * 8 + c] + x.data[r * 8 + c];
      float moved =
          r < 4 ? x.data[(r + 4) * 8 + c] + x.data[(r + 4) * 8 + c] : 0.0f;
      ASSERT_EQ(results[0].data[r * 8 + c], moved + moved) << r << "," << c;
      ASSERT_EQ(results[1].data[r * 8 + c], e) << r << "," << c;
    }
}
