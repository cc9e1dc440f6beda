//===- Npy.h - reading and writing NumPy .npy files -------------*- C++ -*-===//

#ifndef KB_RUNTIME_NPY_H
#define KB_RUNTIME_NPY_H

#include "kb/Runtime/HostTensor.h"

#include "llvm/Support/Error.h"

#include <optional>
#include <string>
#include <vector>

namespace kb::runtime {

/// Tensors larger than this are refused before any allocation.
constexpr int64_t kMaxNpyElements = int64_t(1) << 31;

/// Parses an in-memory .npy (format 1.0, 2.0 or 3.0, little-endian, C order).
/// '<f2' gives an f16 tensor, '<f4' an f32 one, or a bf16 one when `expected`
/// is BF16 (numpy has no bf16: bf16 tensors travel as f32 and are rounded).
/// Every malformed input is an error whose message starts with `name`.
llvm::Expected<HostTensor>
parseNpy(llvm::StringRef bytes, llvm::StringRef name,
         std::optional<DType> expected = std::nullopt);

/// Reads and parses the .npy file at `path`.
llvm::Expected<HostTensor>
readNpy(llvm::StringRef path, std::optional<DType> expected = std::nullopt);

/// The .npy bytes of `tensor` (format 1.0; f16 as '<f2', f32 and bf16 as
/// '<f4').
std::string serializeNpy(const HostTensor &tensor);

/// Files written all or none: a run's outputs, so that a run that fails part
/// way leaves none of them. add() writes each file to a temporary beside its
/// destination (a rename within one directory is atomic and does not copy);
/// commit() renames them all into place. If a rename fails, commit() removes
/// the files it already renamed and every remaining temporary; a set destroyed
/// without a successful commit() removes its temporaries. A failed set thus
/// leaves none of its files; an older file at a destination that a failed
/// commit() had already reached is gone too (it is not restored).
///
/// \code
///   OutputFileSet outputs;
///   if (llvm::Error e = outputs.add("out/result0.npy", serializeNpy(t)))
///     return e; // the destructor removes what was written so far
///   if (llvm::Error e = outputs.add("out/report.json", json))
///     return e;
///   return outputs.commit();
/// \endcode
class OutputFileSet {
public:
  OutputFileSet() = default;
  OutputFileSet(const OutputFileSet &) = delete;
  OutputFileSet &operator=(const OutputFileSet &) = delete;
  ~OutputFileSet() { discard(); }

  /// Writes `contents` to a new temporary file beside `path`. The error names
  /// `path`; the files added before stay in the set.
  llvm::Error add(llvm::StringRef path, llvm::StringRef contents);

  /// Renames every temporary to its destination, in the order they were
  /// added. On failure nothing of the set is left and the error names the
  /// destination that failed. The set is empty afterwards either way.
  llvm::Error commit();

  /// Removes every temporary, and the set is empty.
  void discard();

private:
  struct Pending {
    std::string path, temp;
  };
  std::vector<Pending> pending;
};

/// Writes `tensor` to `path` as a one-file OutputFileSet, so a failure never
/// leaves a partial file at `path`.
llvm::Error writeNpyAtomic(llvm::StringRef path, const HostTensor &tensor);

/// Writes `contents` to `path` the same way.
llvm::Error writeFileAtomic(llvm::StringRef path, llvm::StringRef contents);

} // namespace kb::runtime

#endif // KB_RUNTIME_NPY_H
