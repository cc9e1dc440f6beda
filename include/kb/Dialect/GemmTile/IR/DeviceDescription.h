//===- DeviceDescription.h - the device description as IR -------*- C++ -*-===//
//
// The machine model itself lives below every dialect, in kb/Device; this is
// its binding to the gemm_tile dialect: the `#gemm_tile.device` module
// attribute that carries it, and the element types cube buffers hold. The
// using-declarations keep the gemm_tile spellings of the device's names.
//
//===----------------------------------------------------------------------===//

#ifndef KB_DIALECT_GEMMTILE_IR_DEVICEDESCRIPTION_H
#define KB_DIALECT_GEMMTILE_IR_DEVICEDESCRIPTION_H

#include "kb/Device/ByteArithmetic.h"
#include "kb/Device/DeviceDescription.h"
#include "kb/Dialect/GemmTile/IR/GemmTileAttrs.h"

namespace kb::gemm_tile {

using ::kb::byteCountText;
using ::kb::DeviceDescription;
using ::kb::kMaxCubeMemoryBytes;
using ::kb::kMaxCubeMemoryMiB;
using ::kb::saturatingAdd;
using ::kb::saturatingMul;

/// Whether cube buffers hold elements of `type`: f16, bf16 or f32, or the
/// signless i32 and i64 of token ids (which only DMA and row gathers touch).
bool isDeviceElementType(mlir::Type type);

/// The device of the module enclosing `op`: its `gemm_tile.device`
/// attribute (a #gemm_tile.device, or the name of a built-in description),
/// or the defaults.
DeviceDescription lookupDevice(mlir::Operation *op);

} // namespace kb::gemm_tile

#endif // KB_DIALECT_GEMMTILE_IR_DEVICEDESCRIPTION_H
