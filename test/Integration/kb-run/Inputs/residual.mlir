// A residual stream read by a norm and an add, twice (test/Integration/kb-run/
// residual-apart.test): hidden 4096, 64 tokens, ffn 1024, W = 8.
module attributes {kb.world_size = 8 : i64} {
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
