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
#include "kb/Runtime/Kernels.h"

#include "Reduction.h"

#include "llvm/ADT/DenseMap.h"

using namespace mlir;
using namespace kb;
using namespace kb::exec;
using runtime::HostTensor;

static HostTensor matmul(const HostTensor &a, const HostTensor &b) {
  int64_t m = a.shape[0], k = a.shape[1], n = b.shape[1];
  HostTensor c = runtime::makeTensor(a.dtype, {m, n});
  runtime::gemm(a.data.data(), k, b.data.data(), n, c.data.data(), n, m, n, k,
                /*accumulate=*/false);
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

static HostTensor gelu(const HostTensor &a) {
  HostTensor c = a;
  runtime::geluTanh(a.data.data(), c.data.data(), c.data.size());
  runtime::roundBufferToDType(c.data.data(), c.data.size(), c.dtype);
  return c;
}

llvm::Expected<SmallVector<HostTensor>>
kb::exec::runKBProgram(const Program &program,
                       llvm::ArrayRef<HostTensor> inputs) {
  bool local = program.view == View::Local;
  int64_t ranks = local ? program.worldSize : 1;
  // values[r][v]: rank r's tensor for SSA value v.
  std::vector<llvm::DenseMap<Value, HostTensor>> values(ranks);
  Block &body = program.entry.getBody().front();
  for (auto [i, arg] : llvm::enumerate(body.getArguments()))
    for (int64_t r = 0; r < ranks; ++r)
      values[r][arg] = local ? scatter(inputs[i], program.args[i].splitDim, r,
                                       program.worldSize)
                             : inputs[i];

  for (Operation &op : body) {
    if (auto ret = dyn_cast<func::ReturnOp>(op)) {
      SmallVector<HostTensor> results;
      for (auto [i, v] : llvm::enumerate(ret.getOperands())) {
        SmallVector<HostTensor> parts;
        for (int64_t r = 0; r < ranks; ++r)
          parts.push_back(values[r][v]);
        results.push_back(gather(parts, program.results[i].splitDim));
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
      } else if (auto g = dyn_cast<GeluOp>(op)) {
        vals[g.getResult()] = gelu(vals[g.getInput()]);
      } else if (auto a = dyn_cast<AddOp>(op)) {
        vals[a.getResult()] = add(vals[a.getLhs()], vals[a.getRhs()]);
      } else if (isa<TPRankOp>(op)) {
        // The rank is implicit in tp_slice below.
      } else if (auto slice = dyn_cast<TPSliceOp>(op)) {
        vals[slice.getResult()] = scatter(vals[slice.getInput()],
                                          slice.getDim(), r, program.worldSize);
      } else {
        return errorAt(&op, "kb-run cannot execute '" +
                                op.getName().getStringRef() + "' in the " +
                                viewName(program.view));
      }
    }
  }
  return errorAt(program.entry, "the entry function has no return");
}
