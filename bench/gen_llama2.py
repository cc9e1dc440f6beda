#!/usr/bin/env python3
"""Writes one Llama-2 decoder block in decode as a kb global-view program: one new token at
position L against a KV cache of the L tokens before it (examples/llama2_7b_decode.mlir's
dataflow, with grouped KV heads for 70B), f16, tensor-parallel over `tp` ranks.

  gen_llama2.py MODEL L TP OUT.mlir [--ffn F] [--device 'k = v, ...']

MODEL is 7b, 13b or 70b (shapes below). --ffn overrides the FFN width (a width the ranks do
not divide must be rounded by the caller: kb's linear layers split evenly)."""
import argparse

# hidden, query heads, KV heads, FFN width (Touvron et al. 2023, Table 1 and the released
# configurations); head_dim = hidden / heads = 128 for all three.
LLAMA2 = {
    "7b": dict(hidden=4096, heads=32, kv_heads=32, ffn=11008),
    "13b": dict(hidden=5120, heads=40, kv_heads=40, ffn=13824),
    "70b": dict(hidden=8192, heads=64, kv_heads=8, ffn=28672),
}


def block_program(hidden, heads, kv_heads, ffn, cache, tp, device=None, dataflow="megatron"):
    """The global-view program of one decode step of one block; its results are the
    block's output y [1, H] and the new token's k and v rows [1, nKV·hd] (in the "cent"
    dataflow its rotated q, k and v rows gathered whole).

    dataflow "megatron": Megatron's TP block, two all-reduces (after wo and w_down).
    dataflow "cent": the block around CENT's attention, with the transfers CENT's block
    makes (its closed form counts 6 gathers and 6 broadcasts): the rotated q, k and v are
    gathered whole (CENT attends on one device: attention_program), wo stays row-parallel
    (one all-reduce) on the attention's output, a function argument here, and the FFN is
    column-parallel twice: the SiLU product is gathered (F wide) for w_down, whose output
    is gathered. With grouped KV heads, k and v are projected repeated to the query heads
    (wk and wv H wide): CENT's closed form moves them at the hidden width."""
    assert dataflow in ("megatron", "cent"), dataflow
    t = lambda *shape: "tensor<" + "x".join(map(str, shape)) + "xf16>"
    h, f = hidden, ffn
    cent = dataflow == "cent"
    kv = hidden if cent else hidden // heads * kv_heads
    keys = cache + 1
    hd = hidden // heads
    args = [f"%x: {t(1, h)}", f"%attn_norm_w: {t(h)}", f"%wq: {t(h, h)}",
            f"%wk: {t(h, kv)}", f"%wv: {t(h, kv)}", f"%wo: {t(h, h)}",
            f"%mlp_norm_w: {t(h)}", f"%w_gate: {t(h, f)}", f"%w_up: {t(h, f)}",
            f"%w_down: {t(f, h)}"]
    args += ([f"%attn: {t(1, h)}"] if cent else
             [f"%k_cache: {t(cache, kv)}", f"%v_cache: {t(cache, kv)}"])
    col = lambda out, x, w, k, o: (f"    %{out} = kb.column_parallel_linear {x}, %{w} : "
                                   f"({t(1, k)}, {t(k, o)}) -> {t(1, o)}")
    row = lambda out, x, w, k, o: (f"    %{out} = kb.row_parallel_linear {x}, %{w} : "
                                   f"({t(1, k)}, {t(k, o)}) -> {t(1, o)}")
    body = [
        f"    %n = kb.rms_norm %x, %attn_norm_w : {t(1, h)}, {t(h)}",
        col("q", "%n", "wq", h, h), col("k", "%n", "wk", h, kv), col("v_new", "%n", "wv", h, kv),
        f"    %q_rot = kb.rope %q head_dim {hd} offset {cache} : {t(1, h)}",
        f"    %k_new = kb.rope %k head_dim {hd} offset {cache} : {t(1, kv)}",
        *([f"    %q_all = kb.all_gather %q_rot along 1 : {t(1, h)} -> {t(1, h)}",
           f"    %k_all = kb.all_gather %k_new along 1 : {t(1, kv)} -> {t(1, kv)}",
           f"    %v_all = kb.all_gather %v_new along 1 : {t(1, kv)} -> {t(1, kv)}"]
          if dataflow == "cent" else []),
        *([] if cent else [
            f"    %keys = kb.kv_append %k_cache, %k_new : {t(cache, kv)}, {t(1, kv)} -> {t(keys, kv)}",
            f"    %values = kb.kv_append %v_cache, %v_new : {t(cache, kv)}, {t(1, kv)} -> {t(keys, kv)}",
            f"    %attn = kb.attention %q_rot, %keys, %values heads {heads} kv_heads {kv_heads} : "
            f"({t(1, h)}, {t(keys, kv)}, {t(keys, kv)}) -> {t(1, h)}"]),
        row("o", "%attn", "wo", h, h),
        f"    %h = kb.add %x, %o : {t(1, h)}, {t(1, h)}",
        f"    %m = kb.rms_norm %h, %mlp_norm_w : {t(1, h)}, {t(h)}",
        col("gate", "%m", "w_gate", h, f), col("up", "%m", "w_up", h, f),
        f"    %act = kb.silu %gate : {t(1, f)}",
        f"    %prod = kb.mul %act, %up : {t(1, f)}, {t(1, f)}",
        (row("down", "%prod", "w_down", f, h) if dataflow == "megatron" else
         f"    %prod_all = kb.all_gather %prod along 1 : {t(1, f)} -> {t(1, f)}\n"
         + col("down_split", "%prod_all", "w_down", f, h) + "\n"
         f"    %down = kb.all_gather %down_split along 1 : {t(1, h)} -> {t(1, h)}"),
        f"    %y = kb.add %h, %down : {t(1, h)}, {t(1, h)}",
        (f"    return %y, %k_new, %v_new : {t(1, h)}, {t(1, kv)}, {t(1, kv)}"
         if dataflow == "megatron" else
         f"    return %y, %q_all, %k_all, %v_all : {t(1, h)}, {t(1, h)}, {t(1, kv)}, {t(1, kv)}"),
    ]
    results = [t(1, h)] + ([t(1, h)] if dataflow == "cent" else []) + [t(1, kv)] * 2
    attrs = [f"kb.world_size = {tp} : i64"]
    if device:
        attrs.append(f"gemm_tile.device = #gemm_tile.device<{device}>")
    return (f"module attributes {{{', '.join(attrs)}}} {{\n"
            f"  func.func @llama2_block({', '.join(args)})\n"
            f"      -> ({', '.join(results)}) {{\n"
            + "\n".join(body) + "\n  }\n}\n")


def attention_program(hidden, heads, kv_heads, cache, device=None, cubes=None, pes=None,
                      **_):
    """CENT's attention of one decode step, on one device (its TP blocks attend on one
    device, each channel holding whole KV heads and the query heads that read them): the
    new token's rotated q [1, H] and k, v rows [1, nKV·hd] against the cache of L tokens,
    appended first. Its result is the attention's output [1, H].

    With `cubes` and `pes` (the device's), the appended keys and values are placed as
    CENT places them — split by whole KV heads over the most channels that divide the KV
    heads — instead of where kb-place would choose: the program then follows CENT's
    dataflow, not kb's (which may place the keys over more channels)."""
    kv, keys = hidden // heads * kv_heads, cache + 1
    pinned = ""
    if cubes and pes:
        channels = max(c for c in range(1, min(cubes, kv_heads) + 1) if kv_heads % c == 0)
        pinned = (f", #kb.dp<cube = shard(1), pe = replicate, num_cubes = {channels}, "
                  f"num_pes = {pes}>")

    def t(*shape, policy=""):
        return "tensor<" + "x".join(map(str, shape)) + "xf16" + policy + ">"

    h = hidden
    attrs = ["kb.world_size = 1 : i64"]
    if device:
        attrs.append(f"gemm_tile.device = #gemm_tile.device<{device}>")
    return (f"module attributes {{{', '.join(attrs)}}} {{\n"
            f"  func.func @llama2_attention(%q: {t(1, h)}, %k_new: {t(1, kv)}, "
            f"%v_new: {t(1, kv)}, %k_cache: {t(cache, kv)}, %v_cache: {t(cache, kv)})\n"
            f"      -> {t(1, h)} {{\n"
            f"    %keys = kb.kv_append %k_cache, %k_new : {t(cache, kv)}, {t(1, kv)} -> "
            f"{t(keys, kv, policy=pinned)}\n"
            f"    %values = kb.kv_append %v_cache, %v_new : {t(cache, kv)}, {t(1, kv)} -> "
            f"{t(keys, kv, policy=pinned)}\n"
            f"    %attn = kb.attention %q, %keys, %values heads {heads} kv_heads {kv_heads} : "
            f"({t(1, h)}, {t(keys, kv, policy=pinned)}, {t(keys, kv, policy=pinned)}) -> {t(1, h)}\n"
            f"    return %attn : {t(1, h)}\n  }}\n}}\n")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model", choices=sorted(LLAMA2))
    p.add_argument("cache", type=int, help="KV cache length L before the new token")
    p.add_argument("tp", type=int)
    p.add_argument("out")
    p.add_argument("--ffn", type=int)
    p.add_argument("--dataflow", choices=("megatron", "cent"), default="megatron")
    p.add_argument("--device", help="fields of #gemm_tile.device, e.g. 'cubes = 32'")
    a = p.parse_args()
    shape = dict(LLAMA2[a.model])
    if a.ffn:
        shape["ffn"] = a.ffn
    with open(a.out, "w") as out:
        out.write(block_program(cache=a.cache, tp=a.tp, device=a.device, dataflow=a.dataflow, **shape))


if __name__ == "__main__":
    main()
