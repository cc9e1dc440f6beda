// huge-dimensions.test instantiates @M@, @K@ and @N@ with sed.
module attributes {kb.world_size = 4 : i64} {
  func.func @linear(%x: tensor<@M@x@K@xf16>, %w: tensor<@K@x@N@xf16>) -> tensor<@M@x@N@xf16> {
    %y = kb.column_parallel_linear %x, %w : (tensor<@M@x@K@xf16>, tensor<@K@x@N@xf16>) -> tensor<@M@x@N@xf16>
    return %y : tensor<@M@x@N@xf16>
  }
}
