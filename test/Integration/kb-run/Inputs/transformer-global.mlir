// The unsharded Llama attention block (GQA: 4 query heads over 2 KV heads of
// 8) in prefill over 5 tokens and in decode at position 6, the reference of
// transformer-tp.mlir.
module attributes {kb.world_size = 2 : i64} {
  func.func @prefill(%x: tensor<5x32xf32>, %nw: tensor<32xf32>, %wq: tensor<32x32xf32>,
                     %wk: tensor<32x16xf32>, %wv: tensor<32x16xf32>, %wo: tensor<32x32xf32>)
      -> tensor<5x32xf32> {
    %n = kb.rms_norm %x, %nw : tensor<5x32xf32>, tensor<32xf32>
    %q0 = kb.matmul %n, %wq : (tensor<5x32xf32>, tensor<32x32xf32>) -> tensor<5x32xf32>
    %k0 = kb.matmul %n, %wk : (tensor<5x32xf32>, tensor<32x16xf32>) -> tensor<5x16xf32>
    %v = kb.matmul %n, %wv : (tensor<5x32xf32>, tensor<32x16xf32>) -> tensor<5x16xf32>
    %q = kb.rope %q0 head_dim 8 : tensor<5x32xf32>
    %k = kb.rope %k0 head_dim 8 : tensor<5x16xf32>
    %a = kb.attention %q, %k, %v heads 4 kv_heads 2
        : (tensor<5x32xf32>, tensor<5x16xf32>, tensor<5x16xf32>) -> tensor<5x32xf32>
    %o = kb.matmul %a, %wo : (tensor<5x32xf32>, tensor<32x32xf32>) -> tensor<5x32xf32>
    %h = kb.add %x, %o : tensor<5x32xf32>, tensor<5x32xf32>
    return %h : tensor<5x32xf32>
  }

  func.func @decode(%x: tensor<1x32xf32>, %nw: tensor<32xf32>, %wq: tensor<32x32xf32>,
                    %wk: tensor<32x16xf32>, %wv: tensor<32x16xf32>, %wo: tensor<32x32xf32>,
                    %k_cache: tensor<6x16xf32>, %v_cache: tensor<6x16xf32>)
      -> (tensor<1x32xf32>, tensor<1x16xf32>, tensor<1x16xf32>) {
    %n = kb.rms_norm %x, %nw : tensor<1x32xf32>, tensor<32xf32>
    %q0 = kb.matmul %n, %wq : (tensor<1x32xf32>, tensor<32x32xf32>) -> tensor<1x32xf32>
    %k0 = kb.matmul %n, %wk : (tensor<1x32xf32>, tensor<32x16xf32>) -> tensor<1x16xf32>
    %v = kb.matmul %n, %wv : (tensor<1x32xf32>, tensor<32x16xf32>) -> tensor<1x16xf32>
    %q = kb.rope %q0 head_dim 8 offset 6 : tensor<1x32xf32>
    %k = kb.rope %k0 head_dim 8 offset 6 : tensor<1x16xf32>
    %ks = kb.kv_append %k_cache, %k : tensor<6x16xf32>, tensor<1x16xf32> -> tensor<7x16xf32>
    %vs = kb.kv_append %v_cache, %v : tensor<6x16xf32>, tensor<1x16xf32> -> tensor<7x16xf32>
    %a = kb.attention %q, %ks, %vs heads 4 kv_heads 2
        : (tensor<1x32xf32>, tensor<7x16xf32>, tensor<7x16xf32>) -> tensor<1x32xf32>
    %o = kb.matmul %a, %wo : (tensor<1x32xf32>, tensor<32x32xf32>) -> tensor<1x32xf32>
    %h = kb.add %x, %o : tensor<1x32xf32>, tensor<1x32xf32>
    return %h, %k, %v : tensor<1x32xf32>, tensor<1x16xf32>, tensor<1x16xf32>
  }
}
