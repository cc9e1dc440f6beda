"""The kernels the TP layers launch, in kernbench's kernel style: per PE, with the
kernel language `tl` as the last argument (`tl.load` brings an operand into the PE's
local memory, `tl.ref` streams it from HBM tile by tile, `tl.composite` starts a tiled
operation, `tl.wait` waits for it; every kernel waits, which is the scheduler's yield
point).

kb does not run these bodies: the recorder maps each kernel to a kb op through
kernbench.registry (`_gemm_kernel` is kb's matmul inside the parallel linear layers),
and kb-opt lowers that op to the device's tile program. `_gemm_kernel` is the seed's;
`_gelu_kernel` and `_add_kernel` are ours, for the elementwise steps between layers.
"""


def _gemm_kernel(a_ptr, b_ptr, c_ptr, M, K, N, tl, DTYPE="f16"):
    """c (M x N) = a (M x K) @ b (K x N), products accumulated in f32."""
    a = tl.load(a_ptr, shape=(M, K), dtype=DTYPE)  # activations into the PE's memory
    b = tl.ref(b_ptr, shape=(K, N), dtype=DTYPE)   # weights streamed from HBM
    tl.wait(tl.composite(op="gemm", a=a, b=b, out_ptr=c_ptr))


def _gelu_kernel(x_ptr, y_ptr, M, N, tl, DTYPE="f16"):
    """y (M x N) = gelu(x), the tanh approximation."""
    x = tl.load(x_ptr, shape=(M, N), dtype=DTYPE)
    tl.wait(tl.composite(op="gelu", a=x, out_ptr=y_ptr))


def _add_kernel(a_ptr, b_ptr, c_ptr, M, N, tl, DTYPE="f16"):
    """c (M x N) = a + b, elementwise."""
    a = tl.load(a_ptr, shape=(M, N), dtype=DTYPE)
    b = tl.load(b_ptr, shape=(M, N), dtype=DTYPE)
    tl.wait(tl.composite(op="add", a=a, b=b, out_ptr=c_ptr))
