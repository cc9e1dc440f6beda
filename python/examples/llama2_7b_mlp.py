"""A Llama-2-7B MLP block (hidden 4096, ffn 11008) under TP = 8: gate and up are
column-parallel, down is row-parallel, as Megatron-LM shards it. Llama computes
silu(gate) * up; kb has no elementwise product or SiLU yet, so this block computes
gelu(gate) + up: the same shapes and parallel structure, a different activation.

    PYTHONPATH=python /usr/bin/python3 python/examples/llama2_7b_mlp.py
"""
import sys

import numpy as np

import kb
from kb.parallel_state import initialize_model_parallel

TOKENS, HIDDEN, FFN = 16, 4096, 11008


def main():
    initialize_model_parallel(tensor_model_parallel_size=8)
    with kb.Program("llama_mlp") as program:
        x = program.input("x", (TOKENS, HIDDEN), dtype="f16")
        gate = kb.ColumnParallelLinear(HIDDEN, FFN, dtype="f16", seed=1)(x)
        up = kb.ColumnParallelLinear(HIDDEN, FFN, dtype="f16", seed=2)(x)
        down = kb.RowParallelLinear(FFN, HIDDEN, dtype="f16", seed=3)
        program.output(down(kb.add(kb.gelu(gate), up)))

    rng = np.random.default_rng(0)
    inputs = {"x": rng.uniform(-1, 1, size=(TOKENS, HIDDEN)).astype(np.float16)}
    result = program.run(inputs, check=True)
    expected = program.reference(inputs)[0].astype(np.float32)
    error = float(np.max(np.abs(result.output.astype(np.float32) - expected)) /
                  np.max(np.abs(expected)))
    report = result.report
    print(f"Llama-2-7B MLP, TP 8, {TOKENS} tokens: device time "
          f"{report['device_time_s'] * 1e6:.1f} us; busiest SIP compute "
          f"{max(s['compute_s'] for s in report['sips']) * 1e6:.1f} us, collectives "
          f"{max(s['collective_s'] for s in report['sips']) * 1e6:.1f} us")
    print(f"max error vs the numpy reference: {error:.2e} of the largest magnitude")
    return 0 if error <= 1e-2 and report["check"]["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
