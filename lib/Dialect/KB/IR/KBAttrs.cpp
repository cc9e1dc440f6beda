//===- KBAttrs.cpp - kb attributes ----------------------------------------===//

#include "kb/Dialect/KB/IR/KBAttrs.h"
#include "kb/Dialect/KB/IR/KBDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/MathExtras.h"

using namespace mlir;
using namespace kb;

#define GET_ATTRDEF_CLASSES
#include "kb/Dialect/KB/IR/KBAttrs.cpp.inc"

void KBDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "kb/Dialect/KB/IR/KBAttrs.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// DPPolicyAttr
//===----------------------------------------------------------------------===//

/// Parses `replicate`, `shard(<dim>)` or kernbench's 2-D names `column_wise`
/// (shard(1), the columns) and `row_wise` (shard(0)) into a dimension (-1 for
/// replicate). The printer writes the general form.
static ParseResult parsePlacement(AsmParser &parser, int64_t &dim) {
  if (succeeded(parser.parseOptionalKeyword("replicate"))) {
    dim = DPPolicyAttr::kReplicate;
    return success();
  }
  if (succeeded(parser.parseOptionalKeyword("column_wise"))) {
    dim = 1;
    return success();
  }
  if (succeeded(parser.parseOptionalKeyword("row_wise"))) {
    dim = 0;
    return success();
  }
  if (parser.parseKeyword("shard") || parser.parseLParen() ||
      parser.parseInteger(dim) || parser.parseRParen())
    return failure();
  return success();
}

static void printPlacement(AsmPrinter &printer, int64_t dim) {
  if (dim == DPPolicyAttr::kReplicate)
    printer << "replicate";
  else
    printer << "shard(" << dim << ")";
}

Attribute DPPolicyAttr::parse(AsmParser &parser, Type) {
  int64_t cubeDim, peDim, numCubes, numPes;
  llvm::SMLoc loc = parser.getCurrentLocation();
  if (parser.parseLess() || parser.parseKeyword("cube") ||
      parser.parseEqual() || parsePlacement(parser, cubeDim) ||
      parser.parseComma() || parser.parseKeyword("pe") || parser.parseEqual() ||
      parsePlacement(parser, peDim) || parser.parseComma() ||
      parser.parseKeyword("num_cubes") || parser.parseEqual() ||
      parser.parseInteger(numCubes) || parser.parseComma() ||
      parser.parseKeyword("num_pes") || parser.parseEqual() ||
      parser.parseInteger(numPes) || parser.parseGreater())
    return {};
  return parser.getChecked<DPPolicyAttr>(loc, parser.getContext(), cubeDim,
                                         peDim, numCubes, numPes);
}

void DPPolicyAttr::print(AsmPrinter &printer) const {
  printer << "<cube = ";
  printPlacement(printer, getCubeDim());
  printer << ", pe = ";
  printPlacement(printer, getPeDim());
  printer << ", num_cubes = " << getNumCubes() << ", num_pes = " << getNumPes()
          << ">";
}

LogicalResult DPPolicyAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                   int64_t cubeDim, int64_t peDim,
                                   int64_t numCubes, int64_t numPes) {
  if (numCubes < 1)
    return emitError() << "DPPolicy num_cubes must be at least 1, got "
                       << numCubes;
  if (numPes < 1)
    return emitError() << "DPPolicy num_pes must be at least 1, got " << numPes;
  if (cubeDim < kReplicate)
    return emitError()
           << "DPPolicy cube shard dimension must be non-negative, got "
           << cubeDim;
  if (peDim < kReplicate)
    return emitError()
           << "DPPolicy pe shard dimension must be non-negative, got " << peDim;
  return success();
}

LogicalResult DPPolicyAttr::verifyEncoding(
    ArrayRef<int64_t> shape, Type elementType,
    function_ref<InFlightDiagnostic()> emitError) const {
  // A placed tensor is cut into buffers whose bytes the lowering counts:
  // they must fit in int64 (MLIR accepts any dimension up to 2^63 - 1).
  // The parser verifies the encoding even when the element type failed to
  // parse (it then passes a null type); only a known type has a byte size.
  if (elementType && elementType.isIntOrFloat() &&
      !ShapedType::isDynamicShape(shape) &&
      !checkedByteSize(
          shape, llvm::divideCeil(elementType.getIntOrFloatBitWidth(), 8)))
    return emitError() << "DPPolicy places "
                       << RankedTensorType::get(shape, elementType)
                       << ", which has more than 2^63 - 1 bytes";
  int64_t rank = shape.size();
  SmallVector<int64_t> piece(shape);
  auto checkLevel = [&](StringRef level, int64_t dim, int64_t count,
                        StringRef countName) -> LogicalResult {
    if (dim == kReplicate)
      return success();
    if (dim >= rank)
      return emitError() << "DPPolicy " << level << " shards dimension " << dim
                         << " of a rank-" << rank << " tensor";
    if (ShapedType::isDynamic(piece[dim]))
      return success();
    if (piece[dim] % count != 0)
      return emitError() << "DPPolicy " << level << " shard of dimension "
                         << dim << " (size " << piece[dim]
                         << ") does not divide by " << countName << " ("
                         << count << ")";
    piece[dim] /= count;
    return success();
  };
  if (failed(checkLevel("cube", getCubeDim(), getNumCubes(), "num_cubes")) ||
      failed(checkLevel("pe", getPeDim(), getNumPes(), "num_pes")))
    return failure();
  return success();
}
