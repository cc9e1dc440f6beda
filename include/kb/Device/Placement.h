//===- Placement.h - a tensor's spread over cubes and PEs -------*- C++ -*-===//
//
// The four numbers of a DPPolicy, without the attribute: the tiling
// arithmetic below the dialects works on these, and kb's `#kb.dp` converts
// to them.
//
//===----------------------------------------------------------------------===//

#ifndef KB_DEVICE_PLACEMENT_H
#define KB_DEVICE_PLACEMENT_H

#include <cstdint>

namespace kb {

/// At the cube level a tensor is replicated over `numCubes` cubes or split
/// along `cubeDim` over them; within each cube the same again over `numPes`
/// PEs along `peDim`. A dimension of kReplicate means `replicate`.
struct Placement {
  static constexpr int64_t kReplicate = -1;

  int64_t cubeDim = kReplicate;
  int64_t peDim = kReplicate;
  int64_t numCubes = 1;
  int64_t numPes = 1;

  bool isCubeReplicated() const { return cubeDim == kReplicate; }
  bool isPeReplicated() const { return peDim == kReplicate; }
};

} // namespace kb

#endif // KB_DEVICE_PLACEMENT_H
