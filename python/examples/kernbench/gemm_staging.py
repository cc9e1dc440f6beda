"""One GEMM, two staging variants, in one benchmark: the weight brought into each PE's
memory with tl.load before the GEMM, or left in HBM and streamed with tl.ref. The
load variant pays a DMA of the weight shard first; the ref variant reads it in place."""
from kernbench.policy.placement.dp import DPPolicy

M, K, N = 64, 256, 512


def gemm_load(x_ptr, w_ptr, y_ptr, M, K, N, tl, DTYPE="f16"):
    x = tl.load(x_ptr, shape=(M, K), dtype=DTYPE)
    w = tl.load(w_ptr, shape=(K, N), dtype=DTYPE)   # staged: DMA into the PE's memory
    tl.wait(tl.composite(op="gemm", a=x, b=w, out_ptr=y_ptr))


def gemm_ref(x_ptr, w_ptr, y_ptr, M, K, N, tl, DTYPE="f16"):
    x = tl.ref(x_ptr, shape=(M, K), dtype=DTYPE)
    w = tl.ref(w_ptr, shape=(K, N), dtype=DTYPE)    # streamed from where it lies
    tl.wait(tl.composite(op="gemm", a=x, b=w, out_ptr=y_ptr))


def run(ctx):
    x = ctx.zeros((M, K), dtype="f16", dp=DPPolicy(), name="x")
    w = ctx.zeros((K, N), dtype="f16", dp=DPPolicy(pe="column_wise"), name="w")
    y_load = ctx.empty((M, N), dtype="f16", dp=DPPolicy(pe="column_wise"), name="y_load")
    y_ref = ctx.empty((M, N), dtype="f16", dp=DPPolicy(pe="column_wise"), name="y_ref")
    ctx.launch("gemm_load", gemm_load, x, w, y_load, M, K, N)
    ctx.launch("gemm_ref", gemm_ref, x, w, y_ref, M, K, N)
