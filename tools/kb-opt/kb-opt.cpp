//===- kb-opt.cpp - kb optimizer driver -----------------------------------===//
//
// mlir-opt for kb: the kb and gemm_tile dialects, the upstream dialects their
// programs use, every kb pass and the kb pipeline.
//
//===----------------------------------------------------------------------===//

#include "kb/InitAllDialects.h"
#include "kb/InitAllPasses.h"
#include "kb/Version.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "llvm/Support/CommandLine.h"

int main(int argc, char **argv) {
  llvm::cl::SetVersionPrinter(
      [](llvm::raw_ostream &os) { os << kb::versionString() << "\n"; });
  mlir::DialectRegistry registry;
  kb::registerAllDialects(registry);
  kb::registerAllPasses();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "kb optimizer driver\n", registry));
}
