// Two MLP blocks with residuals; the test runs it with and without
// kb.sequence_parallel and at several world sizes.
module attributes {kb.world_size = 4 : i64, kb.sequence_parallel} {
  func.func @two_mlps(%x: tensor<16x32xf16>, %w1: tensor<32x64xf16>, %b1: tensor<64xf16>, %w2: tensor<64x32xf16>, %b2: tensor<32xf16>, %w3: tensor<32x64xf16>, %b3: tensor<64xf16>, %w4: tensor<64x32xf16>, %b4: tensor<32xf16>) -> tensor<16x32xf16> {
    %h1 = kb.column_parallel_linear %x, %w1 bias %b1 : (tensor<16x32xf16>, tensor<32x64xf16>, tensor<64xf16>) -> tensor<16x64xf16>
    %g1 = kb.gelu %h1 : tensor<16x64xf16>
    %y1 = kb.row_parallel_linear %g1, %w2 bias %b2 : (tensor<16x64xf16>, tensor<64x32xf16>, tensor<32xf16>) -> tensor<16x32xf16>
    %r1 = kb.add %y1, %x : tensor<16x32xf16>, tensor<16x32xf16>
    %h2 = kb.column_parallel_linear %r1, %w3 bias %b3 : (tensor<16x32xf16>, tensor<32x64xf16>, tensor<64xf16>) -> tensor<16x64xf16>
    %g2 = kb.gelu %h2 : tensor<16x64xf16>
    %y2 = kb.row_parallel_linear %g2, %w4 : (tensor<16x64xf16>, tensor<64x32xf16>) -> tensor<16x32xf16>
    %r2 = kb.add %y2, %r1 : tensor<16x32xf16>, tensor<16x32xf16>
    return %r2 : tensor<16x32xf16>
  }
}
