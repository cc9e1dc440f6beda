//===- KernelRegistry.cpp - elementwise kernels by name -------------------===//
//
// The one place a device op's `kernel` name meets its host code: kb-run
// looks the kernel of every elementwise gemm_tile op up here, so a new
// elementwise op needs a kernel and a row below, and no executor code.
//
//===----------------------------------------------------------------------===//

#include "kb/Runtime/Kernels.h"

#include "llvm/ADT/STLExtras.h"

using namespace kb::runtime;

namespace {
struct MapEntry {
  llvm::StringLiteral name;
  MapKernel kernel;
};
struct ZipEntry {
  llvm::StringLiteral name;
  ZipKernel kernel;
};

constexpr MapEntry kMapKernels[] = {
    {"gelu", geluTanh},
    {"silu", silu},
    {"copy", copy},
};
constexpr ZipEntry kZipKernels[] = {
    {"add", addInPlace},
    {"mul", mulInPlace},
};
} // namespace

MapKernel kb::runtime::lookupMapKernel(llvm::StringRef name) {
  const MapEntry *it = llvm::find_if(
      kMapKernels, [&](const MapEntry &e) { return e.name == name; });
  return it == std::end(kMapKernels) ? nullptr : it->kernel;
}

ZipKernel kb::runtime::lookupZipKernel(llvm::StringRef name) {
  const ZipEntry *it = llvm::find_if(
      kZipKernels, [&](const ZipEntry &e) { return e.name == name; });
  return it == std::end(kZipKernels) ? nullptr : it->kernel;
}
