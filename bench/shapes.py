"""The inference shapes the executor benchmarks run (executor_speed.py, memory.py): each a
Megatron MLP or decoder layer as a kb program, its numpy twin, and .npy inputs written by
numpy in the program's own dtype.

  mlp            M 512, H 1024, F 4096, TP 4, f32, GELU, biases (training-like)
  gpt3-decode    M 4, H 12288, F 49152, TP 8, f16, GELU, biases (a GPT-3 layer's MLP
                 decoding 4 tokens: 2.4 GB of weights)
  llama-prefill  M 2048, H 4096, F 11008, TP 8, f16, SwiGLU (Llama-2-7B's MLP on a
                 2048-token prompt)
  llama-layer-prefill  the whole Llama-2-7B decoder layer (examples/llama2_7b_layer.mlir:
                 RMSNorm, q/k/v, RoPE, causal attention over 32 heads of 128, wo, residual,
                 RMSNorm, SwiGLU MLP, residual) on a 2048-token prompt, TP 8, f16 (kb-run
                 estimates 12.5 GiB of host memory and peaks at 2.3 GiB)

Each has a smoke size, so the test suite's --smoke runs stay small.
"""
import os
import re
import subprocess
import sys

import numpy as np

GELU = """module attributes {{kb.world_size = {w} : i64}} {{
  func.func @mlp(%x: tensor<{m}x{h}x{t}>, %w1: tensor<{h}x{f}x{t}>, %b1: tensor<{f}x{t}>,
                 %w2: tensor<{f}x{h}x{t}>, %b2: tensor<{h}x{t}>) -> tensor<{m}x{h}x{t}> {{
    %a = kb.column_parallel_linear %x, %w1 bias %b1 : (tensor<{m}x{h}x{t}>, tensor<{h}x{f}x{t}>, tensor<{f}x{t}>) -> tensor<{m}x{f}x{t}>
    %g = kb.gelu %a : tensor<{m}x{f}x{t}>
    %y = kb.row_parallel_linear %g, %w2 bias %b2 : (tensor<{m}x{f}x{t}>, tensor<{f}x{h}x{t}>, tensor<{h}x{t}>) -> tensor<{m}x{h}x{t}>
    return %y : tensor<{m}x{h}x{t}>
  }}
}}
"""

SWIGLU = """module attributes {{kb.world_size = {w} : i64}} {{
  func.func @mlp(%x: tensor<{m}x{h}x{t}>, %wg: tensor<{h}x{f}x{t}>, %wu: tensor<{h}x{f}x{t}>,
                 %wd: tensor<{f}x{h}x{t}>) -> tensor<{m}x{h}x{t}> {{
    %g = kb.column_parallel_linear %x, %wg : (tensor<{m}x{h}x{t}>, tensor<{h}x{f}x{t}>) -> tensor<{m}x{f}x{t}>
    %u = kb.column_parallel_linear %x, %wu : (tensor<{m}x{h}x{t}>, tensor<{h}x{f}x{t}>) -> tensor<{m}x{f}x{t}>
    %s = kb.silu %g : tensor<{m}x{f}x{t}>
    %p = kb.mul %s, %u : tensor<{m}x{f}x{t}>, tensor<{m}x{f}x{t}>
    %y = kb.row_parallel_linear %p, %wd : (tensor<{m}x{f}x{t}>, tensor<{f}x{h}x{t}>) -> tensor<{m}x{h}x{t}>
    return %y : tensor<{m}x{h}x{t}>
  }}
}}
"""

# The Llama-2-7B layer example, its sizes made parameters (head_dim 128, or 64 at the
# smoke size, where H = 512 gives 8 heads for W = 8).
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAYER = "llama2_7b_layer.mlir"


def layer_program(m, h, f, w):
    with open(os.path.join(ROOT, "examples", LAYER)) as src:
        text = src.read()
    head_dim = 128 if h % (128 * w) == 0 else 64
    heads = h // head_dim
    text = re.sub(r"\b16x", f"{m}x", text)
    text = re.sub(r"(?<![0-9])11008(?![0-9])", str(f), text)
    text = re.sub(r"(?<![0-9])4096(?![0-9])", str(h), text)
    text = text.replace("heads 32 kv_heads 32", f"heads {heads} kv_heads {heads}")
    text = text.replace("head_dim 128", f"head_dim {head_dim}")
    return text.replace("kb.world_size = 8", f"kb.world_size = {w}"), head_dim


# name: (template, full (m, h, f, w), smoke (m, h, f, w), dtype)
SHAPES = {
    "mlp": (GELU, (512, 1024, 4096, 4), (64, 128, 512, 4), "f32"),
    "gpt3-decode": (GELU, (4, 12288, 49152, 8), (4, 256, 1024, 8), "f16"),
    "llama-prefill": (SWIGLU, (2048, 4096, 11008, 8), (64, 256, 688, 8), "f16"),
    "llama-layer-prefill": (LAYER, (2048, 4096, 11008, 8), (64, 512, 1376, 8), "f16"),
}

# The numpy side: load, compute in f32 (numpy's f16 matmul has no BLAS kernel), save.
# Prints its compute seconds.
NUMPY = r"""
import sys, time, numpy as np
d, n = sys.argv[1], int(sys.argv[3])
kind, _, head_dim = sys.argv[2].partition(":")
args = [np.load(f"{d}/arg{i}.npy", mmap_mode="r") for i in range(n)]
dtype = args[0].dtype
start = time.perf_counter()
a = [np.asarray(v, dtype=np.float32) for v in args]
if kind == "gelu":
    x, w1, b1, w2, b2 = a
    v = x @ w1 + b1
    v = 0.5 * v * (1 + np.tanh(np.float32(0.7978845608028654) * (v + np.float32(0.044715) * v ** 3)))
    y = v @ w2 + b2
elif kind == "swiglu":
    x, wg, wu, wd = a
    g = x @ wg
    y = (g / (1 + np.exp(-g)) * (x @ wu)) @ wd
else:  # a Llama decoder layer, Hugging Face's math (docs/Transformer.md), in f32
    x, attn_norm_w, wq, wk, wv, wo, mlp_norm_w, wg, wu, wd = a
    hd = int(head_dim)
    def rmsnorm(v, w):
        return v / np.sqrt(np.mean(v * v, axis=-1, keepdims=True) + np.float32(1e-5)) * w
    s = x.shape[0]
    half = hd // 2
    inv_freq = np.float32(10000.0) ** (-2 * np.arange(half, dtype=np.float32) / hd)
    angle = np.arange(s, dtype=np.float32)[:, None] * inv_freq
    cos = np.concatenate([np.cos(angle)] * 2, axis=-1)[:, None, :]
    sin = np.concatenate([np.sin(angle)] * 2, axis=-1)[:, None, :]
    def heads(t):  # [S, nH*hd] -> [nH, S, hd]
        return t.reshape(s, -1, hd).transpose(1, 0, 2)
    def rope(t):
        h3 = t.reshape(s, -1, hd)
        rotated = np.concatenate([-h3[..., half:], h3[..., :half]], axis=-1)
        return (h3 * cos + rotated * sin).transpose(1, 0, 2)
    n = rmsnorm(x, attn_norm_w)
    q, k, v = rope(n @ wq), rope(n @ wk), heads(n @ wv)
    scores = q @ k.transpose(0, 2, 1) / np.float32(np.sqrt(hd))
    scores += np.triu(np.full((s, s), -np.inf, np.float32), 1)
    scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
    scores /= scores.sum(axis=-1, keepdims=True)
    o = (scores @ v).transpose(1, 0, 2).reshape(s, -1)
    h = x + o @ wo
    m = rmsnorm(h, mlp_norm_w)
    g = m @ wg
    y = h + (g / (1 + np.exp(-g)) * (m @ wu)) @ wd
print(time.perf_counter() - start)
np.save(f"{d}/numpy_result.npy", y.astype(dtype))
"""

# Which OpenBLAS kernel the numpy process runs: openblas_get_corename of the libopenblas
# numpy has loaded (threadpoolctl is not in Debian 12).
CORENAME = r"""
import ctypes, numpy as np
a = np.ones((64, 64), np.float32); a @ a
libs = sorted({l.split()[-1] for l in open("/proc/self/maps") if "libopenblas" in l})
names = []
for path in libs:
    fn = getattr(ctypes.CDLL(path), "openblas_get_corename", None)
    if fn:
        fn.restype = ctypes.c_char_p
        names.append(f"{path} (core {fn().decode()})")
print(", ".join(names) or "not OpenBLAS: " + ", ".join(
    sorted({l.split()[-1] for l in open("/proc/self/maps") if "blas" in l})))
"""


def numpy_env(threads=None):
    """The numpy process's environment: OpenBLAS's own core detection (no forced
    OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE), and `threads` threads when given."""
    env = dict(os.environ)
    env.pop("OPENBLAS_CORETYPE", None)
    env.pop("OPENBLAS_L2_SIZE", None)
    if threads:
        env.update(OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads))
    return env


def openblas_kernel():
    """numpy's BLAS library and the OpenBLAS kernel it picked, in the numpy environment."""
    return subprocess.run([sys.executable, "-c", CORENAME], env=numpy_env(), check=True,
                          capture_output=True, text=True).stdout.strip()


def dims(name, smoke):
    _, full, small, _ = SHAPES[name]
    return small if smoke else full


def write(name, smoke, directory):
    """Writes the kb program and its .npy inputs (in the program's dtype) to `directory`;
    returns (program path, input paths, numpy kind, input bytes)."""
    template, _, _, t = SHAPES[name]
    m, h, f, w = dims(name, smoke)
    src = os.path.join(directory, f"{name}.mlir")
    with open(src, "w") as out:
        if template is LAYER:
            text, head_dim = layer_program(m, h, f, w)
            out.write(text)
        else:
            out.write(template.format(m=m, h=h, f=f, w=w, t=t))
    dtype = np.float16 if t == "f16" else np.float32
    rng = np.random.default_rng(0)
    if template is GELU:
        shapes, kind = [(m, h), (h, f), (f,), (f, h), (h,)], "gelu"
    elif template is SWIGLU:
        shapes, kind = [(m, h), (h, f), (h, f), (f, h)], "swiglu"
    else:
        shapes = [(m, h), (h,), (h, h), (h, h), (h, h), (h, h), (h,), (h, f), (h, f), (f, h)]
        kind = f"layer:{head_dim}"  # the numpy twin needs the head size
    paths, total = [], 0
    for i, shape in enumerate(shapes):
        # Scaled by 1/sqrt(fan-in) so that every layer's values stay near 1 in f16.
        fan_in = shape[0] if len(shape) == 2 and i else 1
        path = os.path.join(directory, f"arg{i}.npy")
        arr = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)
        rows = arr.reshape(shape[0], -1)
        for r in range(0, rows.shape[0], 1024):  # in slices: bounded memory
            block = rng.standard_normal(rows[r:r + 1024].shape, dtype=np.float32)
            rows[r:r + 1024] = block / np.float32(np.sqrt(fan_in))
        arr.flush()
        del arr, rows
        paths.append(path)
        total += os.path.getsize(path)
    return src, paths, kind, total
