// Into and out of KV heads held by groups of ranks (W = 4, 4 query heads of
// 8, 2 KV heads): a k made whole by a plain kb.matmul is sliced to the
// rank's group (slice r / 2); a grouped k that is also returned whole is cut
// to each rank's own quarter (part r mod 2 of its group's head) and
// all-gathered.
module attributes {kb.world_size = 4 : i64} {
  func.func @into_groups(%n: tensor<3x32xDTYPE>, %q: tensor<3x32xDTYPE>, %wk: tensor<32x16xDTYPE>) -> tensor<3x32xDTYPE> {
    %k = kb.matmul %n, %wk : (tensor<3x32xDTYPE>, tensor<32x16xDTYPE>) -> tensor<3x16xDTYPE>
    %a = kb.attention %q, %k, %k heads 4 kv_heads 2 : (tensor<3x32xDTYPE>, tensor<3x16xDTYPE>, tensor<3x16xDTYPE>) -> tensor<3x32xDTYPE>
    return %a : tensor<3x32xDTYPE>
  }
  func.func @out_of_groups(%n: tensor<3x32xDTYPE>, %q: tensor<3x32xDTYPE>, %wk: tensor<32x16xDTYPE>) -> (tensor<3x32xDTYPE>, tensor<3x16xDTYPE>) {
    %k = kb.column_parallel_linear %n, %wk : (tensor<3x32xDTYPE>, tensor<32x16xDTYPE>) -> tensor<3x16xDTYPE>
    %a = kb.attention %q, %k, %k heads 4 kv_heads 2 : (tensor<3x32xDTYPE>, tensor<3x16xDTYPE>, tensor<3x16xDTYPE>) -> tensor<3x32xDTYPE>
    %g = kb.all_gather %k along 1 : tensor<3x16xDTYPE> -> tensor<3x16xDTYPE>
    return %a, %g : tensor<3x32xDTYPE>, tensor<3x16xDTYPE>
  }
}
