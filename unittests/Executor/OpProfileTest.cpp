//===- OpProfileTest.cpp - the per-op table and op origins ----------------===//

#include "kb/Executor/OpProfile.h"
#include "kb/Dialect/KB/IR/OpOrigin.h"

#include "mlir/IR/MLIRContext.h"
#include "gtest/gtest.h"

using namespace kb;
using namespace kb::exec;

namespace {

TEST(OpOriginTest, FlattenedKernelNamesItsCallSite) {
  mlir::MLIRContext ctx;
  auto file = [&](unsigned line) {
    return mlir::FileLineColLoc::get(&ctx, "model.py", line, 9);
  };
  auto named = [&](llvm::StringRef name, mlir::Location loc) {
    return mlir::NameLoc::get(mlir::StringAttr::get(&ctx, name), loc);
  };
  // The kernel's op was outlined from the first layer; this copy is called
  // from the second: the table must name the second.
  mlir::Location inKernel =
      named("kb.matmul", named("ColumnParallelLinear", file(13)));
  mlir::Location call = named("RowParallelLinear", file(19));
  OpOrigin origin = originOf(flattenedLocation("matmul_1", inKernel, call));
  EXPECT_EQ(origin.op, "matmul_1");
  EXPECT_EQ(origin.layer, "RowParallelLinear");
  EXPECT_EQ(origin.where(), "model.py:19");

  // Not outlined: the kb op names itself.
  origin = originOf(inKernel);
  EXPECT_EQ(origin.op, "matmul");
  EXPECT_EQ(origin.layer, "ColumnParallelLinear");
  EXPECT_EQ(origin.where(), "model.py:13");

  // No names, no file.
  origin = originOf(mlir::UnknownLoc::get(&ctx));
  EXPECT_EQ(origin.op, "");
  EXPECT_EQ(origin.where(), "");
}

TraceEvent event(int64_t site, int64_t rank, double start, double duration,
                 EngineKind engine) {
  TraceEvent e;
  e.site = site;
  e.rank = rank;
  e.track = 0;
  e.start = start;
  e.duration = duration;
  e.engine = engine;
  return e;
}

TEST(OpProfileTest, SharesPartitionTheLastSIPsTimeline) {
  DeviceRun run;
  run.sites = {{"matmul_0", "A", "m.py:1"},
               {"dma_0", "A", "m.py:1"},
               {"all_reduce_0", "B", "m.py:2"}};
  run.sips.resize(2);
  run.sips[0].endSeconds = 9;
  run.sips[1].endSeconds = 10;
  run.deviceSeconds = 10;
  // SIP 1: a gemm on [0, 4) overlapping a DMA on [2, 6), nothing on [6, 7)
  // (waiting for the ring), the ring step on [7, 10).
  run.trace = {event(0, 1, 0, 4, EngineKind::PE),
               event(1, 1, 2, 4, EngineKind::DMA),
               event(2, 1, 7, 3, EngineKind::Ring),
               // SIP 0 ends earlier and is not profiled.
               event(0, 0, 0, 9, EngineKind::PE)};
  run.trace[1].bytes = 64;
  run.trace[2].bytes = 32;
  OpTable table = profileOps(run);
  EXPECT_EQ(table.rank, 1);
  ASSERT_EQ(table.rows.size(), 3u);
  double total = 0;
  for (const OpProfile &row : table.rows)
    total += row.seconds;
  EXPECT_DOUBLE_EQ(total, 10);
  // Largest first: the ring step with the wait before it (1 + 3), the gemm
  // (2 alone + 1 shared), the DMA (1 shared + 2 alone).
  EXPECT_EQ(table.rows[0].site, 2);
  EXPECT_DOUBLE_EQ(table.rows[0].seconds, 4);
  EXPECT_DOUBLE_EQ(table.rows[0].ringSeconds, 3);
  EXPECT_EQ(table.rows[0].linkBytes, 32);
  EXPECT_DOUBLE_EQ(table.rows[1].seconds, 3);
  EXPECT_DOUBLE_EQ(table.rows[2].seconds, 3);
  for (const OpProfile &row : table.rows)
    if (row.site == 1) {
      EXPECT_EQ(row.dmaBytes, 64);
      EXPECT_DOUBLE_EQ(row.dmaSeconds, 4);
    }
  EXPECT_EQ(run.sites[0].label(), "matmul_0 (A m.py:1)");
}

} // namespace
