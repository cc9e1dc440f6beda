//===- PlacementAdvice.cpp - given policies kb-place would not choose -----===//

#include "PlacementAdvice.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Location.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"

using namespace mlir;
using namespace kb;

/// The prefix of kb-place's advice remarks (lib/Dialect/KB/Transforms/Place.cpp).
static constexpr llvm::StringLiteral kAdvicePrefix = "kb-place advice: ";

PlacementAdviceCollector::PlacementAdviceCollector(MLIRContext *ctx)
    : handler(ctx, [this](Diagnostic &diag) -> LogicalResult {
        if (diag.getSeverity() != DiagnosticSeverity::Remark)
          return failure();
        std::optional<PlacementAdvice> parsed = parse(diag);
        if (!parsed)
          return failure();
        advice.push_back(std::move(*parsed));
        return success();
      }) {}

/// The remark's arguments are its text pieces, the two policies (attributes)
/// and the two estimates (numbers formatted as text), in that order.
std::optional<PlacementAdvice>
PlacementAdviceCollector::parse(Diagnostic &diag) const {
  ArrayRef<DiagnosticArgument> args = diag.getArguments();
  if (args.empty() ||
      args.front().getKind() != DiagnosticArgument::DiagnosticArgumentKind::String ||
      !args.front().getAsString().starts_with(kAdvicePrefix))
    return std::nullopt;
  SmallVector<std::string, 2> policies;
  SmallVector<double, 2> micros;
  for (const DiagnosticArgument &arg : args) {
    if (arg.getKind() == DiagnosticArgument::DiagnosticArgumentKind::Attribute) {
      std::string text;
      llvm::raw_string_ostream os(text);
      arg.getAsAttribute().print(os);
      policies.push_back(text);
    } else if (arg.getKind() ==
               DiagnosticArgument::DiagnosticArgumentKind::String) {
      double value;
      if (llvm::to_float(arg.getAsString(), value))
        micros.push_back(value);
    }
  }
  if (policies.size() != 2 || micros.size() != 2)
    return std::nullopt;
  PlacementAdvice entry{"", policies[0], policies[1], micros[0], micros[1]};
  if (auto file = diag.getLocation()->findInstanceOf<FileLineColLoc>())
    entry.location = llvm::formatv("{0}:{1}:{2}", file.getFilename().getValue(),
                                   file.getLine(), file.getColumn())
                         .str();
  return entry;
}

llvm::json::Value kb::placementAdviceJSON(ArrayRef<PlacementAdvice> advice) {
  llvm::json::Array entries;
  for (const PlacementAdvice &a : advice)
    entries.push_back(llvm::json::Object{{"location", a.location},
                                         {"given", a.given},
                                         {"given_us", a.givenMicros},
                                         {"kb_choice", a.choice},
                                         {"kb_choice_us", a.choiceMicros}});
  return std::move(entries);
}

void kb::printPlacementAdvice(llvm::raw_ostream &os,
                              ArrayRef<PlacementAdvice> advice) {
  for (const PlacementAdvice &a : advice)
    os << llvm::formatv("placement: {0}: the given {1} is estimated at {2:F3} "
                        "us for the ops using it; kb's choice {3}: {4:F3} us\n",
                        a.location.empty() ? "a value" : a.location, a.given,
                        a.givenMicros, a.choice, a.choiceMicros);
}
