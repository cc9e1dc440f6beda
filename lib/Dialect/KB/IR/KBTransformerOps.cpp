//===- KBTransformerOps.cpp - decoder-layer op verifiers ------------------===//
//
// The checks of the norms, rope, attention and kv_append. Each message names
// the operand and the numbers that disagree, so a model author can find the
// wrong head count or hidden size from the diagnostic alone.
//
//===----------------------------------------------------------------------===//

#include "kb/Dialect/KB/IR/KBOps.h"

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/Support/MathExtras.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace kb;

namespace {

RankedTensorType tensorOf(Value v) {
  return cast<RankedTensorType>(v.getType());
}

/// Checks that `v` is statically shaped, of rank `rank` (at least `rank`
/// when `orHigher`), and that its bytes fit in int64, so that the executors
/// can size it without overflow.
LogicalResult verifyShaped(Operation *op, Value v, StringRef name, int64_t rank,
                           bool orHigher = false) {
  RankedTensorType t = tensorOf(v);
  if (orHigher ? t.getRank() < rank : t.getRank() != rank)
    return op->emitOpError()
           << "expects " << name << " of rank " << (orHigher ? "at least " : "")
           << rank << ", got " << t;
  if (!t.hasStaticShape())
    return op->emitOpError()
           << "expects " << name << " to have a static shape, got " << t;
  if (!checkedByteSize(t.getShape(),
                       llvm::divideCeil(t.getElementTypeBitWidth(), 8)))
    return op->emitOpError()
           << "expects " << name << " of at most 2^63 - 1 bytes, got " << t;
  return success();
}

/// Checks that every value in `values` has the element type of the first.
LogicalResult
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

/// Checks that a per-feature vector (`weight`, `bias`) is `[H]` for an input
/// `[..., H]`.
LogicalResult verifyFeatureVector(Operation *op, Value input, Value vector,
                                  StringRef name) {
  if (failed(verifyShaped(op, vector, name, 1)))
    return failure();
  int64_t features = tensorOf(input).getShape().back();
  int64_t size = tensorOf(vector).getDimSize(0);
  if (size != features)
    return op->emitOpError()
           << "expects a " << name << " of " << features
           << " elements (the input's last dimension), got " << size;
  return success();
}

LogicalResult verifyEps(Operation *op, const llvm::APFloat &eps) {
  float value = eps.convertToFloat();
  if (!(value > 0.0f) || !std::isfinite(value))
    return op->emitOpError() << "expects a positive, finite eps, got " << value;
  return success();
}

} // namespace

//===----------------------------------------------------------------------===//
// Norms.
//===----------------------------------------------------------------------===//

LogicalResult RMSNormOp::verify() {
  if (failed(verifyShaped(*this, getInput(), "input", 1, /*orHigher=*/true)) ||
      failed(verifyFeatureVector(*this, getInput(), getWeight(), "weight")) ||
      failed(verifySameElementType(
          *this, {{"input", getInput()}, {"weight", getWeight()}})))
    return failure();
  return verifyEps(*this, getEps());
}

LogicalResult LayerNormOp::verify() {
  if (failed(verifyShaped(*this, getInput(), "input", 1, /*orHigher=*/true)) ||
      failed(verifyFeatureVector(*this, getInput(), getWeight(), "weight")) ||
      failed(verifyFeatureVector(*this, getInput(), getBias(), "bias")) ||
      failed(verifySameElementType(*this, {{"input", getInput()},
                                           {"weight", getWeight()},
                                           {"bias", getBias()}})))
    return failure();
  return verifyEps(*this, getEps());
}

//===----------------------------------------------------------------------===//
// RoPE.
//===----------------------------------------------------------------------===//

LogicalResult RoPEOp::verify() {
  if (failed(verifyShaped(*this, getInput(), "input", 2)))
    return failure();
  int64_t headDim = getHeadDim();
  if (headDim <= 0)
    return emitOpError() << "expects a positive head_dim, got " << headDim;
  if (headDim % 2 != 0)
    return emitOpError() << "expects an even head_dim (rotate_half splits "
                            "each head into two halves), got "
                         << headDim;
  RankedTensorType input = tensorOf(getInput());
  int64_t columns = input.getDimSize(1);
  if (columns % headDim != 0)
    return emitOpError() << "expects the input's " << columns
                         << " columns to be whole heads of head_dim ("
                         << headDim << ")";
  int64_t offset = getPositionOffset();
  if (offset < 0)
    return emitOpError() << "expects a non-negative position offset, got "
                         << offset;
  int64_t rows = input.getDimSize(0);
  if (offset > std::numeric_limits<int64_t>::max() - rows)
    return emitOpError() << "puts its " << rows << " rows past position "
                         << offset << ", beyond int64";
  double theta = getTheta().convertToDouble();
  if (!(theta > 0.0) || !std::isfinite(theta))
    return emitOpError() << "expects a positive, finite theta, got " << theta;
  return success();
}

//===----------------------------------------------------------------------===//
// Attention.
//===----------------------------------------------------------------------===//

LogicalResult AttentionOp::verify() {
  if (failed(verifyShaped(*this, getQ(), "q", 2)) ||
      failed(verifyShaped(*this, getK(), "k", 2)) ||
      failed(verifyShaped(*this, getV(), "v", 2)) ||
      failed(verifyShaped(*this, getResult(), "result", 2)) ||
      failed(verifySameElementType(*this, {{"q", getQ()},
                                           {"k", getK()},
                                           {"v", getV()},
                                           {"result", getResult()}})))
    return failure();
  int64_t heads = getNumHeads(), kvHeads = getNumKvHeads();
  if (heads <= 0 || kvHeads <= 0)
    return emitOpError() << "expects positive head counts, got heads " << heads
                         << " and kv_heads " << kvHeads;
  if (heads % kvHeads != 0)
    return emitOpError() << "expects num_kv_heads (" << kvHeads
                         << ") to divide num_heads (" << heads << ")";
  ArrayRef<int64_t> q = tensorOf(getQ()).getShape(),
                    k = tensorOf(getK()).getShape(),
                    v = tensorOf(getV()).getShape(),
                    result = tensorOf(getResult()).getShape();
  // Empty heads would leave the executors looping over up to 2^63 heads of
  // nothing.
  if (q[1] == 0)
    return emitOpError() << "expects q to have columns for its " << heads
                         << " heads, got none";
  if (q[1] % heads != 0)
    return emitOpError() << "expects q's " << q[1]
                         << " columns to divide into num_heads (" << heads
                         << ") heads";
  int64_t headDim = q[1] / heads;
  // kvHeads <= heads, so this product is at most q's column count.
  int64_t kvColumns = kvHeads * headDim;
  if (k[1] != kvColumns)
    return emitOpError() << "expects k to have num_kv_heads x head_dim = "
                         << kvHeads << " x " << headDim << " = " << kvColumns
                         << " columns, got " << k[1];
  if (v != k)
    return emitOpError() << "expects v of k's shape " << k[0] << "x" << k[1]
                         << ", got " << v[0] << "x" << v[1];
  if (k[0] < q[0])
    return emitOpError() << "expects at least as many keys (" << k[0]
                         << ") as queries (" << q[0]
                         << "): query i sits at position keys - queries + i";
  if (result != q)
    return emitOpError() << "expects a " << q[0] << "x" << q[1]
                         << " result (q's shape), got " << result[0] << "x"
                         << result[1];
  return success();
}

//===----------------------------------------------------------------------===//
// KV cache.
//===----------------------------------------------------------------------===//

LogicalResult KVAppendOp::verify() {
  if (failed(verifyShaped(*this, getCache(), "cache", 2)) ||
      failed(verifyShaped(*this, getNewRows(), "new rows", 2)) ||
      failed(verifyShaped(*this, getResult(), "result", 2)) ||
      failed(verifySameElementType(*this, {{"cache", getCache()},
                                           {"new rows", getNewRows()},
                                           {"result", getResult()}})))
    return failure();
  ArrayRef<int64_t> cache = tensorOf(getCache()).getShape(),
                    added = tensorOf(getNewRows()).getShape(),
                    result = tensorOf(getResult()).getShape();
  if (added[1] != cache[1])
    return emitOpError() << "expects new rows of the cache's " << cache[1]
                         << " columns, got " << added[1];
  // Each row count times the element's bytes (at least 2) fits in int64,
  // so the sum of two row counts does too.
  int64_t rows = cache[0] + added[0];
  if (result[0] != rows || result[1] != cache[1])
    return emitOpError() << "expects a " << rows << "x" << cache[1]
                         << " result (" << cache[0] << " cached rows and "
                         << added[0] << " new), got " << result[0] << "x"
                         << result[1];
  return success();
}
