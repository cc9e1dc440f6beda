//===- AttentionTiling.cpp - causal attention cut into PE blocks ----------===//

#include "kb/Device/AttentionTiling.h"
#include "kb/Device/ByteArithmetic.h"
#include "kb/Device/CostModel.h"

#include <algorithm>

using namespace kb;

int64_t kb::attentionWorkingSet(int64_t stackedRows, int64_t keyChunk,
                                int64_t headDim, int64_t elementBytes) {
  int64_t r = stackedRows, kc = keyChunk, d = headDim;
  // q rows (element type), the f32 accumulator, max and sum per row.
  int64_t rows =
      saturatingMul(r, saturatingAdd(saturatingMul(d, elementBytes + 4), 8));
  // Two chunks of k and of v in flight.
  int64_t keys = saturatingMul(saturatingMul(kc, d), 4 * elementBytes);
  int64_t scores = saturatingMul(saturatingMul(r, kc), 4);
  return saturatingAdd(saturatingAdd(rows, keys), scores);
}

int64_t kb::attentionCombineWorkingSet(int64_t stackedRows, int64_t headDim) {
  return saturatingMul(saturatingMul(stackedRows, saturatingAdd(headDim, 2)),
                       3 * 4);
}

llvm::SmallVector<std::pair<int64_t, double>, 8>
kb::attentionBlockPESeconds(const AttentionBlock &b, int64_t d, int64_t eb,
                            bool f32, const DeviceDescription &device) {
  llvm::SmallVector<std::pair<int64_t, double>, 8> busy;
  if (b.splits <= 1) {
    busy.push_back(
        {b.pe, peSeconds(device, attentionWork(b.heads, b.rows, b.keys, d, eb,
                                               f32))});
    return busy;
  }
  for (int64_t i = 0; i < b.splits; ++i)
    busy.push_back(
        {b.pe + i,
         peSeconds(device, attentionPartialWork(b.heads, b.rows,
                                                b.keyRange(i).second, d, eb,
                                                f32))});
  busy.front().second += peSeconds(
      device, attentionCombineWork(b.splits, b.heads, b.rows, d, eb));
  return busy;
}

namespace {

/// Splits the keys of a cube's blocks over its idle PEs (see
/// attentionBlocks): only when every block has a PE of its own and PEs are
/// left over. Each block gets pesPerCube / blocks PEs, from PE
/// j · that for block j, and the number of ranges among them that makes
/// its time least.
void splitOverKeys(llvm::MutableArrayRef<AttentionBlock> cube,
                   const AttentionShape &s, const DeviceDescription &device) {
  int64_t n = cube.size();
  if (n == 0 || n >= device.pesPerCube)
    return;
  llvm::SmallVector<int64_t> pes;
  for (const AttentionBlock &b : cube)
    pes.push_back(b.pe);
  llvm::sort(pes);
  if (std::adjacent_find(pes.begin(), pes.end()) != pes.end())
    return;
  int64_t share = device.pesPerCube / n;
  bool f32 = s.elementBytes == 4;
  llvm::SmallVector<int64_t> splits;
  for (const AttentionBlock &b : cube) {
    int64_t stacked = saturatingMul(b.heads, b.rows);
    int64_t most = std::min(share, b.keys / kMinKeysPerSplit);
    if (attentionCombineWorkingSet(stacked, s.headDim) >
        device.peBufferBytes())
      most = 1;
    int64_t best = 1;
    double bestSeconds = peSeconds(
        device, attentionWork(b.heads, b.rows, b.keys, s.headDim,
                              s.elementBytes, f32));
    for (int64_t count = 2; count <= most; ++count) {
      AttentionBlock split = b;
      split.splits = count;
      // The ranges run at once: the longest (the last), then the combine.
      double seconds =
          peSeconds(device,
                    attentionPartialWork(b.heads, b.rows,
                                         split.keyRange(count - 1).second,
                                         s.headDim, s.elementBytes, f32)) +
          peSeconds(device, attentionCombineWork(count, b.heads, b.rows,
                                                 s.headDim, s.elementBytes));
      if (seconds < bestSeconds) {
        best = count;
        bestSeconds = seconds;
      }
    }
    splits.push_back(best);
  }
  if (llvm::all_of(splits, [](int64_t c) { return c == 1; }))
    return;
  for (auto [j, b] : llvm::enumerate(cube)) {
    b.pe = j * share;
    b.splits = splits[j];
    for (int64_t i = 0; i < b.splits; ++i)
      b.keyChunk = std::min(b.keyChunk, b.keyRange(i).second);
  }
}

/// Heads and rows per block and the key chunk, for blocks of at most
/// `maxHeads` heads and `maxRows` rows.
struct BlockSizes {
  int64_t heads, rows, keyChunk;
};

std::optional<BlockSizes> chooseBlock(int64_t maxHeads, int64_t maxRows,
                                      const AttentionShape &s,
                                      const DeviceDescription &device) {
  int64_t budget = device.peBufferBytes();
  int64_t minChunk = std::min<int64_t>(s.keys, 16);
  auto fits = [&](int64_t heads, int64_t rows, int64_t chunk) {
    return attentionWorkingSet(saturatingMul(heads, rows), chunk, s.headDim,
                               s.elementBytes) <= budget;
  };
  // Rows: the whole run, else powers of two below it, the largest that fits;
  // heads: all of them, else halved.
  for (int64_t heads = maxHeads; heads >= 1; heads = (heads + 1) / 2) {
    llvm::SmallVector<int64_t, 9> candidates{maxRows};
    for (int64_t t = int64_t(1) << 30; t >= 1; t /= 2)
      if (t < maxRows)
        candidates.push_back(t);
    for (int64_t rows : candidates) {
      if (!fits(heads, rows, minChunk))
        continue;
      // The largest chunk that fits, by bisection (the set grows with it).
      int64_t lo = minChunk, hi = s.keys;
      while (lo < hi) {
        int64_t mid = lo + (hi - lo + 1) / 2;
        if (fits(heads, rows, mid))
          lo = mid;
        else
          hi = mid - 1;
      }
      return BlockSizes{heads, rows, lo};
    }
    if (heads == 1)
      break;
  }
  return std::nullopt;
}

/// Query rows [row0, row0 + rows) of heads [head0, head0 + heads): what a
/// cube or a PE computes.
struct Work {
  int64_t row0, rows, head0, heads;
};

/// `work` cut into `count` parts as even as can be, along its rows or its
/// heads; the parts past the length cut are empty and not made (part i is
/// still PE or cube i's), so thousands of PEs cost nothing when idle.
llvm::SmallVector<Work> splitWork(const Work &work, bool alongRows,
                                  int64_t count) {
  Box box{{work.row0, work.head0}, {work.rows, work.heads}};
  count = std::min(count, std::max<int64_t>(box.sizes[alongRows ? 0 : 1], 1));
  llvm::SmallVector<Work> parts;
  for (const Box &part : splitEvenly(box, alongRows ? 0 : 1, count))
    parts.push_back(
        {part.offsets[0], part.sizes[0], part.offsets[1], part.sizes[1]});
  return parts;
}

} // namespace

llvm::Expected<llvm::SmallVector<AttentionBlock>>
kb::attentionBlocks(const AttentionShape &s, const Placement &policy,
                    const DeviceDescription &device) {
  llvm::SmallVector<AttentionBlock> blocks;
  int64_t d = s.headDim, group = s.numHeads / s.numKVHeads;
  llvm::SmallVector<int64_t, 2> shape{s.queries, s.numHeads * d};
  llvm::SmallVector<CubePiece> pieces = cubePieces(shape, policy);
  // What each cube computes: its piece's rows and the heads that start in
  // its columns; of a replicated result, a share of the rows or of the
  // heads, whichever is longer (then copied to the other replicas).
  llvm::SmallVector<Work> cubeWork;
  if (policy.isCubeReplicated()) {
    cubeWork = splitWork({0, s.queries, 0, s.numHeads}, s.queries >= s.numHeads,
                         pieces.size());
  } else {
    for (const CubePiece &piece : pieces) {
      int64_t col0 = piece.box.offsets[1], cols = piece.box.sizes[1];
      int64_t firstHead = (col0 + d - 1) / d,
              endHead = (col0 + cols + d - 1) / d;
      cubeWork.push_back({piece.box.offsets[0], piece.box.sizes[0], firstHead,
                          endHead - firstHead});
    }
  }
  // Block sizes by (heads of a KV head on a PE, rows of a PE): few distinct.
  llvm::SmallVector<std::pair<std::pair<int64_t, int64_t>, BlockSizes>> cache;
  auto sizesFor = [&](int64_t heads,
                      int64_t rows) -> std::optional<BlockSizes> {
    for (auto &[key, sizes] : cache)
      if (key == std::make_pair(heads, rows))
        return sizes;
    std::optional<BlockSizes> sizes = chooseBlock(heads, rows, s, device);
    if (sizes)
      cache.push_back({{heads, rows}, *sizes});
    return sizes;
  };
  for (auto [index, work] : llvm::enumerate(cubeWork)) {
    if (work.rows == 0 || work.heads == 0)
      continue;
    size_t cubeFirst = blocks.size();
    // The PEs split the rows or the heads as the policy splits the result's
    // rows or columns; a PE-level replicate, the longer of the two.
    llvm::SmallVector<Work> peWork;
    if (policy.isPeReplicated())
      peWork = splitWork(work, work.rows >= work.heads, device.pesPerCube);
    else
      peWork = splitWork(work, policy.peDim == 0, policy.numPes);
    for (auto [pe, share] : llvm::enumerate(peWork)) {
      for (int64_t h = share.head0; h < share.head0 + share.heads;) {
        if (share.rows == 0)
          break;
        int64_t kvHead = h / group;
        int64_t run =
            std::min(share.head0 + share.heads, (kvHead + 1) * group) - h;
        std::optional<BlockSizes> sizes = sizesFor(run, share.rows);
        if (!sizes) {
          int64_t chunk = std::min<int64_t>(s.keys, 16);
          return llvm::createStringError(
              "needs " +
              std::to_string(attentionWorkingSet(1, chunk, d, s.elementBytes)) +
              " bytes of PE buffer for one query row of one head (head_dim " +
              std::to_string(d) + ", a chunk of " + std::to_string(chunk) +
              " keys), but a PE has " + std::to_string(device.peBufferBytes()));
        }
        for (int64_t h0 = h; h0 < h + run; h0 += sizes->heads) {
          int64_t heads = std::min(sizes->heads, h + run - h0);
          for (int64_t r = share.row0; r < share.row0 + share.rows;
               r += sizes->rows) {
            if (blocks.size() >= kMaxAttentionBlocks)
              return llvm::createStringError(
                  "would need more than " +
                  std::to_string(kMaxAttentionBlocks) +
                  " attention blocks; the shapes are beyond the device");
            AttentionBlock b;
            b.piece = index;
            b.pe = pe;
            b.row = r;
            b.rows = std::min(sizes->rows, share.row0 + share.rows - r);
            b.head = h0;
            b.heads = heads;
            b.kvHead = kvHead;
            b.position = s.keys - s.queries + r;
            b.keys = b.position + b.rows;
            b.keyChunk = std::min(sizes->keyChunk, b.keys);
            blocks.push_back(b);
          }
        }
        h += run;
      }
    }
    splitOverKeys(llvm::MutableArrayRef(blocks).drop_front(cubeFirst), s,
                  device);
  }
  return blocks;
}

/// The smallest box holding both.
static Box hull(const Box &a, const Box &b) {
  Box r;
  for (size_t i = 0; i < a.sizes.size(); ++i) {
    int64_t lo = std::min(a.offsets[i], b.offsets[i]);
    int64_t hi = std::max(a.offsets[i] + a.sizes[i], b.offsets[i] + b.sizes[i]);
    r.offsets.push_back(lo);
    r.sizes.push_back(hi - lo);
  }
  return r;
}

llvm::SmallVector<std::optional<AttentionOperandBoxes>>
kb::attentionOperandBoxes(llvm::ArrayRef<AttentionBlock> blocks,
                          size_t numPieces, int64_t headDim) {
  llvm::SmallVector<std::optional<AttentionOperandBoxes>> boxes(numPieces);
  for (const AttentionBlock &b : blocks) {
    Box q = b.outBox(headDim);
    Box kv{{0, b.kvHead * headDim}, {b.keys, headDim}};
    std::optional<AttentionOperandBoxes> &cube = boxes[b.piece];
    if (!cube)
      cube = AttentionOperandBoxes{q, kv};
    else
      *cube = AttentionOperandBoxes{hull(cube->q, q), hull(cube->kv, kv)};
  }
  return boxes;
}
