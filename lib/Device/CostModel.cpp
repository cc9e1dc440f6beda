//===- CostModel.cpp - what device work costs -----------------------------===//

#include "kb/Device/CostModel.h"

#include <algorithm>
#include <cmath>

using namespace kb;

PEWork kb::matmulWork(int64_t m, int64_t n, int64_t k,
                      int64_t inputElementBytes, int64_t outputElementBytes,
                      bool accumulate, bool f32) {
  // In double: placement estimates shapes whose products pass int64.
  double dm = m, dn = n, dk = k;
  PEWork work;
  work.flops = 2.0 * dm * dn * dk;
  work.bytes = (dm * dk + dk * dn) * inputElementBytes +
               dm * dn * outputElementBytes * (accumulate ? 2 : 1);
  work.f32 = f32;
  return work;
}

PEWork kb::elementwiseWork(double elements, int64_t elementBytes,
                           int64_t inputs) {
  PEWork work;
  work.bytes = elements * elementBytes * (inputs + 1);
  return work;
}

PEWork kb::attentionWork(int64_t heads, int64_t rows, int64_t keys,
                         int64_t headDim, int64_t elementBytes, bool f32) {
  double h = heads, r = rows, t = keys, d = headDim;
  PEWork work;
  work.flops = h * (4.0 * r * t * d + 5.0 * r * t);
  work.bytes = (2.0 * h * r * d + 2.0 * t * d) * elementBytes;
  work.f32 = f32;
  return work;
}

PEWork kb::normWork(int64_t rows, int64_t cols, int64_t elementBytes,
                    int64_t vectors, bool layerNorm, bool f32) {
  double values = static_cast<double>(rows) * cols;
  PEWork work;
  work.flops = values * (layerNorm ? 7 : 4);
  work.bytes =
      (2 * values + static_cast<double>(vectors) * cols) * elementBytes;
  work.f32 = f32;
  return work;
}

PEWork kb::ropeWork(int64_t rows, int64_t cols, int64_t elementBytes,
                    bool f32) {
  double values = static_cast<double>(rows) * cols;
  PEWork work;
  work.flops = 3 * values;
  work.bytes = 2 * values * elementBytes;
  work.f32 = f32;
  return work;
}

double kb::peSeconds(const DeviceDescription &device, const PEWork &work) {
  double rate = (work.f32 ? device.peGflopsF32 : device.peGflops) * 1e9;
  double perPeBandwidth = device.cubePeGBps * 1e9 / device.pesPerCube;
  return std::max(work.flops / rate, work.bytes / perPeBandwidth);
}

double kb::dmaSeconds(const DeviceDescription &device, double bytes,
                      bool withinCube) {
  return bytes / ((withinCube ? device.cubePeGBps : device.cubeCubeGBps) * 1e9);
}

double kb::ringStepSeconds(const DeviceDescription &device, double chunkBytes) {
  return chunkBytes / (device.linkGBps * 1e9);
}

double kb::allReduceSeconds(const DeviceDescription &device, double bytes,
                            int64_t worldSize) {
  if (worldSize <= 1)
    return 0;
  if (device.switched())
    return switchGatherSeconds(device, bytes / worldSize, worldSize) +
           switchMulticastSeconds(device, bytes);
  return 2.0 * (worldSize - 1) / worldSize * bytes / (device.linkGBps * 1e9);
}

double kb::ringHalfSeconds(const DeviceDescription &device, double bytes,
                           int64_t worldSize) {
  return allReduceSeconds(device, bytes, worldSize) / 2;
}

double kb::switchTransferSeconds(const DeviceDescription &device,
                                 double flits) {
  return device.switchRoundTripNs * 1e-9 +
         flits * device.flitBytes / (device.switchMiBps * 1048576.0);
}

double kb::switchGatherSeconds(const DeviceDescription &device,
                               double shareBytes, int64_t worldSize) {
  double flits = std::ceil(shareBytes / device.flitPayloadBytes);
  return switchTransferSeconds(device, flits * (worldSize - 1));
}

double kb::switchMulticastSeconds(const DeviceDescription &device,
                                  double bytes) {
  return switchTransferSeconds(device,
                               std::ceil(bytes / device.flitPayloadBytes));
}

double kb::switchStepSeconds(const DeviceDescription &device,
                             double chunkBytes, int64_t worldSize, bool gather,
                             bool multicast) {
  if (worldSize <= 1)
    return 0;
  double seconds = 0;
  if (gather)
    seconds += switchGatherSeconds(device, chunkBytes, worldSize);
  if (multicast)
    seconds += switchMulticastSeconds(device, chunkBytes * worldSize);
  return seconds / (worldSize - 1);
}

double kb::collectiveStepSeconds(const DeviceDescription &device,
                                 double chunkBytes, int64_t worldSize,
                                 bool reduceHalf, bool alongDim) {
  if (!device.switched())
    return ringStepSeconds(device, chunkBytes);
  // A flat all-reduce: the gather in its reduce-scatter half, the multicast
  // in its all-gather half. Along a dimension: a reduce-scatter gathers, an
  // all-gather gathers and multicasts.
  bool gather = reduceHalf || alongDim;
  bool multicast = !reduceHalf;
  return switchStepSeconds(device, chunkBytes, worldSize, gather, multicast);
}
