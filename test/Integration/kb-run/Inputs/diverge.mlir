// The same product two ways: row-parallel (partial sums rounded to f16 at each
// ring step) and column-parallel (whole sums). Unsharded, both are one matmul
// and their difference is exactly zero; on 8 SIPs it is the ring's rounding,
// which for products in the thousands is far above the f16 tolerance. The
// difference first diverges at the kb.add, not at either product.
module attributes {kb.world_size = 8 : i64} {
  func.func @diff(%x: tensor<8x64xf16>, %w: tensor<64x16xf16>) -> tensor<8x16xf16> {
    %a = kb.row_parallel_linear %x, %w
        : (tensor<8x64xf16>, tensor<64x16xf16>) -> tensor<8x16xf16> loc("model.py":10:9)
    %b = kb.column_parallel_linear %x, %w
        : (tensor<8x64xf16>, tensor<64x16xf16>) -> tensor<8x16xf16> loc("model.py":11:9)
    %nb = kb.scale %b by -1.0 : tensor<8x16xf16> loc("model.py":12:9)
    %d = kb.add %a, %nb : tensor<8x16xf16>, tensor<8x16xf16> loc("model.py":13:9)
    %g = kb.gelu %d : tensor<8x16xf16> loc("model.py":14:9)
    return %g : tensor<8x16xf16>
  }
}
