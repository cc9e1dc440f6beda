//===- TPLayout.h - how the TP ranks hold a global value --------*- C++ -*-===//
//
// The layout algebra of kb-tp-partition. Every global tensor value is held by
// the W ranks in one of three layouts:
//
//   replicated      every rank holds the whole tensor;
//   split(d)        rank r holds the r-th of W equal slices along dimension d;
//   partial(kind)   every rank holds a tensor of the full shape, and the
//                   global value is their reduction (`kind`) over the ranks:
//                   what a row-parallel gemm leaves before its all-reduce.
//
// Ops state, through TPPartitionOpInterface, which layouts they need for their
// operands and which layouts their results get; the partitioner reshards a
// value from the layout it has to the one an op needs (see Reshard.h).
//
//===----------------------------------------------------------------------===//

#ifndef KB_DIALECT_KB_IR_TPLAYOUT_H
#define KB_DIALECT_KB_IR_TPLAYOUT_H

#include "kb/Dialect/KB/IR/KBAttrs.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

namespace kb {

class TPLayout {
public:
  enum class Kind { Replicated, Split, Partial };

  static TPLayout replicated() { return TPLayout(Kind::Replicated, -1, {}); }
  static TPLayout split(int64_t dim) { return TPLayout(Kind::Split, dim, {}); }
  static TPLayout partial(ReductionKind reduction = ReductionKind::Sum) {
    return TPLayout(Kind::Partial, -1, reduction);
  }

  Kind getKind() const { return kind; }
  bool isReplicated() const { return kind == Kind::Replicated; }
  bool isSplit() const { return kind == Kind::Split; }
  bool isPartial() const { return kind == Kind::Partial; }
  /// Whether this is split along `d`.
  bool isSplitAlong(int64_t d) const { return isSplit() && dim == d; }
  /// The split dimension; only meaningful for split layouts.
  int64_t getDim() const { return dim; }
  /// The pending reduction; only meaningful for partial layouts.
  ReductionKind getReduction() const { return reduction; }

  bool operator==(const TPLayout &other) const {
    return kind == other.kind && dim == other.dim &&
           (kind != Kind::Partial || reduction == other.reduction);
  }
  bool operator!=(const TPLayout &other) const { return !(*this == other); }

  /// "replicated", "split(1)", "partial(sum)": the spelling of diagnostics.
  std::string str() const;

private:
  TPLayout(Kind kind, int64_t dim, ReductionKind reduction)
      : kind(kind), dim(dim), reduction(reduction) {}

  Kind kind;
  int64_t dim;
  ReductionKind reduction;
};

inline llvm::raw_ostream &operator<<(llvm::raw_ostream &os,
                                     const TPLayout &layout) {
  return os << layout.str();
}

/// An op's partition rule for given operand layouts: the layout each operand
/// must be resharded to first, and the layout of each result of the local op.
struct TPRule {
  llvm::SmallVector<TPLayout, 3> operands;
  llvm::SmallVector<TPLayout, 1> results;
};

} // namespace kb

#endif // KB_DIALECT_KB_IR_TPLAYOUT_H
