//===- Program.h - what kb-run executes -------------------------*- C++ -*-===//
//
// A parsed module, its entry function, which of kb's three views it is in,
// and the global tensors it takes and returns.
//
//===----------------------------------------------------------------------===//

#ifndef KB_EXECUTOR_PROGRAM_H
#define KB_EXECUTOR_PROGRAM_H

#include "kb/Runtime/HostTensor.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/Support/Error.h"

namespace kb::exec {

enum class View {
  Global,  // kb ops on logical shapes, no kb.spmd
  Local,   // kb.spmd with tensors: one rank-generic program
  Lowered, // kb.spmd with gemm_tile buffers
};

llvm::StringRef viewName(View view);

/// A global tensor the entry takes or returns, and how the ranks split it.
struct TensorSpec {
  runtime::DType dtype;
  llvm::SmallVector<int64_t, 4> shape; // global shape
  int64_t splitDim = -1;               // -1: every rank holds all of it
  /// The in_features of the linear layer whose weight or bias this is, else
  /// 0: kb-run's random inputs scale these by 1/sqrt(fanIn), as the Python
  /// front end and PyTorch initialise layers, so that activations keep their
  /// magnitude through deep stacks instead of overflowing f16.
  int64_t fanIn = 0;
  /// For an integer tensor (token ids): the vocabulary size of the embedding
  /// that reads it, so that kb-run's random ids are valid, drawn in
  /// [0, idBound); 0 when no embedding reads it (then [0, kDefaultIdBound)).
  int64_t idBound = 0;
  /// How many consecutive ranks hold each slice of a split tensor (KV heads
  /// replicated over groups of ranks): W / replicas slices, rank r holding
  /// slice r / replicas; gathered from one rank per group.
  int64_t replicas = 1;
};

/// The range of kb-run's random integers for an argument no embedding reads.
constexpr int64_t kDefaultIdBound = 1024;

struct Program {
  mlir::ModuleOp module;
  // MLIR op handles are cheap views; accessing them is not const.
  mutable mlir::func::FuncOp entry;
  View view;
  int64_t worldSize;
  llvm::SmallVector<TensorSpec> args, results;
};

/// Finds the entry (`entryName`, or the only public function with a body)
/// and works out its view and interface; errors name what is wrong. A
/// lowered entry's kernel calls are expanded in place (inlineKernelCalls).
llvm::Expected<Program> analyzeProgram(mlir::ModuleOp module,
                                       llvm::StringRef entryName);

/// The host memory (bytes) running `program` takes, before any tensor is
/// made: the global inputs (an f16 input held 16-bit, as kb-run reads it;
/// any other as f32) and results, every rank's local copies, and for a
/// lowered program every rank's cube allocations live at once at their
/// peak, as f32, and its arguments as the executor holds them (a piece only
/// gemms read: nothing; a piece read as data: one copy for every rank and
/// cube showing the same rows; an f16 input read as a gemm's A: one widened
/// copy; any other: a copy per rank); with `withReference`, the unsharded
/// run's too.
double hostBytesNeeded(const Program &program, bool withReference);
/// The most elements of `entry`'s cube allocations one rank holds at once:
/// each from the op that first uses it to the first wait after its last use,
/// as the executor makes and frees them (an unused one where it is made).
double peakLiveAllocationElements(mlir::func::FuncOp entry);

/// Where `op` is in its source, as `file:line:col` (else its location).
std::string locationOf(mlir::Operation *op);
/// An error whose message starts with where `op` is in its source.
llvm::Error errorAt(mlir::Operation *op, const llvm::Twine &message);

/// Replaces every call in the lowered entry with the called kernel's body,
/// recursively, so the device program is one straight line of operations.
llvm::Error inlineKernelCalls(mlir::func::FuncOp entry);

/// Rank `rank`'s local part of a global tensor: slice rank / `replicas` of
/// worldSize / `replicas` along `splitDim`.
runtime::HostTensor scatter(const runtime::HostTensor &global, int64_t splitDim,
                            int64_t rank, int64_t worldSize,
                            int64_t replicas = 1);
/// The global tensor from every rank's local part; with `replicas`, from
/// the first rank of each group of that many (the others hold copies).
runtime::HostTensor gather(llvm::ArrayRef<runtime::HostTensor> locals,
                           int64_t splitDim, int64_t replicas = 1);
/// The box of `t` at `offsets` with `sizes`.
runtime::HostTensor extractBox(const runtime::HostTensor &t,
                               llvm::ArrayRef<int64_t> offsets,
                               llvm::ArrayRef<int64_t> sizes);
/// Writes `box` into `t` at `offsets`.
void insertBox(runtime::HostTensor &t, const runtime::HostTensor &box,
               llvm::ArrayRef<int64_t> offsets);
/// Calls `fn(offset, denseOffset, count)` for each contiguous run of the
/// box at `offsets`/`sizes` of a row-major tensor of `shape`: the run's first
/// element in the tensor and in the box laid out densely. Nothing for an
/// empty box.
void forEachBoxRow(llvm::ArrayRef<int64_t> shape,
                   llvm::ArrayRef<int64_t> offsets,
                   llvm::ArrayRef<int64_t> sizes,
                   llvm::function_ref<void(int64_t, int64_t, int64_t)> fn);

} // namespace kb::exec

#endif // KB_EXECUTOR_PROGRAM_H
