"""kb's Python front end: write a tensor-parallel model the way Megatron-LM (and the
seed) does, compile it with kb-opt and run it on the simulated AHBM system with kb-run.

    import numpy as np
    import kb
    from kb.parallel_state import initialize_model_parallel

    initialize_model_parallel(tensor_model_parallel_size=4)
    with kb.Program("mlp") as program:
        x = program.input("x", (64, 256), dtype="f16")
        h = kb.ColumnParallelLinear(256, 1024, bias=True)(x)
        y = kb.RowParallelLinear(1024, 256, bias=True)(kb.gelu(h))
        program.output(y)
    result = program.run({"x": np.ones((64, 256), np.float16)}, check=True)
"""
from .layers import ColumnParallelLinear, RowParallelLinear, add, gelu
from .policy import DPPolicy
from .program import Program, RunResult, Tensor
from .tools import ToolError

__all__ = [
    "ColumnParallelLinear", "RowParallelLinear", "add", "gelu", "DPPolicy", "Program",
    "RunResult", "Tensor", "ToolError",
]
