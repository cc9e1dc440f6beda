// A Llama-2-7B MLP block: hidden 4096, ffn 11008, TP = 8, 128 tokens, f16.
// Gate and up projections are column-parallel, down is row-parallel, as in
// Megatron-LM. Llama's SwiGLU computes silu(gate) * up; kb has no
// elementwise product or SiLU yet, so this block computes gelu(gate) + up:
// the same shapes, the same parallel structure and communication (no
// collective until the down projection's all-reduce), different activation.
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
    %act = kb.gelu %gate : tensor<128x11008xf16>
    %h = kb.add %act, %up : tensor<128x11008xf16>, tensor<128x11008xf16>
    %y = kb.row_parallel_linear %h, %w_down
        : (tensor<128x11008xf16>, tensor<11008x4096xf16>) -> tensor<128x4096xf16>
    return %y : tensor<128x4096xf16>
  }
}
