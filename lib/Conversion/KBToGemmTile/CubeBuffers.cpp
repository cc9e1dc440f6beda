//===- CubeBuffers.cpp - placed tensors as the device holds them ----------===//

#include "CubeBuffers.h"

#include "kb/Device/MeshRelay.h"

using namespace mlir;
using namespace kb;
using namespace kb::detail;
namespace gt = kb::gemm_tile;

SmallVector<int64_t> kb::detail::plus(ArrayRef<int64_t> a,
                                      ArrayRef<int64_t> b) {
  SmallVector<int64_t> r;
  for (auto [x, y] : llvm::zip_equal(a, b))
    r.push_back(x + y);
  return r;
}

SmallVector<int64_t> kb::detail::minus(ArrayRef<int64_t> a,
                                       ArrayRef<int64_t> b) {
  SmallVector<int64_t> r;
  for (auto [x, y] : llvm::zip_equal(a, b))
    r.push_back(x - y);
  return r;
}

Type kb::detail::tokenType(MLIRContext *ctx) { return gt::TokenType::get(ctx); }

SmallVector<CubePiece>
kb::detail::cubePiecesOf(RankedTensorType type,
                         const gt::DeviceDescription &device) {
  return cubePieces(type.getShape(), getDPPolicy(type).resolve(device));
}

DeviceTensor kb::detail::deviceTensor(Type type, ValueRange buffers,
                                      const gt::DeviceDescription &device) {
  auto tensor = cast<RankedTensorType>(type);
  DeviceTensor result{tensor, {}};
  for (auto [piece, buffer] :
       llvm::zip_equal(cubePiecesOf(tensor, device), buffers))
    result.pieces.push_back({piece.cube, piece.box, buffer});
  return result;
}

SmallVector<const Piece *> kb::detail::distinctPieces(const DeviceTensor &t,
                                                      int64_t preferredCube) {
  SmallVector<const Piece *> result;
  for (const Piece &p : t.pieces) {
    auto it =
        llvm::find_if(result, [&](const Piece *q) { return q->box == p.box; });
    if (it == result.end())
      result.push_back(&p);
    else if (p.cube == preferredCube)
      *it = &p;
  }
  return result;
}

SmallVector<unsigned>
kb::detail::distinctPieceIndices(RankedTensorType type,
                                 const gt::DeviceDescription &device) {
  SmallVector<CubePiece> pieces = cubePiecesOf(type, device);
  SmallVector<unsigned> result;
  for (unsigned index = 0, e = pieces.size(); index < e; ++index) {
    const Box &box = pieces[index].box;
    if (llvm::none_of(result, [&](unsigned i) { return pieces[i].box == box; }))
      result.push_back(index);
  }
  return result;
}

DeviceTensor kb::detail::allocate(OpBuilder &builder, Location loc,
                                  RankedTensorType type,
                                  const gt::DeviceDescription &device) {
  DeviceTensor result{type, {}};
  for (CubePiece &piece : cubePiecesOf(type, device)) {
    auto bufferType = MemRefType::get(
        piece.box.sizes, type.getElementType(), MemRefLayoutAttrInterface(),
        gt::CubeAttr::get(builder.getContext(), piece.cube));
    Value buffer = gt::AllocOp::create(builder, loc, bufferType);
    result.pieces.push_back({piece.cube, piece.box, buffer});
  }
  return result;
}

SmallVector<Value> kb::detail::buffersOf(const DeviceTensor &tensor) {
  return llvm::map_to_vector(tensor.pieces,
                             [](const Piece &p) { return p.buffer; });
}

void kb::detail::replaceByBuffers(ConversionPatternRewriter &rewriter,
                                  Operation *op, const DeviceTensor &result) {
  SmallVector<SmallVector<Value>> replacements;
  replacements.push_back(buffersOf(result));
  rewriter.replaceOpWithMultiple(op, std::move(replacements));
}

void kb::detail::waitFor(OpBuilder &builder, Location loc,
                         SmallVectorImpl<Value> &tokens) {
  if (tokens.empty())
    return;
  gt::WaitOp::create(builder, loc, tokens);
  tokens.clear();
}

void kb::detail::copyShareToReplicas(OpBuilder &builder, Location loc,
                                      const DeviceTensor &out, unsigned from,
                                      const Box &share,
                                      SmallVectorImpl<Value> &copies) {
  if (share.numElements() == 0)
    return;
  Type token = tokenType(builder.getContext());
  const Piece &source = out.pieces[from];
  for (const Piece &to : out.pieces)
    if (to.cube != source.cube)
      copies.push_back(gt::DMAOp::create(
          builder, loc, token, source.buffer,
          minus(share.offsets, source.box.offsets), to.buffer,
          minus(share.offsets, to.box.offsets), share.sizes, nullptr));
}

void kb::detail::copySharesToReplicas(OpBuilder &builder, Location loc,
                                       const DeviceTensor &out,
                                       ArrayRef<Box> computeBoxes) {
  SmallVector<Value> copies;
  for (auto [from, box] : llvm::enumerate(computeBoxes))
    copyShareToReplicas(builder, loc, out, from, box, copies);
  waitFor(builder, loc, copies);
}

bool OperandStager::holds(const DeviceTensor &tensor, int64_t cube,
                          const Box &box) const {
  for (const Piece &p : tensor.pieces)
    if (p.cube == cube && p.box.contains(box))
      return true;
  Value key = tensor.pieces.front().buffer;
  return llvm::any_of(staged, [&](const Staged &s) {
    return s.tensor == key && s.cube == cube && s.box.contains(box);
  });
}

std::pair<Value, SmallVector<int64_t>>
OperandStager::bringPart(const DeviceTensor &tensor, int64_t cube,
                         const Box &box, const Box &part) {
  for (const Piece &p : tensor.pieces)
    if (p.cube == cube && p.box.contains(box))
      return {p.buffer, minus(box.offsets, p.box.offsets)};
  Value key = tensor.pieces.front().buffer;
  Value buffer;
  for (const Staged &s : staged)
    if (s.tensor == key && s.cube == cube && s.box == box)
      buffer = s.buffer;
  if (!buffer) {
    buffer = gt::AllocOp::create(
        builder, loc,
        MemRefType::get(box.sizes, tensor.type.getElementType(),
                        MemRefLayoutAttrInterface(),
                        gt::CubeAttr::get(builder.getContext(), cube)));
    staged.push_back({key, cube, box, buffer});
  }
  for (const Piece *source : distinctPieces(tensor, cube)) {
    std::optional<Box> overlap = source->box.intersect(part);
    if (!overlap)
      continue;
    pending.push_back(gt::DMAOp::create(
        builder, loc, tokenType(builder.getContext()), source->buffer,
        minus(overlap->offsets, source->box.offsets), buffer,
        minus(overlap->offsets, box.offsets), overlap->sizes,
        /*rank_stride=*/nullptr));
  }
  return {buffer, SmallVector<int64_t>(box.sizes.size(), 0)};
}

std::pair<Value, SmallVector<int64_t>>
OperandStager::bring(const DeviceTensor &tensor, int64_t cube, const Box &box) {
  for (const Piece &p : tensor.pieces)
    if (p.cube == cube && p.box.contains(box))
      return {p.buffer, minus(box.offsets, p.box.offsets)};
  Value key = tensor.pieces.front().buffer;
  for (const Staged &s : staged)
    if (s.tensor == key && s.cube == cube && s.box.contains(box))
      return {s.buffer, minus(box.offsets, s.box.offsets)};

  auto bufferType = MemRefType::get(
      box.sizes, tensor.type.getElementType(), MemRefLayoutAttrInterface(),
      gt::CubeAttr::get(builder.getContext(), cube));
  Value buffer = gt::AllocOp::create(builder, loc, bufferType);
  for (const Piece *source : distinctPieces(tensor, cube)) {
    std::optional<Box> overlap = source->box.intersect(box);
    if (!overlap)
      continue;
    pending.push_back(gt::DMAOp::create(
        builder, loc, tokenType(builder.getContext()), source->buffer,
        minus(overlap->offsets, source->box.offsets), buffer,
        minus(overlap->offsets, box.offsets), overlap->sizes,
        /*rank_stride=*/nullptr));
  }
  staged.push_back({key, cube, box, buffer});
  return {buffer, SmallVector<int64_t>(box.sizes.size(), 0)};
}

void OperandStager::relayByMeshRows(const DeviceTensor &tensor,
                                    ArrayRef<std::pair<int64_t, Box>> requests,
                                    const gt::DeviceDescription &device) {
  // The tensor's distinct regions with the cubes that hold each, and the
  // piece of each (region, cube), for the copies' sources.
  SmallVector<HeldBox> held;
  SmallVector<SmallVector<const Piece *, 4>> holders;
  for (const Piece &p : tensor.pieces) {
    auto *it =
        llvm::find_if(held, [&](const HeldBox &h) { return h.box == p.box; });
    if (it == held.end()) {
      held.push_back({p.box, {p.cube}});
      holders.push_back({&p});
    } else {
      it->cubes.push_back(p.cube);
      holders[it - held.begin()].push_back(&p);
    }
  }
  // What bring would find staged already is not asked again.
  SmallVector<std::pair<int64_t, Box>> open;
  for (const auto &[cube, box] : requests)
    if (!holds(tensor, cube, box))
      open.push_back({cube, box});
  MeshRelayPlan plan = planMeshRelay(
      device, held, open, double(tensor.type.getElementTypeBitWidth()) / 8);
  if (!plan.pays())
    return;

  Value key = tensor.pieces.front().buffer;
  SmallVector<Value> targets;
  issueRelayPlan(
      builder, loc, plan, tensor.type.getElementType(), holders,
      [&](unsigned request) -> std::pair<Value, Box> {
        return {targets[request], plan.requests[request].second};
      },
      [&] {
        for (const auto &[cube, box] : plan.requests) {
          targets.push_back(gt::AllocOp::create(
              builder, loc,
              MemRefType::get(box.sizes, tensor.type.getElementType(),
                              MemRefLayoutAttrInterface(),
                              gt::CubeAttr::get(builder.getContext(), cube))));
          staged.push_back({key, cube, box, targets.back()});
        }
      },
      pending);
}

ShareRelay kb::detail::planShareRelay(const DeviceTensor &out,
                                     ArrayRef<Box> computeBoxes,
                                     int64_t elementBytes,
                                     const gemm_tile::DeviceDescription &device) {
  ShareRelay relay;
  SmallVector<HeldBox> shares;
  SmallVector<std::pair<int64_t, Box>> replicas;
  for (auto [piece, box] : llvm::zip_equal(out.pieces, computeBoxes)) {
    replicas.push_back({piece.cube, piece.box});
    if (box.numElements() == 0)
      continue;
    shares.push_back({box, {piece.cube}});
    relay.holders.push_back({&piece});
  }
  relay.plan = planMeshRelay(device, shares, replicas, double(elementBytes),
                             /*maxCubes=*/64, /*inPlace=*/true);
  return relay;
}

void kb::detail::issueShareRelay(OpBuilder &builder, Location loc,
                                 const ShareRelay &relay,
                                 const DeviceTensor &out, Type elementType,
                                 SmallVectorImpl<Value> &copies) {
  issueRelayPlan(
      builder, loc, relay.plan, elementType, relay.holders,
      [&](unsigned request) -> std::pair<Value, Box> {
        const Piece &piece = *llvm::find_if(out.pieces, [&](const Piece &p) {
          return p.cube == relay.plan.requests[request].first;
        });
        return {piece.buffer, piece.box};
      },
      [] {}, copies);
}

FailureOr<GemmTileSizes> GemmTileChoices::get(Operation *op, int64_t rows,
                                              int64_t cols) {
  auto [it, fresh] = chosen.try_emplace({rows, cols});
  if (fresh)
    it->second = chooseGemmTile(rows, cols, k, elementBytes, device);
  if (!it->second)
    return op->emitOpError() << "has no gemm tile that fits a PE buffer of "
                             << device.peBufferBytes() << " bytes";
  return *it->second;
}

LogicalResult GemmTileChoices::issueSlab(OpBuilder &builder, Location loc,
                                         Operation *op, int64_t pe,
                                         const Box &slab, Value lhs,
                                         ArrayRef<int64_t> lhsAt, Value rhs,
                                         ArrayRef<int64_t> rhsAt, Value out,
                                         SmallVectorImpl<Value> &tiles) {
  FailureOr<GemmTileSizes> tile = get(op, slab.sizes[0], slab.sizes[1]);
  if (failed(tile))
    return failure();
  Type token = tokenType(builder.getContext());
  for (int64_t i = 0; i < slab.sizes[0]; i += tile->m)
    for (int64_t j = 0; j < slab.sizes[1]; j += tile->n)
      tiles.push_back(gt::MatmulOp::create(
          builder, loc, token, pe, lhs,
          SmallVector<int64_t>{lhsAt[0] + i, lhsAt[1]}, rhs,
          SmallVector<int64_t>{rhsAt[0], rhsAt[1] + j}, out,
          SmallVector<int64_t>{slab.offsets[0] + i, slab.offsets[1] + j},
          SmallVector<int64_t>{std::min(tile->m, slab.sizes[0] - i),
                               std::min(tile->n, slab.sizes[1] - j), k},
          tile->kChunk, /*accumulate=*/false));
  return success();
}

bool kb::detail::relayIntoPieces(OpBuilder &builder, Location loc,
                                 ArrayRef<Piece> held, const DeviceTensor &out,
                                 const Box &rows,
                                 const gt::DeviceDescription &device,
                                 SmallVectorImpl<Value> &copies) {
  SmallVector<HeldBox> shares;
  SmallVector<SmallVector<const Piece *, 4>> holders;
  for (const Piece &piece : held)
    if (std::optional<Box> part = piece.box.intersect(rows)) {
      shares.push_back({*part, {piece.cube}});
      holders.push_back({&piece});
    }
  SmallVector<std::pair<int64_t, Box>> requests;
  for (const Piece &piece : out.pieces)
    if (std::optional<Box> part = piece.box.intersect(rows))
      requests.push_back({piece.cube, *part});
  MeshRelayPlan plan = planMeshRelay(
      device, shares, requests, double(out.type.getElementTypeBitWidth()) / 8);
  if (!plan.pays())
    return false;
  issueRelayPlan(
      builder, loc, plan, out.type.getElementType(), holders,
      [&](unsigned request) -> std::pair<Value, Box> {
        const Piece &piece = *llvm::find_if(out.pieces, [&](const Piece &p) {
          return p.cube == plan.requests[request].first &&
                 p.box.contains(plan.requests[request].second);
        });
        return {piece.buffer, piece.box};
      },
      [] {}, copies);
  return true;
}

SmallVector<SmallVector<Value>>
kb::detail::issueMeshBroadcast(OpBuilder &builder, Location loc,
                               const MeshBroadcast &tree,
                               function_ref<Value(int64_t)> bufferOn,
                               int64_t firstRow, int64_t rows, int64_t cols) {
  Type token = tokenType(builder.getContext());
  SmallVector<SmallVector<Value>> into(tree.cubes.size());
  for (int64_t part = 0; part < tree.parts; ++part) {
    int64_t from = firstRow + rows * part / tree.parts,
            to = firstRow + rows * (part + 1) / tree.parts;
    for (size_t i = 1; i < tree.cubes.size(); ++i) {
      unsigned up = tree.parent[i];
      SmallVector<Value> after;
      if (up != 0)
        after.push_back(into[up][part]);
      into[i].push_back(gt::DMAOp::create(
          builder, loc, token, bufferOn(tree.cubes[up]),
          SmallVector<int64_t>{from, 0}, bufferOn(tree.cubes[i]),
          SmallVector<int64_t>{from, 0}, SmallVector<int64_t>{to - from, cols},
          ValueRange(after)));
    }
  }
  return into;
}

void kb::detail::issueRelayPlan(
    OpBuilder &builder, Location loc, const MeshRelayPlan &plan,
    Type elementType, ArrayRef<SmallVector<const Piece *, 4>> holders,
    function_ref<std::pair<Value, Box>(unsigned)> targetOf,
    function_ref<void()> gathered, SmallVectorImpl<Value> &copies) {
  Type token = tokenType(builder.getContext());
  SmallVector<Value> relayBuffers;
  for (const MeshRelayPlan::Relay &r : plan.relays)
    relayBuffers.push_back(gt::AllocOp::create(
        builder, loc,
        MemRefType::get(r.box.sizes, elementType, MemRefLayoutAttrInterface(),
                        gt::CubeAttr::get(builder.getContext(), r.cube))));
  // The buffer a copy reads and the box that buffer holds.
  auto sourceOf = [&](const RelayCopy &c) -> std::pair<Value, Box> {
    if (c.fromRelay)
      return {relayBuffers[c.source], plan.relays[c.source].box};
    if (c.fromRequest)
      return targetOf(c.source);
    for (const Piece *p : holders[c.source])
      if (p->cube == c.from)
        return {p->buffer, p->box};
    llvm_unreachable("a relay plan copies from a cube that holds the piece");
  };
  // A forwarded part (hop by hop) is read from the buffer it was copied
  // into: the copy is ordered after that copy (`after`), so the DMA engine
  // starts it when the hop before it ends while the rank goes on to its
  // next work; a wait there held the rank, and every PE with it, for each
  // hop. Every copy's token is still waited for, with the others.
  // A delivery is ordered after the gather's copies into the part of a
  // relay it reads, and after those that read the part of a buffer it
  // overwrites (a relay in place puts the tensor back into the buffers it
  // was gathered from), not after a wait for the whole gather.
  struct Gathered {
    unsigned relay;
    Value source;
    Box region;
    Value token;
  };
  SmallVector<Gathered> gatheredCopies;
  auto issueWave = [&](ArrayRef<RelayCopy> wave,
                       function_ref<std::pair<Value, Box>(unsigned)> into,
                       bool gathering) {
    SmallVector<Value> tokens;
    for (const RelayCopy &c : wave) {
      auto [source, sourceBox] = sourceOf(c);
      auto [target, targetBox] = into(c.target);
      SmallVector<Value, 2> after;
      if (c.after >= 0) {
        assert(size_t(c.after) < tokens.size() && "a hop's source is issued");
        after.push_back(tokens[c.after]);
      }
      if (!gathering)
        for (const Gathered &g : gatheredCopies)
          if (((c.fromRelay && g.relay == c.source) || g.source == target) &&
              g.region.intersect(c.region) &&
              !llvm::is_contained(after, g.token))
            after.push_back(g.token);
      tokens.push_back(gt::DMAOp::create(
          builder, loc, token, source,
          minus(c.region.offsets, sourceBox.offsets), target,
          minus(c.region.offsets, targetBox.offsets), c.region.sizes, after));
      if (gathering)
        gatheredCopies.push_back({c.target, source, c.region, tokens.back()});
    }
    copies.append(tokens.begin(), tokens.end());
  };
  issueWave(
      plan.gather,
      [&](unsigned relay) -> std::pair<Value, Box> {
        return {relayBuffers[relay], plan.relays[relay].box};
      },
      /*gathering=*/true);
  gathered();
  issueWave(plan.deliver, targetOf, /*gathering=*/false);
}
