// One decode step's attention over a KV cache, global view: 12 query heads
// of 16 over KV_HEADS KV heads, a cache of 40 tokens, TP = 2.
module attributes {kb.world_size = 2 : i64} {
  func.func @decode(%q: tensor<1x192xf16>, %k_new: tensor<1xKVWxf16>, %v_new: tensor<1xKVWxf16>,
                    %k_cache: tensor<40xKVWxf16>, %v_cache: tensor<40xKVWxf16>) -> tensor<1x192xf16> {
    %keys = kb.kv_append %k_cache, %k_new : tensor<40xKVWxf16>, tensor<1xKVWxf16> -> tensor<41xKVWxf16>
    %values = kb.kv_append %v_cache, %v_new : tensor<40xKVWxf16>, tensor<1xKVWxf16> -> tensor<41xKVWxf16>
    %a = kb.attention %q, %keys, %values heads 12 kv_heads KV_HEADS : (tensor<1x192xf16>, tensor<41xKVWxf16>, tensor<41xKVWxf16>) -> tensor<1x192xf16>
    return %a : tensor<1x192xf16>
  }
}
