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
  d.meshCols = attr.getMeshCols();
  d.ringStepLatencyNs = attr.getRingStepLatencyNs();
  d.dmaLatencyLocalNs = attr.getDmaLatencyLocalNs();
  d.dmaLatencyFarCubeNs = attr.getDmaLatencyFarCubeNs();
  d.kernelLaunchNs = attr.getKernelLaunchNs();
  d.computeEfficiencyPermille = attr.getComputeEfficiencyPermille();
  d.memoryEfficiencyPermille = attr.getMemoryEfficiencyPermille();
  d.switchRoundTripNs = attr.getSwitchRoundTripNs();
  d.switchMiBps = attr.getSwitchMibps();
  d.flitBytes = attr.getFlitBytes();
  d.flitPayloadBytes = attr.getFlitPayloadBytes();
  return d;
}

DeviceAttr DeviceDescription::toAttr(MLIRContext *ctx) const {
  return DeviceAttr::get(ctx, cubes, pesPerCube, peBufferKiB, peGflops,
                         peGflopsF32, cubePeGBps, cubeCubeGBps, linkGBps,
                         cubeMemoryMiB, meshCols, ringStepLatencyNs,
                         dmaLatencyLocalNs, dmaLatencyFarCubeNs, kernelLaunchNs,
                         computeEfficiencyPermille, memoryEfficiencyPermille,
                         switchRoundTripNs, switchMiBps, flitBytes,
                         flitPayloadBytes);
}

DeviceDescription kb::gemm_tile::lookupDevice(Operation *op) {
  for (Operation *it = op; it; it = it->getParentOp()) {
    Attribute attr = it->getAttr(GemmTileDialect::kDeviceAttrName);
    if (auto device = dyn_cast_or_null<DeviceAttr>(attr))
      return DeviceDescription::fromAttr(device);
    // A built-in description by name (the dialect's verifier refuses an
    // unknown one).
    if (auto name = dyn_cast_or_null<StringAttr>(attr))
      if (std::optional<DeviceDescription> d =
              DeviceDescription::preset(name.getValue()))
        return *d;
  }
  return DeviceDescription();
}
