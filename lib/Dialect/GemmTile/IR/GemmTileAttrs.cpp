//===- GemmTileAttrs.cpp - gemm_tile attributes and types -----------------===//

#include "kb/Dialect/GemmTile/IR/GemmTileAttrs.h"
#include "kb/Dialect/GemmTile/IR/DeviceDescription.h"
#include "kb/Dialect/GemmTile/IR/GemmTileDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace kb::gemm_tile;

#define GET_ATTRDEF_CLASSES
#include "kb/Dialect/GemmTile/IR/GemmTileAttrs.cpp.inc"

#define GET_TYPEDEF_CLASSES
#include "kb/Dialect/GemmTile/IR/GemmTileTypes.cpp.inc"

void GemmTileDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "kb/Dialect/GemmTile/IR/GemmTileAttrs.cpp.inc"
      >();
}

void GemmTileDialect::registerTypes() {
  addTypes<
#define GET_TYPEDEF_LIST
#include "kb/Dialect/GemmTile/IR/GemmTileTypes.cpp.inc"
      >();
}

LogicalResult CubeAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                               int64_t index) {
  if (index < 0)
    return emitError() << "cube index must be non-negative, got " << index;
  return success();
}

LogicalResult DeviceAttr::verify(
    function_ref<InFlightDiagnostic()> emitError, int64_t cubes,
    int64_t pesPerCube, int64_t peBufferKiB, int64_t peGflops,
    int64_t peGflopsF32, int64_t cubePeGBps, int64_t cubeCubeGBps,
    int64_t linkGBps, int64_t cubeMemoryMiB, int64_t meshCols,
    int64_t ringStepLatencyNs, int64_t dmaLatencyLocalNs,
    int64_t dmaLatencyFarCubeNs, int64_t kernelLaunchNs,
    int64_t computeEfficiencyPermille, int64_t memoryEfficiencyPermille,
    int64_t switchRoundTripNs, int64_t switchMiBps, int64_t flitBytes,
    int64_t flitPayloadBytes) {
  DeviceDescription d;
  d.cubes = cubes;
  d.pesPerCube = pesPerCube;
  d.peBufferKiB = peBufferKiB;
  d.peGflops = peGflops;
  d.peGflopsF32 = peGflopsF32;
  d.cubePeGBps = cubePeGBps;
  d.cubeCubeGBps = cubeCubeGBps;
  d.linkGBps = linkGBps;
  d.cubeMemoryMiB = cubeMemoryMiB;
  d.meshCols = meshCols;
  d.ringStepLatencyNs = ringStepLatencyNs;
  d.dmaLatencyLocalNs = dmaLatencyLocalNs;
  d.dmaLatencyFarCubeNs = dmaLatencyFarCubeNs;
  d.kernelLaunchNs = kernelLaunchNs;
  d.computeEfficiencyPermille = computeEfficiencyPermille;
  d.memoryEfficiencyPermille = memoryEfficiencyPermille;
  d.switchRoundTripNs = switchRoundTripNs;
  d.switchMiBps = switchMiBps;
  d.flitBytes = flitBytes;
  d.flitPayloadBytes = flitPayloadBytes;
  std::string problem = d.validate();
  if (!problem.empty())
    return emitError() << problem;
  return success();
}
