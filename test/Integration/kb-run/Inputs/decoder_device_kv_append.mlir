// One decode step's keys: the new token's k projection rotated at its
// position 9 and appended to a cache of 9 rows (not a tile multiple); both
// the grown cache and the new row are results.
module attributes {kb.world_size = WORLD : i64} {
  func.func @decode(%x: tensor<1x32xDTYPE>, %wk: tensor<32x32xDTYPE>, %cache: tensor<9x32xDTYPE>) -> (tensor<10x32xDTYPE>, tensor<1x32xDTYPE>) {
    %k = kb.column_parallel_linear %x, %wk : (tensor<1x32xDTYPE>, tensor<32x32xDTYPE>) -> tensor<1x32xDTYPE>
    %kr = kb.rope %k head_dim 4 offset 9 : tensor<1x32xDTYPE>
    %all = kb.kv_append %cache, %kr : tensor<9x32xDTYPE>, tensor<1x32xDTYPE> -> tensor<10x32xDTYPE>
    return %all, %kr : tensor<10x32xDTYPE>, tensor<1x32xDTYPE>
  }
}
