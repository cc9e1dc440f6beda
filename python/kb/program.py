"""A Program records a model written with kb's layers and turns it into kb IR, a
compiled device program, a kb-run execution, or a numpy reference run."""
import contextvars
import json
import os
import tempfile

import numpy as np

from . import parallel_state
from .dtypes import check_dtype, numpy_dtype, round_to
from .tools import run_tool

_current = contextvars.ContextVar("kb_program", default=None)


def current_program():
    program = _current.get()
    if program is None:
        raise RuntimeError("kb layers are applied inside `with kb.Program(...) as p:`")
    return program


class Tensor:
    """A value of the program: its global shape, dtype and optional DPPolicy."""

    def __init__(self, program, name, shape, dtype, policy=None):
        self.program, self.name = program, name
        self.shape, self.dtype, self.policy = tuple(shape), dtype, policy

    @property
    def mlir_type(self):
        dims = "x".join(str(d) for d in self.shape)
        encoding = f", {self.policy.to_mlir()}" if self.policy is not None else ""
        return f"tensor<{dims}x{self.dtype}{encoding}>"

    def __repr__(self):
        return f"Tensor(%{self.name}: {self.shape} {self.dtype})"


class RunResult:
    """What kb-run returned: the outputs as numpy arrays and its report (a dict)."""

    def __init__(self, outputs, report, stdout):
        self.outputs, self.report, self.stdout = outputs, report, stdout

    @property
    def output(self):
        return self.outputs[0]


class Program:
    """A model in kb's global view. Use as a context manager; layers applied inside
    record their ops here. Arguments are the inputs and the layers' parameters, in
    the order they are first used."""

    def __init__(self, name="forward", world_size=None):
        if not name.isidentifier():
            raise ValueError(f"program name must be an identifier, got {name!r}")
        self.name = name
        self.world_size = world_size or parallel_state.get_tensor_model_parallel_world_size()
        self.arguments = []  # (Tensor, kind, value): kind is "input" or "parameter"
        self.ops = []        # (kind, [operand tensors], result tensor)
        self.outputs = []
        self._names = set()
        self._token = None

    def __enter__(self):
        self._token = _current.set(self)
        return self

    def __exit__(self, *exc):
        _current.reset(self._token)
        return False

    # Building.
    def fresh_name(self, base):
        base = "".join(c if c.isalnum() or c == "_" else "_" for c in base) or "v"
        name, i = base, 0
        while name in self._names:
            i += 1
            name = f"{base}_{i}"
        self._names.add(name)
        return name

    def input(self, name, shape, dtype="f16", dp=None):
        check_dtype(dtype)
        if any(not isinstance(d, int) or d < 1 for d in shape):
            raise ValueError(f"input {name!r} needs positive integer dimensions, got {shape}")
        tensor = Tensor(self, self.fresh_name(name), shape, dtype, dp)
        self.arguments.append((tensor, "input", None))
        return tensor

    def parameter(self, name, value, dtype, dp=None):
        tensor = Tensor(self, self.fresh_name(name), value.shape, dtype, dp)
        self.arguments.append((tensor, "parameter", value))
        return tensor

    def emit(self, kind, operands, shape, dtype, name):
        result = Tensor(self, self.fresh_name(name), shape, dtype)
        self.ops.append((kind, list(operands), result))
        return result

    def output(self, *tensors):
        for t in tensors:
            if not isinstance(t, Tensor) or t.program is not self:
                raise ValueError(f"{t!r} is not a value of program {self.name!r}")
        self.outputs.extend(tensors)

    # kb IR.
    def to_mlir(self):
        if not self.outputs:
            raise ValueError(f"program {self.name!r} has no outputs; call program.output(...)")
        args = ", ".join(f"%{t.name}: {t.mlir_type}" for t, _, _ in self.arguments)
        results = ", ".join(t.mlir_type for t in self.outputs)
        lines = [f"module attributes {{kb.world_size = {self.world_size} : i64}} {{",
                 f"  func.func @{self.name}({args}) -> ({results}) {{"]
        for kind, operands, result in self.ops:
            names = [f"%{o.name}" for o in operands]
            if kind in ("column_parallel_linear", "row_parallel_linear"):
                bias = f" bias {names[2]}" if len(names) == 3 else ""
                types = ", ".join(o.mlir_type for o in operands)
                lines.append(f"    %{result.name} = kb.{kind} {names[0]}, {names[1]}{bias}"
                             f" : ({types}) -> {result.mlir_type}")
            elif kind == "gelu":
                lines.append(f"    %{result.name} = kb.gelu {names[0]} : {result.mlir_type}")
            elif kind == "add":
                lines.append(f"    %{result.name} = kb.add {names[0]}, {names[1]} : "
                             f"{operands[0].mlir_type}, {operands[1].mlir_type}")
            else:
                raise AssertionError(kind)
        lines.append(f"    return {', '.join('%' + t.name for t in self.outputs)} : {results}")
        lines += ["  }", "}", ""]
        return "\n".join(lines)

    # Tools.
    def compile(self, lower_to_device=True):
        """The program after `kb-opt --kb-pipeline`, as text."""
        with tempfile.TemporaryDirectory(prefix="kb-") as tmp:
            source = os.path.join(tmp, f"{self.name}.mlir")
            with open(source, "w") as f:
                f.write(self.to_mlir())
            option = "" if lower_to_device else "=lower-to-device=false"
            return run_tool("kb-opt", [f"--kb-pipeline{option}", source]).stdout

    def argument_values(self, inputs):
        """Every argument's value in order: the inputs given by name, the parameters
        from their layers; each checked and rounded to its dtype."""
        inputs = dict(inputs or {})
        values = []
        for tensor, kind, value in self.arguments:
            if kind == "input":
                if tensor.name not in inputs:
                    raise ValueError(f"missing input {tensor.name!r}")
                value = inputs.pop(tensor.name)
            value = np.asarray(value)
            if value.shape != tensor.shape:
                raise ValueError(f"{tensor.name!r} has shape {value.shape}, the program "
                                 f"expects {tensor.shape}")
            values.append(round_to(value, tensor.dtype))
        if inputs:
            raise ValueError(f"unknown inputs: {', '.join(sorted(inputs))}")
        return values

    def run(self, inputs=None, check=True, trace=None, device=None):
        """Compiles and runs the program with kb-run; returns a RunResult whose
        outputs are numpy arrays and whose report is kb-run's JSON report."""
        values = self.argument_values(inputs)
        with tempfile.TemporaryDirectory(prefix="kb-") as tmp:
            source = os.path.join(tmp, f"{self.name}.mlir")
            with open(source, "w") as f:
                f.write(self.to_mlir())
            args = [source, "--output-dir", tmp, "--report", os.path.join(tmp, "report.json")]
            for i, value in enumerate(values):
                path = os.path.join(tmp, f"in{i}.npy")
                np.save(path, value)
                args += ["--input", path]
            if check:
                args.append("--check")
            if trace:
                args += ["--trace", os.fspath(trace)]
            if device:
                device_path = os.path.join(tmp, "device.json")
                with open(device_path, "w") as f:
                    json.dump(device, f)
                args += ["--device", device_path]
            done = run_tool("kb-run", args)
            outputs = [np.load(os.path.join(tmp, f"result{i}.npy"))
                       for i in range(len(self.outputs))]
            with open(os.path.join(tmp, "report.json")) as f:
                report = json.load(f)
        return RunResult(outputs, report, done.stdout)

    def reference(self, inputs=None):
        """The unsharded model in numpy (see kb.reference)."""
        from .reference import run_reference
        return run_reference(self, self.argument_values(inputs))
