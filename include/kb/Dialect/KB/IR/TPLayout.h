//===- TPLayout.h - how the TP ranks hold a global value --------*- C++ -*-===//
//
// The layout algebra of kb-tp-partition. Every global tensor value is held by
// the W ranks in one of three layouts:
//
//   replicated      every rank holds the whole tensor;
//   split(d)        rank r holds the r-th of W equal slices along dimension d;
//   split(d, replicas R)
//                   W/R equal slices along d, each held by R consecutive
//                   ranks: rank r holds slice r / R. Megatron's KV heads
//                   when there are fewer than ranks (R = W / num_kv_heads);
//                   split(d) is the case R = 1;
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
  /// Split along `dim` into W / `replicas` slices, slice r / `replicas` on
  /// rank r.
  static TPLayout split(int64_t dim, int64_t replicas = 1) {
    return TPLayout(Kind::Split, dim, {}, replicas);
  }
  static TPLayout partial(ReductionKind reduction = ReductionKind::Sum) {
    return TPLayout(Kind::Partial, -1, reduction);
  }

  Kind getKind() const { return kind; }
  bool isReplicated() const { return kind == Kind::Replicated; }
  bool isSplit() const { return kind == Kind::Split; }
  bool isPartial() const { return kind == Kind::Partial; }
  /// Whether this is split along `d` into W slices, one per rank.
  bool isSplitAlong(int64_t d) const {
    return isSplit() && dim == d && replicas == 1;
  }
  /// Whether this is split along `d`, in any number of slices.
  bool isAnySplitAlong(int64_t d) const { return isSplit() && dim == d; }
  /// Whether several ranks hold each slice (split(d, replicas R), R > 1).
  bool isGrouped() const { return isSplit() && replicas > 1; }
  /// The split dimension; only meaningful for split layouts.
  int64_t getDim() const { return dim; }
  /// How many consecutive ranks hold each slice; 1 unless grouped.
  int64_t getReplicas() const { return replicas; }
  /// Into how many slices W ranks split the value (W for split(d)).
  int64_t getShards(int64_t worldSize) const { return worldSize / replicas; }
  /// The slice rank `rank` holds.
  int64_t shardOf(int64_t rank) const { return rank / replicas; }
  /// The pending reduction; only meaningful for partial layouts.
  ReductionKind getReduction() const { return reduction; }

  bool operator==(const TPLayout &other) const {
    return kind == other.kind && dim == other.dim &&
           replicas == other.replicas &&
           (kind != Kind::Partial || reduction == other.reduction);
  }
  bool operator!=(const TPLayout &other) const { return !(*this == other); }

  /// "replicated", "split(1)", "split(1, replicas 4)", "partial(sum)": the
  /// spelling of diagnostics.
  std::string str() const;

private:
  TPLayout(Kind kind, int64_t dim, ReductionKind reduction,
           int64_t replicas = 1)
      : kind(kind), dim(dim), reduction(reduction), replicas(replicas) {}

  Kind kind;
  int64_t dim;
  ReductionKind reduction;
  int64_t replicas;
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
