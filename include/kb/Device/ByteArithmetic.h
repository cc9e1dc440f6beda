//===- ByteArithmetic.h - byte counts that cannot wrap ----------*- C++ -*-===//
//
// MLIR accepts any dimension up to 2^63 - 1, so a byte count of a tensor, a
// piece or a tile can overflow int64. Every such count in kb goes through
// these functions: checked where an overflow is an error, saturating where a
// count only has to compare as huge.
//
//===----------------------------------------------------------------------===//

#ifndef KB_DEVICE_BYTEARITHMETIC_H
#define KB_DEVICE_BYTEARITHMETIC_H

#include "llvm/ADT/ArrayRef.h"

#include <cstdint>
#include <optional>
#include <string>

namespace kb {

/// The bytes of a tensor of `shape` with `elementBytes`-byte elements, or
/// std::nullopt when a dimension is dynamic (negative) or the count
/// overflows int64.
std::optional<int64_t> checkedByteSize(llvm::ArrayRef<int64_t> shape,
                                       int64_t elementBytes);

/// Byte counts of absurd shapes saturate at INT64_MAX rather than wrap around
/// to something small; byteCountText prints a saturated count as what it is.
int64_t saturatingAdd(int64_t a, int64_t b);
int64_t saturatingMul(int64_t a, int64_t b);
std::string byteCountText(int64_t bytes);

} // namespace kb

#endif // KB_DEVICE_BYTEARITHMETIC_H
