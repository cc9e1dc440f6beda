//===- Program.cpp - what kb-run executes ---------------------------------===//

#include "kb/Executor/Program.h"
#include "kb/Dialect/GemmTile/IR/GemmTileOps.h"
#include "kb/Dialect/KB/IR/KBOps.h"
#include "kb/Dialect/KB/IR/OpOrigin.h"
#include "kb/Runtime/PackedWeights.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/Support/MathExtras.h"

#include <algorithm>
#include <set>

using namespace mlir;
using namespace kb;
using namespace kb::exec;
using runtime::DType;
using runtime::HostTensor;

llvm::StringRef kb::exec::viewName(View view) {
  switch (view) {
  case View::Global:
    return "global view";
  case View::Local:
    return "local view";
  case View::Lowered:
    return "lowered gemm_tile program";
  }
  return "?";
}

std::string kb::exec::locationOf(Operation *op) {
  // Named, called or fused locations: the file:line:col inside, as MLIR's
  // diagnostics show it.
  if (FileLineColLoc file = kb::fileLocationOf(op->getLoc()))
    return (file.getFilename().str() + ":" + std::to_string(file.getLine()) +
            ":" + std::to_string(file.getColumn()));
  std::string text;
  llvm::raw_string_ostream os(text);
  op->getLoc().print(os);
  return text;
}

llvm::Error kb::exec::errorAt(Operation *op, const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 locationOf(op) + ": " + message);
}

static llvm::Error error(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

static llvm::Expected<DType> dtypeOf(Type elementType) {
  if (elementType.isF16())
    return DType::F16;
  if (elementType.isBF16())
    return DType::BF16;
  if (elementType.isF32())
    return DType::F32;
  if (elementType.isSignlessInteger(32))
    return DType::I32;
  if (elementType.isSignlessInteger(64))
    return DType::I64;
  std::string s;
  llvm::raw_string_ostream os(s);
  os << elementType;
  return error("element type " + s + " is not f16, bf16, f32, i32 or i64");
}

/// The global spec of a tensor of local type `type` split along `splitDim`
/// into worldSize / `replicas` slices.
static llvm::Expected<TensorSpec> specOf(Type type, int64_t splitDim,
                                         int64_t worldSize, bool isLocal,
                                         int64_t replicas = 1) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor || !tensor.hasStaticShape())
    return error("kb-run needs statically shaped tensors at the entry");
  llvm::Expected<DType> dtype = dtypeOf(tensor.getElementType());
  if (!dtype)
    return dtype.takeError();
  TensorSpec spec{*dtype, {}, splitDim};
  spec.shape.assign(tensor.getShape().begin(), tensor.getShape().end());
  if (replicas < 1 || worldSize % replicas != 0)
    return error("a tensor held by groups of " + llvm::Twine(replicas) +
                 " ranks needs the group to divide the world size (" +
                 llvm::Twine(worldSize) + ")");
  if (splitDim >= 0)
    spec.replicas = replicas;
  if (splitDim >= static_cast<int64_t>(spec.shape.size()))
    return error("split dimension " + llvm::Twine(splitDim) +
                 " is outside a rank-" + llvm::Twine(spec.shape.size()) +
                 " tensor");
  if (isLocal && splitDim >= 0 &&
      llvm::MulOverflow(spec.shape[splitDim], worldSize / spec.replicas,
                        spec.shape[splitDim]))
    return error("split dimension " + llvm::Twine(splitDim) + " of " +
                 llvm::Twine(worldSize) + " ranks does not fit in int64");
  return spec;
}

/// Marks the entry arguments that are the weight or bias of a linear layer
/// with the layer's in_features (TensorSpec::fanIn). In the local view the
/// layer is a kb.matmul whose rhs is the weight, its bias the rhs of the
/// kb.add that takes the product (or its all_reduce).
static void assignFanIns(Program &program) {
  auto entryArg = [&](Value v) -> TensorSpec * {
    // A static slice of an argument is a part of it: GPT-2's fused w_qkv and
    // b_qkv, whose column slices are the q, k and v layers' weights and
    // biases; so is a rank's slice of it in the local view.
    while (v) {
      if (auto slice = v.getDefiningOp<tensor::ExtractSliceOp>())
        v = slice.getSource();
      else if (auto slice = v.getDefiningOp<TPSliceOp>())
        v = slice.getInput();
      else
        break;
    }
    auto arg = dyn_cast_or_null<BlockArgument>(v);
    if (!arg || arg.getOwner()->getParentOp() != program.entry.getOperation() ||
        arg.getArgNumber() >= program.args.size())
      return nullptr;
    return &program.args[arg.getArgNumber()];
  };
  auto mark = [&](Value weight, Value bias) -> int64_t {
    TensorSpec *w = entryArg(weight);
    if (!w || w->shape.size() != 2 || w->shape[0] <= 0)
      return 0;
    w->fanIn = w->shape[0];
    if (TensorSpec *b = entryArg(bias))
      b->fanIn = w->fanIn;
    return w->fanIn;
  };
  program.entry.walk([&](Operation *op) {
    if (auto col = dyn_cast<ColumnParallelLinearOp>(op))
      mark(col.getWeight(), col.getBias());
    else if (auto row = dyn_cast<RowParallelLinearOp>(op))
      mark(row.getWeight(), row.getBias());
    else if (auto matmul = dyn_cast<MatmulOp>(op))
      mark(matmul.getRhs(), nullptr);
  });
  // Token ids get valid random values: [0, V) of the embedding reading them.
  program.entry.walk([&](EmbeddingOp embedding) {
    if (TensorSpec *ids = entryArg(embedding.getIds()))
      ids->idBound = embedding.getVocabularySize();
  });
  // A bias added after the layer: to a kb.matmul's product (or its
  // all_reduce's) in the local view, to a parallel linear layer's output
  // in the global view (GPT-2's q, k and v biases sliced from b_qkv).
  program.entry.walk([&](AddOp add) {
    Value product = add.getLhs();
    if (auto reduce = product.getDefiningOp<AllReduceOp>())
      product = reduce.getInput();
    Value layerWeight;
    if (auto matmul = product.getDefiningOp<MatmulOp>())
      layerWeight = matmul.getRhs();
    else if (auto col = product.getDefiningOp<ColumnParallelLinearOp>())
      layerWeight = col.getWeight();
    else if (auto row = product.getDefiningOp<RowParallelLinearOp>())
      layerWeight = row.getWeight();
    TensorSpec *bias = entryArg(add.getRhs());
    TensorSpec *weight = layerWeight ? entryArg(layerWeight) : nullptr;
    if (bias && weight && bias->shape.size() == 1)
      bias->fanIn = weight->fanIn;
  });
}

/// The same for a lowered program, whose kb ops are gone: a weight is the
/// global tensor whose pieces a gemm_tile.matmul takes as its rhs (directly
/// or through one DMA), a bias a vector a gemm_tile.zip "add" takes as its rhs; a
/// bias belongs to the nearest weight before it in argument order whose
/// out_features is its length (the global program's order, which the
/// lowering keeps).
static void assignLoweredFanIns(Program &program) {
  func::FuncOp entry = program.entry;
  // The global tensor a buffer is a piece of, through at most one DMA.
  auto tensorOf = [&](Value buffer) -> std::optional<int64_t> {
    auto fromArg = [&](Value v) -> std::optional<int64_t> {
      auto arg = dyn_cast<BlockArgument>(v);
      if (!arg || arg.getOwner()->getParentOp() != entry.getOperation())
        return std::nullopt;
      auto piece = entry.getArgAttrOfType<gemm_tile::PieceAttr>(
          arg.getArgNumber(), gemm_tile::GemmTileDialect::kPieceAttrName);
      if (!piece || piece.getTensor() < 0 ||
          piece.getTensor() >= static_cast<int64_t>(program.args.size()))
        return std::nullopt;
      return piece.getTensor();
    };
    if (std::optional<int64_t> t = fromArg(buffer))
      return t;
    for (Operation *user : buffer.getUsers())
      if (auto dma = dyn_cast<gemm_tile::DMAOp>(user);
          dma && dma.getTarget() == buffer)
        if (std::optional<int64_t> t = fromArg(dma.getSource()))
          return t;
    return std::nullopt;
  };
  llvm::SmallDenseSet<int64_t> weights, biases;
  entry.walk([&](Operation *op) {
    if (auto matmul = dyn_cast<gemm_tile::MatmulOp>(op))
      if (std::optional<int64_t> t = tensorOf(matmul.getRhs()))
        weights.insert(*t);
    if (auto add = dyn_cast<gemm_tile::ZipOp>(op);
        add && add.getKernel() == "add")
      if (std::optional<int64_t> t = tensorOf(add.getRhs()))
        biases.insert(*t);
    if (auto gather = dyn_cast<gemm_tile::GatherRowsOp>(op))
      if (std::optional<int64_t> t = tensorOf(gather.getIds()))
        program.args[*t].idBound = gather.getVocab();
  });
  for (int64_t t : weights)
    if (program.args[t].shape.size() == 2)
      program.args[t].fanIn = program.args[t].shape[0];
  for (int64_t b : biases) {
    TensorSpec &bias = program.args[b];
    if (bias.shape.size() != 1 || weights.count(b))
      continue;
    for (int64_t w = b - 1; w >= 0; --w) {
      const TensorSpec &weight = program.args[w];
      if (weights.count(w) && weight.shape.size() == 2 &&
          weight.shape[1] == bias.shape[0]) {
        bias.fanIn = weight.fanIn;
        break;
      }
    }
  }
}

double kb::exec::peakLiveAllocationElements(func::FuncOp entry) {
  // The executor makes an allocation's data when an op first uses it and
  // frees it at the first wait after its last use (DeviceInterpreter's
  // releaseDead), so a rank holds at most the peak of what is live between
  // those two points, not every allocation of the program: a whole
  // decoder layer's buffers are many times its peak. An allocation nothing
  // uses is counted where it is made, so an absurd one is still refused.
  if (entry.getBody().empty())
    return 0;
  Block &body = entry.getBody().front();
  llvm::DenseMap<Operation *, int64_t> position;
  std::vector<int64_t> waitAtOrAfter;
  for (Operation &op : body)
    position[&op] = static_cast<int64_t>(position.size());
  int64_t count = static_cast<int64_t>(position.size());
  waitAtOrAfter.assign(count + 1, count);
  {
    int64_t i = count;
    for (Operation &op : llvm::reverse(body)) {
      --i;
      waitAtOrAfter[i] =
          isa<gemm_tile::WaitOp>(op) ? i : waitAtOrAfter[i + 1];
    }
  }
  std::vector<double> change(count + 2, 0.0);
  for (Operation &op : body) {
    auto alloc = dyn_cast<gemm_tile::AllocOp>(op);
    if (!alloc)
      continue;
    int64_t first = position[&op], last = first;
    bool used = false;
    for (Operation *user : alloc->getUsers()) {
      Operation *top = body.findAncestorOpInBlock(*user);
      if (!top)
        continue;
      int64_t at = position[top];
      first = used ? std::min(first, at) : at;
      last = std::max(last, at);
      used = true;
    }
    int64_t end = used ? waitAtOrAfter[last] : first;
    double n = 1;
    for (int64_t d : alloc.getType().getShape())
      n *= static_cast<double>(std::max<int64_t>(d, 0));
    change[first] += n;
    change[std::min(end, count) + 1] -= n;
  }
  double live = 0, peak = 0;
  for (double delta : change) {
    live += delta;
    peak = std::max(peak, live);
  }
  return peak;
}

namespace {
/// How the executor holds a lowered entry's argument (DeviceInterpreter's
/// loadInputs, bufferOf, readOf).
struct ArgumentUse {
  // Read as a gemm's A (an f16 input's A reads its one widened copy).
  bool gemmA = false;
  // Read as its own data by another op or a DMA: a 2-D piece reads the one
  // copy of its rows that every rank's buffers showing them share.
  bool readAsData = false;
  // Written, returned or used otherwise: the rank's own f32 copy.
  bool own = false;
};
} // namespace

static ArgumentUse useOf(BlockArgument arg) {
  ArgumentUse use;
  // One nothing uses is counted as a copy, so that an absurd one is still
  // refused here (as an unused allocation is).
  use.own = arg.use_empty();
  for (Operation *user : arg.getUsers()) {
    if (auto compute = dyn_cast<gemm_tile::PEComputeOpInterface>(user)) {
      for (const gemm_tile::BufferRegion &w : compute.getWriteRegions())
        use.own |= w.buffer == arg;
      SmallVector<gemm_tile::BufferRegion> reads = compute.getReadRegions();
      bool gemm =
          compute.getHostKernel().kind == gemm_tile::HostKernel::Kind::Gemm;
      for (auto [i, r] : llvm::enumerate(reads))
        if (r.buffer == arg) {
          if (!gemm)
            use.readAsData = true;
          else if (i == 0)
            use.gemmA = true;
        }
    } else if (auto dma = dyn_cast<gemm_tile::DMAOp>(user)) {
      use.own |= dma.getTarget() == arg;
      use.readAsData |= dma.getSource() == arg;
    } else {
      use.own = true;
    }
  }
  return use;
}

/// The f32 elements a lowered program's arguments hold on the host: a
/// piece only gemms read is a view of its input and holds nothing; a piece
/// read as data is one shared copy for all the ranks and cubes that show the
/// same rows of the input; an f16 input read as a gemm's A, one widened
/// copy of the whole input; anything else, a copy on every rank.
static double argumentElements(const Program &program) {
  auto elements = [](llvm::ArrayRef<int64_t> shape) {
    double n = 1;
    for (int64_t d : shape)
      n *= static_cast<double>(std::max<int64_t>(d, 0));
    return n;
  };
  double w = static_cast<double>(program.worldSize), perRank = 0, once = 0;
  std::set<std::vector<int64_t>> sharedPieces;
  std::set<int64_t> widenedInputs;
  for (BlockArgument arg : program.entry.getArguments()) {
    auto type = dyn_cast<MemRefType>(arg.getType());
    if (!type)
      continue;
    double n = elements(type.getShape());
    auto piece = program.entry.getArgAttrOfType<gemm_tile::PieceAttr>(
        arg.getArgNumber(), gemm_tile::GemmTileDialect::kPieceAttrName);
    ArgumentUse use = useOf(arg);
    const TensorSpec *spec =
        piece && piece.getTensor() >= 0 &&
                piece.getTensor() < static_cast<int64_t>(program.args.size())
            ? &program.args[piece.getTensor()]
            : nullptr;
    // Only a 2-D piece of a 2-D input is a view (loadInputs).
    if (!spec || use.own || type.getRank() != 2 || spec->shape.size() != 2) {
      perRank += n;
      continue;
    }
    if (use.gemmA && spec->dtype == runtime::DType::F16 &&
        widenedInputs.insert(piece.getTensor()).second)
      once += elements(spec->shape);
    if (!use.readAsData)
      continue;
    // The same offsets on every rank when the input is replicated; one of
    // W / replicas slices when it is split.
    std::vector<int64_t> key{piece.getTensor()};
    llvm::append_range(key, piece.getOffsets());
    llvm::append_range(key, type.getShape());
    bool split = spec->splitDim >= 0 && spec->splitDim < 2;
    if (sharedPieces.insert(key).second)
      once += n * (split ? w / std::max<int64_t>(spec->replicas, 1) : 1.0);
  }
  return w * perRank + once;
}

double kb::exec::hostBytesNeeded(const Program &program, bool withReference) {
  auto elements = [](llvm::ArrayRef<int64_t> shape) {
    double n = 1;
    for (int64_t d : shape)
      n *= static_cast<double>(std::max<int64_t>(d, 0));
    return n;
  };
  double w = static_cast<double>(program.worldSize), global = 0, local = 0;
  // kb-run holds an f16 input 16-bit (readNpy's keepHalf); everything else
  // is f32 on the host.
  double heldInputs = 0;
  for (const TensorSpec &spec : program.args)
    heldInputs += elements(spec.shape) *
                  (spec.dtype == runtime::DType::F16 ? 2 : 4);
  for (const TensorSpec &spec :
       llvm::concat<const TensorSpec>(program.args, program.results)) {
    global += elements(spec.shape);
    // A split tensor's W slices hold it once (once per replica when groups
    // of ranks hold each slice); a replicated one, W times (results are
    // gathered from every rank's copy).
    local += spec.splitDim < 0
                 ? w * elements(spec.shape)
                 : static_cast<double>(spec.replicas) * elements(spec.shape);
  }
  double total = 0, packedWeights = 0;
  for (const TensorSpec &spec : program.results)
    total += elements(spec.shape);
  if (program.view == View::Lowered) {
    total += argumentElements(program) +
             w * peakLiveAllocationElements(program.entry);
    // The f16 weights packed once for the run's products of few rows, in
    // f16 (runtime::PackedWeights), up to the cache's limit.
    double halfInputs = 0;
    for (const TensorSpec &spec : program.args)
      if (spec.dtype == runtime::DType::F16 && spec.shape.size() == 2)
        halfInputs += 2 * elements(spec.shape);
    packedWeights = std::min(
        halfInputs, static_cast<double>(runtime::PackedWeights::kRunBytes));
  } else if (program.view == View::Local) {
    total += local;
  }
  if (withReference)
    total += global;
  return heldInputs + packedWeights + 4 * total;
}

llvm::Expected<Program> kb::exec::analyzeProgram(ModuleOp module,
                                                 llvm::StringRef entryName) {
  Program program;
  program.module = module;
  SmallVector<func::FuncOp> candidates;
  for (auto func : module.getOps<func::FuncOp>())
    if (!func.isExternal() &&
        (entryName.empty() ? !func.isPrivate()
                           : func.getSymName() == entryName))
      candidates.push_back(func);
  if (candidates.empty())
    return error(
        entryName.empty()
            ? llvm::Twine("the module has no public function with a body")
            : "no function named '" + entryName + "'");
  if (candidates.size() > 1) {
    std::string names;
    for (auto func : candidates)
      names += " @" + func.getSymName().str();
    return error("several functions could be the entry (" + names +
                 " ); pick one with --entry");
  }
  program.entry = candidates.front();
  program.worldSize = lookupWorldSize(module).value_or(1);
  if (program.worldSize > 4096)
    return error("a world size of " + llvm::Twine(program.worldSize) +
                 " is beyond what kb-run simulates (4096 ranks)");

  bool spmd = module->hasAttr(KBDialect::kSPMDAttrName);
  auto func = program.entry;
  if (auto localType = func->getAttrOfType<TypeAttr>(
          KBDialect::kLocalFunctionTypeAttrName)) {
    program.view = View::Lowered;
    auto type = cast<FunctionType>(localType.getValue());
    auto argSplits = func->getAttrOfType<DenseI64ArrayAttr>(
        KBDialect::kArgSplitDimsAttrName);
    auto resultSplits = func->getAttrOfType<DenseI64ArrayAttr>(
        KBDialect::kResultSplitDimsAttrName);
    if (!argSplits || !resultSplits ||
        argSplits.size() != static_cast<int64_t>(type.getNumInputs()) ||
        resultSplits.size() != static_cast<int64_t>(type.getNumResults()))
      return error("the lowered function lacks consistent kb.arg_split_dims "
                   "and kb.result_split_dims");
    // Groups of ranks per slice, where any tensor has them (else 1).
    SmallVector<int64_t> argReplicas(type.getNumInputs(), 1),
        resultReplicas(type.getNumResults(), 1);
    auto argGroups = func->getAttrOfType<DenseI64ArrayAttr>(
        KBDialect::kArgSplitReplicasAttrName);
    auto resultGroups = func->getAttrOfType<DenseI64ArrayAttr>(
        KBDialect::kResultSplitReplicasAttrName);
    if (argGroups || resultGroups) {
      if (!argGroups || !resultGroups ||
          argGroups.size() != static_cast<int64_t>(type.getNumInputs()) ||
          resultGroups.size() != static_cast<int64_t>(type.getNumResults()))
        return error("the lowered function lacks consistent "
                     "kb.arg_split_replicas and kb.result_split_replicas");
      argReplicas.assign(argGroups.asArrayRef().begin(),
                         argGroups.asArrayRef().end());
      resultReplicas.assign(resultGroups.asArrayRef().begin(),
                            resultGroups.asArrayRef().end());
    }
    for (auto [t, split, replicas] : llvm::zip_equal(
             type.getInputs(), argSplits.asArrayRef(), argReplicas)) {
      llvm::Expected<TensorSpec> spec =
          specOf(t, split, program.worldSize, true, replicas);
      if (!spec)
        return spec.takeError();
      program.args.push_back(*spec);
    }
    for (auto [t, split, replicas] : llvm::zip_equal(
             type.getResults(), resultSplits.asArrayRef(), resultReplicas)) {
      llvm::Expected<TensorSpec> spec =
          specOf(t, split, program.worldSize, true, replicas);
      if (!spec)
        return spec.takeError();
      program.results.push_back(*spec);
    }
    if (llvm::Error e = inlineKernelCalls(func))
      return std::move(e);
    assignLoweredFanIns(program);
    return program;
  }
  program.view = spmd ? View::Local : View::Global;
  for (unsigned i = 0; i < func.getNumArguments(); ++i) {
    auto split =
        func.getArgAttrOfType<IntegerAttr>(i, KBDialect::kSplitDimAttrName);
    auto replicas = func.getArgAttrOfType<IntegerAttr>(
        i, KBDialect::kSplitReplicasAttrName);
    llvm::Expected<TensorSpec> spec =
        specOf(func.getArgumentTypes()[i], split ? split.getInt() : -1,
               program.worldSize, spmd, replicas ? replicas.getInt() : 1);
    if (!spec)
      return spec.takeError();
    program.args.push_back(*spec);
  }
  assignFanIns(program);
  for (unsigned i = 0; i < func.getNumResults(); ++i) {
    auto split =
        func.getResultAttrOfType<IntegerAttr>(i, KBDialect::kSplitDimAttrName);
    auto replicas = func.getResultAttrOfType<IntegerAttr>(
        i, KBDialect::kSplitReplicasAttrName);
    llvm::Expected<TensorSpec> spec =
        specOf(func.getResultTypes()[i], split ? split.getInt() : -1,
               program.worldSize, spmd, replicas ? replicas.getInt() : 1);
    if (!spec)
      return spec.takeError();
    program.results.push_back(*spec);
  }
  return program;
}

/// Calls `fn(sourceOffset, destOffset, count)` for each contiguous run when
/// copying the box at `offsets`/`sizes` of a tensor of `shape` into a dense
/// box (or back).
template <typename Fn>
static void forEachRow(llvm::ArrayRef<int64_t> shape,
                       llvm::ArrayRef<int64_t> offsets,
                       llvm::ArrayRef<int64_t> sizes, Fn fn) {
  int64_t rank = shape.size();
  if (rank == 0) {
    fn(0, 0, 1);
    return;
  }
  for (int64_t s : sizes)
    if (s == 0)
      return;
  SmallVector<int64_t> strides(rank, 1);
  for (int64_t d = rank - 2; d >= 0; --d)
    strides[d] = strides[d + 1] * shape[d + 1];
  SmallVector<int64_t> index(rank, 0);
  int64_t rowLength = sizes.back(), dense = 0;
  while (true) {
    int64_t source = 0;
    for (int64_t d = 0; d < rank; ++d)
      source += (offsets[d] + index[d]) * strides[d];
    fn(source, dense, rowLength);
    dense += rowLength;
    int64_t d = rank - 2;
    for (; d >= 0; --d) {
      if (++index[d] < sizes[d])
        break;
      index[d] = 0;
    }
    if (d < 0)
      return;
  }
}

void kb::exec::forEachBoxRow(
    llvm::ArrayRef<int64_t> shape, llvm::ArrayRef<int64_t> offsets,
    llvm::ArrayRef<int64_t> sizes,
    llvm::function_ref<void(int64_t, int64_t, int64_t)> fn) {
  forEachRow(shape, offsets, sizes, fn);
}

HostTensor kb::exec::extractBox(const HostTensor &t,
                                llvm::ArrayRef<int64_t> offsets,
                                llvm::ArrayRef<int64_t> sizes) {
  HostTensor box;
  box.dtype = t.dtype;
  box.shape.assign(sizes.begin(), sizes.end());
  // Rows arrive in the box's order: appending them writes each element once,
  // where zero-filling first would touch the memory twice.
  box.data.reserve(std::max<int64_t>(box.numElements(), 0));
  if (t.isHalf()) {
    // A half tensor's box is widened as it is cut.
    box.data.resize(std::max<int64_t>(box.numElements(), 0));
    forEachRow(t.shape, offsets, sizes,
               [&](int64_t src, int64_t dst, int64_t n) {
                 runtime::halvesToFloats(t.halves.data() + src,
                                         box.data.data() + dst, n);
               });
    return box;
  }
  forEachRow(t.shape, offsets, sizes, [&](int64_t src, int64_t dst, int64_t n) {
    box.data.insert(box.data.end(), t.data.data() + src,
                    t.data.data() + src + n);
  });
  return box;
}

void kb::exec::insertBox(HostTensor &t, const HostTensor &box,
                         llvm::ArrayRef<int64_t> offsets) {
  forEachRow(t.shape, offsets, box.shape,
             [&](int64_t dst, int64_t src, int64_t n) {
               std::copy_n(box.data.data() + src, n, t.data.data() + dst);
             });
}

HostTensor kb::exec::scatter(const HostTensor &global, int64_t splitDim,
                             int64_t rank, int64_t worldSize,
                             int64_t replicas) {
  if (splitDim < 0)
    return runtime::widened(global);
  SmallVector<int64_t> offsets(global.shape.size(), 0);
  SmallVector<int64_t> sizes(global.shape.begin(), global.shape.end());
  sizes[splitDim] /= worldSize / replicas;
  offsets[splitDim] = rank / replicas * sizes[splitDim];
  return extractBox(global, offsets, sizes);
}

HostTensor kb::exec::gather(llvm::ArrayRef<HostTensor> locals, int64_t splitDim,
                            int64_t replicas) {
  if (splitDim < 0)
    return locals.front();
  SmallVector<int64_t> shape(locals.front().shape.begin(),
                             locals.front().shape.end());
  int64_t groups = static_cast<int64_t>(locals.size()) / replicas;
  shape[splitDim] *= groups;
  HostTensor global = runtime::makeTensor(locals.front().dtype, shape);
  SmallVector<int64_t> offsets(shape.size(), 0);
  // One rank per group: the group's other ranks hold the same slice.
  for (int64_t g = 0; g < groups; ++g) {
    const HostTensor &local = locals[g * replicas];
    insertBox(global, local, offsets);
    offsets[splitDim] += local.shape[splitDim];
  }
  return global;
}
