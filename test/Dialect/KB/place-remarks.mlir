// RUN: kb-opt %s -kb-place='remarks=true' -o /dev/null 2>&1 | FileCheck %s

// With remarks, kb-place reports each choice with its estimate and the rule's.

module attributes {kb.spmd, kb.world_size = 1 : i64} {
  // CHECK: remark: kb-place: #kb.dp<{{.*}}> (estimated {{[0-9.]+}} us for the ops using it; the rule's #kb.dp<{{.*}}>: {{[0-9.]+}} us)
  func.func @mlp(%x: tensor<64x256xf16>, %w: tensor<256x512xf16>) -> tensor<64x512xf16> {
    %y = kb.matmul %x, %w : (tensor<64x256xf16>, tensor<256x512xf16>) -> tensor<64x512xf16>
    return %y : tensor<64x512xf16>
  }
}
