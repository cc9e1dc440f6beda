"""gemm_staging.py's tl.load variant alone: both operands DMA'd into the PE's memory."""
from gemm_staging import gemm_load, M, K, N  # noqa: F401
from kernbench.policy.placement.dp import DPPolicy


def run(ctx):
    x = ctx.zeros((M, K), dtype="f16", dp=DPPolicy(), name="x")
    w = ctx.zeros((K, N), dtype="f16", dp=DPPolicy(pe="column_wise"), name="w")
    y = ctx.empty((M, N), dtype="f16", dp=DPPolicy(pe="column_wise"), name="y")
    ctx.launch("gemm_load", gemm_load, x, w, y, M, K, N)
