//===- DeviceDescription.h - the AHBM machine model -------------*- C++ -*-===//
//
// The numbers that describe one AHBM SIP and its links, in one place: the
// compiler sizes tiles and picks placements with them, kb-run charges time
// with them. The defaults are the built-in AHBM description; a module
// overrides them with a `gemm_tile.device` attribute, kb-run with a JSON file.
//
//===----------------------------------------------------------------------===//

#ifndef KB_DIALECT_GEMMTILE_IR_DEVICEDESCRIPTION_H
#define KB_DIALECT_GEMMTILE_IR_DEVICEDESCRIPTION_H

#include "kb/Dialect/GemmTile/IR/GemmTileAttrs.h"

#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

namespace kb::gemm_tile {

/// The most memory a cube of any valid description has (validate() refuses
/// more): a bound that keeps byte tallies, a few terms at a time, in int64.
constexpr int64_t kMaxCubeMemoryMiB = int64_t(1) << 30;
constexpr int64_t kMaxCubeMemoryBytes = kMaxCubeMemoryMiB << 20;

/// Byte counts of absurd shapes saturate at INT64_MAX rather than wrap around
/// to something small; byteCountText prints a saturated count as what it is.
int64_t saturatingAdd(int64_t a, int64_t b);
int64_t saturatingMul(int64_t a, int64_t b);
std::string byteCountText(int64_t bytes);

/// Whether cube buffers hold elements of `type`: f16, bf16 or f32.
bool isDeviceElementType(mlir::Type type);

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

  int64_t peBufferBytes() const { return peBufferKiB * 1024; }
  int64_t cubeMemoryBytes() const { return cubeMemoryMiB * 1024 * 1024; }

  /// What is wrong with the description, or "" when nothing is.
  std::string validate() const;
  static DeviceDescription fromAttr(DeviceAttr attr);
  DeviceAttr toAttr(mlir::MLIRContext *ctx) const;
  llvm::json::Object toJSON() const;
  /// Parses a JSON object whose keys are the `#gemm_tile.device` field names
  /// (`cubes`, `pes_per_cube`, ...); missing keys keep their defaults, unknown
  /// keys and non-positive values are errors.
  static llvm::Expected<DeviceDescription> fromJSON(llvm::StringRef text);
};

/// The device of the module enclosing `op`: its `gemm_tile.device`
/// attribute, or the defaults.
DeviceDescription lookupDevice(mlir::Operation *op);

} // namespace kb::gemm_tile

#endif // KB_DIALECT_GEMMTILE_IR_DEVICEDESCRIPTION_H
