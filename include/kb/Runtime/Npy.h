//===- Npy.h - reading and writing NumPy .npy files -------------*- C++ -*-===//

#ifndef KB_RUNTIME_NPY_H
#define KB_RUNTIME_NPY_H

#include "kb/Runtime/HostTensor.h"

#include "llvm/Support/Error.h"

#include <optional>

namespace kb::runtime {

/// Tensors larger than this are refused before any allocation.
constexpr int64_t kMaxNpyElements = int64_t(1) << 31;

/// Parses an in-memory .npy (format 1.0, 2.0 or 3.0, little-endian, C order).
/// '<f2' gives an f16 tensor, '<f4' an f32 one, or a bf16 one when `expected`
/// is BF16 (numpy has no bf16: bf16 tensors travel as f32 and are rounded).
/// Every malformed input is an error whose message starts with `name`.
llvm::Expected<HostTensor> parseNpy(llvm::StringRef bytes, llvm::StringRef name,
                                    std::optional<DType> expected = std::nullopt);

/// Reads and parses the .npy file at `path`.
llvm::Expected<HostTensor> readNpy(llvm::StringRef path,
                                   std::optional<DType> expected = std::nullopt);

/// The .npy bytes of `tensor` (format 1.0; f16 as '<f2', f32 and bf16 as '<f4').
std::string serializeNpy(const HostTensor &tensor);

/// Writes `tensor` to `path` through a temporary file in the same directory
/// and a rename, so a failure never leaves a partial file at `path`.
llvm::Error writeNpyAtomic(llvm::StringRef path, const HostTensor &tensor);

/// Writes `contents` to `path` the same way.
llvm::Error writeFileAtomic(llvm::StringRef path, llvm::StringRef contents);

} // namespace kb::runtime

#endif // KB_RUNTIME_NPY_H
