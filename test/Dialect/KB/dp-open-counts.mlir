// RUN: kb-opt %s | FileCheck %s
// RUN: kb-opt %s | kb-opt | FileCheck %s

// kernbench's DPPolicy defaults num_cubes / num_pes to None, all of the
// device's. #kb.dp leaves such a count out, which is also how it prints; the
// parser takes `= all` too. A given count prints as given.

// CHECK-LABEL: func.func private @open
// CHECK-SAME: tensor<64x128xf16, #kb.dp<cube = replicate, pe = shard(1)>>
// CHECK-SAME: tensor<64x128xf16, #kb.dp<cube = shard(1), pe = replicate>>
// CHECK-SAME: tensor<64x128xf16, #kb.dp<cube = shard(0), pe = replicate, num_cubes = 2>>
// CHECK-SAME: tensor<64x128xf16, #kb.dp<cube = replicate, pe = replicate, num_pes = 1>>
// CHECK-SAME: tensor<64x128xf16, #kb.dp<cube = replicate, pe = replicate, num_cubes = 1, num_pes = 1>>
func.func private @open(
    tensor<64x128xf16, #kb.dp<cube = replicate, pe = column_wise>>,
    tensor<64x128xf16, #kb.dp<cube = column_wise, pe = replicate, num_cubes = all, num_pes = all>>,
    tensor<64x128xf16, #kb.dp<cube = row_wise, pe = replicate, num_cubes = 2, num_pes = all>>,
    tensor<64x128xf16, #kb.dp<cube = replicate, pe = replicate, num_cubes = all, num_pes = 1>>,
    tensor<64x128xf16, #kb.dp<cube = replicate, pe = replicate, num_cubes = 1, num_pes = 1>>)

// The open and the `all` spelling are one attribute: one type, so an op
// whose operand and result must agree accepts them together.
// CHECK-LABEL: func.func @same_type
// CHECK: kb.gelu %{{.*}} : tensor<8x16xf32, #kb.dp<cube = shard(1), pe = shard(0)>>
func.func @same_type(%x: tensor<8x16xf32, #kb.dp<cube = shard(1), pe = shard(0)>>)
    -> tensor<8x16xf32, #kb.dp<cube = shard(1), pe = shard(0), num_cubes = all, num_pes = all>> {
  %y = kb.gelu %x : tensor<8x16xf32, #kb.dp<cube = column_wise, pe = row_wise, num_cubes = all>>
  return %y : tensor<8x16xf32, #kb.dp<cube = shard(1), pe = shard(0)>>
}

// A split by a count left open cannot be checked without the device: a
// shape that only some devices divide parses (kb-place and the lowering
// check it on theirs).
// CHECK-LABEL: func.func private @undecided
// CHECK-SAME: tensor<8x6xf32, #kb.dp<cube = shard(1), pe = shard(1)>>
func.func private @undecided(tensor<8x6xf32, #kb.dp<cube = shard(1), pe = shard(1)>>)
