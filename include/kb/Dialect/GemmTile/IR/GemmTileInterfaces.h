//===- GemmTileInterfaces.h - gemm_tile op interfaces -----------*- C++ -*-===//

#ifndef KB_DIALECT_GEMMTILE_IR_GEMMTILEINTERFACES_H
#define KB_DIALECT_GEMMTILE_IR_GEMMTILEINTERFACES_H

#include "kb/Device/CostModel.h"
#include "kb/Device/ReductionKind.h"

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "llvm/ADT/SmallVector.h"

#include <optional>

namespace kb::gemm_tile {

/// A region of a cube buffer: `sizes` at `offsets`, named as the verifier
/// names the operand ("lhs", "rhs (a bias)", ...).
struct BufferRegion {
  mlir::Value buffer;
  llvm::SmallVector<int64_t, 2> offsets, sizes;
  llvm::StringRef name;
};

/// How kb-run computes a PE op on host data: a gemm of its two read regions
/// into its write region; or a named elementwise kernel of the runtime
/// (kb/Runtime/Kernels.h) applied to one read region (Map) or to two (Zip,
/// where a rank-1 second region is a bias added to every row); a named row
/// kernel (Rows) on whole rows of the first read region, the other read
/// regions rank-1 vectors of one element per column (a weight, a bias); or
/// causal attention of its q, k and v regions
/// (kb::runtime::causalAttentionBlock); or, split over keys, one key range's
/// partial softmax (AttentionPartial, kb::runtime::attentionPartialBlock)
/// and their merge (AttentionCombine, kb::runtime::attentionCombine).
struct HostKernel {
  enum class Kind {
    Gemm,
    Map,
    Zip,
    Rows,
    Attention,
    AttentionPartial,
    AttentionCombine
  };
  Kind kind;
  llvm::StringRef name;    // Map and Zip: the runtime kernel's name
  bool accumulate = false; // Gemm: add to the output's previous contents
  double scale = 1.0;      // Map: the kernel's result times this
  // Rows: the kernel's numbers (a norm's eps; rope's head_dim, position of
  // the first row and theta).
  llvm::SmallVector<double, 3> params = {};
  int64_t heads = 1;       // Attention: query heads over the one KV head
  int64_t position = 0;    // Attention: the first query row's position
  int64_t keyBegin = 0;    // AttentionPartial: the range's first key
  int64_t splits = 1;      // AttentionCombine: the partials it merges
};

/// The cube a buffer lives in, or -1 when its type is not a cube buffer.
int64_t getCube(mlir::Type bufferType);

/// The checks every ring step shares: a cube buffer, a ring of at least two
/// SIPs, a step of it.
mlir::LogicalResult verifyRingStep(mlir::Operation *op);

} // namespace kb::gemm_tile

#include "kb/Dialect/GemmTile/IR/GemmTileInterfaces.h.inc"

#endif // KB_DIALECT_GEMMTILE_IR_GEMMTILEINTERFACES_H
