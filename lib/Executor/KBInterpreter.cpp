//===- KBInterpreter.cpp - kb ops on whole tensors ------------------------===//
//
// The reference semantics of the kb dialect, op by op, on host tensors. The
// global view runs once; the local view runs its W ranks in lockstep (the
// program is rank-generic and straight-line), so an all_reduce simply
// combines the W ranks' operands.
//
//===----------------------------------------------------------------------===//

#include "kb/Dialect/KB/IR/KBOps.h"
#include "kb/Executor/Execute.h"
#include "kb/Runtime/EmbeddingKernels.h"
#include "kb/Runtime/Kernels.h"
#include "kb/Runtime/TransformerKernels.h"

#include "Reduction.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/SmallVectorExtras.h"

#include <algorithm>
#include <vector>

using namespace mlir;
using namespace kb;
using namespace kb::exec;
using runtime::HostTensor;

static HostTensor matmul(const HostTensor &a, const HostTensor &b) {
  if (a.isHalf())
    return matmul(runtime::widened(a), b);
  int64_t m = a.shape[0], k = a.shape[1], n = b.shape[1];
  HostTensor c = runtime::makeTensor(a.dtype, {m, n});
  // A half weight is read as it is, widened inside the gemm: the reference
  // holds no f32 copy of it.
  if (b.isHalf())
    runtime::gemm(a.data.data(), k, b.halves.data(), n, c.data.data(), n, m, n,
                  k, /*accumulate=*/false);
  else
    runtime::gemm(a.data.data(), k, b.data.data(), n, c.data.data(), n, m, n,
                  k, /*accumulate=*/false);
  runtime::roundBufferToDType(c.data.data(), c.data.size(), c.dtype);
  return c;
}

static HostTensor add(const HostTensor &a, const HostTensor &b) {
  HostTensor c = a;
  if (b.shape.size() == a.shape.size())
    runtime::addInPlace(c.data.data(), b.data.data(), c.data.size());
  else
    runtime::addBiasRows(c.data.data(), b.data.data(),
                         c.numElements() / b.numElements(), b.numElements());
  runtime::roundBufferToDType(c.data.data(), c.data.size(), c.dtype);
  return c;
}

/// The static, unit-stride slice of `a` at `offsets` of `sizes`.
static HostTensor sliced(const HostTensor &a, ArrayRef<int64_t> offsets,
                         ArrayRef<int64_t> sizes) {
  HostTensor c = runtime::makeTensor(a.dtype, sizes);
  int64_t rank = sizes.size();
  if (c.numElements() == 0)
    return c;
  // Row-major strides of the source; walk the result's elements in order.
  SmallVector<int64_t> strides(rank, 1);
  for (int64_t d = rank - 2; d >= 0; --d)
    strides[d] = strides[d + 1] * a.shape[d + 1];
  SmallVector<int64_t> index(rank, 0);
  int64_t inner = sizes.back();
  for (int64_t out = 0; out < c.numElements(); out += inner) {
    int64_t from = 0;
    for (int64_t d = 0; d < rank; ++d)
      from += (offsets[d] + index[d]) * strides[d];
    std::copy_n(a.data.data() + from, inner, c.data.data() + out);
    for (int64_t d = rank - 2; d >= 0; --d) {
      if (++index[d] < sizes[d])
        break;
      index[d] = 0;
    }
  }
  return c;
}

/// `kernel(dst, src, n)` of a copy of `a` and `b`, rounded to a's element
/// type; a `b` of lower rank (a bias, a norm's weight) combines with every
/// row.
static HostTensor zipped(const HostTensor &a, const HostTensor &b,
                         runtime::ZipKernel kernel) {
  HostTensor c = a;
  int64_t cols = std::max<int64_t>(b.numElements(), 1);
  for (int64_t at = 0; at < c.numElements(); at += cols)
    kernel(c.data.data() + at, b.data.data(), cols);
  runtime::roundBufferToDType(c.data.data(), c.data.size(), c.dtype);
  return c;
}

/// `kernel(in, out, n)` over a copy of `a`, times `factor`, rounded to a's
/// element type: what gemm_tile.map computes.
static HostTensor mapped(const HostTensor &a, runtime::MapKernel kernel,
                         double factor) {
  HostTensor c = a;
  kernel(a.data.data(), c.data.data(), c.data.size());
  if (factor != 1.0)
    runtime::scale(c.data.data(), c.data.size(), static_cast<float>(factor));
  runtime::roundBufferToDType(c.data.data(), c.data.size(), c.dtype);
  return c;
}

/// An elementwise kb op runs the runtime kernel it names
/// (kb::ElementwiseOpInterface), the one the device op it lowers to names:
/// the unsharded reference and the device program share their arithmetic,
/// and a new elementwise op needs no case here.
static llvm::Expected<HostTensor>
elementwise(ElementwiseOpInterface op, ArrayRef<const HostTensor *> operands) {
  StringRef name = op.getKernelName();
  if (operands.size() == 1)
    if (runtime::MapKernel map = runtime::lookupMapKernel(name))
      return mapped(*operands[0], map, op.getKernelScale());
  if (operands.size() == 2)
    if (runtime::ZipKernel zip = runtime::lookupZipKernel(name))
      return zipped(*operands[0], *operands[1], zip);
  return errorAt(op, "kb-run has no elementwise kernel '" + name + "' of " +
                         std::to_string(operands.size()) + " operand(s)");
}

/// Rows of a tensor whose last dimension is the normalized one: the product
/// of the leading dimensions (not elements / columns, which is 0 / 0 for an
/// empty last dimension).
static int64_t leadingRows(const HostTensor &t) {
  int64_t rows = 1;
  for (int64_t d : llvm::ArrayRef<int64_t>(t.shape).drop_back())
    rows *= d;
  return rows;
}

static HostTensor rmsNorm(RMSNormOp op, const HostTensor &x,
                          const HostTensor &w) {
  HostTensor y = runtime::makeTensor(x.dtype, x.shape);
  runtime::rmsNorm(x.dtype, x.data.data(), w.data.data(), y.data.data(),
                   leadingRows(x), x.shape.back(),
                   op.getEps().convertToFloat());
  return y;
}

static HostTensor layerNorm(LayerNormOp op, const HostTensor &x,
                            const HostTensor &w, const HostTensor &b) {
  HostTensor y = runtime::makeTensor(x.dtype, x.shape);
  runtime::layerNorm(x.dtype, x.data.data(), w.data.data(), b.data.data(),
                     y.data.data(), leadingRows(x), x.shape.back(),
                     op.getEps().convertToFloat());
  return y;
}

static HostTensor rope(RoPEOp op, const HostTensor &x) {
  HostTensor y = runtime::makeTensor(x.dtype, x.shape);
  runtime::rope(x.dtype, x.data.data(), y.data.data(), x.shape[0],
                op.getNumHeads(), op.getHeadDim(), op.getPositionOffset(),
                op.getTheta().convertToDouble());
  return y;
}

static HostTensor attention(AttentionOp op, const HostTensor &q,
                            const HostTensor &k, const HostTensor &v) {
  HostTensor out = runtime::makeTensor(q.dtype, q.shape);
  runtime::causalAttention(q.dtype, q.data.data(), k.data.data(), v.data.data(),
                           out.data.data(), q.shape[0], k.shape[0],
                           op.getNumHeads(), op.getNumKvHeads(),
                           op.getHeadDim());
  return out;
}

/// The cache's rows followed by the new ones (both already in the dtype).
static HostTensor kvAppend(const HostTensor &cache, const HostTensor &added) {
  HostTensor all;
  all.dtype = cache.dtype;
  all.shape = {cache.shape[0] + added.shape[0], cache.shape[1]};
  all.data.reserve(cache.data.size() + added.data.size());
  all.data.insert(all.data.end(), cache.data.begin(), cache.data.end());
  all.data.insert(all.data.end(), added.data.begin(), added.data.end());
  return all;
}

namespace {
/// One rank's tensors by SSA value. The global view's arguments are the
/// caller's input tensors, read in place: copying them would hold a second
/// copy of every weight while --check runs.
class Values {
public:
  /// values[v] reads as a const HostTensor & and is assigned a new tensor.
  class Ref {
  public:
    Ref(Values &values, Value v) : values(values), v(v) {}
    operator const HostTensor &() const {
      auto it = values.borrowed.find(v);
      return it != values.borrowed.end() ? *it->second : values.own[v];
    }
    Ref &operator=(HostTensor t) {
      values.own[v] = std::move(t);
      return *this;
    }

  private:
    Values &values;
    Value v;
  };
  Ref operator[](Value v) { return Ref(*this, v); }
  void borrow(Value v, const HostTensor &t) { borrowed[v] = &t; }
  /// Drops v's tensor (its last reader is done).
  void release(Value v) {
    own.erase(v);
    borrowed.erase(v);
  }

private:
  llvm::DenseMap<Value, HostTensor> own;
  llvm::DenseMap<Value, const HostTensor *> borrowed;
};
} // namespace

/// kb.embedding on rank `rank` (0 in the global view): the rows of the ids
/// the rank's shard owns, zero rows for the others.
static llvm::Expected<HostTensor> embedding(EmbeddingOp op,
                                            const HostTensor &ids,
                                            const HostTensor &table,
                                            int64_t rank) {
  int64_t vocab = op.getVocabularySize(), shard = op.getShardSize();
  int64_t begin = rank * shard, end = std::min(begin + shard, vocab);
  int64_t cols = table.shape[1];
  HostTensor out = runtime::makeTensor(table.dtype, {ids.shape[0], cols});
  if (std::optional<runtime::BadTokenId> bad = runtime::gatherRows(
          ids.data.data(), ids.shape[0], table.data.data(), cols,
          op.holdsShard() ? begin : 0, begin, end, vocab, out.data.data(),
          cols, cols))
    return errorAt(op, "token id " + llvm::Twine(bad->id) + " at position " +
                           llvm::Twine(bad->position) +
                           " is outside the vocabulary of " +
                           llvm::Twine(vocab) + " ids");
  return out;
}

/// kb.lm_head on rank `rank` (0 in the global view): the logits of the ids
/// of the rank's columns against their table rows, zero past the vocabulary.
static HostTensor lmHead(LMHeadOp op, const HostTensor &input,
                         const HostTensor &table, int64_t rank) {
  int64_t s = input.shape[0], h = input.shape[1];
  int64_t cols = op.getType().getDimSize(1);
  int64_t first = op.firstTableRow(rank);
  // Rows [first, first + real) of the table are this rank's real ids.
  int64_t real = std::clamp<int64_t>(table.shape[0] - first, 0, cols);
  // The table rows transposed once, so the product is kb's one gemm.
  std::vector<float> rowsT(static_cast<size_t>(h * real));
  for (int64_t j = 0; j < real; ++j)
    for (int64_t c = 0; c < h; ++c)
      rowsT[c * real + j] = table.data[(first + j) * h + c];
  HostTensor out = runtime::makeTensor(table.dtype, {s, cols});
  if (real > 0)
    runtime::gemm(input.data.data(), h, rowsT.data(), real, out.data.data(),
                  cols, s, real, h, /*accumulate=*/false);
  runtime::roundBufferToDType(out.data.data(), out.data.size(), out.dtype);
  return out;
}

/// Whether every use of `v` is the weight (B) of a gemm, which reads a half
/// tensor as it is; any other use needs its f32 values.
static bool onlyGemmWeight(Value v) {
  return llvm::all_of(v.getUses(), [](OpOperand &use) {
    Operation *user = use.getOwner();
    if (auto column = dyn_cast<ColumnParallelLinearOp>(user))
      return use.get() == column.getWeight() && use.get() != column.getInput();
    if (auto row = dyn_cast<RowParallelLinearOp>(user))
      return use.get() == row.getWeight() && use.get() != row.getInput();
    if (auto mm = dyn_cast<MatmulOp>(user))
      return use.get() == mm.getRhs() && use.get() != mm.getLhs();
    if (auto fused = dyn_cast<MatmulAllReduceOp>(user))
      return use.get() == fused.getRhs() && use.get() != fused.getLhs();
    if (auto fused = dyn_cast<MatmulReduceScatterOp>(user))
      return use.get() == fused.getRhs() && use.get() != fused.getLhs();
    if (auto fused = dyn_cast<AllGatherMatmulOp>(user))
      return use.get() != fused.getInput();
    return false;
  });
}

llvm::Expected<SmallVector<HostTensor>>
kb::exec::runKBProgram(const Program &program,
                       llvm::ArrayRef<HostTensor> inputs) {
  bool local = program.view == View::Local;
  int64_t ranks = local ? program.worldSize : 1;
  // values[r][v]: rank r's tensor for SSA value v.
  std::vector<Values> values(ranks);
  Block &body = program.entry.getBody().front();
  // Each value's last reader: its tensor is dropped once that op is done,
  // so the reference holds what is live, not every intermediate.
  llvm::DenseMap<Value, Operation *> lastUser;
  for (Operation &op : body)
    for (Value v : op.getOperands())
      lastUser[v] = &op;
  for (auto [i, arg] : llvm::enumerate(body.getArguments()))
    for (int64_t r = 0; r < ranks; ++r) {
      if (local)
        values[r][arg] = scatter(inputs[i], program.args[i].splitDim, r,
                                 program.worldSize, program.args[i].replicas);
      else if (inputs[i].isHalf() && !onlyGemmWeight(arg))
        values[r][arg] = runtime::widened(inputs[i]);
      else
        values[r].borrow(arg, inputs[i]);
    }

  for (Operation &op : body) {
    // After the op (every path but an error's `continue`s or returns).
    llvm::scope_exit releaseOperands([&] {
      for (Value v : op.getOperands())
        if (lastUser.lookup(v) == &op)
          for (Values &vals : values)
            vals.release(v);
    });
    if (auto ret = dyn_cast<func::ReturnOp>(op)) {
      SmallVector<HostTensor> results;
      for (auto [i, v] : llvm::enumerate(ret.getOperands())) {
        SmallVector<HostTensor> parts;
        for (int64_t r = 0; r < ranks; ++r)
          parts.push_back(values[r][v]);
        results.push_back(gather(parts, program.results[i].splitDim,
                                 local ? program.results[i].replicas : 1));
      }
      return results;
    }
    if (auto reduce = dyn_cast<AllReduceOp>(op)) {
      HostTensor total = values[0][reduce.getInput()];
      for (int64_t r = 1; r < ranks; ++r) {
        const HostTensor &part = values[r][reduce.getInput()];
        reduceInto(total.data.data(), part.data.data(), total.data.size(),
                   reduce.getReduction());
      }
      finishReduction(total.data.data(), total.data.size(),
                      reduce.getReduction(), ranks);
      runtime::roundBufferToDType(total.data.data(), total.data.size(),
                                  total.dtype);
      for (int64_t r = 0; r < ranks; ++r)
        values[r][reduce.getResult()] = total;
      continue;
    }
    // Every rank's gemm of a fused collective matmul, reduced over the
    // ranks as its collective reduces (the chunks change the order of the
    // device's work, not its sums).
    auto reducedProduct = [&](Value lhs, Value rhs, ReductionKind kind) {
      HostTensor total = matmul(values[0][lhs], values[0][rhs]);
      for (int64_t r = 1; r < ranks; ++r) {
        HostTensor part = matmul(values[r][lhs], values[r][rhs]);
        reduceInto(total.data.data(), part.data.data(), total.data.size(),
                   kind);
      }
      finishReduction(total.data.data(), total.data.size(), kind, ranks);
      runtime::roundBufferToDType(total.data.data(), total.data.size(),
                                  total.dtype);
      return total;
    };
    if (auto fused = dyn_cast<MatmulAllReduceOp>(op)) {
      // Each rank's gemm, then the all-reduce of kb.all_reduce.
      HostTensor total = reducedProduct(fused.getLhs(), fused.getRhs(),
                                        fused.getReduction());
      for (int64_t r = 0; r < ranks; ++r)
        values[r][fused.getResult()] = total;
      continue;
    }
    if (auto fused = dyn_cast<MatmulReduceScatterOp>(op)) {
      // Each rank's gemm, then the reduce-scatter of kb.reduce_scatter.
      HostTensor total = reducedProduct(fused.getLhs(), fused.getRhs(),
                                        fused.getReduction());
      for (int64_t r = 0; r < ranks; ++r)
        values[r][fused.getResult()] =
            scatter(total, fused.getDim(), r, program.worldSize);
      continue;
    }
    if (auto fused = dyn_cast<AllGatherMatmulOp>(op)) {
      // The all-gather of kb.all_gather, then each rank's gemms of
      // kb.matmul: the chunks change the order of the device's work, not
      // its products.
      SmallVector<HostTensor> parts;
      for (int64_t r = 0; r < ranks; ++r)
        parts.push_back(values[r][fused.getInput()]);
      HostTensor whole = gather(parts, fused.getDim());
      for (int64_t r = 0; r < ranks; ++r)
        for (auto [rhs, result] :
             llvm::zip_equal(fused.getRhs(), fused.getResults()))
          values[r][result] = matmul(whole, values[r][rhs]);
      continue;
    }
    // Along a dimension: the identity on the global view's logical tensor;
    // in the local view the ranks' slices, concatenated or reduced.
    if (auto gatherOp = dyn_cast<AllGatherOp>(op)) {
      HostTensor whole = values[0][gatherOp.getInput()];
      if (local) {
        SmallVector<HostTensor> parts;
        for (int64_t r = 0; r < ranks; ++r)
          parts.push_back(values[r][gatherOp.getInput()]);
        whole = gather(parts, gatherOp.getDim());
      }
      for (int64_t r = 0; r < ranks; ++r)
        values[r][gatherOp.getResult()] = whole;
      continue;
    }
    if (auto scatterOp = dyn_cast<ReduceScatterOp>(op)) {
      HostTensor total = values[0][scatterOp.getInput()];
      if (local) {
        for (int64_t r = 1; r < ranks; ++r)
          reduceInto(total.data.data(),
                     static_cast<const HostTensor &>(
                         values[r][scatterOp.getInput()])
                         .data.data(),
                     total.data.size(), scatterOp.getReduction());
        finishReduction(total.data.data(), total.data.size(),
                        scatterOp.getReduction(), ranks);
        runtime::roundBufferToDType(total.data.data(), total.data.size(),
                                    total.dtype);
      }
      for (int64_t r = 0; r < ranks; ++r)
        values[r][scatterOp.getResult()] =
            !local
                ? total
                : scatter(total, scatterOp.getDim(), r, program.worldSize);
      continue;
    }
    for (int64_t r = 0; r < ranks; ++r) {
      auto &vals = values[r];
      if (auto column = dyn_cast<ColumnParallelLinearOp>(op)) {
        HostTensor y =
            matmul(vals[column.getInput()], vals[column.getWeight()]);
        vals[column.getResult()] =
            column.getBias() ? add(y, vals[column.getBias()]) : y;
      } else if (auto row = dyn_cast<RowParallelLinearOp>(op)) {
        HostTensor y = matmul(vals[row.getInput()], vals[row.getWeight()]);
        vals[row.getResult()] = row.getBias() ? add(y, vals[row.getBias()]) : y;
      } else if (auto mm = dyn_cast<MatmulOp>(op)) {
        vals[mm.getResult()] = matmul(vals[mm.getLhs()], vals[mm.getRhs()]);
      } else if (auto norm = dyn_cast<RMSNormOp>(op)) {
        vals[norm.getResult()] =
            rmsNorm(norm, vals[norm.getInput()], vals[norm.getWeight()]);
      } else if (auto norm = dyn_cast<LayerNormOp>(op)) {
        vals[norm.getResult()] =
            layerNorm(norm, vals[norm.getInput()], vals[norm.getWeight()],
                      vals[norm.getBias()]);
      } else if (auto rot = dyn_cast<RoPEOp>(op)) {
        vals[rot.getResult()] = rope(rot, vals[rot.getInput()]);
      } else if (auto attn = dyn_cast<AttentionOp>(op)) {
        vals[attn.getResult()] = attention(
            attn, vals[attn.getQ()], vals[attn.getK()], vals[attn.getV()]);
      } else if (auto embed = dyn_cast<EmbeddingOp>(op)) {
        llvm::Expected<HostTensor> rows =
            embedding(embed, vals[embed.getIds()], vals[embed.getTable()], r);
        if (!rows)
          return rows.takeError();
        vals[embed.getResult()] = std::move(*rows);
      } else if (auto head = dyn_cast<LMHeadOp>(op)) {
        vals[head.getResult()] =
            lmHead(head, vals[head.getInput()], vals[head.getTable()], r);
      } else if (auto append = dyn_cast<KVAppendOp>(op)) {
        vals[append.getResult()] =
            kvAppend(vals[append.getCache()], vals[append.getNewRows()]);
      } else if (auto slice = dyn_cast<tensor::ExtractSliceOp>(op)) {
        if (slice->getNumOperands() != 1 ||
            slice.getSourceType().getRank() !=
                slice.getResultType().getRank() ||
            !llvm::all_of(slice.getStaticStrides(),
                          [](int64_t s) { return s == 1; }))
          return errorAt(&op, "kb-run runs 'tensor.extract_slice' with "
                              "static offsets and sizes, unit strides and "
                              "no rank reduction only");
        vals[slice.getResult()] =
            sliced(vals[slice.getSource()], slice.getStaticOffsets(),
                   slice.getStaticSizes());
      } else if (auto ew = dyn_cast<ElementwiseOpInterface>(op)) {
        SmallVector<const HostTensor *, 2> in = llvm::map_to_vector(
            op.getOperands(), [&](Value v) -> const HostTensor * {
              return &static_cast<const HostTensor &>(vals[v]);
            });
        llvm::Expected<HostTensor> result = elementwise(ew, in);
        if (!result)
          return result.takeError();
        vals[op.getResult(0)] = std::move(*result);
      } else if (isa<TPRankOp>(op)) {
        // The rank is implicit in tp_slice below.
      } else if (auto slice = dyn_cast<TPSliceOp>(op)) {
        // Slice (r / replicas) mod shards of `shards`, of the window at
        // `offset` when there is one.
        int64_t shards = slice.getNumShards(), dim = slice.getDim();
        const HostTensor &input = vals[slice.getInput()];
        HostTensor window;
        if (slice.getOffset()) {
          SmallVector<int64_t> offsets(input.shape.size(), 0);
          SmallVector<int64_t> sizes(input.shape.begin(), input.shape.end());
          offsets[dim] = slice.getWindowOffset();
          sizes[dim] =
              shards * cast<RankedTensorType>(slice.getType()).getDimSize(dim);
          window = extractBox(input, offsets, sizes);
        }
        vals[slice.getResult()] =
            scatter(slice.getOffset() ? window : input, dim,
                    r / slice.getNumReplicas() % shards, shards);
      } else {
        return errorAt(&op, "kb-run cannot execute '" +
                                op.getName().getStringRef() + "' in the " +
                                viewName(program.view));
      }
    }
  }
  return errorAt(program.entry, "the entry function has no return");
}
