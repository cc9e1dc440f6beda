// A Llama-2-7B MLP block: hidden 4096, ffn 11008, TP = 8, 128 tokens, f16.
// Gate and up projections are column-parallel, down is row-parallel, as in
// Megatron-LM: Llama's SwiGLU, silu(x·W_gate) ⊙ (x·W_up) · W_down. SiLU and
// the product run on each rank's columns; the only collective is the down
// projection's all-reduce.
//
//   kb-run examples/llama2_7b_mlp.mlir --check
module attributes {kb.world_size = 8 : i64} {
  func.func @llama_mlp(%x: tensor<128x4096xf16>,
                       %w_gate: tensor<4096x11008xf16>,
                       %w_up: tensor<4096x11008xf16>,
                       %w_down: tensor<11008x4096xf16>) -> tensor<128x4096xf16> {
    %gate = kb.column_parallel_linear %x, %w_gate
        : (tensor<128x4096xf16>, tensor<4096x11008xf16>) -> tensor<128x11008xf16>
    %up = kb.column_parallel_linear %x, %w_up
        : (tensor<128x4096xf16>, tensor<4096x11008xf16>) -> tensor<128x11008xf16>
    %act = kb.silu %gate : tensor<128x11008xf16>
    %h = kb.mul %act, %up : tensor<128x11008xf16>, tensor<128x11008xf16>
    %y = kb.row_parallel_linear %h, %w_down
        : (tensor<128x11008xf16>, tensor<11008x4096xf16>) -> tensor<128x4096xf16>
    return %y : tensor<128x4096xf16>
  }
}
