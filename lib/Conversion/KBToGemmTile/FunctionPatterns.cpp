//===- FunctionPatterns.cpp - signatures, calls and returns, 1:N ----------===//
//
// Functions come in two kinds. An entry point's lowered signature is the
// program's interface to its host (docs/design/0003-lowered-program-
// interface.md): every cube piece of each argument, one buffer per distinct
// region of each result, `gemm_tile.piece` on each, and the local view it
// came from. A kernel (`kb.kernel`, made by kb-outline-kernels) is called
// only from lowered code, so its arguments and results are simply every
// piece, as the type converter gives them, and its calls convert 1:N.
//
//===----------------------------------------------------------------------===//

#include "CubeBuffers.h"
#include "Patterns.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"

using namespace mlir;
using namespace kb;
using namespace kb::detail;
namespace gt = kb::gemm_tile;

namespace {

bool isKernel(func::FuncOp func) {
  return func->hasAttr(KBDialect::kKernelAttrName);
}

/// The function `call` calls in its module. The module of a kb program holds
/// a handful of functions, and a direct scan by name is several times cheaper
/// than the generic symbol lookup, which a model of thousands of layers does
/// once per call.
func::FuncOp calleeOf(func::CallOp call) {
  auto module = call->getParentOfType<ModuleOp>();
  if (!module)
    return nullptr;
  StringAttr name = call.getCalleeAttr().getAttr();
  for (auto func : module.getOps<func::FuncOp>())
    if (func.getSymNameAttr() == name)
      return func;
  return nullptr;
}

/// The integer attribute `name` of each argument or result, `absent` where
/// there is none (`kb.split_dim`: -1, `kb.split_replicas`: 1).
SmallVector<int64_t> splitDims(func::FuncOp func, bool results,
                               StringRef name = KBDialect::kSplitDimAttrName,
                               int64_t absent = -1) {
  SmallVector<int64_t> dims;
  unsigned count = results ? func.getNumResults() : func.getNumArguments();
  for (unsigned i = 0; i < count; ++i) {
    auto split = results ? func.getResultAttrOfType<IntegerAttr>(i, name)
                         : func.getArgAttrOfType<IntegerAttr>(i, name);
    dims.push_back(split ? split.getInt() : absent);
  }
  return dims;
}

/// The `{gemm_tile.piece = ...}` dictionaries of an entry point's arguments
/// and results. An entry point of a deep model has thousands of arguments of a
/// few types: each type's pieces are computed once, and a piece whose region
/// repeats the one before (a replicated tensor) shares its dictionary.
class PieceDicts {
public:
  PieceDicts(MLIRContext *ctx, const gt::DeviceDescription &device)
      : ctx(ctx), device(device),
        name(StringAttr::get(ctx, gt::GemmTileDialect::kPieceAttrName)) {}

  /// The cube pieces of placed `type`.
  ArrayRef<CubePiece> piecesOf(RankedTensorType type) {
    auto [it, inserted] = pieces.try_emplace(type);
    if (inserted)
      it->second = cubePiecesOf(type, device);
    return it->second;
  }

  /// The dictionary of tensor `tensor`'s piece at `offsets`.
  DictionaryAttr get(unsigned tensor, ArrayRef<int64_t> offsets) {
    if (last && lastTensor == tensor && lastOffsets == offsets)
      return last;
    last = DictionaryAttr::getWithSorted(
        ctx, {NamedAttribute(name, gt::PieceAttr::get(ctx, tensor, offsets))});
    lastTensor = tensor;
    lastOffsets.assign(offsets.begin(), offsets.end());
    return last;
  }

private:
  MLIRContext *ctx;
  const gt::DeviceDescription &device;
  StringAttr name;
  DenseMap<Type, SmallVector<CubePiece>> pieces;
  DictionaryAttr last;
  unsigned lastTensor = 0;
  SmallVector<int64_t> lastOffsets;
};

struct FuncOpLowering : public OpConversionPattern<func::FuncOp> {
  FuncOpLowering(const CubeBufferTypeConverter &converter, MLIRContext *ctx)
      : OpConversionPattern(converter, ctx), device(converter.getDevice()) {}

  LogicalResult
  matchAndRewrite(func::FuncOp func, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (!func.getBody().hasOneBlock())
      return func.emitOpError() << "must have one block to be lowered";
    MLIRContext *ctx = func.getContext();
    const TypeConverter &converter = *getTypeConverter();
    bool kernel = isKernel(func);

    TypeConverter::SignatureConversion signature(func.getNumArguments());
    PieceDicts pieceDicts(ctx, device);
    SmallVector<Attribute> argAttrs;
    for (auto [index, type] : llvm::enumerate(func.getArgumentTypes())) {
      if (failed(checkPlaced(func, type, device)))
        return failure();
      SmallVector<Type> buffers;
      if (failed(converter.convertType(type, buffers)))
        return failure();
      signature.addInputs(index, buffers);
      if (kernel)
        continue;
      for (const CubePiece &piece :
           pieceDicts.piecesOf(cast<RankedTensorType>(type)))
        argAttrs.push_back(pieceDicts.get(index, piece.box.offsets));
    }

    // A result's type is that of the value returned, which the op that
    // defines it reports if it is not placed.
    SmallVector<Type> resultTypes;
    SmallVector<Attribute> resultAttrs;
    for (auto [index, type] : llvm::enumerate(func.getResultTypes())) {
      SmallVector<Type> buffers;
      if (failed(converter.convertType(type, buffers)))
        return rewriter.notifyMatchFailure(func, "a result is not placed");
      auto tensor = dyn_cast<RankedTensorType>(type);
      if (kernel || !tensor) {
        llvm::append_range(resultTypes, buffers);
        resultAttrs.append(buffers.size(), DictionaryAttr::get(ctx));
        continue;
      }
      ArrayRef<CubePiece> pieces = pieceDicts.piecesOf(tensor);
      for (unsigned piece : distinctPieceIndices(tensor, device)) {
        resultTypes.push_back(buffers[piece]);
        resultAttrs.push_back(
            pieceDicts.get(index, pieces[piece].box.offsets));
      }
    }

    FunctionType local = func.getFunctionType();
    SmallVector<int64_t> argSplits = splitDims(func, /*results=*/false);
    SmallVector<int64_t> resultSplits = splitDims(func, /*results=*/true);
    SmallVector<int64_t> argReplicas = splitDims(
        func, /*results=*/false, KBDialect::kSplitReplicasAttrName, 1);
    SmallVector<int64_t> resultReplicas =
        splitDims(func, /*results=*/true, KBDialect::kSplitReplicasAttrName, 1);
    auto grouped = [](ArrayRef<int64_t> replicas) {
      return llvm::any_of(replicas, [](int64_t n) { return n > 1; });
    };
    rewriter.applySignatureConversion(&func.getBody().front(), signature,
                                      &converter);
    rewriter.modifyOpInPlace(func, [&] {
      func.setFunctionType(
          FunctionType::get(ctx, signature.getConvertedTypes(), resultTypes));
      if (kernel) {
        func.removeArgAttrsAttr();
        func.removeResAttrsAttr();
        return;
      }
      // All at once: setting them one by one rebuilds the array each time.
      func.setAllArgAttrs(argAttrs);
      func.setAllResultAttrs(resultAttrs);
      func->setAttr(KBDialect::kLocalFunctionTypeAttrName,
                    TypeAttr::get(local));
      func->setAttr(KBDialect::kArgSplitDimsAttrName,
                    DenseI64ArrayAttr::get(ctx, argSplits));
      func->setAttr(KBDialect::kResultSplitDimsAttrName,
                    DenseI64ArrayAttr::get(ctx, resultSplits));
      // Only where some tensor is held by groups of ranks (KV heads
      // replicated): every other program's interface stays as it was.
      if (grouped(argReplicas) || grouped(resultReplicas)) {
        func->setAttr(KBDialect::kArgSplitReplicasAttrName,
                      DenseI64ArrayAttr::get(ctx, argReplicas));
        func->setAttr(KBDialect::kResultSplitReplicasAttrName,
                      DenseI64ArrayAttr::get(ctx, resultReplicas));
      }
    });
    return success();
  }

  const gt::DeviceDescription &device;
};

/// A call of a kernel: its operands' pieces in, its result's pieces out.
struct CallOpLowering : public OpConversionPattern<func::CallOp> {
  // Without a type converter the driver hands over each operand's buffers as
  // they were mapped, without converting its type again per call.
  CallOpLowering(const CubeBufferTypeConverter &converter, MLIRContext *ctx)
      : OpConversionPattern(ctx), converter(converter) {}

  LogicalResult
  matchAndRewrite(func::CallOp call, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    func::FuncOp callee = calleeOf(call);
    if (!callee || !isKernel(callee))
      return call.emitOpError()
             << "calls '" << call.getCallee()
             << "', which is not a kernel: convert-kb-to-gemm-tile lowers "
                "calls of the kernels kb-outline-kernels makes";
    SmallVector<Type> resultTypes;
    SmallVector<unsigned> resultCounts;
    for (Type type : call.getResultTypes()) {
      size_t before = resultTypes.size();
      if (failed(converter.convertType(type, resultTypes)))
        return rewriter.notifyMatchFailure(call, "a result is not placed");
      resultCounts.push_back(resultTypes.size() - before);
    }
    SmallVector<Value> operands;
    for (ValueRange buffers : adaptor.getOperands())
      llvm::append_range(operands, buffers);
    // The callee's symbol as it is: built again from its name, it would be
    // looked up in the context's uniquer once per call.
    auto lowered = func::CallOp::create(rewriter, call.getLoc(),
                                        call.getCalleeAttr(), resultTypes,
                                        operands);
    SmallVector<SmallVector<Value>> results;
    unsigned next = 0;
    for (unsigned count : resultCounts) {
      results.push_back(
          llvm::to_vector_of<Value>(lowered.getResults().slice(next, count)));
      next += count;
    }
    rewriter.replaceOpWithMultiple(call, std::move(results));
    return success();
  }

  const CubeBufferTypeConverter &converter;
};

/// An entry point returns one buffer per distinct region of each result; a
/// kernel returns every piece.
struct ReturnOpLowering : public OpConversionPattern<func::ReturnOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(func::ReturnOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    bool kernel = isKernel(op->getParentOfType<func::FuncOp>());
    SmallVector<Value> buffers;
    for (auto [value, converted] :
         llvm::zip_equal(op.getOperands(), adaptor.getOperands())) {
      auto tensor = dyn_cast<RankedTensorType>(value.getType());
      if (kernel || !tensor) {
        llvm::append_range(buffers, converted);
        continue;
      }
      for (unsigned piece : distinctPieceIndices(
               tensor,
               getTypeConverter<CubeBufferTypeConverter>()->getDevice()))
        buffers.push_back(converted[piece]);
    }
    rewriter.replaceOpWithNewOp<func::ReturnOp>(op, buffers);
    return success();
  }
};

} // namespace

void kb::detail::populateFunctionConversionPatterns(
    const CubeBufferTypeConverter &typeConverter, RewritePatternSet &patterns) {
  patterns.add<FuncOpLowering, CallOpLowering, ReturnOpLowering>(
      typeConverter, patterns.getContext());
}
