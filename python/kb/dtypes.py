"""kb's element types and their numpy form. numpy has no bfloat16: bf16 tensors travel
as float32 arrays whose values are rounded to bf16."""
import numpy as np

DTYPES = ("f16", "bf16", "f32")


def check_dtype(dtype):
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    return dtype


def numpy_dtype(dtype):
    return np.float16 if dtype == "f16" else np.float32


def round_to(array, dtype):
    """`array` rounded to `dtype` (to nearest, ties to even), as a numpy array of its
    travelling type."""
    array = np.asarray(array, dtype=np.float32)
    if dtype == "f16":
        return array.astype(np.float16)
    if dtype == "bf16":
        bits = array.view(np.uint32).astype(np.uint64)
        rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16) << 16
        out = rounded.astype(np.uint32).view(np.float32)
        return np.where(np.isnan(array), array, out).astype(np.float32)
    return array.copy()
