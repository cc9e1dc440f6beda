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

struct DeviceDescription {
  int64_t cubes = 4;
  int64_t pesPerCube = 8;
  int64_t peBufferKiB = 512;
  int64_t peGflops = 256;    // f16/bf16 inputs, f32 accumulate
  int64_t peGflopsF32 = 128; // f32 inputs
  int64_t cubePeGBps = 1000; // a cube's memory to its PEs, shared by them
  int64_t cubeCubeGBps = 256;
  int64_t linkGBps = 100; // per direction per inter-SIP link
  int64_t cubeMemoryMiB = 16384;
  // Collectives through a switch instead of the ring (docs/design/0013): 0
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
