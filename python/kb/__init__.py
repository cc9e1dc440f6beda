"""kb's Python front end: write a tensor-parallel model the way Megatron-LM (and the
seed) does, compile it with kb-opt and run it on the simulated AHBM system with kb-run.

    import numpy as np
    import kb
    from kb.parallel_state import initialize_model_parallel

    initialize_model_parallel(tensor_model_parallel_size=4)
    with kb.Program("mlp") as program:
        x = program.input((64, 256), dtype="f16")        # %x
        h = kb.ColumnParallelLinear(256, 1024, bias=True)(x)
        y = kb.RowParallelLinear(1024, 256, bias=True)(kb.gelu(h))
        program.output(y)
    x_value = np.ones((64, 256), np.float16)
    result = program.run({"x": x_value}, check=True)  # kb-run: result.output, .report
    expected = program.reference({"x": x_value})[0]  # the unsharded model in numpy

Modules, by concept: parallel_state (the TP world size), policy (DPPolicy), layers
(the seed's and Megatron-LM's vocabulary), program (recording a model; argument order),
location (the user's file:line on every op), ops (each op's IR line and numpy
meaning, one entry per op), ir (kb IR text), tools (finding and running
kb-opt, kb-run), reference (the same model in numpy), transformer (norms, attention,
MLPs, Llama and GPT-2 layers), models (the vocabulary-parallel embedding), dtypes.
"""
from . import parallel_state, reference
from .layers import ColumnParallelLinear, RowParallelLinear, all_gather, reduce_scatter, scale
from .models import GPT2Model, LlamaModel, ParallelLMHead, VocabParallelEmbedding
from .ops import ELEMENTWISE
from .policy import DPPolicy
from .program import Program, RunResult, Tensor
from .tools import ToolError
from .transformer import (GPT2Block, LayerNorm, LlamaDecoderLayer, ParallelAttention,
                          ParallelMLP, RMSNorm, SwiGLU)

__all__ = [
    "ColumnParallelLinear", "RowParallelLinear", "all_gather", "reduce_scatter", "scale",
    "DPPolicy", "Program",
    "RunResult", "Tensor", "ToolError", "parallel_state", "reference",
    "RMSNorm", "LayerNorm", "ParallelAttention", "ParallelMLP", "SwiGLU",
    "LlamaDecoderLayer", "GPT2Block", "VocabParallelEmbedding",
    "ParallelLMHead", "GPT2Model", "LlamaModel",
]
# Every elementwise op registered in kb.ops is kb.<name> (kb.gelu, kb.silu, kb.add, kb.mul).
globals().update(ELEMENTWISE)
__all__ += sorted(ELEMENTWISE)
