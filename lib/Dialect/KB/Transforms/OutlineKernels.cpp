//===- OutlineKernels.cpp - one kernel per distinct placed op -------------===//
//
// A model's layers repeat, and so do their placed ops: the same gemm on the
// same shapes and policies, layer after layer. This pass gives each distinct
// op one private function, a kernel, and calls it wherever the op occurs, so
// the lowering emits each op's device work once and the device program grows
// with the number of distinct ops, not with depth
// (docs/design/0005-outlined-kernels.md). It runs on kb ops, before lowering,
// so the lowering itself is one pattern per op and the kernels are ordinary
// functions to it.
//
//===----------------------------------------------------------------------===//

#include "kb/Dialect/KB/IR/KBOps.h"
#include "kb/Dialect/KB/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/StringMap.h"

#include <map>
#include <vector>

namespace kb {
#define GEN_PASS_DEF_KBOUTLINEKERNELSPASS
#include "kb/Dialect/KB/Transforms/Passes.h.inc"
} // namespace kb

using namespace mlir;
using namespace kb;

namespace {

/// What makes two ops' device work identical: the op's name and attributes,
/// its result type, each tensor operand's type and which of the distinct
/// operands it is, and for an all_reduce whether it may reduce in place.
/// Opaque pointers of uniqued MLIR objects and small integers: building and
/// comparing a key costs a few words per operand, which keeps outlining a
/// model of thousands of layers cheap.
using KernelKey = std::vector<const void *>;

const void *smallInteger(uintptr_t value) {
  return reinterpret_cast<const void *>(value);
}

class KernelOutliner {
public:
  KernelOutliner(ModuleOp module, int64_t worldSize)
      : module(module), worldSize(worldSize) {}

  /// Replaces every op of `func` that does device work by a call of its
  /// kernel. Fails, with an error, on a value without a DPPolicy.
  LogicalResult outlineIn(func::FuncOp func);

private:
  /// Whether `op` is device work that a kernel can hold.
  bool isOutlinable(Operation *op) const;
  LogicalResult outline(Operation *op);
  func::FuncOp createKernel(Operation *op, ArrayRef<Value> inputs,
                            bool keepInput, func::FuncOp caller);

  ModuleOp module;
  int64_t worldSize;
  /// A kernel as its calls name it: looked up once per op of the model, so
  /// the callee attribute is built once per kernel.
  struct Kernel {
    FlatSymbolRefAttr callee;
    SmallVector<Type, 1> resultTypes;
  };
  std::map<KernelKey, Kernel> kernels;
  /// The next number to try for a kernel named after each op mnemonic.
  llvm::StringMap<unsigned> nextNumber;
};

} // namespace

bool KernelOutliner::isOutlinable(Operation *op) const {
  // A collective over one rank is the identity: no work to outline.
  if (isa<AllReduceOp, AllGatherOp, ReduceScatterOp>(op))
    return worldSize > 1;
  // The kernel of a slice reads the rank itself, which is only right when
  // the slice is of the rank.
  if (auto slice = dyn_cast<TPSliceOp>(op))
    return slice.getRank().getDefiningOp<TPRankOp>() != nullptr;
  // Attention: local compute, the same in every layer of a model.
  if (isa<AttentionOp>(op))
    return true;
  // Local compute: the gemm and every elementwise op (the ops whose result
  // type follows their first operand's).
  if (isa<MatmulAllReduceOp, MatmulReduceScatterOp, AllGatherMatmulOp>(op))
    return true;
  return isa<MatmulOp>(op) ||
         (isa<KBDialect>(op->getDialect()) &&
          (op->hasTrait<OpTrait::SameOperandsAndResultType>() ||
           op->hasTrait<ResultTypeOfFirstOperand>()) &&
          !isa<RMSNormOp, LayerNormOp, RoPEOp>(op));
}

func::FuncOp KernelOutliner::createKernel(Operation *op, ArrayRef<Value> inputs,
                                          bool keepInput, func::FuncOp caller) {
  MLIRContext *ctx = op->getContext();
  // A name no other symbol has: the op's mnemonic and the next number (past
  // any a user function already took).
  StringRef mnemonic = op->getName().stripDialect();
  unsigned &number = nextNumber[mnemonic];
  std::string name;
  do
    name = (mnemonic + "_" + Twine(number++)).str();
  while (SymbolTable::lookupSymbolIn(module, name));

  SmallVector<Type> argTypes;
  for (Value input : inputs)
    argTypes.push_back(input.getType());
  auto kernel = func::FuncOp::create(
      op->getLoc(), name,
      FunctionType::get(ctx, argTypes, op->getResultTypes()));
  kernel.setPrivate();
  kernel->setAttr(KBDialect::kKernelAttrName, UnitAttr::get(ctx));
  module.getBody()->getOperations().insert(caller->getIterator(), kernel);

  OpBuilder builder = OpBuilder::atBlockBegin(kernel.addEntryBlock());
  IRMapping mapping;
  for (auto [input, arg] : llvm::zip_equal(inputs, kernel.getArguments()))
    mapping.map(input, arg);
  if (auto slice = dyn_cast<TPSliceOp>(op))
    mapping.map(slice.getRank(), TPRankOp::create(builder, op->getLoc(),
                                                  builder.getIndexType()));
  Operation *body = builder.clone(*op, mapping);
  if (keepInput)
    body->setAttr(KBDialect::kKeepInputAttrName, UnitAttr::get(ctx));
  func::ReturnOp::create(builder, op->getLoc(), body->getResults());
  return kernel;
}

LogicalResult KernelOutliner::outline(Operation *op) {
  for (Type type :
       llvm::concat<Type>(op->getOperandTypes(), op->getResultTypes()))
    if (isa<TensorType>(type) && !getDPPolicy(type))
      return op->emitOpError() << "has a value of type " << type
                               << " without a DPPolicy; run kb-place before "
                                  "kb-outline-kernels";

  // The distinct tensor operands, and for each operand which of them it is.
  SmallVector<Value> inputs;
  KernelKey key{op->getName().getAsOpaquePointer(),
                op->getAttrDictionary().getAsOpaquePointer(),
                op->getResult(0).getType().getAsOpaquePointer()};
  for (Value operand : op->getOperands()) {
    if (!isa<TensorType>(operand.getType()))
      continue;
    auto *it = llvm::find(inputs, operand);
    if (it == inputs.end())
      inputs.push_back(operand);
    key.push_back(operand.getType().getAsOpaquePointer());
    key.push_back(smallInteger(it - inputs.begin()));
  }
  // An all_reduce reduces its input in place only when nothing else reads
  // it; inside the kernel the input is an argument with that one use, so the
  // choice is recorded on the kernel's op.
  bool keepInput = isa<AllReduceOp>(op) && !op->getOperand(0).hasOneUse();
  if (isa<AllReduceOp>(op))
    key.push_back(smallInteger(keepInput));

  auto caller = op->getParentOfType<func::FuncOp>();
  auto [found, fresh] = kernels.try_emplace(std::move(key));
  if (fresh) {
    func::FuncOp kernel = createKernel(op, inputs, keepInput, caller);
    found->second = {FlatSymbolRefAttr::get(kernel),
                     llvm::to_vector_of<Type, 1>(op->getResultTypes())};
  }

  OpBuilder builder(op);
  auto call = func::CallOp::create(builder, op->getLoc(), found->second.callee,
                                   found->second.resultTypes, inputs);
  op->replaceAllUsesWith(call.getResults());
  // The rank of a slice now comes from inside the kernel.
  Operation *rank = nullptr;
  if (auto slice = dyn_cast<TPSliceOp>(op))
    rank = slice.getRank().getDefiningOp();
  op->erase();
  if (rank && rank->use_empty())
    rank->erase();
  return success();
}

LogicalResult KernelOutliner::outlineIn(func::FuncOp func) {
  for (Block &block : func.getBody())
    for (Operation &op : llvm::make_early_inc_range(block))
      if (isOutlinable(&op) && failed(outline(&op)))
        return failure();
  return success();
}

namespace {
struct KBOutlineKernelsPass
    : public kb::impl::KBOutlineKernelsPassBase<KBOutlineKernelsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (!module->hasAttr(KBDialect::kSPMDAttrName)) {
      module.emitError() << "kb-outline-kernels outlines the placed local "
                            "view: run kb-tp-partition and kb-place first";
      return signalPassFailure();
    }
    KernelOutliner outliner(module, lookupWorldSize(module).value_or(1));
    // Kernels are inserted before their first caller; the functions to
    // outline in are the module's own, taken before any kernel exists.
    SmallVector<func::FuncOp> functions;
    for (auto func : module.getOps<func::FuncOp>())
      if (!func.isExternal() && !func->hasAttr(KBDialect::kKernelAttrName))
        functions.push_back(func);
    for (func::FuncOp func : functions)
      if (failed(outliner.outlineIn(func)))
        return signalPassFailure();
  }
};
} // namespace
