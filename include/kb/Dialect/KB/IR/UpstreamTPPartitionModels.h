//===- UpstreamTPPartitionModels.h - TP rules for upstream ops --*- C++ -*-===//
//
// kb programs use a few upstream ops in the global view; their TP partition
// rules are attached as external models of TPPartitionOpInterface, as
// upstream attaches ShardingInterface to linalg.
//
//===----------------------------------------------------------------------===//

#ifndef KB_DIALECT_KB_IR_UPSTREAMTPPARTITIONMODELS_H
#define KB_DIALECT_KB_IR_UPSTREAMTPPARTITIONMODELS_H

namespace mlir {
class DialectRegistry;
} // namespace mlir

namespace kb {

/// Attaches kb's TP rules to `tensor.extract_slice` (static offsets and
/// sizes, unit strides: the pieces of a fused weight such as GPT-2's W_qkv).
void registerUpstreamTPPartitionModels(mlir::DialectRegistry &registry);

} // namespace kb

#endif // KB_DIALECT_KB_IR_UPSTREAMTPPARTITIONMODELS_H
