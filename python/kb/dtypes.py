"""kb's element types and their numpy form. numpy has no bfloat16: bf16 tensors travel
as float32 arrays whose values are rounded to bf16."""
import numpy as np

DTYPES = ("f16", "bf16", "f32")
# Token ids: integer inputs (an embedding's), never a layer's dtype.
ID_DTYPES = ("i32", "i64")

# The spellings a model ported from numpy, PyTorch/Megatron or kernbench uses, by the
# kb element type they mean. Matched case-insensitively.
_ALIASES = {
    "f16": "f16", "fp16": "f16", "float16": "f16", "half": "f16", "torch.float16": "f16",
    "torch.half": "f16",
    "bf16": "bf16", "bfloat16": "bf16", "torch.bfloat16": "bf16",
    "f32": "f32", "fp32": "f32", "float32": "f32", "torch.float32": "f32",
    "torch.float": "f32",
}


def check_dtype(dtype):
    """kb's name ("f16", "bf16" or "f32") for `dtype`: one of those, another common
    spelling ("float16", "fp16", "half", "bfloat16", "float32", "fp32"...), a numpy
    dtype or scalar type (np.float16, np.dtype("float32")), or a torch dtype. Anything
    else is a ValueError."""
    key = None
    if isinstance(dtype, str):
        key = dtype.strip().lower()
    elif dtype is not None and not isinstance(dtype, (bool, int, float)):
        try:
            key = np.dtype(dtype).name  # np.float16, np.dtype(...), "<f2"...
        except TypeError:
            key = str(dtype).lower()  # torch.float16 and friends, without torch
    if key in _ALIASES:
        return _ALIASES[key]
    raise ValueError(f"dtype must be one of {', '.join(DTYPES)} (or float16/fp16/half, "
                     f"bfloat16, float32/fp32, a numpy or torch dtype), got {dtype!r}")


def check_input_dtype(dtype):
    """An input's dtype: a float one (check_dtype), or "i32"/"i64" (also np.int32,
    np.int64, "int32", "int64") for token ids."""
    try:
        key = np.dtype(dtype).name if not isinstance(dtype, str) else dtype.strip().lower()
    except TypeError:
        key = None
    ids = {"i32": "i32", "int32": "i32", "i64": "i64", "int64": "i64"}
    if key in ids:
        return ids[key]
    return check_dtype(dtype)


def numpy_dtype(dtype):
    if dtype in ID_DTYPES:
        return np.int32 if dtype == "i32" else np.int64
    return np.float16 if dtype == "f16" else np.float32


def round_to(array, dtype):
    """`array` rounded to `dtype` (to nearest, ties to even), as a numpy array of its
    travelling type. Ids (i32, i64) are integers already and keep their values."""
    if dtype in ID_DTYPES:
        return np.asarray(array).astype(numpy_dtype(dtype))
    array = np.asarray(array, dtype=np.float32)
    if dtype == "f16":
        return array.astype(np.float16)
    if dtype == "bf16":
        bits = array.view(np.uint32).astype(np.uint64)
        rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16) << 16
        out = rounded.astype(np.uint32).view(np.float32)
        return np.where(np.isnan(array), array, out).astype(np.float32)
    return array.copy()
