"""A column-parallel MLP step in kernbench style: h = gelu(x @ w1 + b1) with the weight,
the bias and every activation split column-wise over the PEs of each cube, three kernels
(gemm, add with a bias vector, gelu)."""
from kernbench.policy.placement.dp import DPPolicy

M, K, N = 32, 128, 256
COLS = DPPolicy(pe="column_wise")


def gemm(x_ptr, w_ptr, y_ptr, M, K, N, tl, DTYPE="f16"):
    x = tl.load(x_ptr, shape=(M, K), dtype=DTYPE)
    w = tl.ref(w_ptr, shape=(K, N), dtype=DTYPE)
    tl.wait(tl.composite(op="gemm", a=x, b=w, out_ptr=y_ptr))


def bias_add(y_ptr, b_ptr, out_ptr, tl, DTYPE="f16"):
    y = tl.ref(y_ptr, dtype=DTYPE)
    b = tl.load(b_ptr, dtype=DTYPE)
    tl.wait(tl.composite(op="add", a=y, b=b, out_ptr=out_ptr))


def gelu(x_ptr, out_ptr, tl, DTYPE="f16"):
    tl.wait(tl.composite(op="gelu", a=tl.ref(x_ptr, dtype=DTYPE), out_ptr=out_ptr))


def run(ctx):
    x = ctx.zeros((M, K), dtype="f16", dp=DPPolicy(), name="x")
    w1 = ctx.zeros((K, N), dtype="f16", dp=COLS, name="w1")
    b1 = ctx.zeros((N,), dtype="f16", dp=COLS, name="b1")
    y = ctx.empty((M, N), dtype="f16", dp=COLS, name="y")
    z = ctx.empty((M, N), dtype="f16", dp=COLS, name="z")
    h = ctx.empty((M, N), dtype="f16", dp=COLS, name="h")
    ctx.launch("fc1", gemm, x, w1, y, M, K, N)
    ctx.launch("bias", bias_add, y, b1, z)
    ctx.launch("gelu", gelu, z, h)
