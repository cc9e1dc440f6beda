//===- CostModel.cpp - what device work costs -----------------------------===//

#include "kb/Device/CostModel.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <vector>

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

PEWork kb::attentionPartialWork(int64_t heads, int64_t rows, int64_t keys,
                                int64_t headDim, int64_t elementBytes,
                                bool f32) {
  double h = heads, r = rows, t = keys, d = headDim;
  PEWork work = attentionWork(heads, rows, keys, headDim, elementBytes, f32);
  work.bytes = (h * r * d + 2.0 * t * d) * elementBytes + h * r * (d + 2) * 4;
  return work;
}

PEWork kb::attentionCombineWork(int64_t splits, int64_t heads, int64_t rows,
                                int64_t headDim, int64_t elementBytes) {
  double s = splits, stacked = static_cast<double>(heads) * rows,
         d = headDim;
  PEWork work;
  work.flops = stacked * (s * (2.0 * d + 4.0) + d);
  work.bytes = stacked * (s * (d + 2) * 4 + d * elementBytes);
  work.f32 = true;
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
  double rate = (work.f32 ? device.peGflopsF32 : device.peGflops) * 1e9 *
                device.computeEfficiencyPermille / 1000;
  double perPeBandwidth = device.cubePeGBps * 1e9 *
                          device.memoryEfficiencyPermille / 1000 /
                          device.pesPerCube;
  return device.kernelLaunchNs * 1e-9 +
         std::max(work.flops / rate, work.bytes / perPeBandwidth);
}

int64_t kb::cubeHops(const DeviceDescription &device, int64_t from,
                     int64_t to) {
  if (from == to)
    return 0;
  if (device.meshCols <= 0)
    return 1;
  int64_t cols = device.meshCols;
  return std::abs(from / cols - to / cols) + std::abs(from % cols - to % cols);
}

int64_t kb::farthestCubeHops(const DeviceDescription &device) {
  if (device.cubes <= 1)
    return 0;
  if (device.meshCols <= 0)
    return 1;
  // Opposite corners; a partial last row still starts at column 0.
  int64_t cols = std::min(device.meshCols, device.cubes);
  int64_t rows = (device.cubes + cols - 1) / cols;
  return (rows - 1) + (cols - 1);
}

double kb::meanCubeHops(const DeviceDescription &device) {
  if (device.cubes <= 1)
    return 0;
  if (device.meshCols <= 0)
    return 1;
  // Sum over ordered pairs of cubes, by rows and columns separately, in
  // O(rows + columns): placement and kb-run ask for every copy they price
  // from an unknown cube. Full rows hold `cols` cubes, a partial last one
  // the rest; column j holds a cube of every full row, and of the last row
  // when j < the rest.
  int64_t n = device.cubes, cols = std::min(device.meshCols, n);
  int64_t fullRows = n / cols, rest = n % cols;
  std::vector<int64_t> perRow(fullRows, cols), perCol(cols, fullRows);
  if (rest > 0) {
    perRow.push_back(rest);
    for (int64_t j = 0; j < rest; ++j)
      ++perCol[j];
  }
  // Σ over ordered pairs of |i - j| weighted by the counts, in one pass:
  // each j against every i < j, from the running sums of c_i and i · c_i.
  auto sumOfDistances = [](const std::vector<int64_t> &counts) {
    double sum = 0, before = 0, weighted = 0;
    for (size_t j = 0; j < counts.size(); ++j) {
      sum += counts[j] * (static_cast<double>(j) * before - weighted);
      before += counts[j];
      weighted += static_cast<double>(j) * counts[j];
    }
    return 2 * sum;
  };
  double pairs = static_cast<double>(n) * (n - 1);
  return (sumOfDistances(perRow) + sumOfDistances(perCol)) / pairs;
}

llvm::SmallVector<int64_t, 8>
kb::meshRoute(const DeviceDescription &device, int64_t from, int64_t to) {
  llvm::SmallVector<int64_t, 8> links;
  int64_t cols = device.meshCols;
  if (cols <= 0 || from == to)
    return links;
  int64_t at = from;
  auto hop = [&](int64_t next) {
    links.push_back(at * device.cubes + next);
    at = next;
  };
  auto alongRow = [&] {
    while (at % cols != to % cols)
      hop(at % cols < to % cols ? at + 1 : at - 1);
  };
  auto alongColumn = [&] {
    while (at / cols != to / cols)
      hop(at / cols < to / cols ? at + cols : at - cols);
  };
  // Along the row first, unless the source sits in a partial last row that
  // has no cube in the destination's column: then up first, through full
  // rows. Either way every cube passed exists, and the route is as long as
  // the Manhattan distance.
  if ((from / cols) * cols + to % cols < device.cubes) {
    alongRow();
    alongColumn();
  } else {
    alongColumn();
    alongRow();
  }
  return links;
}

double kb::dmaLatencySeconds(const DeviceDescription &device, double hops) {
  double local = device.dmaLatencyLocalNs, far = device.dmaLatencyFarCubeNs;
  int64_t farthest = farthestCubeHops(device);
  if (hops <= 0 || farthest == 0)
    return local * 1e-9;
  return (local + (far - local) * hops / farthest) * 1e-9;
}

/// A DMA's bytes at the rate of its path: the cube's memory within a cube,
/// the mesh link between cubes.
static double dmaTransferSeconds(const DeviceDescription &device, double bytes,
                                 bool withinCube) {
  if (withinCube)
    return bytes / (device.cubePeGBps * 1e9 *
                    device.memoryEfficiencyPermille / 1000);
  return bytes / (device.cubeCubeGBps * 1e9);
}

double kb::dmaSeconds(const DeviceDescription &device, double bytes,
                      int64_t from, int64_t to) {
  return dmaLatencySeconds(device, cubeHops(device, from, to)) +
         dmaTransferSeconds(device, bytes, from == to);
}

double kb::dmaSeconds(const DeviceDescription &device, double bytes,
                      bool withinCube) {
  return dmaLatencySeconds(device, withinCube ? 0 : meanCubeHops(device)) +
         dmaTransferSeconds(device, bytes, withinCube);
}

double kb::ringStepSeconds(const DeviceDescription &device, double chunkBytes) {
  return device.ringStepLatencyNs * 1e-9 + chunkBytes / (device.linkGBps * 1e9);
}

double kb::allReduceSeconds(const DeviceDescription &device, double bytes,
                            int64_t worldSize) {
  if (worldSize <= 1)
    return 0;
  if (device.switched())
    return switchGatherSeconds(device, bytes / worldSize, worldSize) +
           switchMulticastSeconds(device, bytes);
  // 2 (W - 1) steps, each of the step latency and a 1/W chunk.
  return 2.0 * (worldSize - 1) * device.ringStepLatencyNs * 1e-9 +
         2.0 * (worldSize - 1) / worldSize * bytes / (device.linkGBps * 1e9);
}

double kb::alongDimCollectiveSeconds(const DeviceDescription &device,
                                     double bytes, int64_t worldSize,
                                     bool reduce) {
  if (worldSize <= 1)
    return 0;
  return (worldSize - 1) * collectiveStepSeconds(device, bytes / worldSize,
                                                 worldSize, reduce,
                                                 /*alongDim=*/true);
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

double CopySchedule::add(int64_t from, int64_t to, double bytes,
                         double issued) {
  double start = std::max(issued, engineFree.lookup(to));
  llvm::SmallVector<int64_t, 8> route = meshRoute(device, from, to);
  for (int64_t link : route)
    start = std::max(start, linkFree.lookup(link));
  double end = start + dmaSeconds(device, bytes, from, to);
  engineFree[to] = end;
  for (int64_t link : route)
    linkFree[link] = end;
  last = std::max(last, end);
  return end;
}

double CopySchedule::addFromAnywhere(int64_t to, double bytes, double issued) {
  double end = std::max(issued, engineFree.lookup(to)) +
               dmaSeconds(device, bytes, /*withinCube=*/false);
  engineFree[to] = end;
  last = std::max(last, end);
  return end;
}

void CopySchedule::addManyFromAnywhere(int64_t to, int64_t count,
                                       double bytes) {
  if (count == 0)
    return;
  double end = engineFree.lookup(to) +
               (count - 1) * dmaSeconds(device, 0, /*withinCube=*/false) +
               dmaSeconds(device, bytes, /*withinCube=*/false);
  engineFree[to] = end;
  last = std::max(last, end);
}
