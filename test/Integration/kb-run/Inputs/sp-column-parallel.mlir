// Llama's MLP under sequence parallelism: the norm works on the rank's
// tokens, and its all-gather along them feeds two column-parallel gemms
// (gate and up); the test runs it at several world sizes.
module attributes {kb.world_size = 4 : i64, kb.sequence_parallel} {
  func.func @mlp(%x: tensor<32x64xf16>, %g: tensor<64xf16>, %wg: tensor<64x256xf16>, %wu: tensor<64x256xf16>, %wd: tensor<256x64xf16>) -> tensor<32x64xf16> {
    %n = kb.rms_norm %x, %g : tensor<32x64xf16>, tensor<64xf16>
    %a = kb.column_parallel_linear %n, %wg : (tensor<32x64xf16>, tensor<64x256xf16>) -> tensor<32x256xf16>
    %b = kb.column_parallel_linear %n, %wu : (tensor<32x64xf16>, tensor<64x256xf16>) -> tensor<32x256xf16>
    %s = kb.silu %a : tensor<32x256xf16>
    %m = kb.mul %s, %b : tensor<32x256xf16>, tensor<32x256xf16>
    %y = kb.row_parallel_linear %m, %wd : (tensor<32x256xf16>, tensor<256x64xf16>) -> tensor<32x64xf16>
    %r = kb.add %y, %x : tensor<32x64xf16>, tensor<32x64xf16>
    return %r : tensor<32x64xf16>
  }
}
