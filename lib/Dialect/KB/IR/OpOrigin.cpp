//===- OpOrigin.cpp - which kb op and user line a device op came from -----===//

#include "kb/Dialect/KB/IR/OpOrigin.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/StringExtras.h"

using namespace mlir;
using kb::OpOrigin;

/// `column_parallel_linear` -> `ColumnParallelLinear`: layers are named as
/// Megatron-LM's classes are.
static std::string camelCase(StringRef mnemonic) {
  std::string name;
  bool upper = true;
  for (char c : mnemonic) {
    if (c == '_') {
      upper = true;
      continue;
    }
    name += upper ? static_cast<char>(llvm::toUpper(c)) : c;
    upper = false;
  }
  return name;
}

static bool hasName(Location loc) {
  if (isa<NameLoc>(loc))
    return true;
  if (auto fused = dyn_cast<FusedLoc>(loc))
    return llvm::any_of(fused.getLocations(), hasName);
  return false;
}

Location kb::layerLocation(Operation *op) {
  Location loc = op->getLoc();
  if (hasName(loc))
    return loc;
  return NameLoc::get(StringAttr::get(op->getContext(),
                                      camelCase(op->getName().stripDialect())),
                      loc);
}

Location kb::kbOpLocation(Operation *op) {
  return NameLoc::get(
      StringAttr::get(op->getContext(), op->getName().getStringRef()),
      op->getLoc());
}

Location kb::flattenedLocation(StringRef kernel, Location opLoc,
                               Location callLoc) {
  MLIRContext *ctx = opLoc->getContext();
  return NameLoc::get(StringAttr::get(ctx, kernel),
                      CallSiteLoc::get(opLoc, callLoc));
}

std::string kb::OpOrigin::where() const {
  if (file.empty())
    return "";
  return file + ":" + std::to_string(line);
}

/// Fills what `origin` still lacks from `loc`: the outermost names win.
static void fill(OpOrigin &origin, Location loc) {
  if (auto name = dyn_cast<NameLoc>(loc)) {
    StringRef text = name.getName().getValue();
    if (auto call = dyn_cast<CallSiteLoc>(name.getChildLoc())) {
      // A flattened kernel's op: the kernel is the op, the call site says
      // which layer and line called it.
      if (origin.op.empty())
        origin.op = text.str();
      fill(origin, call.getCaller());
      fill(origin, call.getCallee());
      return;
    }
    if (text.starts_with("kb.")) {
      if (origin.op.empty())
        origin.op = text.drop_front(3).str();
    } else if (origin.layer.empty()) {
      origin.layer = text.str();
    }
    fill(origin, name.getChildLoc());
    return;
  }
  if (auto call = dyn_cast<CallSiteLoc>(loc)) {
    fill(origin, call.getCaller());
    fill(origin, call.getCallee());
    return;
  }
  if (auto fused = dyn_cast<FusedLoc>(loc)) {
    for (Location part : fused.getLocations())
      fill(origin, part);
    return;
  }
  if (auto file = dyn_cast<FileLineColLoc>(loc)) {
    if (origin.file.empty()) {
      origin.file = file.getFilename().str();
      origin.line = file.getLine();
      origin.column = file.getColumn();
    }
    return;
  }
  if (auto opaque = dyn_cast<OpaqueLoc>(loc))
    fill(origin, opaque.getFallbackLocation());
}

kb::OpOrigin kb::originOf(Location loc) {
  OpOrigin origin;
  fill(origin, loc);
  return origin;
}

FileLineColLoc kb::fileLocationOf(Location loc) {
  FileLineColLoc found;
  loc->walk([&](Location part) {
    // A call site's callee comes before its caller in the walk, as MLIR's
    // diagnostics show it.
    if (auto file = dyn_cast<FileLineColLoc>(part)) {
      found = file;
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return found;
}
