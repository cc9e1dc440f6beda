#seed = #kb.dp<cube = replicate, pe = replicate, num_cubes = 1, num_pes = 1>
func.func @f(%w: tensor<memref<16, #seed>) {
  return
}
