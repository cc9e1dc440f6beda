//===- PlacementAdvice.h - given policies kb-place would not choose -*- C++ -*-===//
//
// A user's DPPolicy is kept, even when kb-place estimates its own choice to
// be clearly faster. kb-run asks kb-place to say so (its `advise` remarks)
// and shows both policies with their estimates in the report, so a ported
// placement (the seed's one-PE replicate, say) is never silently slow.
//
//===----------------------------------------------------------------------===//

#ifndef KB_RUN_PLACEMENTADVICE_H
#define KB_RUN_PLACEMENTADVICE_H

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>
#include <string>

namespace kb {

/// One given policy and the one kb-place would choose, with the estimated
/// microseconds of the ops using the value under each.
struct PlacementAdvice {
  std::string location; // file:line:col of the value
  std::string given, choice;
  double givenMicros = 0, choiceMicros = 0;
};

/// While alive, takes kb-place's advice remarks out of the diagnostics of
/// `ctx` and keeps them; every other diagnostic goes on to the handlers
/// registered before it.
class PlacementAdviceCollector {
public:
  explicit PlacementAdviceCollector(mlir::MLIRContext *ctx);

  llvm::ArrayRef<PlacementAdvice> getAdvice() const { return advice; }

private:
  std::optional<PlacementAdvice> parse(mlir::Diagnostic &diag) const;

  llvm::SmallVector<PlacementAdvice> advice;
  mlir::ScopedDiagnosticHandler handler;
};

/// The report's `placement_advice`: one object per entry.
llvm::json::Value placementAdviceJSON(llvm::ArrayRef<PlacementAdvice> advice);

/// One line per entry, after the text report.
void printPlacementAdvice(llvm::raw_ostream &os,
                          llvm::ArrayRef<PlacementAdvice> advice);

} // namespace kb

#endif // KB_RUN_PLACEMENTADVICE_H
