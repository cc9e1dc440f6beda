//===- DeviceDescriptionTest.cpp - the machine model's numbers ------------===//

#include "kb/Dialect/GemmTile/IR/DeviceDescription.h"
#include "kb/Dialect/GemmTile/IR/GemmTileDialect.h"

#include "mlir/IR/MLIRContext.h"
#include "gtest/gtest.h"

using namespace kb::gemm_tile;

namespace {

std::string errorOf(llvm::Expected<DeviceDescription> d) {
  if (d)
    return "";
  return llvm::toString(d.takeError());
}

TEST(DeviceDescriptionTest, DefaultsAreTheBuiltInAHBM) {
  DeviceDescription ahbm = *DeviceDescription::preset("ahbm");
  EXPECT_TRUE(DeviceDescription().toJSON() == ahbm.toJSON());
  EXPECT_EQ(ahbm.cubes, 16);
  EXPECT_EQ(ahbm.meshCols, 4);
  EXPECT_EQ(ahbm.dmaLatencyFarCubeNs, 573);
  EXPECT_FALSE(ahbm.isIdeal());
}

TEST(DeviceDescriptionTest, SmallIsByNameOnly) {
  DeviceDescription d = *DeviceDescription::preset("small");
  EXPECT_TRUE(d.toJSON() ==
              DeviceDescription(DeviceDescription::Small{}).toJSON());
  EXPECT_TRUE(d.isIdeal());
  EXPECT_EQ(d.cubes, 4);
  EXPECT_EQ(d.pesPerCube, 8);
  EXPECT_EQ(d.peBufferBytes(), 512 * 1024);
  EXPECT_EQ(d.peGflops, 256);
  EXPECT_EQ(d.cubePeGBps, 1000);
  EXPECT_EQ(d.cubeCubeGBps, 256);
  EXPECT_EQ(d.linkGBps, 100);
  EXPECT_EQ(d.cubeMemoryBytes(), int64_t(16) << 30);
  EXPECT_EQ(d.validate(), "");
}

TEST(DeviceDescriptionTest, LatencyFieldsParseAndAreChecked) {
  llvm::Expected<DeviceDescription> d = DeviceDescription::fromJSON(
      R"({"ring_step_latency_ns": 409, "dma_latency_local_ns": 77,
          "dma_latency_far_cube_ns": 573, "kernel_launch_ns": 10,
          "mesh_cols": 2, "compute_efficiency_permille": 900,
          "memory_efficiency_permille": 830})");
  ASSERT_TRUE(static_cast<bool>(d)) << llvm::toString(d.takeError());
  EXPECT_EQ(d->ringStepLatencyNs, 409);
  EXPECT_EQ(d->dmaLatencyFarCubeNs, 573);
  EXPECT_EQ(d->meshCols, 2);
  EXPECT_EQ(d->memoryEfficiencyPermille, 830);
  EXPECT_FALSE(d->isIdeal());
  EXPECT_EQ(errorOf(DeviceDescription::fromJSON(R"({"kernel_launch_ns": -1})")),
            "device field 'kernel_launch_ns' must be at least 0, got -1");
  EXPECT_EQ(errorOf(DeviceDescription::fromJSON(
                R"({"compute_efficiency_permille": 0})")),
            "device field 'compute_efficiency_permille' must be positive, got 0");
  EXPECT_EQ(errorOf(DeviceDescription::fromJSON(
                R"({"memory_efficiency_permille": 1001})")),
            "device field 'memory_efficiency_permille' is a share of the peak "
            "rate, at most 1000 per mille, got 1001");
  EXPECT_EQ(errorOf(DeviceDescription::fromJSON(
                R"({"dma_latency_local_ns": 100, "dma_latency_far_cube_ns": 50})")),
            "a DMA to the farthest cube ('dma_latency_far_cube_ns' = 50) "
            "cannot take less than one within a cube "
            "('dma_latency_local_ns' = 100)");
}

TEST(DeviceDescriptionTest, BuiltInDescriptionsByName) {
  std::optional<DeviceDescription> small = DeviceDescription::preset("small");
  ASSERT_TRUE(small.has_value());
  EXPECT_EQ(small->cubes, 4);
  EXPECT_EQ(small->meshCols, 0);
  EXPECT_EQ(small->cubePeGBps, 1000);
  EXPECT_TRUE(small->isIdeal());
  std::optional<DeviceDescription> ahbm = DeviceDescription::preset("ahbm");
  ASSERT_TRUE(ahbm.has_value());
  EXPECT_EQ(ahbm->cubes * ahbm->pesPerCube, 128);
  EXPECT_EQ(ahbm->meshCols, 4);
  EXPECT_EQ(ahbm->cubePeGBps, 8 * 8 * 32);
  EXPECT_EQ(ahbm->cubePeGBps / ahbm->pesPerCube, 256);
  EXPECT_EQ(ahbm->cubeCubeGBps, 128);
  EXPECT_EQ(ahbm->dmaLatencyLocalNs, 77);
  EXPECT_EQ(ahbm->dmaLatencyFarCubeNs, 573);
  EXPECT_EQ(ahbm->ringStepLatencyNs, 409);
  // 128 PEs reading locally reach 27.2 TB/s.
  EXPECT_NEAR(ahbm->cubes * ahbm->cubePeGBps *
                  ahbm->memoryEfficiencyPermille / 1000.0,
              27200, 0.01 * 27200);
  EXPECT_FALSE(ahbm->isIdeal());
  EXPECT_EQ(ahbm->validate(), "");
  EXPECT_FALSE(DeviceDescription::preset("large").has_value());
  // JSON: a preset changed by the other keys.
  llvm::Expected<DeviceDescription> d = DeviceDescription::fromJSON(
      R"({"preset": "small", "link_gbps": 50})");
  ASSERT_TRUE(static_cast<bool>(d)) << llvm::toString(d.takeError());
  EXPECT_EQ(d->cubes, 4);
  EXPECT_EQ(d->linkGBps, 50);
  EXPECT_NE(errorOf(DeviceDescription::fromJSON(R"({"preset": "large"})"))
                .find("must name a built-in device (ahbm, small)"),
            std::string::npos);
}

TEST(DeviceDescriptionTest, JSONOverridesOnlyWhatItNames) {
  llvm::Expected<DeviceDescription> d =
      DeviceDescription::fromJSON(R"({"cubes": 2, "link_gbps": 50})");
  ASSERT_TRUE(static_cast<bool>(d)) << llvm::toString(d.takeError());
  EXPECT_EQ(d->cubes, 2);
  EXPECT_EQ(d->linkGBps, 50);
  EXPECT_EQ(d->pesPerCube, 8);
}

TEST(DeviceDescriptionTest, JSONRoundTrips) {
  DeviceDescription d;
  d.pesPerCube = 3;
  d.cubeMemoryMiB = 7;
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::json::Value(d.toJSON());
  llvm::Expected<DeviceDescription> back = DeviceDescription::fromJSON(text);
  ASSERT_TRUE(static_cast<bool>(back));
  EXPECT_EQ(back->pesPerCube, 3);
  EXPECT_EQ(back->cubeMemoryMiB, 7);
}

TEST(DeviceDescriptionTest, BadJSONIsAnErrorNotACrash) {
  EXPECT_NE(errorOf(DeviceDescription::fromJSON("{")), "");
  EXPECT_NE(errorOf(DeviceDescription::fromJSON("[1, 2]")), "");
  EXPECT_NE(errorOf(DeviceDescription::fromJSON(R"({"cubes": "four"})"))
                .find("must be an integer"),
            std::string::npos);
  EXPECT_NE(errorOf(DeviceDescription::fromJSON(R"({"cores": 4})"))
                .find("unknown device field 'cores'"),
            std::string::npos);
  EXPECT_NE(errorOf(DeviceDescription::fromJSON(R"({"cubes": 0})"))
                .find("'cubes' must be positive, got 0"),
            std::string::npos);
  EXPECT_NE(errorOf(DeviceDescription::fromJSON(R"({"cubes": 100000})"))
                .find("beyond any AHBM machine"),
            std::string::npos);
  // Numbers at and beyond 2^63 (as doubles) once reached llvm::json's
  // unchecked double-to-int64 conversion (found by device-json-fuzzer).
  for (const char *huge :
       {R"({"cubes": 9223372036854775808.})", R"({"cubes": -1e300})",
        R"({"link_gbps": 18446744073709551616})", R"({"cubes": 1e19})"})
    EXPECT_NE(errorOf(DeviceDescription::fromJSON(huge)).find("out of range"),
              std::string::npos)
        << huge;
  // An integral double in range is an integer.
  EXPECT_EQ(errorOf(DeviceDescription::fromJSON(R"({"cubes": 4.0})")), "");
}

TEST(DeviceDescriptionTest, SwitchFieldsAreCheckedTogether) {
  // 0 keeps the ring; a switch needs its port's rate; a flit's payload fits.
  EXPECT_EQ(errorOf(DeviceDescription::fromJSON(R"({"switch_mibps": 0})")), "");
  EXPECT_NE(
      errorOf(DeviceDescription::fromJSON(R"({"switch_round_trip_ns": -1})"))
          .find("'switch_round_trip_ns' must be at least 0, got -1"),
      std::string::npos);
  EXPECT_NE(
      errorOf(DeviceDescription::fromJSON(R"({"switch_round_trip_ns": 180})"))
          .find("'switch_mibps' must be positive"),
      std::string::npos);
  EXPECT_NE(errorOf(DeviceDescription::fromJSON(
                        R"({"flit_bytes": 64, "flit_payload_bytes": 192})"))
                .find("'flit_payload_bytes' (192) exceeds 'flit_bytes' (64)"),
            std::string::npos);
  llvm::Expected<DeviceDescription> cent = DeviceDescription::fromJSON(
      R"({"switch_round_trip_ns": 180, "switch_mibps": 73728})");
  ASSERT_TRUE(static_cast<bool>(cent));
  EXPECT_TRUE(cent->switched());
  EXPECT_FALSE(DeviceDescription().switched());
}

TEST(DeviceDescriptionTest, AttributeRoundTrips) {
  mlir::MLIRContext ctx;
  ctx.loadDialect<GemmTileDialect>();
  DeviceDescription d;
  d.cubes = 2;
  d.peGflopsF32 = 99;
  DeviceDescription back = DeviceDescription::fromAttr(d.toAttr(&ctx));
  EXPECT_EQ(back.cubes, 2);
  EXPECT_EQ(back.peGflopsF32, 99);
  EXPECT_EQ(back.linkGBps, d.linkGBps);
  // The switch's fields travel too.
  d.switchRoundTripNs = 180;
  d.switchMiBps = 16384;
  d.flitBytes = 128;
  d.flitPayloadBytes = 96;
  back = DeviceDescription::fromAttr(d.toAttr(&ctx));
  EXPECT_EQ(back.switchRoundTripNs, 180);
  EXPECT_EQ(back.switchMiBps, 16384);
  EXPECT_EQ(back.flitBytes, 128);
  EXPECT_EQ(back.flitPayloadBytes, 96);
}

} // namespace
