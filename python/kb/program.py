"""A Program records a model written with kb's layers and turns it into kb IR (kb.ir),
a compiled device program (kb-opt), a simulated run (kb-run) or a numpy reference run
(kb.reference).

Recording instead of executing is what lets one model description serve all four: the
layers only check their arguments and append ops; nothing runs until asked.

Function arguments are, in this order:
  1. the inputs, in the order `program.input` declared them;
  2. each layer's parameters, in the order the layers were first applied: its weight
     (`%w1`, `%w2`, ... or `%<name>_w` for a layer given `name=`, or the names in the
     layer's `parameter_names`), then its bias if it has one (`%b1`, ... or
     `%<name>_b`). A layer applied twice adds its parameters once;
  3. the inputs declared with `after_parameters=True` (a decode step's KV cache comes
     after the weights, as in examples/llama2_7b_decode.mlir), in declaration order.
Op results are numbered `%0`, `%1`, ... in program order, as `kb-opt` prints them.

Each op, argument and output remembers the user's file:line:col that recorded it
(kb.location); the IR handed to the tools carries them as MLIR locations, so the tools'
errors name the user's line.

A tensor of more than two dimensions (Megatron's [s, b, h] activations) is written to
the IR as tokens x hidden (its leading dimensions flattened): the layers and elementwise
ops work on rows, so the flattening is exact, and arrays go in and come out in the
tensor's own shape.
"""
import contextvars
import json
import os
import tempfile

import numpy as np

from . import parallel_state
from .dtypes import ID_DTYPES, check_input_dtype, round_to
from .ir import check_name, emit_module, tensor_type
from .location import caller_location
from .tools import ToolError, run_tool

_current = contextvars.ContextVar("kb_program", default=None)

def current_program():
    """The Program of the innermost `with kb.Program(...)` block."""
    program = _current.get()
    if program is None:
        raise RuntimeError("kb layers are applied inside `with kb.Program(...) as p:`")
    return program


class Tensor:
    """A value of the program: its global (logical) shape, dtype and optional DPPolicy.
    It holds no data; arrays are given to `run` and `reference`."""

    def __init__(self, program, name, shape, dtype, policy=None, loc=None):
        self.program, self.name = program, name
        self.shape, self.dtype, self.policy = tuple(shape), dtype, policy
        self.loc = loc  # kb.location.Location of the user's line that made it

    @property
    def ssa(self):
        return f"%{self.name}"

    @property
    def ir_shape(self):
        """The shape in the IR: `shape`, with the leading dimensions of a tensor of
        more than two flattened into one (tokens x hidden)."""
        return ir_shape(self.shape)

    @property
    def mlir_type(self):
        return tensor_type(self.ir_shape, self.dtype, self.policy)

    def __repr__(self):
        return f"Tensor({self.ssa}: {self.shape} {self.dtype})"

    # Elementwise arithmetic, as in numpy and torch: a + b, a * b, 0.5 * a.
    def __add__(self, other):
        from .layers import add
        return add(self, other)

    def __mul__(self, other):
        from .layers import mul, scale
        if isinstance(other, (int, float)) and not isinstance(other, bool):
            return scale(self, other)
        return mul(self, other)

    __rmul__ = __mul__


class RunResult:
    """What kb-run returned: `outputs` (numpy arrays, one per `program.output`), `report`
    (kb-run's JSON report as a dict: world_size, device_time_s, sips, collectives, check)
    and `summary` (the report kb-run printed as text)."""

    def __init__(self, outputs, report, summary):
        self.outputs, self.report, self.summary = outputs, report, summary

    @property
    def output(self):
        """The first output: most programs have exactly one."""
        return self.outputs[0]


class Program:
    """A model in kb's global view. Use it as a context manager; the layers applied
    inside record their ops here. See the module docstring for the argument order."""

    def __init__(self, name="forward", world_size=None, sequence_parallel=False):
        self.name = check_name(name, "program name")
        # Megatron's sequence parallelism (kb.sequence_parallel): activations between
        # the TP layers split along the tokens; see docs/Pipeline.md.
        self.sequence_parallel = bool(sequence_parallel)
        self.world_size = world_size or parallel_state.get_tensor_model_parallel_world_size()
        self.inputs = []      # Tensors
        self.trailing_inputs = []  # Tensors declared with after_parameters=True
        self.parameters = []  # (Tensor, layer, attribute): the value is read when run
        self.ops = []         # (kind, [operand Tensors], result Tensor)
        self._attributes = {}  # result Tensor -> its op's attributes
        self.outputs = []
        self._layers = {}     # layer -> its parameter Tensors in this program
        self._names = set()
        self._token = None
        self.loc = caller_location()         # the function's
        self.output_loc = None               # its return's: the first `output` call

    def __enter__(self):
        self._token = _current.set(self)
        return self

    def __exit__(self, *exc):
        _current.reset(self._token)
        return False

    @property
    def arguments(self):
        """The function's arguments, in order: inputs, parameters, then the inputs
        declared with after_parameters=True."""
        return self.inputs + [t for t, _, _ in self.parameters] + self.trailing_inputs

    @property
    def declared_inputs(self):
        """Every input in declaration order (what `run` and `reference` take)."""
        return sorted(self.inputs + self.trailing_inputs, key=lambda t: t.order)

    # Building.
    def _fresh_name(self, base):
        name, i = base, 0
        while name in self._names:
            i += 1
            name = f"{base}_{i}"
        self._names.add(name)
        return name

    def input(self, name_or_shape, shape=None, dtype="f16", dp=None, name=None,
              after_parameters=False):
        """Declares an input: `p.input((M, H), dtype="f16")` (named x, x_1, ...) or
        `p.input("x", (M, H))`. `dp` is a DPPolicy for its encoding. With
        `after_parameters=True` the argument comes after the layers' parameters (a KV
        cache after the weights); `run` and `reference` still take inputs in
        declaration order."""
        if isinstance(name_or_shape, str):
            name, shape = name_or_shape, shape
        elif shape is None:
            shape = name_or_shape
        else:
            raise TypeError("program.input takes (shape) or (name, shape)")
        name = check_name("x" if name is None else name, "input name")
        dtype = check_input_dtype(dtype)
        shape = tuple(shape) if shape is not None else ()
        if not shape or any(isinstance(d, bool) or not isinstance(d, int) or d < 1
                            for d in shape):
            raise ValueError(f"input {name!r} needs a shape of positive integers, "
                             f"got {shape!r}")
        if dp is not None:
            dp.check(ir_shape(shape), f"input {name!r}")
        tensor = Tensor(self, self._fresh_name(name), shape, dtype, dp, caller_location())
        tensor.order = len(self.inputs) + len(self.trailing_inputs)
        (self.trailing_inputs if after_parameters else self.inputs).append(tensor)
        return tensor

    def layer_parameters(self, layer, base):
        """The weight and bias Tensors of `layer` (bias None without one), made the
        first time the layer is applied in this program."""
        if layer not in self._layers:
            names = getattr(layer, "parameter_names", None)
            if names is not None:
                weight_name, bias_name = names
            elif base is None:
                count = len(self._layers) + 1
                weight_name, bias_name = f"w{count}", f"b{count}"
            else:
                weight_name, bias_name = f"{base}_w", f"{base}_b"
            made = [self._parameter(weight_name, layer, "weight", layer.dp)]
            made.append(self._parameter(bias_name, layer, "bias")
                        if layer.bias is not None else None)
            self._layers[layer] = made
        return self._layers[layer]

    def _parameter(self, name, layer, attribute, dp=None):
        value = getattr(layer, attribute)
        # A parameter is located where its layer was built.
        tensor = Tensor(self, self._fresh_name(name), value.shape, layer.dtype, dp,
                        getattr(layer, "loc", None))
        self.parameters.append((tensor, layer, attribute))
        return tensor

    def emit(self, kind, operands, shape, dtype, policy=None, **attrs):
        """Appends an op; its result is named by its position, as kb-opt prints it.
        `policy` is the result's encoding (elementwise ops keep their operand's type);
        `attrs` are the op's attributes (kb.scale's factor). The op is located at the
        user's line that called into kb."""
        for o in operands:
            if not isinstance(o, Tensor) or o.program is not self:
                raise ValueError(f"{o!r} is not a value of program {self.name!r}")
        result = Tensor(self, str(len(self.ops)), shape, dtype, policy, caller_location())
        self.ops.append((kind, list(operands), result))
        if attrs:
            self._attributes[result] = attrs
        return result

    def attributes(self, result):
        """The attributes of the op that made `result` (empty for most ops)."""
        return self._attributes.get(result, {})

    def output(self, *tensors):
        """Makes `tensors` results of the function, in order (call it once or more)."""
        for t in tensors:
            if not isinstance(t, Tensor) or t.program is not self:
                raise ValueError(f"{t!r} is not a value of program {self.name!r}")
        if self.output_loc is None:
            self.output_loc = caller_location()
        self.outputs.extend(tensors)

    # kb IR.
    def to_mlir(self, debug_info=False):
        """The global-view kb IR of the program, as text. With debug_info=True every
        op, argument, return and the function carry the user's line as an MLIR
        location (as mlir-opt's --mlir-print-debuginfo shows them); the tools are
        always given that form."""
        return emit_module(self, debug_info=debug_info)

    def __str__(self):
        return self.to_mlir()

    # Values.
    def argument_values(self, inputs):
        """Every argument's value in order: the inputs (a dict by name, a sequence in
        declaration order, or one array), then the layers' parameters; each checked
        against its shape and rounded to its dtype."""
        given = _named_inputs(self.declared_inputs, inputs)
        values = []
        for tensor in self.inputs:
            values.append(_checked(tensor, given[tensor.name]))
        for tensor, layer, attribute in self.parameters:
            values.append(_checked(tensor, getattr(layer, attribute)))
        for tensor in self.trailing_inputs:
            values.append(_checked(tensor, given[tensor.name]))
        return [v.reshape(t.ir_shape) for v, t in zip(values, self.arguments)]

    # Tools.
    def compile(self, lower_to_device=True, device=None):
        """The program after `kb-opt --kb-pipeline`, as text: the device (gemm_tile)
        program, or with lower_to_device=False the per-rank local view. `device` is a
        dict of device-description fields (docs/Device.md; `{"preset": "small"}` names
        a built-in one), else kb's default device."""
        with tempfile.TemporaryDirectory(prefix="kb-") as tmp:
            source = self._write(tmp)
            option = "" if lower_to_device else "=lower-to-device=false"
            args = [f"--kb-pipeline{option}", source]
            if device:
                device_path = os.path.join(tmp, "device.json")
                with open(device_path, "w") as f:
                    json.dump(device, f)
                args.insert(0, f"--kb-device={device_path}")
            return run_tool("kb-opt", args).stdout

    def run(self, inputs=None, check=True, trace=None, device=None, lower_to_device=True):
        """Runs the program on the simulated AHBM system with kb-run (which compiles the
        global view in-process). Returns a RunResult. With check=True kb-run also runs
        the unsharded program and fails (kb.ToolError, with `.report`) on a mismatch.
        `device` is a dict of device-description fields (docs/Device.md).

        With lower_to_device=False the program runs at the local view: `kb-opt
        --kb-tp-partition` makes each rank's program, and kb-run runs its W ranks
        (the all-reduces between them) against the unsharded program, with no device
        program, so the report's device figures are zero: a check of the partition
        alone."""
        values = self.argument_values(inputs)
        with tempfile.TemporaryDirectory(prefix="kb-") as tmp:
            report_path = os.path.join(tmp, "report.json")
            source = self._write(tmp)
            if lower_to_device:
                args = [source]
            else:
                local = os.path.join(tmp, f"{self.name}.local.mlir")
                run_tool("kb-opt", ["--kb-tp-partition", source, "-o", local])
                args = [local, "--reference", source]
            args += ["--output-dir", tmp, "--report", report_path]
            for i, value in enumerate(values):
                path = os.path.join(tmp, f"arg{i}.npy")
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
            try:
                done = run_tool("kb-run", args)
            except ToolError as error:
                error.report = _load_json(report_path)  # a failed --check still reports
                raise
            outputs = [np.load(os.path.join(tmp, f"result{i}.npy")).reshape(t.shape)
                       for i, t in enumerate(self.outputs)]
            report = _load_json(report_path)
        return RunResult(outputs, report, done.stdout)

    def reference(self, inputs=None):
        """The unsharded model in numpy (kb.reference): one array per output."""
        from .reference import run
        return [value.reshape(t.shape) for value, t in zip(run(self, inputs), self.outputs)]

    def _write(self, directory):
        path = os.path.join(directory, f"{self.name}.mlir")
        with open(path, "w") as f:
            f.write(self.to_mlir(debug_info=True))
        return path


def ir_shape(shape):
    """`shape` as the IR holds it: leading dimensions of a tensor of more than two
    flattened into one, so [s, b, h] becomes [s * b, h]."""
    shape = tuple(shape)
    if len(shape) <= 2:
        return shape
    rows = 1
    for d in shape[:-1]:
        rows *= d
    return (rows, shape[-1])


def _named_inputs(declared, inputs):
    names = [t.name for t in declared]
    if inputs is None:
        inputs = {}
    elif isinstance(inputs, np.ndarray):
        inputs = [inputs]
    if not isinstance(inputs, dict):
        inputs = list(inputs)
        if len(inputs) != len(names):
            raise ValueError(f"the program takes {len(names)} input(s) "
                             f"({', '.join(names)}), got {len(inputs)}")
        inputs = dict(zip(names, inputs))
    unknown = sorted(set(inputs) - set(names))
    if unknown:
        raise ValueError(f"unknown inputs: {', '.join(map(str, unknown))} "
                         f"(the program takes {', '.join(names) or 'none'})")
    missing = [n for n in names if n not in inputs]
    if missing:
        raise ValueError(f"missing input {missing[0]!r}")
    return inputs


def _checked(tensor, value):
    value = np.asarray(value)
    if value.shape != tensor.shape:
        raise ValueError(f"{tensor.name!r} has shape {value.shape}, the program "
                         f"expects {tensor.shape}")
    if not np.issubdtype(value.dtype, np.number) or np.iscomplexobj(value):
        raise ValueError(f"{tensor.name!r} must hold real numbers, got {value.dtype}")
    if tensor.dtype in ID_DTYPES and not np.issubdtype(value.dtype, np.integer):
        raise ValueError(f"{tensor.name!r} holds token ids ({tensor.dtype}), which must "
                         f"be integers, got {value.dtype}")
    if tensor.dtype == "i32" and value.size and (value.min() < -2**31 or
                                                 value.max() >= 2**31):
        raise ValueError(f"{tensor.name!r} holds ids beyond int32")
    return round_to(value, tensor.dtype)


def _load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None
