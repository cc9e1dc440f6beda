// A local-view argument whose global size, 2^60 rows times 8 ranks, overflows int64.
module attributes {kb.spmd, kb.world_size = 8 : i64} {
  func.func @f(%a: tensor<1152921504606846976x1xf16> {kb.split_dim = 0 : i64}) -> (tensor<1152921504606846976x1xf16> {kb.split_dim = 0 : i64}) {
    %c = kb.gelu %a : tensor<1152921504606846976x1xf16>
    return %c : tensor<1152921504606846976x1xf16>
  }
}
