//===- Tiling.cpp - pieces, slabs and tiles -------------------------------===//

#include "kb/Device/Tiling.h"
#include "kb/Device/ByteArithmetic.h"

#include <algorithm>

using namespace kb;

bool Box::contains(const Box &other) const {
  for (size_t d = 0; d < offsets.size(); ++d)
    if (other.offsets[d] < offsets[d] ||
        other.offsets[d] + other.sizes[d] > offsets[d] + sizes[d])
      return false;
  return true;
}

std::optional<Box> Box::intersect(const Box &other) const {
  Box result;
  result.offsets.reserve(offsets.size());
  result.sizes.reserve(offsets.size());
  for (size_t d = 0; d < offsets.size(); ++d) {
    int64_t lo = std::max(offsets[d], other.offsets[d]);
    int64_t hi =
        std::min(offsets[d] + sizes[d], other.offsets[d] + other.sizes[d]);
    if (hi <= lo)
      return std::nullopt;
    result.offsets.push_back(lo);
    result.sizes.push_back(hi - lo);
  }
  return result;
}

int64_t Box::numElements() const {
  // An empty box holds nothing, however long its other sides.
  if (llvm::is_contained(sizes, 0))
    return 0;
  int64_t n = 1;
  for (int64_t s : sizes)
    n = saturatingMul(n, s);
  return n;
}

/// Cuts `box` into `count` equal parts along `dim` (or copies it `count`
/// times when `dim` is replicate).
static llvm::SmallVector<Box> split(const Box &box, int64_t dim,
                                    int64_t count) {
  // Placement prices thousands of candidates, each split into pieces and
  // shares: the parts are reserved once and moved in, not regrown and copied.
  llvm::SmallVector<Box> parts;
  parts.reserve(count);
  for (int64_t i = 0; i < count; ++i) {
    Box part = box;
    if (dim != Placement::kReplicate) {
      part.sizes[dim] = box.sizes[dim] / count;
      part.offsets[dim] = box.offsets[dim] + i * part.sizes[dim];
    }
    parts.push_back(std::move(part));
  }
  return parts;
}

llvm::SmallVector<CubePiece> kb::cubePieces(llvm::ArrayRef<int64_t> shape,
                                            const Placement &policy) {
  Box whole{llvm::SmallVector<int64_t, 2>(shape.size(), 0),
            llvm::SmallVector<int64_t, 2>(shape)};
  llvm::SmallVector<CubePiece> pieces;
  llvm::SmallVector<Box> boxes = split(whole, policy.cubeDim, policy.numCubes);
  pieces.reserve(boxes.size());
  int64_t cube = 0;
  for (Box &box : boxes)
    pieces.push_back({cube++, std::move(box)});
  return pieces;
}

std::optional<Box> kb::cubePieceBox(llvm::ArrayRef<int64_t> shape,
                                    const Placement &policy, int64_t cube) {
  if (cube < 0 || cube >= policy.numCubes)
    return std::nullopt;
  Box box{llvm::SmallVector<int64_t, 2>(shape.size(), 0),
          llvm::SmallVector<int64_t, 2>(shape)};
  if (policy.cubeDim != Placement::kReplicate) {
    box.sizes[policy.cubeDim] = shape[policy.cubeDim] / policy.numCubes;
    box.offsets[policy.cubeDim] = cube * box.sizes[policy.cubeDim];
  }
  return box;
}

llvm::SmallVector<Box> kb::splitEvenly(const Box &box, int64_t dim,
                                       int64_t count) {
  llvm::SmallVector<Box> parts;
  parts.reserve(std::max<int64_t>(count, 0));
  int64_t size = box.sizes[dim], offset = box.offsets[dim];
  for (int64_t i = 0; i < count; ++i) {
    Box part = box;
    part.sizes[dim] = size / count + (i < size % count ? 1 : 0);
    part.offsets[dim] = offset;
    offset += part.sizes[dim];
    parts.push_back(std::move(part));
  }
  return parts;
}

llvm::SmallVector<Box> kb::peShares(const Box &box, const Placement &policy,
                                    int64_t pesPerCube) {
  int64_t dim = policy.peDim, count = std::min(policy.numPes, pesPerCube);
  if (policy.isPeReplicated()) {
    dim = 0;
    for (size_t d = 1; d < box.sizes.size(); ++d)
      if (box.sizes[d] > box.sizes[dim])
        dim = d;
  }
  // Past the dimension's length the shares are empty and dropped below:
  // not making them keeps this proportional to the box, not to the PEs.
  count = std::min(count, std::max<int64_t>(box.sizes[dim], 1));
  llvm::SmallVector<Box> shares = splitEvenly(box, dim, count);
  while (!shares.empty() && shares.back().numElements() == 0)
    shares.pop_back();
  return shares;
}

Box kb::rowWorkBox(const Box &piece, int64_t cols, int64_t unit) {
  Box work = piece;
  if (unit == 0) {
    work.offsets[1] = 0;
    work.sizes[1] = cols;
    return work;
  }
  int64_t lo = piece.offsets[1] / unit * unit;
  int64_t hi = (piece.offsets[1] + piece.sizes[1] + unit - 1) / unit * unit;
  work.offsets[1] = lo;
  work.sizes[1] = hi - lo;
  return work;
}

llvm::SmallVector<Box> kb::rowShares(const Box &local, int64_t unit,
                                     int64_t pesPerCube) {
  llvm::SmallVector<Box> shares;
  int64_t rows = local.sizes[0];
  int64_t units = unit ? local.sizes[1] / unit : 1;
  // Shares past the split dimension's length are empty and dropped below:
  // they are not made (a cube may have thousands of PEs).
  if (rows < pesPerCube && units > 1) {
    // Decode: one token's heads shared out, rather than one busy PE.
    Box inUnits{{0, 0}, {rows, units}};
    for (Box &share : splitEvenly(inUnits, 1, std::min(pesPerCube, units))) {
      share.offsets[1] *= unit;
      share.sizes[1] *= unit;
      shares.push_back(share);
    }
  } else {
    shares = splitEvenly(local, 0,
                         std::min(pesPerCube, std::max<int64_t>(rows, 1)));
  }
  llvm::erase_if(shares, [](const Box &b) { return b.numElements() == 0; });
  return shares;
}

int64_t kb::normRowWorkingSet(int64_t cols, int64_t elementBytes,
                              int64_t vectors) {
  return saturatingMul(cols, saturatingMul(elementBytes, 2 + vectors));
}

llvm::SmallVector<Box> kb::matmulComputeBoxes(llvm::ArrayRef<int64_t> shape,
                                              const Placement &policy) {
  llvm::SmallVector<CubePiece> pieces = cubePieces(shape, policy);
  llvm::SmallVector<Box> boxes;
  if (!policy.isCubeReplicated() || shape.size() != 2) {
    for (CubePiece &piece : pieces)
      boxes.push_back(piece.box);
    return boxes;
  }
  Box whole{{0, 0}, {shape[0], shape[1]}};
  int64_t dim = shape[1] >= shape[0] ? 1 : 0;
  return splitEvenly(whole, dim, pieces.size());
}

bool kb::gemmRowsChunkable(llvm::ArrayRef<int64_t> shape,
                           const Placement &policy) {
  if (shape.size() != 2)
    return false;
  llvm::SmallVector<CubePiece> pieces = cubePieces(shape, policy);
  llvm::SmallVector<Box> boxes = matmulComputeBoxes(shape, policy);
  for (auto [piece, box] : llvm::zip_equal(pieces, boxes))
    if (!(piece.box == box) || box.offsets[0] != 0 || box.sizes[0] != shape[0])
      return false;
  return true;
}

llvm::SmallVector<CubePiece> kb::gemmBandPieces(llvm::ArrayRef<int64_t> shape,
                                                const Placement &policy) {
  llvm::SmallVector<CubePiece> compute;
  if (shape.size() != 2)
    return compute;
  if (!policy.isCubeReplicated()) {
    if (!gemmRowsChunkable(shape, policy))
      return compute;
    // A box held by several cubes is computed by the first (the others
    // receive copies), as the lowering's distinct pieces.
    for (const CubePiece &piece : cubePieces(shape, policy))
      if (llvm::none_of(compute,
                        [&](const CubePiece &c) { return c.box == piece.box; }))
        compute.push_back(piece);
    return compute;
  }
  llvm::SmallVector<CubePiece> pieces = cubePieces(shape, policy);
  llvm::SmallVector<Box> boxes = matmulComputeBoxes(shape, policy);
  for (auto [piece, box] : llvm::zip_equal(pieces, boxes)) {
    if (box.numElements() == 0)
      continue;
    if (box.offsets[0] != 0 || box.sizes[0] != shape[0])
      return {};
    compute.push_back({piece.cube, box});
  }
  return compute;
}

int64_t kb::gemmTileWorkingSet(int64_t m, int64_t n, int64_t kc,
                               int64_t elementBytes) {
  // Two chunks of lhs and rhs in flight (double buffering) and the f32
  // accumulator. Saturates: a whole-extent candidate of an absurd slab, or a
  // verified op of one, must not wrap.
  int64_t operands =
      saturatingMul(saturatingAdd(saturatingMul(m, kc), saturatingMul(kc, n)),
                    elementBytes * 2);
  return saturatingAdd(operands, saturatingMul(saturatingMul(m, n), 4));
}

std::optional<GemmTileSizes>
kb::chooseGemmTile(int64_t m, int64_t n, int64_t k, int64_t elementBytes,
                   const DeviceDescription &device) {
  int64_t budget = device.peBufferBytes();
  // A tile must at least stream k in chunks of 16 (or all of a shorter k).
  int64_t minChunk = std::min<int64_t>(k, 16);
  // Candidate extents per dimension: powers of two up to 128, and the whole
  // extent, so a slab that fits the buffer is one tile (one op, operands read
  // once) rather than several. Among the tiles that fit, take the one with
  // the highest arithmetic intensity m·n / (m + n), then the larger one.
  auto candidates = [](int64_t extent) {
    llvm::SmallVector<int64_t, 9> sizes{extent};
    for (int64_t t = 128; t >= 1; t /= 2)
      if (t < extent)
        sizes.push_back(t);
    return sizes;
  };
  std::optional<GemmTileSizes> best;
  auto intensity = [](int64_t tm, int64_t tn) {
    return static_cast<double>(tm) * tn / (static_cast<double>(tm) + tn);
  };
  for (int64_t em : candidates(m)) {
    for (int64_t en : candidates(n)) {
      if (gemmTileWorkingSet(em, en, minChunk, elementBytes) > budget)
        continue;
      if (best && (intensity(em, en) < intensity(best->m, best->n) ||
                   (intensity(em, en) == intensity(best->m, best->n) &&
                    em * en <= best->m * best->n)))
        continue;
      best = GemmTileSizes{em, en, 0};
    }
  }
  if (!best)
    return std::nullopt;
  // The tile fits the budget, so these products do too.
  int64_t room = budget - best->m * best->n * 4;
  int64_t perChunkElement = (best->m + best->n) * elementBytes * 2;
  best->kChunk =
      perChunkElement > 0 ? std::min<int64_t>(k, room / perChunkElement) : k;
  return best;
}
