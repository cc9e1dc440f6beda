"""kb IR text for a Program, in the global view and exactly in the dialect's assembly
format (the form `kb-opt` prints back, except that arguments keep their names), so the
text is both what the tools read and what a user reads when something goes wrong.

No MLIR Python bindings are involved: the global view is small (a dozen ops and a
function), and writing it as text keeps the front end pure Python.
"""
import re

# The defaults of kb.rms_norm / kb.layer_norm's eps and kb.rope's theta, which the
# dialect's printer elides.
DEFAULT_EPS = 1e-5
DEFAULT_THETA = 10000.0

# An MLIR suffix-id that is not a bare number: `%0` names belong to op results.
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_$.]*\Z")


def check_name(name, what):
    """Raises ValueError unless `name` can be written as `%name` / `@name` unquoted."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"{what} must be an identifier (letters, digits, '_', '$', '.'; "
                         f"not starting with a digit), got {name!r}")
    return name


def float_attr(value):
    """An f64 attribute value as kb-opt prints it: 6 significant digits in exponent form
    when that is exact, else every digit Python needs to give the same double back."""
    value = float(value)
    short = f"{value:.6e}"
    return short if float(short) == value else repr(value)


def tensor_type(shape, dtype, policy=None):
    """`tensor<8x16xf16>`, with the DPPolicy as its encoding when there is one."""
    dims = "".join(f"{d}x" for d in shape)
    encoding = f", {policy.to_mlir()}" if policy is not None else ""
    return f"tensor<{dims}{dtype}{encoding}>"


def _op_line(kind, operands, result, attrs):
    from .ops import lookup  # the registry writes each kind's line (kb.ops)
    return lookup(kind).ir([o.ssa for o in operands], operands, result, attrs)


def _loc(location, debug_info):
    """` loc(...)` after an op, argument or function when debug info is asked for."""
    if not debug_info or location is None:
        return ""
    return " " + location.to_mlir()


def emit_module(program, debug_info=False):
    """The module holding `program` as one func.func, its world size as `kb.world_size`.
    With `debug_info`, each op, argument, the return and the function end with the
    user's source location, `loc("model.py":13:9)`."""
    if not program.outputs:
        raise ValueError(f"program {program.name!r} has no outputs; call program.output(...)")
    args = ", ".join(f"{t.ssa}: {t.mlir_type}{_loc(t.loc, debug_info)}"
                     for t in program.arguments)
    result_types = [t.mlir_type for t in program.outputs]
    results = (result_types[0] if len(result_types) == 1
               else f"({', '.join(result_types)})")
    sp = ", kb.sequence_parallel" if getattr(program, "sequence_parallel", False) else ""
    lines = [f"module attributes {{kb.world_size = {program.world_size} : i64{sp}}} {{",
             f"  func.func @{program.name}({args}) -> {results} {{"]
    lines += [f"    {_op_line(kind, operands, result, program.attributes(result))}"
              f"{_loc(result.loc, debug_info)}"
              for kind, operands, result in program.ops]
    lines.append(f"    return {', '.join(t.ssa for t in program.outputs)} : "
                 f"{', '.join(result_types)}{_loc(program.output_loc, debug_info)}")
    lines += [f"  }}{_loc(program.loc, debug_info)}", "}", ""]
    return "\n".join(lines)
