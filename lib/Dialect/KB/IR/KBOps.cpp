//===- KBOps.cpp - kb operations ------------------------------------------===//

#include "kb/Dialect/KB/IR/KBOps.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/Support/MathExtras.h"

#include <cmath>

using namespace mlir;
using namespace kb;

//===----------------------------------------------------------------------===//
// Helpers shared by the verifiers.
//===----------------------------------------------------------------------===//

std::optional<int64_t> kb::lookupWorldSize(Operation *op) {
  for (Operation *it = op; it; it = it->getParentOp()) {
    if (auto ws = it->getAttrOfType<IntegerAttr>(KBDialect::kWorldSizeAttrName))
      return ws.getInt();
  }
  return std::nullopt;
}

bool kb::isInSPMDModule(Operation *op) {
  for (Operation *it = op; it; it = it->getParentOp()) {
    if (it->hasAttr(KBDialect::kSPMDAttrName))
      return true;
  }
  return false;
}

DPPolicyAttr kb::getDPPolicy(Type type) {
  if (auto tensor = dyn_cast<RankedTensorType>(type))
    return dyn_cast_or_null<DPPolicyAttr>(tensor.getEncoding());
  return {};
}

RankedTensorType kb::withDPPolicy(RankedTensorType type, DPPolicyAttr policy) {
  return RankedTensorType::get(type.getShape(), type.getElementType(), policy);
}

/// The world size of the enclosing module; emits an error naming `op` when
/// there is none (the divisibility checks cannot be made without it).
static FailureOr<int64_t> requireWorldSize(Operation *op) {
  if (std::optional<int64_t> ws = lookupWorldSize(op))
    return *ws;
  return op->emitOpError() << "needs the TP world size: the enclosing module "
                              "has no '"
                           << KBDialect::kWorldSizeAttrName << "' attribute";
}

static RankedTensorType tensorOf(Value v) {
  return cast<RankedTensorType>(v.getType());
}

/// Checks that a statically shaped `v` has a byte size that fits in int64
/// (MLIR accepts any dimension up to 2^63 - 1): the passes and kb-run then
/// count the bytes of it, and of every piece of it, without overflow.
static LogicalResult verifyByteSize(Operation *op, Value v, StringRef name) {
  RankedTensorType t = tensorOf(v);
  if (!t.hasStaticShape())
    return success();
  if (!checkedByteSize(t.getShape(),
                       llvm::divideCeil(t.getElementTypeBitWidth(), 8)))
    return op->emitOpError()
           << "expects " << name << " of at most 2^63 - 1 bytes, got " << t;
  return success();
}

/// Checks that `v` is a static tensor of rank `rank` whose bytes fit in int64.
static LogicalResult verifyStaticRank(Operation *op, Value v, StringRef name,
                                      int64_t rank) {
  RankedTensorType t = tensorOf(v);
  if (t.getRank() != rank)
    return op->emitOpError()
           << "expects " << name << " of rank " << rank << ", got " << t;
  if (!t.hasStaticShape())
    return op->emitOpError()
           << "expects " << name << " to have a static shape, got " << t;
  return verifyByteSize(op, v, name);
}

/// Checks that every value in `values` has the element type of the first.
static LogicalResult
verifySameElementType(Operation *op,
                      ArrayRef<std::pair<StringRef, Value>> values) {
  Type expected = tensorOf(values.front().second).getElementType();
  for (auto [name, v] : values.drop_front()) {
    Type actual = tensorOf(v).getElementType();
    if (actual != expected)
      return op->emitOpError()
             << "expects one element type, but " << values.front().first
             << " has " << expected << " and " << name << " has " << actual;
  }
  return success();
}

/// Verifies `result = lhs · rhs` shapes: lhs M×K, rhs K×N, result M×N.
static LogicalResult verifyGemmShapes(Operation *op, Value lhs,
                                      StringRef lhsName, Value rhs,
                                      StringRef rhsName, Value result) {
  if (failed(verifyStaticRank(op, lhs, lhsName, 2)) ||
      failed(verifyStaticRank(op, rhs, rhsName, 2)) ||
      failed(verifyStaticRank(op, result, "result", 2)))
    return failure();
  ArrayRef<int64_t> a = tensorOf(lhs).getShape(), b = tensorOf(rhs).getShape(),
                    c = tensorOf(result).getShape();
  if (a[1] != b[0])
    return op->emitOpError()
           << "contracts " << lhsName << " dimension 1 (size " << a[1]
           << ") with " << rhsName << " dimension 0 (size " << b[0]
           << "); they must be equal";
  if (c[0] != a[0] || c[1] != b[1])
    return op->emitOpError() << "expects a " << a[0] << "x" << b[1]
                             << " result, got " << c[0] << "x" << c[1];
  return success();
}

//===----------------------------------------------------------------------===//
// Parallel linear layers.
//===----------------------------------------------------------------------===//

/// The checks both parallel linear layers share. `splitName` is the feature
/// axis that the TP ranks split ("out_features" or "in_features").
template <typename OpTy>
static LogicalResult verifyParallelLinear(OpTy op, StringRef splitName,
                                          int64_t splitSize) {
  if (isInSPMDModule(op))
    return op.emitOpError()
           << "is a global-view op, but the module is already partitioned ('"
           << KBDialect::kSPMDAttrName << "')";
  if (failed(verifyGemmShapes(op, op.getInput(), "input", op.getWeight(),
                              "weight", op.getResult())))
    return failure();
  SmallVector<std::pair<StringRef, Value>> typed = {{"input", op.getInput()},
                                                    {"weight", op.getWeight()},
                                                    {"result", op.getResult()}};
  if (Value bias = op.getBias()) {
    if (failed(verifyStaticRank(op, bias, "bias", 1)))
      return failure();
    int64_t outFeatures = op.getOutFeatures();
    if (tensorOf(bias).getDimSize(0) != outFeatures)
      return op.emitOpError()
             << "expects a bias of out_features (" << outFeatures
             << ") elements, got " << tensorOf(bias).getDimSize(0);
    typed.push_back({"bias", bias});
  }
  if (failed(verifySameElementType(op, typed)))
    return failure();
  FailureOr<int64_t> ws = requireWorldSize(op);
  if (failed(ws))
    return failure();
  if (splitSize % *ws != 0)
    return op.emitOpError()
           << splitName << " (" << splitSize
           << ") must be divisible by TP world size (" << *ws << ")";
  return success();
}

LogicalResult ColumnParallelLinearOp::verify() {
  return verifyParallelLinear(*this, "out_features", getOutFeatures());
}

LogicalResult RowParallelLinearOp::verify() {
  return verifyParallelLinear(*this, "in_features", getInFeatures());
}

//===----------------------------------------------------------------------===//
// Local compute.
//===----------------------------------------------------------------------===//

LogicalResult MatmulOp::verify() {
  if (failed(verifyGemmShapes(*this, getLhs(), "lhs", getRhs(), "rhs",
                              getResult())))
    return failure();
  return verifySameElementType(
      *this, {{"lhs", getLhs()}, {"rhs", getRhs()}, {"result", getResult()}});
}

/// The checks of kb.add and kb.mul: one element type, and rhs of lhs's shape
/// or a rank-1 bias of lhs's last dimension.
template <typename OpTy> static LogicalResult verifyBinaryElementwise(OpTy op) {
  RankedTensorType lhs = tensorOf(op.getLhs()), rhs = tensorOf(op.getRhs());
  if (failed(verifySameElementType(
          op, {{"lhs", op.getLhs()}, {"rhs", op.getRhs()}})) ||
      failed(verifyByteSize(op, op.getLhs(), "lhs")) ||
      failed(verifyByteSize(op, op.getRhs(), "rhs")))
    return failure();
  if (lhs.getShape() == rhs.getShape())
    return success();
  if (rhs.getRank() == 1 && lhs.getRank() >= 1 &&
      rhs.getDimSize(0) == lhs.getShape().back())
    return success();
  return op.emitOpError()
         << "expects rhs to have lhs's shape or to be a rank-1 "
            "bias of lhs's last dimension ("
         << (lhs.getRank() ? lhs.getShape().back() : 0) << "), got " << lhs
         << " and " << rhs;
}

LogicalResult AddOp::verify() { return verifyBinaryElementwise(*this); }

LogicalResult MulOp::verify() { return verifyBinaryElementwise(*this); }

LogicalResult ScaleOp::verify() {
  double factor = getFactor().convertToDouble();
  if (!std::isfinite(factor))
    return emitOpError() << "expects a finite factor, got " << factor;
  return verifyByteSize(*this, getInput(), "input");
}

//===----------------------------------------------------------------------===//
// Local view.
//===----------------------------------------------------------------------===//

/// Local-view ops only make sense in a partitioned (SPMD) module.
static LogicalResult verifyLocalView(Operation *op) {
  if (!isInSPMDModule(op))
    return op->emitOpError()
           << "is a local-view (SPMD) op: the enclosing module must carry '"
           << KBDialect::kSPMDAttrName << "'";
  return success();
}

LogicalResult TPRankOp::verify() { return verifyLocalView(*this); }

OpFoldResult TPRankOp::fold(FoldAdaptor) {
  std::optional<int64_t> ws = lookupWorldSize(*this);
  if (ws && *ws == 1)
    return IntegerAttr::get(IndexType::get(getContext()), 0);
  return {};
}

int64_t TPSliceOp::getNumShards() {
  if (std::optional<uint64_t> shards = getShards())
    return *shards;
  std::optional<int64_t> ws = lookupWorldSize(*this);
  return ws ? *ws / getNumReplicas() : 0;
}

LogicalResult TPSliceOp::verify() {
  if (failed(verifyLocalView(*this)))
    return failure();
  RankedTensorType in = tensorOf(getInput()), out = tensorOf(getResult());
  int64_t dim = getDim();
  if (dim >= in.getRank())
    return emitOpError() << "slices dimension " << dim << " of a rank-"
                         << in.getRank() << " tensor";
  if (!in.hasStaticShape())
    return emitOpError() << "expects a static input shape, got " << in;
  // The result must be a slice of the input, so its bytes fit as well.
  if (failed(verifyByteSize(*this, getInput(), "input")) ||
      failed(verifySameElementType(
          *this, {{"input", getInput()}, {"result", getResult()}})))
    return failure();
  FailureOr<int64_t> ws = requireWorldSize(*this);
  if (failed(ws))
    return failure();
  // Slice (rank / replicas) mod shards: every slice is taken by the same
  // number of ranks only when replicas divides W and shards W / replicas.
  int64_t replicas = getNumReplicas();
  if (*ws % replicas != 0)
    return emitOpError() << "gives each slice to " << replicas
                         << " ranks (replicas), which must divide TP world "
                            "size ("
                         << *ws << ")";
  int64_t shards = getNumShards();
  if ((*ws / replicas) % shards != 0)
    return emitOpError() << "cuts " << shards
                         << " slices (shards), which must divide the "
                         << *ws / replicas << " groups of " << replicas
                         << " ranks in TP world size (" << *ws << ")";
  if (std::optional<uint64_t> offset = getOffset()) {
    // A window of the dimension: the result is one of `shards` slices of
    // it, the other dimensions whole.
    SmallVector<int64_t> expected(in.getShape());
    expected[dim] = out.getRank() == in.getRank() ? out.getDimSize(dim) : 0;
    if (out.getShape() != ArrayRef<int64_t>(expected))
      return emitOpError() << "expects a result of the input's shape but "
                              "along dimension "
                           << dim << ", got " << out << " from " << in;
    // The window, shards × the slice, must end within the dimension
    // (compared without the product, which absurd sizes overflow).
    int64_t size = in.getDimSize(dim), slice = out.getDimSize(dim);
    int64_t start = static_cast<int64_t>(*offset);
    if (start > size || slice > (size - start) / shards)
      return emitOpError() << "cuts " << shards << " slices of " << slice
                           << " from offset " << start << " of dimension "
                           << dim << " (size " << size
                           << "), which runs past its end";
    return success();
  }
  if (in.getDimSize(dim) % shards != 0) {
    if (!getReplicas() && !getShards())
      return emitOpError() << "slices dimension " << dim << " (size "
                           << in.getDimSize(dim)
                           << ") which must be divisible by TP world size ("
                           << *ws << ")";
    return emitOpError() << "slices dimension " << dim << " (size "
                         << in.getDimSize(dim) << ") into " << shards
                         << " slices, which do not divide it";
  }
  SmallVector<int64_t> expected(in.getShape());
  expected[dim] /= shards;
  if (out.getShape() != ArrayRef<int64_t>(expected))
    return emitOpError() << "expects a result of shape "
                         << RankedTensorType::get(expected, in.getElementType())
                         << " (1/" << shards << " of dimension " << dim
                         << "), got " << out;
  return success();
}

OpFoldResult TPSliceOp::fold(FoldAdaptor) {
  std::optional<int64_t> ws = lookupWorldSize(*this);
  if (getInput().getType() == getResult().getType() &&
      ((ws && *ws == 1) || getNumShards() == 1))
    return getInput();
  return {};
}

void TPSliceOp::widenToReach(MutableArrayRef<int64_t> offsets,
                             MutableArrayRef<int64_t> sizes) {
  int64_t dim = getDim();
  offsets[dim] += getWindowOffset();
  sizes[dim] += (getNumShards() - 1) * tensorOf(getResult()).getDimSize(dim);
}

namespace {
/// A rank's slice of a static, unit-stride `tensor.extract_slice` that cuts
/// only the sliced dimension is the rank's slice of a window of the
/// extract_slice's source: the window moves into `offset`, and the rank's
/// slice is copied from the source at once (a fused weight's q, k and v
/// were each copied whole, then sliced per rank again).
struct SliceOfExtractSlice : public OpRewritePattern<TPSliceOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(TPSliceOp op,
                                PatternRewriter &rewriter) const override {
    auto extract = op.getInput().getDefiningOp<tensor::ExtractSliceOp>();
    if (!extract || !extract.hasUnitStride() ||
        !extract.getSourceType().hasStaticShape() ||
        extract.getSourceType().getRank() != extract.getType().getRank() ||
        ShapedType::isDynamicShape(extract.getStaticOffsets()) ||
        ShapedType::isDynamicShape(extract.getStaticSizes()))
      return rewriter.notifyMatchFailure(op, "not a static extract_slice");
    // Placed, the window is read where the source's pieces are: only when
    // they are placed as the extract_slice's (before kb-place, neither is).
    if (extract.getSourceType().getEncoding() !=
        extract.getType().getEncoding())
      return rewriter.notifyMatchFailure(
          op, "the extract_slice's source is placed otherwise");
    int64_t dim = op.getDim();
    ArrayRef<int64_t> offsets = extract.getStaticOffsets(),
                      sizes = extract.getStaticSizes(),
                      whole = extract.getSourceType().getShape();
    for (int64_t d = 0, e = whole.size(); d < e; ++d)
      if (d != dim && (offsets[d] != 0 || sizes[d] != whole[d]))
        return rewriter.notifyMatchFailure(
            op, "the extract_slice cuts a dimension the rank does not slice");
    int64_t offset = offsets[dim] + op.getWindowOffset();
    rewriter.modifyOpInPlace(op, [&] {
      op.getInputMutable().assign(extract.getSource());
      op.setOffsetAttr(rewriter.getI64IntegerAttr(offset));
    });
    return success();
  }
};
} // namespace

void TPSliceOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                            MLIRContext *context) {
  results.add<SliceOfExtractSlice>(context);
}

LogicalResult AllReduceOp::verify() {
  if (failed(verifyLocalView(*this)))
    return failure();
  return verifyByteSize(*this, getInput(), "input");
}

LogicalResult MatmulAllReduceOp::verify() {
  if (failed(verifyLocalView(*this)) ||
      failed(verifyGemmShapes(*this, getLhs(), "lhs", getRhs(), "rhs",
                              getResult())) ||
      failed(verifySameElementType(
          *this,
          {{"lhs", getLhs()}, {"rhs", getRhs()}, {"result", getResult()}})))
    return failure();
  int64_t rows = tensorOf(getLhs()).getDimSize(0), chunks = getChunks();
  std::optional<ArrayRef<int64_t>> bands = getBands();
  if (!bands) {
    if (chunks < 1 || rows % chunks != 0)
      return emitOpError() << "cuts " << rows << " rows into " << chunks
                           << " chunks; the chunk count must be positive and "
                              "divide the rows";
    return success();
  }
  // Uneven bands: each is a band of whole rows the lowering computes and
  // rings on its own, so all of them must be there, none empty, and
  // together exactly the rows.
  if (static_cast<int64_t>(bands->size()) != chunks)
    return emitOpError() << "has " << bands->size() << " band sizes for "
                         << chunks << " chunks; give one size per chunk";
  int64_t sum = 0;
  for (auto [i, band] : llvm::enumerate(*bands)) {
    if (band < 1)
      return emitOpError() << "has band #" << i << " of " << band
                           << " rows; every band needs at least one row";
    // Compared before adding, so that no sum of sizes overflows.
    if (band > rows - sum)
      return emitOpError() << "has bands of more than its " << rows
                           << " rows; the band sizes must sum to the rows";
    sum += band;
  }
  if (sum != rows)
    return emitOpError() << "has bands of " << sum << " rows in all for "
                         << rows
                         << " rows; the band sizes must sum to the "
                            "rows";
  return success();
}

SmallVector<int64_t> MatmulAllReduceOp::getBandRows() {
  if (std::optional<ArrayRef<int64_t>> bands = getBands())
    return SmallVector<int64_t>(*bands);
  int64_t rows = tensorOf(getLhs()).getDimSize(0), chunks = getChunks();
  return SmallVector<int64_t>(chunks, rows / chunks);
}

LogicalResult MatmulReduceScatterOp::verify() {
  if (failed(verifyLocalView(*this)) ||
      failed(verifyStaticRank(*this, getLhs(), "lhs", 2)) ||
      failed(verifyStaticRank(*this, getRhs(), "rhs", 2)) ||
      failed(verifyStaticRank(*this, getResult(), "result", 2)) ||
      failed(verifySameElementType(
          *this,
          {{"lhs", getLhs()}, {"rhs", getRhs()}, {"result", getResult()}})))
    return failure();
  // Only the tokens: a chunk is then W runs of whole rows, one per rank's
  // slice, that a ring along 0 scatters back to their ranks.
  if (getDim() != 0)
    return emitOpError() << "reduce-scatters along dimension " << getDim()
                         << "; only along 0 (the rows, as sequence "
                            "parallelism splits the tokens) is supported";
  FailureOr<int64_t> ws = requireWorldSize(*this);
  if (failed(ws))
    return failure();
  ArrayRef<int64_t> a = tensorOf(getLhs()).getShape(),
                    b = tensorOf(getRhs()).getShape(),
                    c = tensorOf(getResult()).getShape();
  if (a[1] != b[0])
    return emitOpError() << "contracts lhs dimension 1 (size " << a[1]
                         << ") with rhs dimension 0 (size " << b[0]
                         << "); they must be equal";
  int64_t rows = a[0], chunks = getChunks();
  if (chunks < 1 || rows % (*ws * chunks) != 0)
    return emitOpError() << "cuts each of the " << *ws << " ranks' slices of "
                         << rows << " rows into " << chunks
                         << " chunks; the chunk count must be positive and "
                            "TP world size times it must divide the rows";
  if (c[0] != rows / *ws || c[1] != b[1])
    return emitOpError() << "expects a " << rows / *ws << "x" << b[1]
                         << " result (1/" << *ws << " of the " << rows
                         << " rows), got " << c[0] << "x" << c[1];
  return success();
}

LogicalResult AllGatherMatmulOp::verify() {
  if (failed(verifyLocalView(*this)) ||
      failed(verifyStaticRank(*this, getInput(), "input", 2)))
    return failure();
  if (getRhs().empty() || getRhs().size() != getResults().size())
    return emitOpError() << "multiplies the gathered rows by "
                         << getRhs().size() << " weights into "
                         << getResults().size()
                         << " results; it needs one result per weight, and "
                            "at least one";
  // Only the tokens: a chunk is then W runs of whole rows, one per rank's
  // slice, that a ring along 0 gathers.
  if (getDim() != 0)
    return emitOpError() << "gathers along dimension " << getDim()
                         << "; only along 0 (the rows, as sequence "
                            "parallelism splits the tokens) is supported";
  FailureOr<int64_t> ws = requireWorldSize(*this);
  if (failed(ws))
    return failure();
  ArrayRef<int64_t> a = tensorOf(getInput()).getShape();
  int64_t rows = a[0], chunks = getChunks();
  if (chunks < 1 || rows % chunks != 0)
    return emitOpError() << "cuts each rank's " << rows << " rows into "
                         << chunks
                         << " chunks; the chunk count must be positive and "
                            "divide them";
  for (auto [j, rhs, result] : llvm::enumerate(getRhs(), getResults())) {
    std::string rhsName = "rhs #" + std::to_string(j);
    std::string resultName = "result #" + std::to_string(j);
    if (failed(verifyStaticRank(*this, rhs, rhsName, 2)) ||
        failed(verifyStaticRank(*this, result, resultName, 2)) ||
        failed(verifySameElementType(*this, {{"input", getInput()},
                                             {rhsName, rhs},
                                             {resultName, result}})))
      return failure();
    ArrayRef<int64_t> b = tensorOf(rhs).getShape(),
                      c = tensorOf(result).getShape();
    if (a[1] != b[0])
      return emitOpError() << "contracts input dimension 1 (size " << a[1]
                           << ") with " << rhsName << " dimension 0 (size "
                           << b[0] << "); they must be equal";
    if (c[0] != rows * *ws || c[1] != b[1])
      return emitOpError() << "expects " << resultName << " of "
                           << rows * *ws << "x" << b[1] << " (the " << *ws
                           << " ranks' " << rows << " rows), got " << c[0]
                           << "x" << c[1];
  }
  return success();
}

OpFoldResult AllReduceOp::fold(FoldAdaptor) {
  // Over a single rank every reduction (sum, max, min, avg) is the identity.
  std::optional<int64_t> ws = lookupWorldSize(*this);
  if (ws && *ws == 1)
    return getInput();
  return {};
}

//===----------------------------------------------------------------------===//
// all_gather and reduce_scatter.
//===----------------------------------------------------------------------===//

/// The checks both collectives along a dimension share. `whole` is the
/// tensor whose dimension `dim` the W ranks split (an all_gather's result, a
/// reduce_scatter's input), `piece` the one that holds a rank's slice; in the
/// global view both are the logical tensor.
static LogicalResult verifyAlongDim(Operation *op, int64_t dim, Value whole,
                                    StringRef wholeName, Value piece,
                                    StringRef pieceName) {
  RankedTensorType w = tensorOf(whole), p = tensorOf(piece);
  if (!w.hasStaticShape() || !p.hasStaticShape())
    return op->emitOpError() << "expects static shapes, got " << wholeName
                             << " " << w << " and " << pieceName << " " << p;
  if (failed(verifySameElementType(
          op, {{wholeName, whole}, {pieceName, piece}})) ||
      failed(verifyByteSize(op, whole, wholeName)))
    return failure();
  if (dim >= w.getRank())
    return op->emitOpError() << "works along dimension " << dim
                             << " of a rank-" << w.getRank() << " tensor";
  FailureOr<int64_t> ws = requireWorldSize(op);
  if (failed(ws))
    return failure();
  int64_t size = w.getDimSize(dim);
  if (size % *ws != 0)
    return op->emitOpError()
           << "splits dimension " << dim << " (size " << size
           << ") over the ranks; it must be divisible by TP world size ("
           << *ws << ")";
  SmallVector<int64_t> expected(w.getShape());
  if (isInSPMDModule(op))
    expected[dim] /= *ws;
  if (p.getShape() != ArrayRef<int64_t>(expected))
    return op->emitOpError()
           << "expects " << pieceName << " of shape "
           << RankedTensorType::get(expected, w.getElementType()) << " ("
           << (isInSPMDModule(op) ? "1/" + std::to_string(*ws) + " of "
                                  : std::string("the same as "))
           << wholeName << " " << w << " along dimension " << dim << "), got "
           << p;
  return success();
}

LogicalResult AllGatherOp::verify() {
  return verifyAlongDim(*this, getDim(), getResult(), "result", getInput(),
                        "input");
}

LogicalResult ReduceScatterOp::verify() {
  return verifyAlongDim(*this, getDim(), getInput(), "input", getResult(),
                        "result");
}

OpFoldResult AllGatherOp::fold(FoldAdaptor) {
  std::optional<int64_t> ws = lookupWorldSize(*this);
  if (ws && *ws == 1 && getInput().getType() == getType())
    return getInput();
  return {};
}

OpFoldResult ReduceScatterOp::fold(FoldAdaptor) {
  // Over a single rank every reduction is the identity, and the slice whole.
  std::optional<int64_t> ws = lookupWorldSize(*this);
  if (ws && *ws == 1 && getInput().getType() == getType())
    return getInput();
  return {};
}

#include "kb/Dialect/KB/IR/ElementwiseOpInterface.cpp.inc"

LogicalResult kb::verifyResultShapeOfFirstOperand(Operation *op) {
  auto operand = dyn_cast<RankedTensorType>(op->getOperand(0).getType());
  auto result = dyn_cast<RankedTensorType>(op->getResult(0).getType());
  if (operand && result && operand.getShape() == result.getShape() &&
      operand.getElementType() == result.getElementType())
    return success();
  return op->emitOpError()
         << "expects a result of its first operand's shape and element type ("
         << op->getOperand(0).getType() << "), got "
         << op->getResult(0).getType();
}

/// The result type of an op whose result is placed like its first operand
/// unless placement moved it: `-> type` when it differs, else nothing.
static ParseResult parsePlacedLike(OpAsmParser &parser, Type operand,
                                   Type &result) {
  result = operand;
  if (failed(parser.parseOptionalArrow()))
    return success();
  return parser.parseType(result);
}

static void printPlacedLike(OpAsmPrinter &printer, Operation *, Type operand,
                            Type result) {
  if (result != operand)
    printer << " -> " << result;
}

#define GET_OP_CLASSES
#include "kb/Dialect/KB/IR/KBOps.cpp.inc"
