// RUN: kb-opt %s --kb-tp-partition -canonicalize -kb-place -split-input-file | FileCheck %s
// RUN: kb-opt %s --kb-tp-partition -canonicalize -kb-place='remarks=true' -split-input-file -o /dev/null 2>&1 | FileCheck %s --check-prefix=REMARK

// A residual stream on ahbm (16 cubes): x is read by the first norm and the
// first add, h by the second norm and the second add. Tied to their
// operands, the norms, the adds and the output shared one policy, the one
// the gemms' lhs wants (replicated), and each add gathered its all-reduced
// sum, cut by columns over the 16 cubes, into every cube. kb-place decides
// the tied class first, then each part of it from there: the norms stay
// replicated (the gemms read their rows whole in every cube), and so does h,
// whose norm would otherwise stage its rows whole from 16 cubes; the output
// y moves to the sum's column split and is summed where the ring left each
// piece, with no copy (the remark: from 9.9 us to 0.1). The bias add's lhs
// has no other reader: it stays tied, printed without an arrow.

module attributes {kb.world_size = 8 : i64} {
  // CHECK-LABEL: func.func @residual
  // CHECK-SAME: %[[X:[^:]*]]: tensor<64x4096xf16, #kb.dp<cube = replicate, pe = replicate, num_cubes = 16, num_pes = 8>>
  // CHECK: %[[N:.*]] = kb.rms_norm %[[X]], %{{.*}} : tensor<64x4096xf16, #kb.dp<cube = replicate, {{.*}}>>, tensor<4096xf16, {{.*}}>{{$}}
  // CHECK: %[[O:.*]] = kb.all_reduce
  // CHECK: %[[H:.*]] = kb.add %[[X]], %[[O]] : tensor<64x4096xf16, #kb.dp<cube = replicate, {{.*}}>>, tensor<64x4096xf16, #kb.dp<cube = shard(1), pe = shard(0), {{.*}}>>{{$}}
  // CHECK: kb.rms_norm %[[H]], %{{.*}} : tensor<64x4096xf16, #kb.dp<cube = replicate, {{.*}}>>, tensor<4096xf16, {{.*}}>{{$}}
  // CHECK: kb.add %{{.*}}, %{{.*}} : tensor<64x128xf16, #kb.dp<cube = shard(1), pe = replicate, {{.*}}>>, tensor<128xf16, {{.*}}>{{$}}
  // CHECK: %[[D:.*]] = kb.all_reduce
  // CHECK: %[[Y:.*]] = kb.add %[[H]], %[[D]] : tensor<64x4096xf16, #kb.dp<cube = replicate, {{.*}}>>, tensor<64x4096xf16, #kb.dp<cube = shard(1), pe = shard(0), {{.*}}>> -> tensor<64x4096xf16, #kb.dp<cube = shard(1), pe = {{.*}}, num_cubes = 16, num_pes = 8>>
  // CHECK: return %[[Y]]
  // REMARK: :45:10: remark: kb-place: #kb.dp<cube = shard(1), pe = replicate, num_cubes = 16, num_pes = 8> (estimated {{[0-9.]+}} us for the ops using it; the rule's #kb.dp<cube = replicate, pe = replicate, num_cubes = 16, num_pes = 8>
  func.func @residual(%x: tensor<64x4096xf16>, %g1: tensor<4096xf16>,
                      %w1: tensor<4096x1024xf16>, %w2: tensor<1024x4096xf16>,
                      %g2: tensor<4096xf16>, %w3: tensor<4096x1024xf16>,
                      %b3: tensor<1024xf16>, %w4: tensor<1024x4096xf16>)
      -> tensor<64x4096xf16> {
    %n = kb.rms_norm %x, %g1 : tensor<64x4096xf16>, tensor<4096xf16>
    %a = kb.column_parallel_linear %n, %w1
        : (tensor<64x4096xf16>, tensor<4096x1024xf16>) -> tensor<64x1024xf16>
    %o = kb.row_parallel_linear %a, %w2
        : (tensor<64x1024xf16>, tensor<1024x4096xf16>) -> tensor<64x4096xf16>
    %h = kb.add %x, %o : tensor<64x4096xf16>, tensor<64x4096xf16>
    %m = kb.rms_norm %h, %g2 : tensor<64x4096xf16>, tensor<4096xf16>
    %c0 = kb.column_parallel_linear %m, %w3
        : (tensor<64x4096xf16>, tensor<4096x1024xf16>) -> tensor<64x1024xf16>
    %c = kb.add %c0, %b3 : tensor<64x1024xf16>, tensor<1024xf16>
    %d = kb.row_parallel_linear %c, %w4
        : (tensor<64x1024xf16>, tensor<1024x4096xf16>) -> tensor<64x4096xf16>
    %y = kb.add %h, %d : tensor<64x4096xf16>, tensor<64x4096xf16>
    return %y : tensor<64x4096xf16>
  }
}
