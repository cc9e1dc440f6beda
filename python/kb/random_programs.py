"""Random valid kb programs for differential testing: each is run by `kb-run --check`
(the lowered program against the unsharded one) and compared with the numpy reference.

    PYTHONPATH=python /usr/bin/python3 -m kb.random_programs --cases 1000 --seed 1

Programs vary the TP world size (1 to 16), the number of blocks (1 to 3), the shapes
(multiples of W), dtype and biases. Half of them are MLP blocks (GELU or an add between
the layers) with DPPolicies on the weights (any policy that divides the rank-local
weight and fits the device), compiled down to the device. The other half mix in the
decoder-layer ops: SwiGLU MLPs (silu, mul), scaled activations (scale), and attention
blocks with a residual, behind an RMSNorm or a LayerNorm, with or without RoPE and
biases, grouped-query head counts, prefill or decode against a KV cache (rms_norm,
layer_norm, rope, attention, kv_append). Every program runs down to the device.
"""
import argparse
import sys

import numpy as np

from . import parallel_state
from .layers import ColumnParallelLinear, RowParallelLinear, add, gelu, scale
from .policy import DPPolicy
from .program import Program
from .transformer import LayerNorm, ParallelAttention, ParallelMLP, RMSNorm

TOLERANCE = {"f32": 1e-4, "f16": 1e-2, "bf16": 3e-2}


def random_policy(rng, local_shape):
    """A DPPolicy that divides `local_shape` on the default device, or None."""
    if rng.random() < 0.4:
        return None
    cube = rng.choice(["replicate", "shard"])
    pe = rng.choice(["replicate", "shard"])
    cube_dim, pe_dim = int(rng.integers(0, 2)), int(rng.integers(0, 2))
    piece = list(local_shape)
    num_cubes = 1
    if cube == "shard":
        options = [c for c in (1, 2, 4) if piece[cube_dim] % c == 0]
        num_cubes = int(rng.choice(options))
        piece[cube_dim] //= num_cubes
    else:
        num_cubes = int(rng.choice([1, 2, 4]))
    num_pes = 1
    if pe == "shard":
        options = [p for p in (1, 2, 4, 8) if piece[pe_dim] % p == 0]
        num_pes = int(rng.choice(options))
    else:
        num_pes = int(rng.choice([1, 8]))
    return DPPolicy(cube=cube, pe=pe, num_cubes=num_cubes, num_pes=num_pes,
                    cube_dim=cube_dim, pe_dim=pe_dim)


def random_program(rng, index):
    if rng.random() < 0.5:
        return random_decoder_program(rng, index)
    world = int(rng.integers(1, 17))
    parallel_state.initialize_model_parallel(tensor_model_parallel_size=world)
    dtype = str(rng.choice(["f32", "f16", "bf16"]))
    m = int(rng.integers(1, 9))
    hidden = world * int(rng.integers(1, 5))
    blocks = int(rng.integers(1, 4))
    with Program(f"random{index}") as program:
        x = program.input("x", (m, hidden), dtype=dtype)
        for _ in range(blocks):
            ffn = world * int(rng.integers(1, 9))
            col = ColumnParallelLinear(hidden, ffn, bias=bool(rng.integers(0, 2)), dtype=dtype,
                                       seed=int(rng.integers(0, 1 << 30)))
            col.dp = random_policy(rng, (hidden, ffn // world))
            row = RowParallelLinear(ffn, hidden, bias=bool(rng.integers(0, 2)), dtype=dtype,
                                    seed=int(rng.integers(0, 1 << 30)))
            row.dp = random_policy(rng, (ffn // world, hidden))
            h = col(x)
            h = gelu(h) if rng.random() < 0.7 else add(h, h)
            x = row(h)
        program.output(x)
    inputs = {"x": rng.uniform(-1, 1, size=(m, hidden))}
    return program, inputs, f"W={world} {dtype} M={m} H={hidden} blocks={blocks}"


def _attention_block(rng, program, x, world, hidden, dtype, seed, inputs, kinds):
    """x + attention(norm(x)), with query head counts that divide W and the hidden
    size, and KV head counts that divide by W or (fewer KV heads than ranks, each
    replicated over a group of ranks) divide W; with a KV cache (inputs after the
    parameters) half the time. Returns the block's output and its extra outputs
    (k_new, v_new of a decode)."""
    per_rank = hidden // world
    heads_per_rank = int(rng.choice([h for h in (1, 2, 4) if per_rank % h == 0]))
    head_dim = per_rank // heads_per_rank
    use_rope = head_dim % 2 == 0 and rng.random() < 0.7
    kv_per_rank = int(rng.choice([k for k in (1, 2, 4) if heads_per_rank % k == 0]))
    heads, kv_heads = world * heads_per_rank, world * kv_per_rank
    fewer = [k for k in (1, 2, 4) if k < world and world % k == 0 and k * head_dim % world == 0]
    if fewer and rng.random() < 0.3:
        # Fewer KV heads than ranks: W / kv_heads ranks share each KV head. (The K and V
        # projections are column-parallel layers, whose out_features W must divide.)
        kv_heads = int(rng.choice(fewer))
    if rng.random() < 0.5:
        norm, kind = RMSNorm(hidden, dtype=dtype, seed=seed), "rms_norm"
    else:
        norm, kind = LayerNorm(hidden, dtype=dtype, seed=seed), "layer_norm"
    attention = ParallelAttention(hidden, heads, kv_heads, rope=use_rope,
                                  bias=bool(rng.integers(0, 2)), dtype=dtype, seed=seed + 1,
                                  theta=float(rng.choice([10000.0, 500000.0])))
    kinds.append(f"{kind}+attention(h={heads},kv={kv_heads},hd={head_dim}"
                 f"{',rope' if use_rope else ''})")
    if rng.random() < 0.5:
        return x + attention(norm(x)), []
    cached = int(rng.integers(1, 6))
    caches = []
    for name in ("k_cache", "v_cache"):
        caches.append(program.input(name, (cached, kv_heads * head_dim), dtype=dtype,
                                    after_parameters=True))
        inputs[caches[-1].name] = rng.uniform(-1, 1, size=(cached, kv_heads * head_dim))
    kinds[-1] = kinds[-1][:-1] + f",cache={cached})"
    out, k_new, v_new = attention(norm(x), *caches)
    return x + out, [k_new, v_new]


def random_decoder_program(rng, index):
    """Blocks among SwiGLU MLPs, scaled GELU MLPs and attention (prefill or decode)."""
    world = int(rng.choice([1, 2, 3, 4, 8]))
    parallel_state.initialize_model_parallel(tensor_model_parallel_size=world)
    dtype = str(rng.choice(["f32", "f16", "bf16"]))
    m = int(rng.integers(1, 8))
    hidden = world * int(rng.choice([2, 4, 6, 8]))
    blocks = int(rng.integers(1, 4))
    inputs, kinds, extra = {}, [], []
    with Program(f"random{index}") as program:
        x = program.input("x", (m, hidden), dtype=dtype)
        inputs["x"] = rng.uniform(-1, 1, size=(m, hidden))
        for _ in range(blocks):
            seed = int(rng.integers(0, 1 << 30))
            choice = rng.random()
            if choice < 0.5:
                x, more = _attention_block(rng, program, x, world, hidden, dtype, seed,
                                           inputs, kinds)
                extra += more
            elif choice < 0.8:
                ffn = world * int(rng.integers(1, 5))
                x = x + ParallelMLP(hidden, ffn, "swiglu", dtype=dtype, seed=seed)(x)
                kinds.append("swiglu")
            else:
                ffn = world * int(rng.integers(1, 5))
                col = ColumnParallelLinear(hidden, ffn, dtype=dtype, seed=seed)
                row = RowParallelLinear(ffn, hidden, dtype=dtype, seed=seed + 1)
                x = row(scale(gelu(col(x)), float(rng.uniform(0.25, 2))))
                kinds.append("scale")
        program.output(x, *extra)
    return program, inputs, (f"W={world} {dtype} M={m} H={hidden} decoder: "
                             f"{' '.join(kinds)}")


def check_case(rng, index):
    program, inputs, description = random_program(rng, index)
    result = program.run(inputs, check=True)
    for i, (got, expected) in enumerate(zip(result.outputs, program.reference(inputs))):
        got, expected = got.astype(np.float32), expected.astype(np.float32)
        scale = max(float(np.max(np.abs(expected))), 1e-30)
        error = float(np.max(np.abs(got - expected))) / scale
        dtype = program.outputs[i].dtype
        if not error <= TOLERANCE[dtype]:
            raise AssertionError(f"case {index} ({description}): result {i}: error "
                                 f"{error:.3g} vs numpy exceeds {TOLERANCE[dtype]}\n"
                                 f"{program.to_mlir()}")
    return description


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    rng = np.random.default_rng(a.seed)
    failures = 0
    for i in range(a.cases):
        try:
            check_case(rng, i)
        except Exception as e:  # report every failing case, then fail
            failures += 1
            print(f"FAIL {e}", file=sys.stderr)
    print(f"{a.cases - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
