//===- DeviceDescription.cpp - the device description as IR ---------------===//

#include "kb/Dialect/GemmTile/IR/DeviceDescription.h"
#include "kb/Dialect/GemmTile/IR/GemmTileDialect.h"

#include "mlir/IR/BuiltinOps.h"

using namespace mlir;
using namespace kb::gemm_tile;
using kb::DeviceDescription;

bool kb::gemm_tile::isDeviceElementType(mlir::Type type) {
  return type.isF16() || type.isBF16() || type.isF32() ||
         type.isSignlessInteger(32) || type.isSignlessInteger(64);
}

DeviceDescription DeviceDescription::fromAttr(DeviceAttr attr) {
  DeviceDescription d;
  d.cubes = attr.getCubes();
  d.pesPerCube = attr.getPesPerCube();
  d.peBufferKiB = attr.getPeBufferKib();
  d.peGflops = attr.getPeGflops();
  d.peGflopsF32 = attr.getPeGflopsF32();
  d.cubePeGBps = attr.getCubePeGbps();
  d.cubeCubeGBps = attr.getCubeCubeGbps();
  d.linkGBps = attr.getLinkGbps();
  d.cubeMemoryMiB = attr.getCubeMemoryMib();
  d.switchRoundTripNs = attr.getSwitchRoundTripNs();
  d.switchMiBps = attr.getSwitchMibps();
  d.flitBytes = attr.getFlitBytes();
  d.flitPayloadBytes = attr.getFlitPayloadBytes();
  return d;
}

DeviceAttr DeviceDescription::toAttr(MLIRContext *ctx) const {
  return DeviceAttr::get(ctx, cubes, pesPerCube, peBufferKiB, peGflops,
                         peGflopsF32, cubePeGBps, cubeCubeGBps, linkGBps,
                         cubeMemoryMiB, switchRoundTripNs, switchMiBps,
                         flitBytes, flitPayloadBytes);
}

DeviceDescription kb::gemm_tile::lookupDevice(Operation *op) {
  for (Operation *it = op; it; it = it->getParentOp())
    if (auto device =
            it->getAttrOfType<DeviceAttr>(GemmTileDialect::kDeviceAttrName))
      return DeviceDescription::fromAttr(device);
  return DeviceDescription();
}
