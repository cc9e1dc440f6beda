"""A torch-like recorder: kernbench-style per-rank code, traced into kb's global view.

kernbench code is written in the local view: after `torch.ahbm.set_device(rank)` each
rank creates its own slices (`torch.zeros`), launches kernels on them (`torch.launch`)
and sums partial results (`torch.distributed.all_reduce`). kb compiles the global view:
logical tensors and layers that know their TP split. The recorder records every rank's
calls, checks that the ranks ran the same program (TP is SPMD), and infers the global
view from the data flow:

- a tensor read before any kernel wrote it is a source: the `b` operand of a gemm is a
  weight (a parameter), any other source is an input, whole on every rank;
- a gemm whose input is whole on every rank is column-parallel: each rank holds a slice
  of the weight's columns (dimension 1) and the result is split the same way;
- a gemm whose input is split is row-parallel: each rank holds a slice of the weight's
  rows (dimension 0) and the result is a partial sum, which an all_reduce(sum) must
  complete; together they are kb's row_parallel_linear;
- gelu and add keep their operand's split (kernbench.registry names the kernels).

The global view becomes a kb.Program built with kb's own layers, so kb-opt compiles it
and kb-run runs it with `--check` against the unsharded program. Each op is located at
the line of the per-rank code that launched it, so the tools' errors name that line.

    torch = Recorder()                   # the TP world size from parallel_state
    for rank in range(torch.world_size):
        torch.ahbm.set_device(rank)
        ... the per-rank code, unchanged ...
    trace = torch.trace("block", fill="random", seed=0)
    trace.run(placement="kb")            # kb-place chooses every placement
    trace.run(placement="given")         # the code's own DPPolicy where kb can express it
"""
import numpy as np

import kb
from kb.dtypes import check_dtype, round_to
from kb.ir import check_name
from kb.location import at, caller_location
from kb.program import current_program

from . import registry
from .policy.placement.dp import DPPolicy
from .tp import parallel_state

FILLS = ("random", "zeros")
PLACEMENTS = ("kb", "given")


class DeviceTensor:
    """A tensor of one rank, as `zeros` / `empty` return it. It holds no data: values
    are made when the trace is built (see Recorder.trace)."""

    def __init__(self, rank, index, shape, dtype, dp, name, initial, loc):
        self.rank, self.index = rank, index
        self.shape, self.dtype, self.dp, self.name = shape, dtype, dp, name
        self.initial, self.loc = initial, loc

    def signature(self):
        return (self.shape, self.dtype, self.dp, self.name, self.initial)

    def __repr__(self):
        return (f"DeviceTensor({self.name!r}, {self.shape}, {self.dtype}, rank {self.rank}, "
                f"{self.dp!r})")


class _Ahbm:
    """`torch.ahbm`: the SIP (= TP rank) the following calls run on."""

    def __init__(self, recorder):
        self._recorder = recorder

    def set_device(self, rank):
        parallel_state.set_tensor_model_parallel_rank(rank)
        self._recorder._rank = rank

    def current_device(self):
        return self._recorder._rank


class _Distributed:
    """`torch.distributed`: the collectives across the TP ranks."""

    def __init__(self, recorder):
        self._recorder = recorder

    def all_reduce(self, tensor, op="sum"):
        """Records an in-place all_reduce of `tensor` over the TP ranks."""
        self._recorder._all_reduce(tensor, op)

    def get_world_size(self):
        return self._recorder.world_size

    def get_rank(self):
        return self._recorder._rank


class Recorder:
    """The `torch` the per-rank code is given: `zeros`, `empty`, `launch`,
    `distributed.all_reduce`, `ahbm.set_device`. See the module docstring."""

    def __init__(self, world_size=None):
        if world_size is not None:
            parallel_state.set_tensor_model_parallel_world_size(world_size)
        self.world_size = parallel_state.get_tensor_model_parallel_world_size()
        self.ahbm, self.distributed = _Ahbm(self), _Distributed(self)
        self._rank = 0
        parallel_state.set_tensor_model_parallel_rank(0)
        self._tensors = {r: [] for r in range(self.world_size)}
        self._events = {r: [] for r in range(self.world_size)}
        self._outputs = {r: [] for r in range(self.world_size)}

    # Tensors.
    def zeros(self, shape, dtype="f16", dp=None, name=None):
        return self._create(shape, dtype, dp, name, "zeros")

    def empty(self, shape, dtype="f16", dp=None, name=None):
        return self._create(shape, dtype, dp, name, "empty")

    def _create(self, shape, dtype, dp, name, initial):
        shape = tuple(shape)
        if not shape or any(isinstance(d, bool) or not isinstance(d, int) or d < 1
                            for d in shape):
            raise ValueError(f"{initial}() needs a shape of positive integers, got {shape!r}")
        if dp is not None and not isinstance(dp, DPPolicy):
            raise TypeError(f"dp must be a kernbench.policy.placement.dp.DPPolicy, "
                            f"got {type(dp).__name__}")
        tensors = self._tensors[self._rank]
        name = name if name is not None else f"t{len(tensors)}"
        tensor = DeviceTensor(self._rank, len(tensors), shape, check_dtype(dtype), dp, name,
                              initial, caller_location())
        tensors.append(tensor)
        return tensor

    # Work.
    def launch(self, name, kernel, *args):
        """Records `kernel(*args)` on this rank; the kernel is looked up in
        kernbench.registry (an unknown one is a NotImplementedError naming it)."""
        op = registry.op_of(kernel, name)
        reads, write, scalar_names = registry.OPS[op]
        count = max(reads + (write,)) + 1
        if len(args) != count + len(scalar_names):
            raise TypeError(f"launch {name!r}: a {op} kernel takes {count} tensors and "
                            f"{', '.join(scalar_names)}; got {len(args)} arguments")
        tensors, scalars = args[:count], args[count:]
        for i, t in enumerate(tensors):
            self._own(t, f"launch {name!r} argument {i}")
        for s_name, s in zip(scalar_names, scalars):
            if isinstance(s, bool) or not isinstance(s, (int, np.integer)):
                raise TypeError(f"launch {name!r}: {s_name} must be an integer, got {s!r}")
        _check_shapes(name, op, tensors, dict(zip(scalar_names, map(int, scalars))))
        self._events[self._rank].append(
            ("launch", name, op, tuple(t.index for t in tensors), caller_location()))

    def _all_reduce(self, tensor, op):
        self._own(tensor, "all_reduce")
        if op != "sum":
            raise NotImplementedError(f"all_reduce(op={op!r}): kb's parallel layers "
                                      f"reduce with a sum only")
        self._events[self._rank].append(("all_reduce", "all_reduce", op, (tensor.index,),
                                         caller_location()))

    def _own(self, tensor, what):
        if not isinstance(tensor, DeviceTensor):
            raise TypeError(f"{what} must be a tensor of this recorder, got "
                            f"{type(tensor).__name__}")
        if tensor.rank != self._rank:
            raise ValueError(f"{what}: tensor {tensor.name!r} belongs to rank {tensor.rank}, "
                             f"the code runs on rank {self._rank} (torch.ahbm.set_device)")

    def mark_output(self, *tensors):
        """Makes `tensors` (of the current rank) the program's results, in order. By
        default the results are the tensors written last and never read after."""
        for t in tensors:
            self._own(t, "mark_output")
        self._outputs[self._rank].extend(t.index for t in tensors)

    # The global view.
    def trace(self, name="forward", fill="random", seed=0, device=None):
        """The global view of what every rank recorded (a Trace). `fill` makes the
        sources' values: "random" (seeded, so --check compares real numbers) or
        "zeros" (kernbench's zeros, literally). `device` is a dict of device fields
        (docs/Device.md) for kb-run, and tells what num_cubes/num_pes=None mean."""
        return Trace(self, name, fill, seed, device)


def _check_shapes(name, op, tensors, sizes):
    """The tensors' shapes against the launch's scalars, as the kernel reads them."""
    if op == "gemm":
        m, k, n = sizes["M"], sizes["K"], sizes["N"]
        wanted = [(m, k), (k, n), (m, n)]
    elif op == "gelu":
        wanted = [(sizes["M"], sizes["N"])] * 2
    else:
        m, n = sizes["M"], sizes["N"]
        wanted = [(m, n), (m, n) if tensors[1].shape != (n,) else (n,), (m, n)]
    for i, (t, shape) in enumerate(zip(tensors, wanted)):
        if t.shape != shape:
            raise ValueError(f"launch {name!r}: argument {i} ({t.name!r}) is {t.shape}, "
                             f"the {op} kernel reads {shape} from "
                             f"{', '.join(f'{k}={v}' for k, v in sizes.items())}")
    dtypes = {t.dtype for t in tensors}
    if len(dtypes) != 1:
        raise ValueError(f"launch {name!r}: the tensors mix dtypes {sorted(dtypes)}")


class Trace:
    """The global view of a recording: `program(placement)` builds it as a kb.Program,
    `inputs` holds the input values by name, `run` runs it with kb-run, and `layers`
    says what was inferred for each gemm (its kb layer, global weight shape and the
    weight dimension each rank holds a slice of)."""

    def __init__(self, recorder, name, fill, seed, device):
        if fill not in FILLS:
            raise ValueError(f"fill must be one of {', '.join(FILLS)}, got {fill!r}")
        self.name = check_name(name, "program name")
        self.fill, self.seed, self.device = fill, seed, device
        self.world_size = recorder.world_size
        self._tensors, self._events = recorder._tensors[0], recorder._events[0]
        _check_ranks_agree(recorder)
        self._marked = recorder._outputs[0]
        self._values = {}     # tensor index -> its global value
        self.program("kb")    # analyses the trace; errors surface here
        self.inputs = dict(self._inputs)

    # Building.
    def program(self, placement="kb"):
        """The kb.Program of the global view. placement="kb" leaves every placement to
        kb-place; "given" keeps the DPPolicy the code gave each tensor (weights, inputs,
        layer results), converted to kb's #kb.dp."""
        if placement not in PLACEMENTS:
            raise ValueError(f"placement must be one of {', '.join(PLACEMENTS)}, "
                             f"got {placement!r}")
        self._placement = placement
        self._inputs, self.layers = {}, []
        self._layers = {}  # weight index -> (kb layer, kind)
        state = {}         # tensor index -> (layout "R" | "S", kb.Tensor) or ("P", pending)
        reads_after = _reads_after_last_write(self._events)
        program = kb.Program(self.name, world_size=self.world_size)
        with program:
            for kind, name, op, args, loc in self._events:
                with at(loc):
                    if kind == "all_reduce":
                        self._all_reduce(state, args[0], loc)
                    elif op == "gemm":
                        self._gemm(state, name, args, loc)
                    else:
                        self._elementwise(state, name, op, args)
            outputs = self._marked or [i for i in _written_in_order(self._events)
                                       if not reads_after[i]]
            if not outputs:
                raise ValueError("the recorded code computes nothing: no kernel wrote a "
                                 "tensor")
            for i in outputs:
                layout, value = state.get(i, (None, None))
                if layout == "P":
                    raise ValueError(f"{self._describe(i)} is a partial sum that no "
                                     f"all_reduce completed")
                if value is None:
                    raise ValueError(f"{self._describe(i)} is an output but nothing wrote it")
                with at(self._tensors[i].loc):
                    program.output(value)
        return program

    def run(self, placement="kb", check=True, **kwargs):
        """Builds the program with `placement` and runs it with kb-run on `inputs`
        (Program.run's keywords: check, trace, device). Returns kb's RunResult."""
        kwargs.setdefault("device", self.device)
        return self.program(placement).run(self.inputs, check=check, **kwargs)

    def _describe(self, index):
        t = self._tensors[index]
        return f"tensor {t.name!r} {t.shape}"

    def _policy(self, index, local_shape):
        dp = self._tensors[index].dp
        if self._placement != "given" or dp is None:
            return None
        # A None count stays open in #kb.dp: kb-opt resolves it on the device.
        return dp.to_kb(local_shape)

    def _value(self, index, shape, fan_in=None):
        """The global value of source `index`, made once for all placements."""
        if index not in self._values:
            t = self._tensors[index]
            if self.fill == "zeros":
                value = np.zeros(shape, np.float32)
            else:
                rng = np.random.default_rng([self.seed, index])
                value = rng.uniform(-1, 1, size=shape) / np.sqrt(fan_in or 1)
            self._values[index] = round_to(value, t.dtype)
        return self._values[index]

    def _source(self, state, index, split):
        """Declares source `index` as an input: whole (R) or, when `split`, as the
        concatenation of the ranks' slices along its last dimension (S). A split input
        keeps no DPPolicy: the policy the code gave describes a rank's slice, and kb's
        inputs take the global shape's."""
        t = self._tensors[index]
        if t.initial == "empty":
            raise ValueError(f"{self._describe(index)} is read before any kernel wrote it "
                             f"(it was made with empty())")
        shape = t.shape[:-1] + (t.shape[-1] * self.world_size,) if split else t.shape
        program = current_program()
        with at(t.loc):
            value = program.input(check_name(t.name, "tensor name")
                                  if _is_identifier(t.name) else "x", shape, dtype=t.dtype,
                                  dp=None if split else self._policy(index, t.shape))
        self._inputs[value.name] = self._value(index, shape)
        state[index] = ("S" if split else "R", value)
        return state[index]

    def _read(self, state, index, launch):
        if index not in state:
            return self._source(state, index, split=False)
        if state[index][0] == "P":
            raise ValueError(f"launch {launch!r} reads {self._describe(index)}, a partial "
                             f"sum: all_reduce it first")
        return state[index]

    def _gemm(self, state, name, args, loc):
        a, b, c = args
        if b in state:
            raise NotImplementedError(
                f"launch {name!r}: its weight operand {self._describe(b)} is computed, not "
                f"a parameter; a product of two activations is not a parallel linear layer")
        layout, x = self._read(state, a, name)
        w = self._tensors[b]
        k, n = w.shape
        ws = self.world_size
        if layout == "R":   # column-parallel: the ranks hold column slices of W
            kind, global_shape, split_dim = "column", (k, n * ws), 1
        else:               # row-parallel: the ranks hold row slices of W
            kind, global_shape, split_dim = "row", (k * ws, n), 0
        layer = self._layer(b, name, kind, global_shape, split_dim)
        if kind == "column":
            y = layer(x)
            y.policy = self._policy(c, self._tensors[c].shape)
            state[c] = ("S", y)
        else:
            state[c] = ("P", (layer, x, loc))

    def _layer(self, weight, name, kind, global_shape, split_dim):
        if weight in self._layers:
            layer, used_as = self._layers[weight]
            if used_as != kind:
                raise NotImplementedError(f"weight {self._describe(weight)} is used both "
                                          f"column- and row-parallel")
            return layer
        w = self._tensors[weight]
        cls = kb.ColumnParallelLinear if kind == "column" else kb.RowParallelLinear
        with at(w.loc):  # the layer's parameters are located where the code made them
            layer = cls(*global_shape, dtype=w.dtype, dp=self._policy(weight, w.shape),
                        name=name if _is_identifier(name) else None)
        layer.weight = self._value(weight, global_shape, fan_in=global_shape[0])
        self._layers[weight] = (layer, kind)
        self.layers.append(dict(launch=name, layer=repr(layer), weight=w.name,
                                global_shape=global_shape, rank_shape=w.shape,
                                split_dim=split_dim))
        return layer

    def _all_reduce(self, state, index, loc):
        layout = state.get(index, ("R",))[0]
        if layout != "P":
            what = "split (each rank holds a different slice)" if layout == "S" else \
                "whole on every rank (the sum would be W times it)"
            raise NotImplementedError(f"all_reduce of {self._describe(index)}, which is "
                                      f"{what}: kb all-reduces the partial sums of a "
                                      f"row-parallel gemm only")
        layer, x, gemm_loc = state[index][1]
        with at(gemm_loc):  # the layer's op is where its gemm was launched
            y = layer(x)
        y.policy = self._policy(index, self._tensors[index].shape)
        state[index] = ("R", y)

    def _elementwise(self, state, name, op, args):
        layout, a = self._read(state, args[0], name)
        if op == "gelu":
            state[args[1]] = (layout, kb.gelu(a))
            return
        b_index = args[1]
        if b_index in state:
            b_layout, b = self._read(state, b_index, name)
            if b_layout != layout:
                raise NotImplementedError(f"launch {name!r} adds a split tensor to a whole "
                                          f"one; kb's add takes operands split alike")
        else:
            _, b = self._source(state, b_index, split=layout == "S")
        state[args[2]] = (layout, kb.add(a, b))


def _is_identifier(name):
    try:
        check_name(name, "name")
        return True
    except ValueError:
        return False


def _check_ranks_agree(recorder):
    """TP code is SPMD: every rank must have run the same calls on the same shapes."""
    reference_tensors = [t.signature() for t in recorder._tensors[0]]
    reference_events = [e[:4] for e in recorder._events[0]]
    for rank in range(recorder.world_size):
        if not recorder._events[rank]:
            raise ValueError(f"rank {rank} of {recorder.world_size} recorded nothing: run the "
                             f"per-rank code once for each rank, after "
                             f"torch.ahbm.set_device(rank)")
        tensors = [t.signature() for t in recorder._tensors[rank]]
        events = [e[:4] for e in recorder._events[rank]]
        for what, mine, ref in (("tensor", tensors, reference_tensors),
                                ("call", events, reference_events)):
            for i, (m, r) in enumerate(zip(mine, ref)):
                if m != r:
                    raise ValueError(f"rank {rank} differs from rank 0 at {what} {i}: "
                                     f"{m} against {r}; TP ranks run the same program")
            if len(mine) != len(ref):
                raise ValueError(f"rank {rank} made {len(mine)} {what}s, rank 0 made "
                                 f"{len(ref)}; TP ranks run the same program")
        if recorder._outputs[rank] != recorder._outputs[0]:
            raise ValueError(f"rank {rank} marked other outputs than rank 0")


def _written_in_order(events):
    """Tensors written by the events, ordered by their last write."""
    last = {}
    for n, (kind, _, op, args, _) in enumerate(events):
        written = args[0] if kind == "all_reduce" else args[registry.OPS[op][1]]
        last[written] = n
    return sorted(last, key=last.get)


def _reads_after_last_write(events):
    last_write, read_after = {}, {}
    for n, (kind, _, op, args, _) in enumerate(events):
        if kind == "all_reduce":
            reads, written = (), args[0]
        else:
            spec = registry.OPS[op]
            reads, written = tuple(args[i] for i in spec[0]), args[spec[1]]
        for r in reads:
            if r in last_write:
                read_after[r] = True
        last_write[written] = n
        read_after[written] = False
    return read_after
