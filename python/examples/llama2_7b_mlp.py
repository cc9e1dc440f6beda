"""A Llama-2-7B MLP block (hidden 4096, ffn 11008) under TP = 8: Llama's SwiGLU,
down(silu(gate(x)) * up(x)), with gate and up column-parallel and down row-parallel, as
Megatron-LM shards it. SiLU and the product run on each rank's columns, down to the
device; the only collective is the down projection's all-reduce.

16 tokens keep the run to seconds. It prints kb-run's report and the error against the
numpy reference, and exits 1 if the error exceeds the f16 tolerance.

    PYTHONPATH=python /usr/bin/python3 python/examples/llama2_7b_mlp.py
"""
import sys

import numpy as np

import kb
from kb.parallel_state import initialize_model_parallel

TOKENS, HIDDEN, FFN, TP = 16, 4096, 11008, 8
TOLERANCE = 1e-2  # f16, relative to the largest magnitude (kb-run --check's too)


def main():
    initialize_model_parallel(tensor_model_parallel_size=TP)
    with kb.Program("llama_mlp") as program:
        x = program.input((TOKENS, HIDDEN), dtype="f16")
        gate = kb.ColumnParallelLinear(HIDDEN, FFN, dtype="f16", seed=1, name="gate")
        up = kb.ColumnParallelLinear(HIDDEN, FFN, dtype="f16", seed=2, name="up")
        down = kb.RowParallelLinear(FFN, HIDDEN, dtype="f16", seed=3, name="down")
        program.output(down(kb.silu(gate(x)) * up(x)))

    x_value = np.random.default_rng(0).uniform(-1, 1, size=(TOKENS, HIDDEN)).astype(np.float16)
    result = program.run({"x": x_value}, check=True)
    expected = program.reference({"x": x_value})[0].astype(np.float32)
    error = float(np.max(np.abs(result.output.astype(np.float32) - expected)) /
                  np.max(np.abs(expected)))

    print(f"Llama-2-7B MLP (SwiGLU), TP {TP}, {TOKENS} tokens")
    print(result.summary.rstrip())
    print(f"max error vs the numpy reference: {error:.2e} of the largest magnitude "
          f"(tolerance {TOLERANCE})")
    return 0 if error <= TOLERANCE and result.report["check"]["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
