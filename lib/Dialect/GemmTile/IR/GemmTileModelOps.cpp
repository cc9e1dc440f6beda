//===- GemmTileModelOps.cpp - the row gather's verifier -------------------===//

#include "kb/Dialect/GemmTile/IR/DeviceDescription.h"
#include "kb/Dialect/GemmTile/IR/GemmTileOps.h"

using namespace mlir;
using namespace kb;
using namespace kb::gemm_tile;

/// `v` must be a static buffer in a cube of `device` whose `sizes` region at
/// `offsets` lies inside it.
static LogicalResult checkRegion(Operation *op, const DeviceDescription &device,
                                 Value v, StringRef name,
                                 ArrayRef<int64_t> offsets,
                                 ArrayRef<int64_t> sizes) {
  auto type = cast<MemRefType>(v.getType());
  if (!type.hasStaticShape() || !type.getLayout().isIdentity())
    return op->emitOpError() << "expects " << name
                             << " to be a static, identity-layout buffer, got "
                             << type;
  int64_t cube = getCube(type);
  if (cube < 0 || cube >= device.cubes)
    return op->emitOpError() << "expects " << name << " in one of the "
                             << device.cubes << " cubes' memory, got " << type;
  if (static_cast<int64_t>(offsets.size()) != type.getRank() ||
      static_cast<int64_t>(sizes.size()) != type.getRank())
    return op->emitOpError()
           << "expects " << type.getRank() << " offsets and sizes for " << name
           << ", got " << offsets.size() << " offsets and " << sizes.size()
           << " sizes";
  for (int64_t d = 0; d < type.getRank(); ++d) {
    int64_t dim = type.getDimSize(d);
    if (sizes[d] <= 0 || offsets[d] < 0 || offsets[d] > dim ||
        sizes[d] > dim - offsets[d])
      return op->emitOpError()
             << "reads or writes " << name << "[" << offsets[d] << " : "
             << offsets[d] << " + " << sizes[d] << "] in dimension " << d
             << ", outside its size " << dim;
  }
  return success();
}

LogicalResult GatherRowsOp::verify() {
  DeviceDescription device = lookupDevice(*this);
  ArrayRef<int64_t> sizes = getSizes();
  if (sizes.size() != 2)
    return emitOpError() << "expects sizes [rows, cols], got " << sizes.size()
                         << " sizes";
  int64_t rows = sizes[0], cols = sizes[1];
  if (failed(checkRegion(*this, device, getIds(), "ids", getIdsOffsets(),
                         {rows})) ||
      failed(checkRegion(*this, device, getOut(), "out", getOutOffsets(),
                         sizes)) ||
      failed(checkRegion(*this, device, getTable(), "table",
                         getTableOffsets(),
                         {static_cast<int64_t>(getTableRows()), cols})))
    return failure();
  Type table = getTable().getType().getElementType(),
       out = getOut().getType().getElementType();
  if (table != out)
    return emitOpError() << "copies " << table << " rows into " << out
                         << "; a gather does not convert";
  if (getFirstId() >= getVocab())
    return emitOpError() << "has a table region starting at id "
                         << getFirstId() << ", past the vocabulary of "
                         << getVocab() << " ids";
  return success();
}
