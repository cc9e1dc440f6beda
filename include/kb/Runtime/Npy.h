//===- Npy.h - reading and writing NumPy .npy files -------------*- C++ -*-===//

#ifndef KB_RUNTIME_NPY_H
#define KB_RUNTIME_NPY_H

#include "kb/Runtime/HostTensor.h"
#include "kb/Support/OutputFiles.h"

#include "llvm/Support/Error.h"

#include <optional>
#include <string>
#include <vector>

namespace kb::runtime {

/// Tensors larger than this are refused before any allocation.
constexpr int64_t kMaxNpyElements = int64_t(1) << 31;
/// Longer .npy headers are refused before they are read (numpy writes fewer
/// than 200 bytes).
constexpr uint64_t kMaxNpyHeaderBytes = uint64_t(1) << 20;

/// Parses an in-memory .npy (format 1.0, 2.0 or 3.0, little-endian, C order).
/// '<f2' gives an f16 tensor, '<f4' an f32 one, or a bf16 one when `expected`
/// is BF16 (numpy has no bf16: bf16 tensors travel as f32 and are rounded);
/// '<i4' an i32 one and '<i8' an i64 one, whose elements must lie within
/// kMaxExactInteger (HostTensor holds them as exact f32 values).
/// Every malformed input is an error whose message starts with `name`.
llvm::Expected<HostTensor>
parseNpy(llvm::StringRef bytes, llvm::StringRef name,
         std::optional<DType> expected = std::nullopt);

/// Reads and parses the .npy file at `path`, which must be a regular file;
/// only the header is read before its length has been checked against the
/// file's. With `keepHalf`, an f16 file gives a half tensor
/// (HostTensor::isHalf: its bits as they are in the file, half the memory).
/// f32 and kept-f16 data is read in pieces on up to `threads` host threads.
llvm::Expected<HostTensor>
readNpy(llvm::StringRef path, std::optional<DType> expected = std::nullopt,
        bool keepHalf = false, int threads = 1);

/// The .npy bytes of a tensor in two parts, for writing without first
/// copying its data into one string: the header (magic, version, length and
/// the padded dict), then the data — a view of the tensor's own storage when
/// it holds the file's dtype (f32, f16 kept 16-bit), else converted here.
/// The view lives as long as the tensor's storage.
struct NpyBytes {
  std::string header;
  std::string converted;
  llvm::StringRef storage;
  llvm::StringRef data() const {
    return storage.data() ? storage : llvm::StringRef(converted);
  }
};
NpyBytes npyBytes(const HostTensor &tensor);

/// The .npy bytes of `tensor` (format 1.0; f16 as '<f2', f32 and bf16 as
/// '<f4', i32 as '<i4', i64 as '<i8').
std::string serializeNpy(const HostTensor &tensor);

using kb::OutputFileSet;
using kb::writeFileAtomic;

/// Writes `tensor` to `path` as a one-file OutputFileSet, so a failure never
/// leaves a partial file at `path`.
llvm::Error writeNpyAtomic(llvm::StringRef path, const HostTensor &tensor);

} // namespace kb::runtime

#endif // KB_RUNTIME_NPY_H
