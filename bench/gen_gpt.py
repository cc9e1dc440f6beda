#!/usr/bin/env python3
"""Writes an N-layer GPT-3-shaped tensor-parallel MLP stack twice: as a kb global-view
program and as the equivalent linalg + upstream `shard` program, so that kb-opt and
mlir-opt partition the same model.

  gen_gpt.py N OUT_KB.mlir OUT_SHARD.mlir [--hidden 12288] [--ffn 49152] [--tp 8] [--tokens 8]

decoder_program() writes whole GPT-style decoder layers (attention and MLP) for the
cost-only estimates of bench/gpt3_estimate.py.
"""
import argparse


def kb_program(n, m, h, f, tp, device_fields=None):
    args = ["%x: tensor<{m}x{h}xf16>".format(m=m, h=h)]
    body = []
    cur = "%x"
    for i in range(n):
        args.append(f"%w1_{i}: tensor<{h}x{f}xf16>")
        args.append(f"%w2_{i}: tensor<{f}x{h}xf16>")
        body.append(f"    %h{i} = kb.column_parallel_linear {cur}, %w1_{i} : "
                    f"(tensor<{m}x{h}xf16>, tensor<{h}x{f}xf16>) -> tensor<{m}x{f}xf16>")
        body.append(f"    %g{i} = kb.gelu %h{i} : tensor<{m}x{f}xf16>")
        body.append(f"    %y{i} = kb.row_parallel_linear %g{i}, %w2_{i} : "
                    f"(tensor<{m}x{f}xf16>, tensor<{f}x{h}xf16>) -> tensor<{m}x{h}xf16>")
        cur = f"%y{i}"
    # Thousands of GPT-3 layers hold more weights than a real SIP: the compiler
    # benchmark describes a device with room for them (the other fields are the
    # default device's unless `device_fields` names them), so that every stage runs.
    fields = dict(device_fields or {}, cube_memory_mib=1073741824)
    device = ("gemm_tile.device = #gemm_tile.device<"
              + ", ".join(f"{k} = {v}" for k, v in fields.items()) + ">")
    return (f"module attributes {{kb.world_size = {tp} : i64, {device}}} {{\n"
            f"  func.func @gpt({', '.join(args)}) -> tensor<{m}x{h}xf16> {{\n"
            + "\n".join(body) +
            f"\n    return {cur} : tensor<{m}x{h}xf16>\n  }}\n}}\n")


def decoder_program(n, m, h, heads, f, tp, cache=0, cube_memory_mib=None):
    """N GPT-style decoder layers (GPT-2/GPT-3: pre-LayerNorm, biases, GELU, no RoPE),
    `m` tokens; with `cache` > 0, one decode step: the m new tokens attend to a KV cache
    of `cache` tokens per layer (kb.kv_append), as examples/llama2_7b_decode.mlir does.
    Returns the kb global-view program; its result is the last layer's output."""
    t = lambda *shape: "tensor<" + "x".join(map(str, shape)) + "xf16>"
    keys = cache + m
    args = [f"%x: {t(m, h)}"]
    body = []
    cur = "%x"
    for i in range(n):
        args += [f"%ln1_w{i}: {t(h)}", f"%ln1_b{i}: {t(h)}",
                 f"%wq{i}: {t(h, h)}", f"%bq{i}: {t(h)}",
                 f"%wk{i}: {t(h, h)}", f"%bk{i}: {t(h)}",
                 f"%wv{i}: {t(h, h)}", f"%bv{i}: {t(h)}",
                 f"%wo{i}: {t(h, h)}", f"%bo{i}: {t(h)}",
                 f"%ln2_w{i}: {t(h)}", f"%ln2_b{i}: {t(h)}",
                 f"%wfc{i}: {t(h, f)}", f"%bfc{i}: {t(f)}",
                 f"%wproj{i}: {t(f, h)}", f"%bproj{i}: {t(h)}"]
        col = lambda out, x, w, b, k, o: (
            f"    %{out} = kb.column_parallel_linear {x}, %{w} bias %{b} : "
            f"({t(m, k)}, {t(k, o)}, {t(o)}) -> {t(m, o)}")
        row = lambda out, x, w, b, k, o: (
            f"    %{out} = kb.row_parallel_linear {x}, %{w} bias %{b} : "
            f"({t(m, k)}, {t(k, o)}, {t(o)}) -> {t(m, o)}")
        body.append(f"    %n{i} = kb.layer_norm {cur}, %ln1_w{i}, %ln1_b{i} : "
                    f"{t(m, h)}, {t(h)}, {t(h)}")
        for name in ("q", "k", "v"):
            body.append(col(f"{name}{i}", f"%n{i}", f"w{name}{i}", f"b{name}{i}", h, h))
        kk, vv = f"%k{i}", f"%v{i}"
        if cache:
            args += [f"%kc{i}: {t(cache, h)}", f"%vc{i}: {t(cache, h)}"]
            body.append(f"    %keys{i} = kb.kv_append %kc{i}, %k{i} : "
                        f"{t(cache, h)}, {t(m, h)} -> {t(keys, h)}")
            body.append(f"    %values{i} = kb.kv_append %vc{i}, %v{i} : "
                        f"{t(cache, h)}, {t(m, h)} -> {t(keys, h)}")
            kk, vv = f"%keys{i}", f"%values{i}"
        body.append(f"    %a{i} = kb.attention %q{i}, {kk}, {vv} heads {heads} kv_heads {heads} : "
                    f"({t(m, h)}, {t(keys, h)}, {t(keys, h)}) -> {t(m, h)}")
        body.append(row(f"o{i}", f"%a{i}", f"wo{i}", f"bo{i}", h, h))
        body.append(f"    %h{i} = kb.add {cur}, %o{i} : {t(m, h)}, {t(m, h)}")
        body.append(f"    %m{i} = kb.layer_norm %h{i}, %ln2_w{i}, %ln2_b{i} : "
                    f"{t(m, h)}, {t(h)}, {t(h)}")
        body.append(col(f"fc{i}", f"%m{i}", f"wfc{i}", f"bfc{i}", h, f))
        body.append(f"    %g{i} = kb.gelu %fc{i} : {t(m, f)}")
        body.append(row(f"p{i}", f"%g{i}", f"wproj{i}", f"bproj{i}", f, h))
        body.append(f"    %y{i} = kb.add %h{i}, %p{i} : {t(m, h)}, {t(m, h)}")
        cur = f"%y{i}"
    attrs = [f"kb.world_size = {tp} : i64"]
    if cube_memory_mib:
        attrs.append(f"gemm_tile.device = #gemm_tile.device<cube_memory_mib = {cube_memory_mib}>")
    return (f"module attributes {{{', '.join(attrs)}}} {{\n"
            f"  func.func @gpt({', '.join(args)}) -> {t(m, h)} {{\n"
            + "\n".join(body) +
            f"\n    return {cur} : {t(m, h)}\n  }}\n}}\n")


def shard_program(n, m, h, f, tp):
    args = [f"%x: tensor<{m}x{h}xf16>"]
    body = [
        "    %scol = shard.sharding @tp split_axes = [[], [0]] : !shard.sharding",
        "    %srow = shard.sharding @tp split_axes = [[0]] : !shard.sharding",
        "    %srep = shard.sharding @tp split_axes = [[]] : !shard.sharding",
        "    %zero = arith.constant 0.0 : f16",
        f"    %x_s = shard.shard %x to %srep : tensor<{m}x{h}xf16>",
    ]
    cur = "%x_s"
    for i in range(n):
        args.append(f"%w1_{i}: tensor<{h}x{f}xf16>")
        args.append(f"%w2_{i}: tensor<{f}x{h}xf16>")
        body += [
            f"    %w1s_{i} = shard.shard %w1_{i} to %scol : tensor<{h}x{f}xf16>",
            f"    %w2s_{i} = shard.shard %w2_{i} to %srow : tensor<{f}x{h}xf16>",
            f"    %e1_{i} = tensor.empty() : tensor<{m}x{f}xf16>",
            f"    %f1_{i} = linalg.fill ins(%zero : f16) outs(%e1_{i} : tensor<{m}x{f}xf16>) -> tensor<{m}x{f}xf16>",
            f"    %h{i} = linalg.matmul ins({cur}, %w1s_{i} : tensor<{m}x{h}xf16>, tensor<{h}x{f}xf16>) "
            f"outs(%f1_{i} : tensor<{m}x{f}xf16>) -> tensor<{m}x{f}xf16>",
            f"    %g{i} = tosa.tanh %h{i} : (tensor<{m}x{f}xf16>) -> tensor<{m}x{f}xf16>",
            f"    %e2_{i} = tensor.empty() : tensor<{m}x{h}xf16>",
            f"    %f2_{i} = linalg.fill ins(%zero : f16) outs(%e2_{i} : tensor<{m}x{h}xf16>) -> tensor<{m}x{h}xf16>",
            f"    %y{i} = linalg.matmul ins(%g{i}, %w2s_{i} : tensor<{m}x{f}xf16>, tensor<{f}x{h}xf16>) "
            f"outs(%f2_{i} : tensor<{m}x{h}xf16>) -> tensor<{m}x{h}xf16>",
            f"    %ys{i} = shard.shard %y{i} to %srep : tensor<{m}x{h}xf16>",
        ]
        cur = f"%ys{i}"
    return (f"shard.grid @tp(shape = {tp})\n"
            f"func.func @gpt({', '.join(args)}) -> tensor<{m}x{h}xf16> {{\n"
            + "\n".join(body) +
            f"\n    return {cur} : tensor<{m}x{h}xf16>\n}}\n")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("layers", type=int)
    p.add_argument("kb_out")
    p.add_argument("shard_out")
    p.add_argument("--hidden", type=int, default=12288)
    p.add_argument("--ffn", type=int, default=49152)
    p.add_argument("--tp", type=int, default=8)
    p.add_argument("--tokens", type=int, default=8)
    a = p.parse_args()
    with open(a.kb_out, "w") as out:
        out.write(kb_program(a.layers, a.tokens, a.hidden, a.ffn, a.tp))
    with open(a.shard_out, "w") as out:
        out.write(shard_program(a.layers, a.tokens, a.hidden, a.ffn, a.tp))


if __name__ == "__main__":
    main()
