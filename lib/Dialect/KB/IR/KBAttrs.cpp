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

/// Parses `= <count>` or `= all` after a count's name; `all` is std::nullopt.
static ParseResult parseCount(AsmParser &parser,
                              std::optional<int64_t> &count) {
  if (parser.parseEqual())
    return failure();
  if (succeeded(parser.parseOptionalKeyword("all"))) {
    count = std::nullopt;
    return success();
  }
  int64_t value;
  if (parser.parseInteger(value))
    return failure();
  count = value;
  return success();
}

Attribute DPPolicyAttr::parse(AsmParser &parser, Type) {
  int64_t cubeDim, peDim;
  std::optional<int64_t> numCubes, numPes;
  llvm::SMLoc loc = parser.getCurrentLocation();
  if (parser.parseLess() || parser.parseKeyword("cube") ||
      parser.parseEqual() || parsePlacement(parser, cubeDim) ||
      parser.parseComma() || parser.parseKeyword("pe") || parser.parseEqual() ||
      parsePlacement(parser, peDim))
    return {};
  // Then the counts, each optional (left out: all), in this order.
  bool seenCubes = false, seenPes = false;
  while (succeeded(parser.parseOptionalComma())) {
    llvm::SMLoc keyLoc = parser.getCurrentLocation();
    StringRef key;
    if (parser.parseKeyword(&key))
      return {};
    if (key == "num_cubes" && !seenCubes && !seenPes) {
      seenCubes = true;
      if (parseCount(parser, numCubes))
        return {};
    } else if (key == "num_pes" && !seenPes) {
      seenPes = true;
      if (parseCount(parser, numPes))
        return {};
    } else {
      parser.emitError(keyLoc)
          << "expected `num_cubes` then `num_pes`, each at most once, got `"
          << key << "`";
      return {};
    }
  }
  if (parser.parseGreater())
    return {};
  return parser.getChecked<DPPolicyAttr>(loc, parser.getContext(), cubeDim,
                                         peDim, numCubes, numPes);
}

void DPPolicyAttr::print(AsmPrinter &printer) const {
  printer << "<cube = ";
  printPlacement(printer, getCubeDim());
  printer << ", pe = ";
  printPlacement(printer, getPeDim());
  // A count that means "all of the device's" is left out, as kernbench's
  // None is.
  if (std::optional<int64_t> cubes = getNumCubesOrAll())
    printer << ", num_cubes = " << *cubes;
  if (std::optional<int64_t> pes = getNumPesOrAll())
    printer << ", num_pes = " << *pes;
  printer << ">";
}

LogicalResult DPPolicyAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                   int64_t cubeDim, int64_t peDim,
                                   std::optional<int64_t> numCubes,
                                   std::optional<int64_t> numPes) {
  if (numCubes && *numCubes < 1)
    return emitError() << "DPPolicy num_cubes must be at least 1, got "
                       << *numCubes;
  if (numPes && *numPes < 1)
    return emitError() << "DPPolicy num_pes must be at least 1, got "
                       << *numPes;
  if (cubeDim < kReplicate)
    return emitError()
           << "DPPolicy cube shard dimension must be non-negative, got "
           << cubeDim;
  if (peDim < kReplicate)
    return emitError()
           << "DPPolicy pe shard dimension must be non-negative, got " << peDim;
  return success();
}

/// Checks that each split of a tensor of `shape` names a dimension it has
/// and divides it evenly by its count. A count of std::nullopt (all of a
/// device not known here) leaves its split, and a PE split of the same
/// dimension after it, to `verifyOnDevice`.
static LogicalResult checkSplits(ArrayRef<int64_t> shape, int64_t cubeDim,
                                 int64_t peDim, std::optional<int64_t> numCubes,
                                 std::optional<int64_t> numPes,
                                 function_ref<InFlightDiagnostic()> emitError,
                                 StringRef cubesName = "num_cubes",
                                 StringRef pesName = "num_pes") {
  int64_t rank = shape.size();
  SmallVector<int64_t> piece(shape);
  auto checkLevel = [&](StringRef level, int64_t dim,
                        std::optional<int64_t> count,
                        StringRef countName) -> LogicalResult {
    if (dim == DPPolicyAttr::kReplicate)
      return success();
    if (dim >= rank)
      return emitError() << "DPPolicy " << level << " shards dimension " << dim
                         << " of a rank-" << rank << " tensor";
    if (ShapedType::isDynamic(piece[dim]))
      return success();
    if (!count) {
      piece[dim] = ShapedType::kDynamic;
      return success();
    }
    if (piece[dim] % *count != 0)
      return emitError() << "DPPolicy " << level << " shard of dimension "
                         << dim << " (size " << piece[dim]
                         << ") does not divide by " << countName << " ("
                         << *count << ")";
    piece[dim] /= *count;
    return success();
  };
  if (failed(checkLevel("cube", cubeDim, numCubes, cubesName)) ||
      failed(checkLevel("pe", peDim, numPes, pesName)))
    return failure();
  return success();
}

LogicalResult DPPolicyAttr::verifyOnDevice(
    ArrayRef<int64_t> shape, const DeviceDescription &device,
    function_ref<InFlightDiagnostic()> emitError) const {
  if (getNumCubes(device) > device.cubes)
    return emitError() << "DPPolicy names " << getNumCubes(device)
                       << " cubes, but the device has " << device.cubes;
  if (getNumPes(device) > device.pesPerCube)
    return emitError() << "DPPolicy names " << getNumPes(device)
                       << " PEs per cube, but the device has "
                       << device.pesPerCube;
  // A count left open is the device's: its split is checked only now.
  return checkSplits(
      shape, getCubeDim(), getPeDim(), getNumCubes(device), getNumPes(device),
      emitError, getNumCubesOrAll() ? "num_cubes" : "the device's cubes",
      getNumPesOrAll() ? "num_pes" : "the device's PEs per cube");
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
  return checkSplits(shape, getCubeDim(), getPeDim(), getNumCubesOrAll(),
                     getNumPesOrAll(), emitError);
}
