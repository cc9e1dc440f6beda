//===- OverlapCollectives.cpp - a gemm's all-reduce behind the gemm -------===//
//
// A row-parallel layer's all-reduce waits for the whole gemm, then the PEs
// wait for the whole ring. Cut into row bands, the ring of one band runs on
// the link while the PEs compute the next, and only the last band's ring is
// exposed. This pass picks the pairs and the bands; the lowering of
// kb.matmul_all_reduce does the interleaving. The choice is priced with the
// same cost model kb-run charges (kb/Device/CostModel.h): smaller bands cost
// PE time (the weight is read once per band), and an lhs sharded over the
// cubes is staged band by band, a DMA latency per piece and band, so the
// pass only cuts where the ring it hides is worth more. The bands need not
// be equal: what is exposed is the first band's staging and the last band's
// ring, so short bands at the ends and long ones between can beat any equal
// cut, as long as each band's gemm covers the ring before it. A fused
// result whose readers all want it on every cube (bandedResultType) is
// placed so: the lowering then sends each band to every cube as its ring
// ends, instead of the reader relaying the whole after the last ring.
//
//===----------------------------------------------------------------------===//

#include "OverlapAllGather.h"
#include "OverlapReduceScatter.h"

#include "kb/Device/CostModel.h"
#include "kb/Device/MeshRelay.h"
#include "kb/Device/Tiling.h"
#include "kb/Dialect/GemmTile/IR/DeviceDescription.h"
#include "kb/Dialect/KB/IR/KBOps.h"
#include "kb/Dialect/KB/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"

namespace kb {
#define GEN_PASS_DEF_KBOVERLAPCOLLECTIVESPASS
#include "kb/Dialect/KB/Transforms/Passes.h.inc"
} // namespace kb

using namespace mlir;
using namespace kb;

// Declared in OverlapReduceScatter.h: both halves of the pass price with it.
std::optional<double>
kb::gemmBandSeconds(int64_t rows, int64_t cols, int64_t k, int64_t elementBytes,
                    bool f32, const Placement &policy,
                    const gemm_tile::DeviceDescription &device) {
  double busiest = 0;
  Box band{{0, 0}, {rows, cols}};
  for (const Box &slab : peShares(band, policy, device.pesPerCube)) {
    std::optional<GemmTileSizes> tile =
        chooseGemmTile(slab.sizes[0], slab.sizes[1], k, elementBytes, device);
    if (!tile)
      return std::nullopt;
    double seconds = 0;
    for (int64_t i = 0; i < slab.sizes[0]; i += tile->m)
      for (int64_t j = 0; j < slab.sizes[1]; j += tile->n)
        seconds += peSeconds(
            device, matmulWork(std::min(tile->m, slab.sizes[0] - i),
                               std::min(tile->n, slab.sizes[1] - j), k,
                               elementBytes, elementBytes, false, f32));
    busiest = std::max(busiest, seconds);
  }
  return busiest;
}

namespace {


/// Seconds until the first `rows` rows of the lhs (all its columns) are
/// staged in the cubes that compute the result, from the cubes that hold
/// them, as the lowering stages a band of an lhs sharded over the cubes: for
/// each result cube in turn, one copy per lhs piece into its band buffer.
/// The copies are booked as kb-run books them: on the target cube's DMA
/// engine, each starting once the engine and every mesh link of its route
/// are free, holding those links to its end; copies that share a link run
/// one after another, so a band costs up to twice its busiest link's load.
/// 0 when every result cube holds its lhs rows (a replicated lhs).
double bandStagingSeconds(RankedTensorType lhs, RankedTensorType result,
                          int64_t rows,
                          const gemm_tile::DeviceDescription &device) {
  DPPolicyAttr lhsPolicy = getDPPolicy(lhs);
  if (!lhsPolicy)
    return 0;
  int64_t elementBytes = lhs.getElementTypeBitWidth() / 8;
  SmallVector<CubePiece> sources =
      cubePieces(lhs.getShape(), lhsPolicy.resolve(device));
  Box band{{0, 0}, {rows, lhs.getDimSize(1)}};
  SmallVector<CubePiece> targets =
      cubePieces(result.getShape(), getDPPolicy(result).resolve(device));
  // Relayed over the mesh when that is faster, as the lowering stages it
  // (OperandStager::relayByMeshRows, one plan for both).
  SmallVector<HeldBox> held;
  for (const CubePiece &source : sources) {
    auto *it = llvm::find_if(
        held, [&](const HeldBox &h) { return h.box == source.box; });
    if (it == held.end())
      held.push_back({source.box, {source.cube}});
    else
      it->cubes.push_back(source.cube);
  }
  SmallVector<std::pair<int64_t, Box>> requests;
  for (const CubePiece &target : targets)
    if (llvm::none_of(requests, [&](const std::pair<int64_t, Box> &r) {
          return r.first == target.cube;
        }))
      requests.push_back({target.cube, band});
  MeshRelayPlan plan =
      planMeshRelay(device, held, requests, double(elementBytes));
  if (plan.pays())
    return plan.relayedSeconds;
  llvm::DenseMap<int64_t, double> engineFree, linkFree;
  double end = 0;
  for (const CubePiece &target : targets) {
    // A cube whose own piece holds the band reads it in place.
    if (llvm::any_of(sources, [&](const CubePiece &source) {
          return source.cube == target.cube && source.box.contains(band);
        }))
      continue;
    double &free = engineFree[target.cube];
    for (const CubePiece &source : sources) {
      std::optional<Box> part = source.box.intersect(band);
      if (!part)
        continue;
      SmallVector<int64_t, 8> route =
          meshRoute(device, source.cube, target.cube);
      for (int64_t link : route)
        free = std::max(free, linkFree.lookup(link));
      free += dmaSeconds(device,
                         static_cast<double>(part->numElements()) *
                             elementBytes,
                         source.cube, target.cube);
      for (int64_t link : route)
        linkFree[link] = free;
      end = std::max(end, free);
    }
  }
  return end;
}

/// What one band of the gemm and its all-reduce costs, priced as kb-run
/// books the lowering's work: the band's gemm on the busiest PE, its ring,
/// and the staging of its lhs rows into the cubes that compute it.
struct BandCost {
  double gemm, ring, staging;
};

/// Prices bands of one candidate gemm by their rows, each row count once:
/// the band-size search asks for the same few sizes many times.
class BandPricer {
public:
  BandPricer(RankedTensorType lhs, RankedTensorType rhs,
             RankedTensorType result, int64_t k, int64_t worldSize,
             const gemm_tile::DeviceDescription &device)
      : lhs(lhs), rhs(rhs), result(result), k(k), worldSize(worldSize),
        device(device) {
    Placement policy = getDPPolicy(result).resolve(device);
    // The lowering computes a band into buffers of its own, cut over the
    // PEs along the band's longer dimension whatever the result's PE split
    // (CollectiveMatmulPatterns.cpp); priced with the result's split, a
    // 16-row band split by rows over 8 PEs re-read the weight slab for 2
    // rows a PE, and the seed's block on `small` kept 4 bands where 8 cost
    // no more PE time and halve the exposed ring.
    bandPolicy = policy;
    bandPolicy.peDim = Placement::kReplicate;
    // Every computing cube its own piece or share (gemmBandPieces); the
    // widest one sets the pace.
    for (const CubePiece &piece : gemmBandPieces(result.getShape(), policy))
      cols = std::max(cols, piece.box.sizes[1]);
  }

  /// One column group's tiles of a band of `rows` rows, in `groups` groups.
  std::optional<double> groupGemm(int64_t rows, int64_t groups) {
    return gemmBandSeconds(rows, cols / groups, k,
                           result.getElementTypeBitWidth() / 8,
                           result.getElementType().isF32(), bandPolicy, device);
  }

  /// The column groups the lowering copies the rhs in when a cube lacks
  /// its columns (1 when none does), for a first band of `firstRows`, and
  /// the seconds one group takes to reach the slowest cube: 4 groups,
  /// fewer while they do not divide a piece's columns, 1 when a PE's slab
  /// of a group would be more than one tile high (CollectiveMatmulPatterns).
  /// The first band's tiles wait for them group by group.
  std::pair<int64_t, double> rhsGroups(int64_t firstRows) {
    auto [it, fresh] = groupCosts.try_emplace(firstRows);
    if (fresh)
      it->second = priceRhsGroups(firstRows);
    return it->second;
  }

  /// With `staged` false, the staging is left at 0: a lower bound of the
  /// band's cost, without the relay plan that is most of its price.
  std::optional<BandCost> operator()(int64_t rows, bool staged = true) {
    auto [it, fresh] = costs.try_emplace(rows);
    if (fresh) {
      int64_t elementBytes = result.getElementTypeBitWidth() / 8;
      std::optional<double> gemm =
          gemmBandSeconds(rows, cols, k, elementBytes,
                          result.getElementType().isF32(), bandPolicy, device);
      if (gemm)
        it->second =
            BandCost{*gemm,
                     allReduceSeconds(device,
                                      static_cast<double>(rows) *
                                          result.getDimSize(1) * elementBytes,
                                      worldSize),
                     0};
    }
    if (!it->second || !staged)
      return it->second;
    auto [staging, unstaged] = stagings.try_emplace(rows, 0.0);
    if (unstaged)
      staging->second = bandStagingSeconds(lhs, result, rows, device);
    BandCost cost = *it->second;
    cost.staging = staging->second;
    return cost;
  }

private:
  std::pair<int64_t, double> priceRhsGroups(int64_t firstRows) {
    DPPolicyAttr rhsPolicy = getDPPolicy(rhs);
    if (!rhsPolicy)
      return {1, 0};
    int64_t elementBytes = rhs.getElementTypeBitWidth() / 8;
    SmallVector<CubePiece> sources =
        cubePieces(rhs.getShape(), rhsPolicy.resolve(device));
    SmallVector<CubePiece> targets =
        gemmBandPieces(result.getShape(), getDPPolicy(result).resolve(device));
    SmallVector<CubePiece> lacking;
    for (const CubePiece &target : targets) {
      Box cols{{0, target.box.offsets[1]}, {k, target.box.sizes[1]}};
      if (llvm::none_of(sources, [&](const CubePiece &source) {
            return source.cube == target.cube && source.box.contains(cols);
          }))
        lacking.push_back(target);
    }
    if (lacking.empty())
      return {1, 0};
    int64_t groups = 4;
    while (groups > 1 && llvm::any_of(targets, [&](const CubePiece &t) {
             return t.box.sizes[1] % groups != 0;
           }))
      groups /= 2;
    if (groups > 1) {
      Box group{{0, 0}, {firstRows, targets.front().box.sizes[1] / groups}};
      SmallVector<Box> slabs = peShares(group, bandPolicy, device.pesPerCube);
      std::optional<GemmTileSizes> tile =
          slabs.empty()
              ? std::nullopt
              : chooseGemmTile(slabs.front().sizes[0], slabs.front().sizes[1],
                               k, elementBytes, device);
      if (!tile || tile->m < slabs.front().sizes[0])
        groups = 1;
    }
    // Each lacking cube copies its group from the nearest holder of each
    // part, one copy after another on its own DMA engine.
    double slowest = 0;
    for (const CubePiece &target : lacking) {
      int64_t width = target.box.sizes[1] / groups;
      Box part{{0, target.box.offsets[1]}, {k, width}};
      double seconds = 0;
      SmallVector<Box> done;
      for (const CubePiece &source : sources) {
        std::optional<Box> overlap = source.box.intersect(part);
        if (!overlap || llvm::is_contained(done, source.box))
          continue;
        int64_t from = source.cube;
        for (const CubePiece &other : sources)
          if (other.box == source.box &&
              cubeHops(device, other.cube, target.cube) <
                  cubeHops(device, from, target.cube))
            from = other.cube;
        done.push_back(source.box);
        seconds += dmaSeconds(
            device, static_cast<double>(overlap->numElements()) * elementBytes,
            from, target.cube);
      }
      slowest = std::max(slowest, seconds);
    }
    return {groups, slowest};
  }

  RankedTensorType lhs, rhs, result;
  int64_t k, worldSize;
  const gemm_tile::DeviceDescription &device;
  Placement bandPolicy;
  int64_t cols = 0;
  llvm::DenseMap<int64_t, std::optional<BandCost>> costs;
  llvm::DenseMap<int64_t, double> stagings;
  llvm::DenseMap<int64_t, std::pair<int64_t, double>> groupCosts;
};

/// The estimated time of the gemm and its all-reduce in bands of `bands`
/// rows, first to last, scheduled as the lowering issues them: the first
/// band's lhs rows staged; band i's tiles start once band i - 1's are done,
/// its rows are staged (issued with band i - 1's tiles) and band i - 2's
/// ring is done (waited for before band i - 1's tiles); band i's ring
/// starts once its tiles and band i - 1's ring are done; the last ring
/// ends it. Equal bands reach a period of max(gemm, ring, staging); a
/// short first band starts the PEs sooner and a short last band leaves a
/// short ring, as long as each band's gemm still covers the ring before it
/// and the staging after it.
/// With `staged` false, the staging of every band after the first is left
/// out: a lower bound (the schedule only waits longer for staging), for the
/// band search to skip the cuts that cannot win before pricing it.
std::optional<double> pipelinedSeconds(ArrayRef<int64_t> bands,
                                       BandPricer &price, bool staged = true) {
  std::optional<BandCost> first = price(bands.front());
  if (!first)
    return std::nullopt;
  // A cube that lacks its rhs columns receives them first, group by group
  // on the DMA engine that also stages its lhs rows: the first group and
  // the first band's rows before the PEs start, each later group issued
  // with the tiles of the one before, which then wait for it.
  auto [groups, group] = price.rhsGroups(bands.front());
  double stageEnd = group + first->staging, gemmEnd = 0, ringEnd = 0,
         ringEndBefore = 0;
  for (size_t i = 0; i < bands.size(); ++i) {
    std::optional<BandCost> band = price(bands[i], staged);
    if (!band)
      return std::nullopt;
    double start = std::max({gemmEnd, ringEndBefore, stageEnd});
    // The first band's tiles in column groups: a group's slab of the PEs
    // is narrower, not cheaper in proportion (a tile of a few rows costs
    // what its weight slab costs to read).
    int64_t parts = i == 0 ? groups : 1;
    double partGemm = band->gemm;
    if (parts > 1) {
      std::optional<double> g = price.groupGemm(bands[i], parts);
      if (!g)
        return std::nullopt;
      partGemm = *g;
    }
    double issued = start;
    gemmEnd = start + partGemm;
    for (int64_t g = 1; g < parts; ++g) {
      double arrived = issued + group;
      issued = std::max(gemmEnd, arrived);
      gemmEnd = issued + partGemm;
    }
    if (i + 1 < bands.size()) {
      std::optional<BandCost> next = price(bands[i + 1], staged);
      if (!next)
        return std::nullopt;
      stageEnd = issued + next->staging;
    }
    ringEndBefore = ringEnd;
    ringEnd = std::max(gemmEnd, ringEnd) + band->ring;
  }
  return ringEnd;
}

/// Uneven bands to price for `rows` rows in `chunks` bands, short at both
/// ends: a first band of `first` rows and a last one of `last` rows, for
/// each an eighth, a quarter, a half or three quarters of an even band, or
/// a whole one. Between them, either the rest shared evenly, or ramps: the
/// bands double from the first and halve towards the last, up to an even
/// share of what the ramps leave (a band's gemm must cover the ring of a
/// band twice or so its size before it, and the staging of the next).
/// Only cuts whose middle bands are at least as large as the ends are kept.
SmallVector<SmallVector<int64_t>> unevenBands(int64_t rows, int64_t chunks) {
  SmallVector<SmallVector<int64_t>> cuts;
  if (chunks < 2 || rows < 2 * chunks)
    return cuts;
  int64_t even = rows / chunks;
  SmallVector<int64_t> ends;
  for (int64_t eighths : {1, 2, 4, 6, 8})
    if (int64_t end = even * eighths / 8;
        end >= 1 && !llvm::is_contained(ends, end))
      ends.push_back(end);
  auto keep = [&](SmallVector<int64_t> cut) {
    if (!llvm::is_contained(cuts, cut))
      cuts.push_back(std::move(cut));
  };
  for (int64_t first : ends)
    for (int64_t last : ends) {
      if (first == even && last == even)
        continue; // the even cut, priced as such
      int64_t rest = rows - first - last, middle = chunks - 2;
      if (middle == 0) {
        if (rest == 0)
          keep({first, last});
        continue;
      }
      if (rest < middle * std::max(first, last))
        continue;
      SmallVector<int64_t> flat{first};
      for (int64_t i = 0; i < middle; ++i)
        flat.push_back(rest / middle + (i < rest % middle ? 1 : 0));
      flat.push_back(last);
      keep(flat);
      // Ramps: band i is min(first·2^i, last·2^(chunks-1-i), cap), for the
      // smallest cap whose bands cover the rows; the bands at the cap then
      // give back what they cover beyond the rows, one row each.
      SmallVector<int64_t> head(chunks), tail(chunks);
      for (int64_t i = 0; i < chunks; ++i) {
        head[i] = i == 0 ? first : std::min(rows, 2 * head[i - 1]);
        tail[chunks - 1 - i] =
            i == 0 ? last : std::min(rows, 2 * tail[chunks - i]);
      }
      auto covered = [&](int64_t cap) {
        int64_t sum = 0;
        for (int64_t i = 0; i < chunks; ++i)
          sum += std::min({head[i], tail[i], cap});
        return sum;
      };
      int64_t lo = 1, hi = rows;
      if (covered(hi) < rows)
        continue;
      while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (covered(mid) >= rows)
          hi = mid;
        else
          lo = mid + 1;
      }
      SmallVector<int64_t> ramp(chunks);
      for (int64_t i = 0; i < chunks; ++i)
        ramp[i] = std::min({head[i], tail[i], lo});
      for (int64_t excess = covered(lo) - rows, i = chunks - 1;
           excess > 0 && i >= 0; --i)
        if (ramp[i] == lo) {
          --ramp[i];
          --excess;
        }
      if (ramp.front() == first && ramp.back() == last &&
          llvm::all_of(ramp, [](int64_t b) { return b >= 1; }))
        keep(ramp);
    }
  return cuts;
}

/// The band count and, when uneven, the band sizes the cost model finds
/// fastest for the gemm `lhs` x `rhs` -> `result` and its all-reduce: 1
/// when no cut clearly beats the pair.
std::pair<int64_t, SmallVector<int64_t>>
chooseBands(RankedTensorType lhs, RankedTensorType rhs, RankedTensorType result,
            int64_t maxChunks, int64_t worldSize,
            const gemm_tile::DeviceDescription &device) {
  int64_t rows = result.getDimSize(0), k = lhs.getDimSize(1);
  std::pair<int64_t, SmallVector<int64_t>> choice{1, {}};
  BandPricer price(lhs, rhs, result, k, worldSize, device);
  std::optional<double> plain = pipelinedSeconds({rows}, price);
  double fastest = plain ? *plain : 0;
  // A clear gain only: the estimate leaves out the copies out of the
  // band buffers, which grow with the result's bytes, as its ring
  // does; so a count must gain a share of the whole ring, not of the
  // gemm (2% of a GPT-3 gemm's 9.7 ms, 195 us, is more than twice the
  // ring time 8 bands hide beyond 4).
  double wholeRing =
      allReduceSeconds(device,
                       static_cast<double>(result.getNumElements()) *
                           (result.getElementTypeBitWidth() / 8),
                       worldSize);
  double margin = 0.05 * wholeRing;
  for (int64_t c = 2; plain && c <= maxChunks; ++c) {
    if (rows % c != 0)
      continue;
    std::optional<double> t =
        pipelinedSeconds(SmallVector<int64_t>(c, rows / c), price);
    if (t && *t < fastest - margin) {
      fastest = *t;
      choice.first = c;
    }
  }
  // Then uneven bands, at any count: a short first band starts the
  // PEs sooner, a short last band exposes a shorter ring. They copy
  // out the same bytes as even bands, so a smaller gain suffices, but
  // still 1% of the whole ring, not to follow the estimate's noise.
  double unevenMargin = (choice.first < 2 ? margin : 0.01 * wholeRing);
  double unevenFastest = fastest - unevenMargin;
  // Each cut's bound first (the staging of its later bands left out: their
  // relay plans were nearly all of the pass's time, 93 M instructions on a
  // 512-token MLP), then the full price in the bounds' order, until no
  // bound can win. The choice is the one pricing every cut in turn would
  // make: the fastest, of equals the first.
  struct Cut {
    double bound;
    size_t order;
    int64_t chunks;
    SmallVector<int64_t> bands;
  };
  SmallVector<Cut> cuts;
  for (int64_t c = 2; plain && c <= maxChunks; ++c)
    for (SmallVector<int64_t> &bands : unevenBands(rows, c))
      if (std::optional<double> bound = pipelinedSeconds(bands, price, false))
        if (*bound < unevenFastest)
          cuts.push_back({*bound, cuts.size(), c, std::move(bands)});
  llvm::stable_sort(cuts, [](const Cut &x, const Cut &y) {
    return x.bound < y.bound;
  });
  std::optional<size_t> best;
  for (Cut &cut : cuts) {
    if (cut.bound > unevenFastest ||
        (best && cut.bound == unevenFastest && cut.order > *best))
      break;
    std::optional<double> t = pipelinedSeconds(cut.bands, price);
    if (!t)
      continue;
    if (*t < unevenFastest || (best && *t == unevenFastest && cut.order < *best)) {
      unevenFastest = *t;
      best = cut.order;
      choice.first = cut.chunks;
      choice.second = cut.bands;
    }
  }
  return choice;
}

/// The type of a row-parallel result that every op reading it takes
/// replicated over the cubes, fused with its all-reduce: an elementwise op
/// whose result is replicated (the residual add after attention's output
/// projection) reads its operands in its own placement, so the fused op
/// puts each band's rows into every cube as that band's ring ends (the DMA
/// engines and the mesh busy while the PEs compute the next band), where
/// the reader relayed the whole result after the last ring (38 us of the
/// Llama-2-7B layer's 512-token prefill, nothing else running). `result`
/// itself when any reader is another op, or the replicated placement would
/// not cut into row bands.
RankedTensorType bandedResultType(AllReduceOp reduce, RankedTensorType result,
                                  const gemm_tile::DeviceDescription &device) {
  DPPolicyAttr wanted;
  for (Operation *user : reduce->getUsers()) {
    if (!isa<ElementwiseOpInterface>(user) || user->getNumResults() != 1)
      return result;
    auto type = dyn_cast<RankedTensorType>(user->getResult(0).getType());
    DPPolicyAttr policy = type ? getDPPolicy(type) : DPPolicyAttr();
    if (!policy || type.getShape() != result.getShape() ||
        !policy.resolve(device).isCubeReplicated() ||
        (wanted && wanted != policy))
      return result;
    wanted = policy;
  }
  if (!wanted ||
      gemmBandPieces(result.getShape(), wanted.resolve(device)).size() < 2)
    return result;
  return withDPPolicy(result, wanted);
}

struct KBOverlapCollectivesPass
    : public kb::impl::KBOverlapCollectivesPassBase<KBOverlapCollectivesPass> {
  using KBOverlapCollectivesPassBase::KBOverlapCollectivesPassBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (!module->hasAttr(KBDialect::kSPMDAttrName)) {
      module.emitError() << "kb-overlap-collectives works on the placed local "
                            "view: run kb-tp-partition and kb-place first";
      return signalPassFailure();
    }
    int64_t maxChunks = chunks;
    if (maxChunks < 1) {
      module.emitError() << "kb-overlap-collectives needs chunks >= 1, got "
                         << maxChunks;
      return signalPassFailure();
    }
    gemm_tile::DeviceDescription device = gemm_tile::lookupDevice(module);
    int64_t worldSize = 1;
    if (auto ws =
            module->getAttrOfType<IntegerAttr>(KBDialect::kWorldSizeAttrName))
      worldSize = ws.getInt();
    SmallVector<AllReduceOp> candidates;
    module.walk([&](AllReduceOp reduce) { candidates.push_back(reduce); });
    llvm::DenseMap<std::tuple<Type, Type, Type>,
                   std::pair<int64_t, SmallVector<int64_t>>>
        choices;
    bool changed = false;
    for (AllReduceOp reduce : candidates) {
      auto matmul = reduce.getInput().getDefiningOp<MatmulOp>();
      if (!matmul || !matmul->hasOneUse() ||
          matmul->getBlock() != reduce->getBlock())
        continue;
      auto result = cast<RankedTensorType>(reduce.getType());
      DPPolicyAttr policy = getDPPolicy(result);
      if (!policy ||
          gemmBandPieces(result.getShape(), policy.resolve(device)).empty())
        continue;
      result = bandedResultType(reduce, result, device);
      int64_t rows = result.getDimSize(0);
      int64_t best = 1;
      SmallVector<int64_t> bestBands;
      if (!useCostModel) {
        best = rows % maxChunks == 0 ? maxChunks : 1;
      } else {
        // Typed alike, priced alike: a model's layers repeat the same few
        // gemms, and the band search prices each of them once.
        auto lhs = cast<RankedTensorType>(matmul.getLhs().getType());
        auto rhs = cast<RankedTensorType>(matmul.getRhs().getType());
        auto [it, fresh] = choices.try_emplace({lhs, rhs, result});
        if (fresh)
          it->second =
              chooseBands(lhs, rhs, result, maxChunks, worldSize, device);
        best = it->second.first;
        bestBands = it->second.second;
      }
      if (best < 2)
        continue;
      OpBuilder builder(reduce);
      auto fused = MatmulAllReduceOp::create(
          builder, matmul.getLoc(), result, reduce.getReductionAttr(),
          matmul.getLhs(), matmul.getRhs(), builder.getI64IntegerAttr(best),
          bestBands.empty() ? DenseI64ArrayAttr()
                            : builder.getDenseI64ArrayAttr(bestBands));
      reduce.replaceAllUsesWith(fused.getResult());
      reduce.erase();
      matmul.erase();
      changed = true;
    }
    // Sequence parallelism's gemm + reduce-scatter along the tokens.
    changed |= fuseMatmulReduceScatters(module, device, worldSize, maxChunks,
                                        useCostModel);
    // And its all-gather along the tokens with the gemms that read it.
    changed |= fuseAllGatherMatmuls(module, device, worldSize, maxChunks,
                                    useCostModel);
    // Nothing fused, nothing to verify again.
    if (!changed)
      markAllAnalysesPreserved();
  }
};

} // namespace
