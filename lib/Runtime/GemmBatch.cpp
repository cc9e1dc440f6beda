//===- GemmBatch.cpp - join and split the gemms between two waits ---------===//

#include "kb/Runtime/GemmBatch.h"

#include "kb/Runtime/Kernels.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <tuple>

using namespace kb::runtime;

namespace {
/// Rows [row, row + m) of the A that `pieces` tile, k wide, gathered into
/// `out` (m × k).
void gatherA(const std::vector<APiece> &pieces, int64_t row, int64_t m,
             int64_t k, float *out) {
  for (const APiece &p : pieces) {
    int64_t from = std::max(row, p.row), to = std::min(row + m, p.row + p.rows);
    for (int64_t i = from; i < to; ++i)
      std::copy_n(p.data + (i - p.row) * p.ld, p.cols,
                  out + (i - row) * k + p.col);
  }
}

/// `buffer`'s at least n elements: a buffer of the calling thread, grown as
/// needed and never freed, so its pages are warm after the first task
/// (a fresh buffer per task cost a page fault per 4 KiB).
float *threadBuffer(std::vector<float> &buffer, int64_t n) {
  if (buffer.size() < static_cast<size_t>(n))
    buffer.resize(n);
  return buffer.data();
}
} // namespace

GemmColumns GemmTask::columns() const {
  GemmColumns block;
  block.b = b;
  block.halfB = halfB;
  block.ldb = ldb;
  block.c = c;
  block.ldc = ldc;
  block.n = n;
  return block;
}

void GemmTask::run() const {
  if (!tiles.empty()) {
    runStacked();
    return;
  }
  const float *a = this->a;
  int64_t lda = this->lda;
  if (aPieces) {
    thread_local std::vector<float> gathered;
    float *out = threadBuffer(gathered, m * k);
    gatherA(*aPieces, aRow, m, k, out);
    a = out;
    lda = k;
  }
  if (!blocks.empty()) {
    gemmColumns(a, lda, blocks.data(), static_cast<int64_t>(blocks.size()), m,
                k, accumulate, weights);
    for (const GemmColumns &block : blocks)
      for (int64_t i = 0; i < m; ++i)
        roundBufferToDType(block.c + i * block.ldc, block.n, outType);
    return;
  }
  if (n > 0) {
    GemmColumns block = columns();
    gemmColumns(a, lda, &block, 1, m, k, accumulate, weights);
  }
  for (int64_t i = 0; i < m; ++i)
    roundBufferToDType(c + i * ldc, n, outType);
}

void GemmTask::runStacked() const {
  // The tiles' rows of A and C one under the other (C's blocks side by
  // side), in buffers of this thread.
  thread_local std::vector<float> stackedA, stackedC;
  float *a = threadBuffer(stackedA, m * k), *c = threadBuffer(stackedC, m * n);
  int64_t row = 0;
  for (const RowTile &tile : tiles) {
    if (tile.aPieces)
      gatherA(*tile.aPieces, tile.aRow, tile.m, k, a + row * k);
    else
      for (int64_t i = 0; i < tile.m; ++i)
        std::copy_n(tile.a + i * tile.lda, k, a + (row + i) * k);
    row += tile.m;
  }
  std::vector<GemmColumns> cols = blocks;
  for (int64_t s = 0, at = 0; s < static_cast<int64_t>(cols.size()); ++s) {
    cols[s].c = c + at;
    cols[s].ldc = n;
    at += cols[s].n;
  }
  // Between the tiles' Cs and the stacked rows.
  auto each = [&](bool in) {
    int64_t row = 0;
    for (const RowTile &tile : tiles) {
      for (size_t s = 0; s < cols.size(); ++s)
        for (int64_t i = 0; i < tile.m; ++i) {
          float *out = tile.outs[s].c + i * tile.outs[s].ldc;
          float *here = cols[s].c + (row + i) * n;
          if (in) {
            std::copy_n(out, cols[s].n, here);
          } else {
            std::copy_n(here, cols[s].n, out);
            roundBufferToDType(out, cols[s].n, outType);
          }
        }
      row += tile.m;
    }
  };
  if (accumulate)
    each(/*in=*/true);
  gemmColumns(a, k, cols.data(), static_cast<int64_t>(cols.size()), m, k,
              accumulate, weights);
  each(/*in=*/false);
}

namespace {
uintptr_t addr(const void *p) { return reinterpret_cast<uintptr_t>(p); }
uintptr_t bAddr(const GemmTask &t) {
  return t.halfB ? addr(t.halfB) : addr(t.b);
}
/// What names A's first row: its address, or its pieces and row.
std::pair<uintptr_t, int64_t> aAddr(const GemmTask &t) {
  return t.aPieces ? std::make_pair(addr(t.aPieces.get()), t.aRow)
                   : std::make_pair(addr(t.a), int64_t{0});
}
/// Whether `t`'s rows of A follow `p`'s.
bool aFollows(const GemmTask &p, const GemmTask &t) {
  if (p.aPieces || t.aPieces)
    return p.aPieces == t.aPieces && t.aRow == p.aRow + p.m;
  return t.a == p.a + p.m * p.lda;
}

/// Sorts `tasks` by `key` then `order` and joins each task into the previous
/// one of the same key when `follows(previous, next)`, with `join`.
template <typename Key, typename Order, typename Follows, typename Join>
std::vector<GemmTask> joinRuns(std::vector<GemmTask> tasks, Key key,
                               Order order, Follows follows, Join join) {
  std::sort(tasks.begin(), tasks.end(),
            [&](const GemmTask &x, const GemmTask &y) {
              return std::make_pair(key(x), order(x)) <
                     std::make_pair(key(y), order(y));
            });
  std::vector<GemmTask> joined;
  for (const GemmTask &t : tasks) {
    if (!joined.empty() && key(joined.back()) == key(t) &&
        follows(joined.back(), t))
      join(joined.back(), t);
    else
      joined.push_back(t);
  }
  return joined;
}
} // namespace

std::vector<GemmTask> kb::runtime::joinGemms(std::vector<GemmTask> tasks) {
  auto common = [](const GemmTask &t) {
    return std::make_tuple(t.halfB != nullptr, t.lda, t.ldb, t.ldc, t.k,
                           t.accumulate, static_cast<int>(t.outType),
                           t.weights);
  };
  // Row blocks of one product: the same B columns, A and C rows that follow.
  tasks = joinRuns(
      std::move(tasks),
      [&](const GemmTask &t) {
        return std::make_tuple(common(t), bAddr(t), t.n);
      },
      [](const GemmTask &t) { return aAddr(t); },
      [](const GemmTask &p, const GemmTask &t) {
        return aFollows(p, t) && t.c == p.c + p.m * p.ldc;
      },
      [](GemmTask &p, const GemmTask &t) { p.m += t.m; });
  // Column blocks: the same A rows, B and C columns that follow.
  return joinRuns(
      std::move(tasks),
      [&](const GemmTask &t) {
        return std::make_tuple(common(t), aAddr(t), t.m);
      },
      [](const GemmTask &t) { return bAddr(t); },
      [](const GemmTask &p, const GemmTask &t) {
        bool bFollows = p.halfB ? t.halfB == p.halfB + p.n : t.b == p.b + p.n;
        return bFollows && t.c == p.c + p.n;
      },
      [](GemmTask &p, const GemmTask &t) { p.n += t.n; });
}

std::vector<GemmTask> kb::runtime::groupGemms(std::vector<GemmTask> tasks) {
  auto key = [](const GemmTask &t) {
    return std::make_tuple(aAddr(t), t.lda, t.m, t.k, t.halfB != nullptr,
                           t.accumulate, static_cast<int>(t.outType),
                           t.weights);
  };
  std::stable_sort(
      tasks.begin(), tasks.end(),
      [&](const GemmTask &x, const GemmTask &y) { return key(x) < key(y); });
  std::vector<GemmTask> grouped;
  for (size_t i = 0, j; i < tasks.size(); i = j) {
    for (j = i + 1; j < tasks.size() && key(tasks[j]) == key(tasks[i]); ++j)
      ;
    if (j == i + 1 || !tasks[i].blocks.empty()) {
      grouped.insert(grouped.end(), tasks.begin() + i, tasks.begin() + j);
      continue;
    }
    GemmTask group = tasks[i];
    group.n = 0;
    for (size_t t = i; t < j; ++t) {
      group.blocks.push_back(tasks[t].columns());
      group.n += tasks[t].n;
    }
    grouped.push_back(std::move(group));
  }
  return grouped;
}

namespace {
/// `sizes` cut, in order, into at most `count` non-empty runs of about
/// sum / count each: each run's [first, next).
std::vector<std::pair<size_t, size_t>>
evenRuns(const std::vector<int64_t> &sizes, int64_t count) {
  int64_t total = 0;
  for (int64_t size : sizes)
    total += size;
  count = std::min<int64_t>(count, static_cast<int64_t>(sizes.size()));
  std::vector<std::pair<size_t, size_t>> runs;
  size_t next = 0;
  int64_t done = 0;
  for (int64_t p = 0; p < count; ++p) {
    size_t first = next;
    int64_t target = total * (p + 1) / count;
    while (next < sizes.size() &&
           (next == first || done + sizes[next] <= target || p == count - 1)) {
      done += sizes[next];
      ++next;
    }
    if (next > first)
      runs.emplace_back(first, next);
  }
  return runs;
}
} // namespace

std::vector<GemmTask> kb::runtime::stackGemms(std::vector<GemmTask> tasks) {
  // What the tiles of a stack share: B's blocks (each block's first
  // element, leading dimension and width), k and the flags. Their A rows
  // may lie anywhere.
  using Block = std::tuple<uintptr_t, int64_t, int64_t>;
  auto key = [](const GemmTask &t) {
    std::vector<Block> b;
    if (t.blocks.empty())
      b.emplace_back(bAddr(t), t.ldb, t.n);
    for (const GemmColumns &block : t.blocks)
      b.emplace_back(block.halfB ? addr(block.halfB) : addr(block.b), block.ldb,
                     block.n);
    return std::make_tuple(std::move(b), t.k, t.halfB != nullptr, t.accumulate,
                           static_cast<int>(t.outType), t.weights);
  };
  std::vector<std::pair<decltype(key(tasks.front())), size_t>> order;
  if (tasks.empty())
    return tasks;
  for (size_t i = 0; i < tasks.size(); ++i)
    order.emplace_back(key(tasks[i]), i);
  std::stable_sort(
      order.begin(), order.end(),
      [](const auto &x, const auto &y) { return x.first < y.first; });
  // A tile's Cs, one per block.
  auto outsOf = [](const GemmTask &t) {
    GemmTask::RowTile tile;
    tile.m = t.m;
    tile.a = t.a;
    tile.lda = t.lda;
    tile.aPieces = t.aPieces;
    tile.aRow = t.aRow;
    if (t.blocks.empty())
      tile.outs.push_back({t.c, t.ldc});
    for (const GemmColumns &block : t.blocks)
      tile.outs.push_back({block.c, block.ldc});
    return tile;
  };
  std::vector<GemmTask> stacked;
  // The stack of the current key that takes more tiles, if any.
  size_t open = SIZE_MAX;
  for (size_t i = 0; i < order.size(); ++i) {
    GemmTask &t = tasks[order[i].second];
    if (i > 0 && order[i - 1].first != order[i].first)
      open = SIZE_MAX;
    if (t.m <= kGemvMaxRows) {
      stacked.push_back(std::move(t));
      continue;
    }
    if (open != SIZE_MAX && stacked[open].m + t.m <= kMaxStackedRows) {
      GemmTask &p = stacked[open];
      if (p.tiles.empty()) {
        p.tiles.push_back(outsOf(p));
        if (p.blocks.empty())
          p.blocks.push_back(p.columns());
      }
      p.tiles.push_back(outsOf(t));
      p.m += t.m;
      continue;
    }
    open = stacked.size();
    stacked.push_back(std::move(t));
  }
  return stacked;
}

std::vector<GemmTask> kb::runtime::splitGemms(std::vector<GemmTask> tasks,
                                              int threads) {
  threads = std::max(threads, 1);
  // Rows in multiples of 48 (a multiple of every kernel's MR: 12, 6, 4),
  // columns in 64-column blocks (of every NR); below kMinFlops a part costs
  // more to hand to a thread than it saves.
  constexpr int64_t kRowBlock = 48, kColBlock = 64;
  constexpr double kMinFlops = 4e6;
  double total = 0;
  for (const GemmTask &t : tasks)
    total += t.flops();
  std::vector<GemmTask> parts;
  for (const GemmTask &t : tasks) {
    bool byRows = t.m > t.n;
    int64_t extent = byRows ? t.m : t.n;
    int64_t unit = byRows ? kRowBlock : kColBlock;
    int64_t blocks = (extent + unit - 1) / unit;
    double share = total > 0 ? t.flops() / total : 1.0;
    int64_t count = std::min<int64_t>(
        {threads, blocks,
         static_cast<int64_t>(std::ceil(2.0 * threads * share - 1e-9)),
         std::max<int64_t>(1, static_cast<int64_t>(t.flops() / kMinFlops))});
    count = std::max<int64_t>(count, 1);
    if (!t.tiles.empty() && byRows) {
      // Whole tiles to each part, about m / count rows each.
      std::vector<int64_t> rows;
      for (const GemmTask::RowTile &tile : t.tiles)
        rows.push_back(tile.m);
      for (auto [first, next] : evenRuns(rows, count)) {
        GemmTask part = t;
        part.tiles.assign(t.tiles.begin() + first, t.tiles.begin() + next);
        part.m = 0;
        for (const GemmTask::RowTile &tile : part.tiles)
          part.m += tile.m;
        parts.push_back(std::move(part));
      }
      continue;
    }
    if (!t.blocks.empty() && !byRows) {
      // Whole blocks to each part, about n / count columns each (and each
      // stacked tile's Cs of those blocks).
      std::vector<int64_t> widths;
      for (const GemmColumns &block : t.blocks)
        widths.push_back(block.n);
      for (auto [first, next] : evenRuns(widths, count)) {
        GemmTask part = t;
        part.blocks.assign(t.blocks.begin() + first, t.blocks.begin() + next);
        part.n = 0;
        for (const GemmColumns &block : part.blocks)
          part.n += block.n;
        for (GemmTask::RowTile &tile : part.tiles)
          tile.outs.assign(tile.outs.begin() + first, tile.outs.begin() + next);
        parts.push_back(std::move(part));
      }
      continue;
    }
    for (int64_t p = 0, begin = 0; p < count; ++p) {
      int64_t end = std::min(extent, blocks * (p + 1) / count * unit);
      if (end <= begin)
        continue;
      GemmTask part = t;
      if (byRows) {
        if (part.aPieces)
          part.aRow += begin;
        else
          part.a += begin * t.lda;
        part.c += begin * t.ldc;
        for (GemmColumns &block : part.blocks)
          block.c += begin * block.ldc;
        part.m = end - begin;
      } else {
        if (part.halfB)
          part.halfB += begin;
        else
          part.b += begin;
        part.c += begin;
        part.n = end - begin;
      }
      parts.push_back(part);
      begin = end;
    }
  }
  std::stable_sort(parts.begin(), parts.end(),
                   [](const GemmTask &x, const GemmTask &y) {
                     return x.flops() > y.flops();
                   });
  return parts;
}
