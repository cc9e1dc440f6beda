"""QKV projection in kernbench style: x (64 x 512) by the fused Q/K/V weight
(512 x 768), the weight and the output split column-wise over the PEs of every cube."""
from kernbench.policy.placement.dp import DPPolicy

M, K, N = 64, 512, 768


def qkv_gemm(x_ptr, w_ptr, y_ptr, M, K, N, tl, DTYPE="f16"):
    x = tl.load(x_ptr, shape=(M, K), dtype=DTYPE)   # activations into the PE's memory
    w = tl.ref(w_ptr, shape=(K, N), dtype=DTYPE)    # weights streamed from HBM
    tl.wait(tl.composite(op="gemm", a=x, b=w, out_ptr=y_ptr))


def run(ctx):
    x = ctx.zeros((M, K), dtype="f16", dp=DPPolicy(), name="x")
    w = ctx.zeros((K, N), dtype="f16", dp=DPPolicy(pe="column_wise"), name="w_qkv")
    y = ctx.empty((M, N), dtype="f16", dp=DPPolicy(pe="column_wise"), name="qkv")
    ctx.launch("qkv_gemm", qkv_gemm, x, w, y, M, K, N)
