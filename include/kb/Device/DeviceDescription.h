//===- DeviceDescription.h - the AHBM machine model -------------*- C++ -*-===//
//
// The numbers that describe one AHBM SIP and its links, in one place: the
// compiler sizes tiles and picks placements with them, kb-run charges time
// with them (through kb/Device/CostModel.h). The defaults are the built-in
// AHBM description; a module overrides them with a `#gemm_tile.device`
// attribute (the gemm_tile dialect converts between the two), kb-run with a
// JSON file.
//
//===----------------------------------------------------------------------===//

#ifndef KB_DEVICE_DEVICEDESCRIPTION_H
#define KB_DEVICE_DEVICEDESCRIPTION_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

#include <cstdint>
#include <optional>
#include <string>

namespace mlir {
class MLIRContext;
} // namespace mlir

namespace kb {
namespace gemm_tile {
class DeviceAttr;
} // namespace gemm_tile

/// The most memory a cube of any valid description has (validate() refuses
/// more): a bound that keeps byte tallies, a few terms at a time, in int64.
constexpr int64_t kMaxCubeMemoryMiB = int64_t(1) << 30;
constexpr int64_t kMaxCubeMemoryBytes = kMaxCubeMemoryMiB << 20;

/// One AHBM SIP and its links. The in-class values are the small description
/// (`preset("small")`: 4 cubes of 8 PEs, no latencies); a default-constructed
/// one is the built-in default, `preset("ahbm")`, set in
/// DeviceDescription.cpp, so that changing the default rebuilds one file.
struct DeviceDescription {
  DeviceDescription();
  /// The in-class values: the small description.
  struct Small {};
  explicit DeviceDescription(Small) {}

  /// A named description: "ahbm" (the AHBM family's published numbers, a
  /// 4 × 4 mesh of cubes) or "small"; std::nullopt for another name.
  static std::optional<DeviceDescription> preset(llvm::StringRef name);
  /// The names preset() knows, for messages: "ahbm, small".
  static std::string presetNames();

  int64_t cubes = 4;
  int64_t pesPerCube = 8;
  int64_t peBufferKiB = 512;
  int64_t peGflops = 256;    // f16/bf16 inputs, f32 accumulate
  int64_t peGflopsF32 = 128; // f32 inputs
  int64_t cubePeGBps = 1000; // a cube's memory to its PEs, shared by them
  int64_t cubeCubeGBps = 256;
  int64_t linkGBps = 100; // per direction per inter-SIP link
  int64_t cubeMemoryMiB = 16384;
  // Cubes per row of the SIP's mesh of cubes; 0: no mesh, every pair of
  // cubes has a link of its own (one hop, nothing shared).
  int64_t meshCols = 0;
  // Latencies (ns) and efficiencies (per mille of the peak rates). All zero
  // and 1000: the ideal device, which charges bytes and FLOPs only.
  int64_t ringStepLatencyNs = 0; // α of a ring step: α + bytes / link rate
  int64_t dmaLatencyLocalNs = 0; // a DMA within one cube
  int64_t dmaLatencyFarCubeNs = 0; // a DMA to the farthest cube of the SIP
  int64_t kernelLaunchNs = 0;      // fixed cost of each PE op
  int64_t computeEfficiencyPermille = 1000; // of pe_gflops, pe_gflops_f32
  int64_t memoryEfficiencyPermille = 1000;  // of cube_pe_gbps

  // Collectives through a switch instead of the ring (docs/design/0014): 0
  // keeps the ring; > 0 is the one-hop round trip of one switch transfer.
  int64_t switchRoundTripNs = 0;
  int64_t switchMiBps = 0;       // a SIP's port on the switch (MiB/s)
  int64_t flitBytes = 256;       // a flit on the switch's links
  int64_t flitPayloadBytes = 192; // of which payload (3 x 64-B messages)

  /// Whether collectives go through a switch (gather and multicast).
  bool switched() const { return switchRoundTripNs > 0; }

  int64_t peBufferBytes() const { return peBufferKiB * 1024; }
  int64_t cubeMemoryBytes() const { return cubeMemoryMiB * 1024 * 1024; }

  /// Whether one cube holds `bytes` (a saturated count never fits).
  bool cubeHolds(int64_t bytes) const { return bytes <= cubeMemoryBytes(); }

  /// Whether the device charges no latency and runs at its peak rates.
  bool isIdeal() const {
    return ringStepLatencyNs == 0 && dmaLatencyLocalNs == 0 &&
           dmaLatencyFarCubeNs == 0 && kernelLaunchNs == 0 &&
           computeEfficiencyPermille == 1000 &&
           memoryEfficiencyPermille == 1000;
  }

  /// What is wrong with the description, or "" when nothing is.
  std::string validate() const;
  llvm::json::Object toJSON() const;
  /// Parses a JSON object whose keys are the `#gemm_tile.device` field names
  /// (`cubes`, `pes_per_cube`, ...); missing keys keep their defaults, unknown
  /// keys and non-positive values are errors.
  static llvm::Expected<DeviceDescription> fromJSON(llvm::StringRef text);

  /// The attribute form. Declared here, defined by the gemm_tile dialect
  /// (lib/Dialect/GemmTile/IR/DeviceDescription.cpp), which owns the
  /// attribute: only code that links the dialect can call them.
  static DeviceDescription fromAttr(gemm_tile::DeviceAttr attr);
  gemm_tile::DeviceAttr toAttr(mlir::MLIRContext *ctx) const;
};

/// The cube-memory check of a tally of bytes per cube (index: cube): the
/// message for the first cube that holds more than `device` gives it,
/// "needs N bytes in cube c, but a cube holds M bytes", or std::nullopt.
std::optional<std::string>
cubeMemoryOverflow(llvm::ArrayRef<int64_t> bytesPerCube,
                   const DeviceDescription &device);

} // namespace kb

#endif // KB_DEVICE_DEVICEDESCRIPTION_H
