//===- kb-lsp-server.cpp - language server for kb programs ----------------===//
//
// MLIR's language server with kb's dialects: diagnostics as you type (the kb
// and gemm_tile verifiers, with their messages), hover, go-to-definition and
// references for .mlir files holding kb or gemm_tile IR. Editors start it
// over stdio, as they start mlir-lsp-server.
//
//===----------------------------------------------------------------------===//

#include "kb/InitAllDialects.h"
#include "kb/Version.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-lsp-server/MlirLspServerMain.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "llvm/Support/CommandLine.h"

int main(int argc, char **argv) {
  llvm::cl::SetVersionPrinter(
      [](llvm::raw_ostream &os) { os << kb::versionString() << "\n"; });
  mlir::DialectRegistry registry;
  kb::registerAllDialects(registry);
  return mlir::asMainReturnCode(mlir::MlirLspServerMain(argc, argv, registry));
}
