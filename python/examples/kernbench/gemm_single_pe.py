"""The QKV GEMM of gemm_qkv.py with every tensor overridden onto one PE of one cube
(DPPolicy(num_cubes=1, num_pes=1)): the whole GEMM runs on that PE, so it takes
longer than the same GEMM spread over the cube."""
from kernbench.policy.placement.dp import DPPolicy

M, K, N = 64, 512, 768
ONE_PE = DPPolicy(cube="replicate", pe="replicate", num_cubes=1, num_pes=1)


def qkv_gemm(x_ptr, w_ptr, y_ptr, M, K, N, tl, DTYPE="f16"):
    x = tl.load(x_ptr, shape=(M, K), dtype=DTYPE)
    w = tl.ref(w_ptr, shape=(K, N), dtype=DTYPE)
    tl.wait(tl.composite(op="gemm", a=x, b=w, out_ptr=y_ptr))


def run(ctx):
    x = ctx.zeros((M, K), dtype="f16", dp=ONE_PE, name="x")
    w = ctx.zeros((K, N), dtype="f16", dp=ONE_PE, name="w_qkv")
    y = ctx.empty((M, N), dtype="f16", dp=ONE_PE, name="qkv")
    ctx.launch("qkv_gemm", qkv_gemm, x, w, y, M, K, N)
