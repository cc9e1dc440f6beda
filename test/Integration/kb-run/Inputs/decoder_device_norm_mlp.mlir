// A Llama MLP half-layer without attention (13 tokens, H 32, F 64): RMSNorm,
// gate and up column-parallel, SiLU times up, down row-parallel, residual.
// The tests fill in the world size and element type.
module attributes {kb.world_size = WORLD : i64} {
  func.func @layer(%x: tensor<13x32xDTYPE>, %nw: tensor<32xDTYPE>, %wg: tensor<32x64xDTYPE>, %wu: tensor<32x64xDTYPE>,
                   %wd: tensor<64x32xDTYPE>) -> tensor<13x32xDTYPE> {
    %n = kb.rms_norm %x, %nw : tensor<13x32xDTYPE>, tensor<32xDTYPE>
    %g = kb.column_parallel_linear %n, %wg : (tensor<13x32xDTYPE>, tensor<32x64xDTYPE>) -> tensor<13x64xDTYPE>
    %u = kb.column_parallel_linear %n, %wu : (tensor<13x32xDTYPE>, tensor<32x64xDTYPE>) -> tensor<13x64xDTYPE>
    %s = kb.silu %g : tensor<13x64xDTYPE>
    %h = kb.mul %s, %u : tensor<13x64xDTYPE>, tensor<13x64xDTYPE>
    %d = kb.row_parallel_linear %h, %wd : (tensor<13x64xDTYPE>, tensor<64x32xDTYPE>) -> tensor<13x32xDTYPE>
    %y = kb.add %x, %d : tensor<13x32xDTYPE>, tensor<13x32xDTYPE>
    return %y : tensor<13x32xDTYPE>
  }
}
