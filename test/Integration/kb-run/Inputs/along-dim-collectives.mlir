// all_gather and reduce_scatter along both dimensions of a 24x48 tensor
// (24 and 48 divide by 1, 2, 3, 4 and 8; the test sets the world size):
// a row-parallel partial sum reduce-scattered along rows and along columns,
// each slice through a gelu and gathered back, and a column -> gelu ->
// column chain whose second layer gathers the first one's columns.
module attributes {kb.world_size = 4 : i64} {
  func.func @along_dim(%x: tensor<24x48xf16>, %w: tensor<48x48xf16>, %v: tensor<48x24xf16>) -> (tensor<24x48xf16>, tensor<24x48xf16>, tensor<24x24xf16>) {
    %p = kb.row_parallel_linear %x, %w : (tensor<24x48xf16>, tensor<48x48xf16>) -> tensor<24x48xf16>
    %s0 = kb.reduce_scatter <sum> %p along 0 : tensor<24x48xf16> -> tensor<24x48xf16>
    %g0 = kb.gelu %s0 : tensor<24x48xf16>
    %a0 = kb.all_gather %g0 along 0 : tensor<24x48xf16> -> tensor<24x48xf16>
    %s1 = kb.reduce_scatter <sum> %p along 1 : tensor<24x48xf16> -> tensor<24x48xf16>
    %g1 = kb.gelu %s1 : tensor<24x48xf16>
    %a1 = kb.all_gather %g1 along 1 : tensor<24x48xf16> -> tensor<24x48xf16>
    %h = kb.column_parallel_linear %x, %w : (tensor<24x48xf16>, tensor<48x48xf16>) -> tensor<24x48xf16>
    %gh = kb.gelu %h : tensor<24x48xf16>
    %y = kb.column_parallel_linear %gh, %v : (tensor<24x48xf16>, tensor<48x24xf16>) -> tensor<24x24xf16>
    return %a0, %a1, %y : tensor<24x48xf16>, tensor<24x48xf16>, tensor<24x24xf16>
  }
}
