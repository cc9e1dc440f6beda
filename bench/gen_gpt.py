#!/usr/bin/env python3
"""Writes an N-layer GPT-3-shaped tensor-parallel MLP stack twice: as a kb global-view
program and as the equivalent linalg + upstream `shard` program, so that kb-opt and
mlir-opt partition the same model.

  gen_gpt.py N OUT_KB.mlir OUT_SHARD.mlir [--hidden 12288] [--ffn 49152] [--tp 8] [--tokens 8]
"""
import argparse


def kb_program(n, m, h, f, tp):
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
    # benchmark describes a device with room for them (the cube count and rates are
    # the defaults), so that every stage runs.
    device = "gemm_tile.device = #gemm_tile.device<cube_memory_mib = 1073741824>"
    return (f"module attributes {{kb.world_size = {tp} : i64, {device}}} {{\n"
            f"  func.func @gpt({', '.join(args)}) -> tensor<{m}x{h}xf16> {{\n"
            + "\n".join(body) +
            f"\n    return {cur} : tensor<{m}x{h}xf16>\n  }}\n}}\n")


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
