"""kernbench's `ctx` (and its `torch` facade), with tl kernels compiled by kb.

A benchmark's `run(ctx)` creates device tensors (`ctx.zeros`, `ctx.empty`, each laid
out by its DPPolicy), launches kernels on them (`ctx.launch(name, kernel, *args)`) and
all-reduces across SIPs (`ctx.distributed.all_reduce`); `ctx.ahbm.set_device(rank)`
selects the SIP (= TP rank) the following calls run on.

Each launch runs the kernel on every PE that holds a shard of what it writes ("owner
computes"): the kernel is traced once on the first PE to find its `out_ptr`s, then on
each PE of their placement, with, for every tensor argument, the shard that PE sees (its
own; for a tensor placed on fewer cubes or PEs, the shard of the same index modulo its
counts). The traces (kernbench.tl) become one lowered gemm_tile program per SIP
(docs/design/0003's interface: one memref per cube piece of each tensor), which
`kb-opt --gemm-tile-check-yield-safety` checks and kb-run runs. `DeviceProgram.run`
also computes every written tensor in numpy from the same launches, for `check`.

TP code is SPMD: every rank must make the same calls (checked); rank 0's kernels are
traced, and each rank runs the program on its own tensors.
"""
import inspect
import json
import os
import tempfile

import numpy as np

import kb
from kb.dtypes import check_dtype, numpy_dtype, round_to
from kb.location import caller_location
from kb.reference import gelu_tanh, silu
from kb.tools import ToolError, run_tool

from kb import device
from .placement import Placement
from .recorder import DeviceTensor
from .tl import YIELD_CONTRACT, Buffer, Names, Pointer, TileLanguage
from .tp import parallel_state

FILLS = ("zeros", "random")
# kb-run --check's tolerances, relative to the reference's largest magnitude.
TOLERANCE = {"f32": 1e-4, "f16": 1e-2, "bf16": 3e-2}


class _Ahbm:
    """`ctx.ahbm`: the SIP (= TP rank) the following calls run on."""

    def __init__(self, ctx):
        self._ctx = ctx

    def set_device(self, rank):
        parallel_state.set_tensor_model_parallel_rank(rank)
        self._ctx._rank = rank
        self._ctx.set_device_called = True

    def current_device(self):
        return self._ctx._rank

    def device_count(self):
        return self._ctx.world_size


class _Distributed:
    """`ctx.distributed`: collectives across the SIPs."""

    def __init__(self, ctx):
        self._ctx = ctx

    def all_reduce(self, tensor, op="sum"):
        self._ctx._all_reduce(tensor, op)

    def get_world_size(self):
        return self._ctx.world_size

    def get_rank(self):
        return self._ctx._rank


class LaunchHandle:
    """What ctx.launch returns."""

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"<launch {self.name!r}>"


class Launch:
    """One traced launch (rank 0's): its PEs' traces and what each PE computed."""

    def __init__(self, name, loc, traces):
        self.name, self.loc, self.traces = name, loc, traces


class Context:
    """The `ctx` / `torch` a benchmark's run() is given. `device` is a dict of device
    fields (docs/Device.md) for kb-run, "preset" naming the built-in one they change
    (`{"preset": "small"}`); it also says what None (= all) counts."""

    # torch-style dtype names, for `torch.zeros(..., dtype=torch.float16)`.
    float16 = half = "f16"
    bfloat16 = "bf16"
    float32 = float = "f32"

    def __init__(self, world_size=None, device_fields=None):
        if world_size is not None:
            parallel_state.set_tensor_model_parallel_world_size(world_size)
        self.world_size = parallel_state.get_tensor_model_parallel_world_size()
        self.device_fields = device_fields
        self.cubes, self.pes_per_cube = device.counts(device_fields)
        self.ahbm, self.distributed = _Ahbm(self), _Distributed(self)
        self.set_device_called = False
        self._rank = 0
        parallel_state.set_tensor_model_parallel_rank(0)
        self._tensors = {r: [] for r in range(self.world_size)}
        self._events = {r: [] for r in range(self.world_size)}
        self._placements = []  # rank 0's tensors' placements, by index
        self._names = Names()
        self._body = []        # rank 0's events, traced: Launch or ("all_reduce", index)

    # Tensors.
    def zeros(self, shape, dtype="f16", dp=None, name=None):
        return self._create(shape, dtype, dp, name, "zeros")

    def empty(self, shape, dtype="f16", dp=None, name=None):
        return self._create(shape, dtype, dp, name, "empty")

    def _create(self, shape, dtype, dp, name, initial):
        shape = tuple(shape) if isinstance(shape, (tuple, list)) else (shape,)
        if not shape or any(isinstance(d, bool) or not isinstance(d, (int, np.integer))
                            or d < 1 for d in shape):
            raise ValueError(f"{initial}() needs a shape of positive integers, got {shape!r}")
        shape = tuple(int(d) for d in shape)
        if dp is not None and not isinstance(dp, kb.DPPolicy):
            raise TypeError(f"dp must be a DPPolicy (kernbench.policy.placement.dp or kb's), "
                            f"got {type(dp).__name__}")
        tensors = self._tensors[self._rank]
        name = name if name is not None else f"t{len(tensors)}"
        tensor = DeviceTensor(self._rank, len(tensors), shape, check_dtype(dtype), dp,
                              str(name), initial, caller_location())
        placement = Placement(tensor, self.cubes, self.pes_per_cube)
        if self._rank == 0:
            self._placements.append(placement)
        tensors.append(tensor)
        return tensor

    def _own(self, tensor, what):
        if not isinstance(tensor, DeviceTensor) or tensor not in self._tensors[tensor.rank]:
            raise TypeError(f"{what} must be a tensor of this ctx, got {tensor!r}")
        if tensor.rank != self._rank:
            raise ValueError(f"{what}: tensor {tensor.name!r} belongs to rank {tensor.rank}, "
                             f"the code runs on rank {self._rank} (ctx.ahbm.set_device)")

    # Work.
    def launch(self, name, kernel, *args):
        """Runs `kernel(*args, tl)` on every PE holding a shard of what it writes.
        Returns a handle for `ctx.wait`; the launch has completed when the next call
        runs (its kernels' waits end it), so waiting on it is free."""
        if not callable(kernel):
            raise TypeError(f"launch {name!r}: the kernel must be a function, got {kernel!r}")
        signature = []
        for i, arg in enumerate(args):
            if isinstance(arg, DeviceTensor):
                self._own(arg, f"launch {name!r} argument {i}")
                signature.append(("tensor", arg.index))
            else:
                signature.append(("scalar", repr(arg)))
        loc = caller_location()
        self._events[self._rank].append(("launch", str(name), kernel, tuple(signature)))
        if self._rank == 0:
            self._body.append(self._trace(str(name), kernel, args, loc))
        return LaunchHandle(str(name))

    def wait(self, *handles):
        """kernbench's `ctx.wait(handle)`: a launch is complete once issued (see
        launch), so this only checks that it is given launches."""
        for handle in handles:
            if not isinstance(handle, LaunchHandle):
                raise TypeError(f"ctx.wait takes what ctx.launch returned, got {handle!r}")

    def _all_reduce(self, tensor, op):
        self._own(tensor, "all_reduce")
        if op != "sum":
            raise NotImplementedError(f"all_reduce(op={op!r}): kb's ring reduces with a "
                                      f"sum only here")
        self._events[self._rank].append(("all_reduce", tensor.index))
        if self._rank == 0:
            self._body.append(("all_reduce", tensor.index, caller_location()))

    def _pointer(self, tensor, cube, pe):
        placement = self._placements[tensor.index]
        c, p = cube % placement.cubes, pe % placement.pes
        piece = Buffer(_piece_name(tensor, c), placement.piece_shape, tensor.dtype, c)
        within = placement.shard_offsets(p)
        region = [a + b for a, b in zip(placement.piece_offsets(c), within)]
        return Pointer(tensor, piece, within, placement.shard_shape, region)

    def _run_kernel(self, name, kernel, args, cube, pe, names, share=(0, 1)):
        tl = TileLanguage(name, cube, pe, names, share)
        kernel(*[self._pointer(a, cube, pe) if isinstance(a, DeviceTensor) else a
                 for a in args], tl, **_dtype_keyword(kernel, args))
        tl.finish()
        return tl

    def _trace(self, name, kernel, args, loc):
        probe = self._run_kernel(name, kernel, args, 0, 0, Names())
        written = {p.tensor.index: p.tensor for p in probe.outputs}
        if not written:
            raise ValueError(f"launch {name!r}: the kernel writes nothing (no "
                             f"tl.composite with an out_ptr), so no PE runs it")
        pes = sorted({(c, p) for i in written
                      for c in range(self._placements[i].cubes)
                      for p in range(self._placements[i].pes)})
        # PEs that hold the same shards of the outputs (a PE-replicated output lies once
        # in its cube's memory) share the work: each takes its part of the tiles.
        groups = {}
        for c, p in pes:
            key = tuple((i, self._pointer(t, c, p).buffer.cube, self._pointer(t, c, p).region)
                        for i, t in sorted(written.items()))
            groups.setdefault(key, []).append((c, p))
        share = {pe: (r, len(members)) for members in groups.values()
                 for r, pe in enumerate(members)}
        traces = [self._run_kernel(name, kernel, args, c, p, self._names, share[(c, p)])
                  for c, p in pes]
        for tl in traces:
            if tl.waits == 0:
                raise ValueError(f"launch {name!r} on cube {tl.cube} PE {tl.pe}: the kernel "
                                 f"has a path with no tl.wait; {YIELD_CONTRACT}")
        return Launch(name, loc, traces)

    # The program.
    def program(self, name="bench"):
        """The DeviceProgram of everything launched so far (all ranks must agree)."""
        _check_ranks_agree(self)
        if not any(isinstance(e, Launch) for e in self._body):
            raise ValueError("the benchmark launched no kernel")
        return DeviceProgram(self, name)


def _dtype_keyword(kernel, args):
    """{"DTYPE": the tensors' dtype} for a kernel with a DTYPE parameter (kernbench's
    kernels default it to "f16") whose tensor arguments share one dtype, so the same
    kernel reads f32 or bf16 tensors as their own type; {} otherwise."""
    try:
        parameters = inspect.signature(kernel).parameters
    except (TypeError, ValueError):
        return {}
    dtypes = {a.dtype for a in args if isinstance(a, DeviceTensor)}
    if "DTYPE" in parameters and len(dtypes) == 1:
        return {"DTYPE": dtypes.pop()}
    return {}


def _piece_name(tensor, cube):
    return f"%t{tensor.index}_c{cube}"


def _check_ranks_agree(ctx):
    def tensors(rank):
        return [(t.shape, t.dtype, t.dp, t.initial) for t in ctx._tensors[rank]]

    for rank in range(1, ctx.world_size):
        for what, mine, ref in (("tensor", tensors(rank), tensors(0)),
                                ("call", ctx._events[rank], ctx._events[0])):
            if not ctx._events[rank] and ctx._events[0]:
                raise ValueError(f"rank {rank} of {ctx.world_size} ran nothing: run the "
                                 f"per-rank code once for each rank, after "
                                 f"ctx.ahbm.set_device(rank)")
            for i, (m, r) in enumerate(zip(mine, ref)):
                if m != r:
                    raise ValueError(f"rank {rank} differs from rank 0 at {what} {i}: {m} "
                                     f"against {r}; TP ranks run the same program")
            if len(mine) != len(ref):
                raise ValueError(f"rank {rank} made {len(mine)} {what}s, rank 0 made "
                                 f"{len(ref)}; TP ranks run the same program")


class DeviceProgram:
    """The lowered gemm_tile program of a benchmark: `text` (the module), `tensors`
    (rank 0's, all arguments in order), `results` (the indices of the written tensors,
    which the program returns)."""

    def __init__(self, ctx, name):
        self.name, self.world_size = name, ctx.world_size
        self.device_fields = ctx.device_fields
        self.tensors = ctx._tensors[0]
        self._all_tensors = ctx._tensors
        self._placements, self._body = ctx._placements, ctx._body
        self._names = ctx._names
        written = []
        for event in self._body:
            indices = ([event[1]] if isinstance(event, tuple)
                       else [p.tensor.index for tl in event.traces for p in tl.outputs])
            for i in indices:
                if i not in written:
                    written.append(i)
        self.results = written
        self.text = self._module()

    def describe(self):
        """One line per launch and all_reduce: where it ran."""
        lines = []
        for event in self._body:
            if isinstance(event, tuple):
                t = self.tensors[event[1]]
                lines.append(f"all_reduce {t.name!r} {t.shape} over {self.world_size} SIPs")
                continue
            cubes = sorted({tl.cube for tl in event.traces})
            ops = sum(1 for tl in event.traces for seg in tl.segments for l in seg.lines
                      if " = gemm_tile.matmul " in l or " = gemm_tile.map " in l
                      or " = gemm_tile.zip " in l)
            lines.append(f"launch {event.name!r}: {len(event.traces)} PE(s) in "
                         f"{len(cubes)} cube(s), {ops} tile operation(s) per SIP")
        return lines

    def _tensor_type(self, tensor):
        return f"tensor<{'x'.join(map(str, tensor.shape))}x{tensor.dtype}>"

    def _module(self):
        args, results = [], []
        for t in self.tensors:
            p = self._placements[t.index]
            for c in range(p.cubes):
                buffer = Buffer(_piece_name(t, c), p.piece_shape, t.dtype, c)
                args.append(f"{buffer.name}: {buffer.type} {{gemm_tile.piece = "
                            f"#gemm_tile.piece<tensor = {t.index}, offsets = "
                            f"[{', '.join(map(str, p.piece_offsets(c)))}]>}}")
        returned = []
        for r, i in enumerate(self.results):
            t, p = self.tensors[i], self._placements[i]
            for c in p.distinct_cubes():
                buffer = Buffer(_piece_name(t, c), p.piece_shape, t.dtype, c)
                results.append(f"{buffer.type} {{gemm_tile.piece = #gemm_tile.piece<tensor "
                               f"= {r}, offsets = [{', '.join(map(str, p.piece_offsets(c)))}"
                               f"]>}}")
                returned.append(buffer)
        local_type = (f"({', '.join(self._tensor_type(t) for t in self.tensors)}) -> "
                      f"({', '.join(self._tensor_type(self.tensors[i]) for i in self.results)})")
        body = []
        for event in self._body:
            body += (self._ring(event[1], event[2]) if isinstance(event, tuple)
                     else self._launch(event))
        body.append(f"return {', '.join(b.name for b in returned)} : "
                    f"{', '.join(b.type for b in returned)}")
        splits = ", ".join(["0"] * len(self.tensors))
        result_splits = ", ".join(["0"] * len(self.results))
        device_attr = ""
        if self.device_fields:
            given = self.device_fields
            if "preset" in given:  # the named description, every field spelled out
                given = device.fields(given)
            fields = ", ".join(f"{k} = {int(v)}" for k, v in given.items())
            device_attr = f", gemm_tile.device = #gemm_tile.device<{fields}>"
        return (f"module attributes {{kb.spmd, kb.world_size = {self.world_size} : i64"
                f"{device_attr}}} {{\n"
                f"  func.func @{self.name}({', '.join(args)}) -> ({', '.join(results)}) "
                f"attributes {{kb.local_function_type = {local_type}, kb.arg_split_dims = "
                f"array<i64: {splits}>, kb.result_split_dims = array<i64: {result_splits}>}}"
                f" {{\n" + "".join(f"    {line}\n" for line in body) + "  }\n}\n")

    def _launch(self, launch):
        """The PEs' traces interleaved: every PE's segment i, then one wait for all."""
        lines = [f"// launch {launch.name!r} ({launch.loc}) on {len(launch.traces)} PE(s)"]
        for i in range(max(len(tl.segments) for tl in launch.traces)):
            tokens = []
            for tl in launch.traces:
                if i < len(tl.segments):
                    segment = tl.segments[i]
                    lines += [l for l in segment.lines if not l.startswith("gemm_tile.wait")]
                    tokens += segment.wait
            if tokens:
                lines.append(f"gemm_tile.wait {', '.join(tokens)}")
        return lines

    def _ring(self, index, loc):
        """all_reduce(sum) across the SIPs: a ring reduce-scatter then all-gather on each
        distinct piece, then the other replicas copied from cube 0's."""
        t, p = self.tensors[index], self._placements[index]
        w = self.world_size
        lines = [f"// all_reduce of {t.name!r} ({loc})"]
        at = loc.to_mlir()
        if w == 1:
            return lines
        for c in p.distinct_cubes():
            buffer = Buffer(_piece_name(t, c), p.piece_shape, t.dtype, c)
            for s in range(w - 1):
                lines.append(f"gemm_tile.reduce_scatter_step <sum> {buffer.name} step {s} of "
                             f"{w} : {buffer.type} {at}")
            for s in range(w - 1):
                lines.append(f"gemm_tile.all_gather_step {buffer.name} step {s} of {w} : "
                             f"{buffer.type} {at}")
        if p.cube_dim is None and p.cubes > 1:
            source = Buffer(_piece_name(t, 0), p.piece_shape, t.dtype, 0)
            tokens = []
            for c in range(1, p.cubes):
                target = Buffer(_piece_name(t, c), p.piece_shape, t.dtype, c)
                token = self._names.fresh("replica")
                zeros = ", ".join("0" for _ in p.piece_shape)
                lines.append(f"{token} = gemm_tile.dma {source.name} [{zeros}] to "
                             f"{target.name} [{zeros}] sizes "
                             f"[{', '.join(map(str, p.piece_shape))}] : {source.type}, "
                             f"{target.type} {at}")
                tokens.append(token)
            lines.append(f"gemm_tile.wait {', '.join(tokens)}")
        return lines

    # Running.
    def values(self, fill="zeros", seed=0):
        """Every tensor's initial value on every rank: {rank: [array, ...]}. "random"
        gives seeded uniform values in [-1, 1) (scaled down by the row length, so
        products stay within f16), "zeros" kernbench's zeros (empty tensors too)."""
        if fill not in FILLS:
            raise ValueError(f"fill must be one of {', '.join(FILLS)}, got {fill!r}")
        values = {}
        for rank in range(self.world_size):
            values[rank] = []
            for t in self.tensors:
                if fill == "zeros":
                    value = np.zeros(t.shape, np.float32)
                else:
                    rng = np.random.default_rng([seed, rank, t.index])
                    value = rng.uniform(-1, 1, size=t.shape) / np.sqrt(t.shape[-1])
                values[rank].append(round_to(value, t.dtype))
        return values

    def verify(self):
        """kb-opt's gemm_tile verifiers and yield-safety check on the program."""
        with tempfile.TemporaryDirectory(prefix="kb-kernbench-") as tmp:
            path = os.path.join(tmp, f"{self.name}.mlir")
            with open(path, "w") as f:
                f.write(self.text)
            try:
                run_tool("kb-opt", [path, "--gemm-tile-check-yield-safety"])
            except ToolError as error:
                if "with no gemm_tile.wait" in error.stderr:
                    raise ValueError(f"the launched kernels leave a path with no wait: "
                                     f"{YIELD_CONTRACT}\n{error}") from error
                raise

    def run(self, fill="zeros", seed=0, check=False, report=None, trace=None):
        """Verifies the program, runs it with kb-run and returns a RunOutcome; with
        `check`, compares every written tensor with numpy (CheckError on a mismatch)."""
        self.verify()
        values = self.values(fill, seed)
        with tempfile.TemporaryDirectory(prefix="kb-kernbench-") as tmp:
            path = os.path.join(tmp, f"{self.name}.mlir")
            with open(path, "w") as f:
                f.write(self.text)
            report_path = report or os.path.join(tmp, "report.json")
            args = [path, "--output-dir", tmp, "--report", report_path]
            for t in self.tensors:
                stacked = np.concatenate([values[r][t.index] for r in range(self.world_size)])
                arg_path = os.path.join(tmp, f"input{t.index}.npy")
                np.save(arg_path, stacked.astype(numpy_dtype(t.dtype)))
                args += ["--input", arg_path]
            if trace:
                args += ["--trace", os.fspath(trace)]
            if self.device_fields:
                device_path = os.path.join(tmp, "device.json")
                with open(device_path, "w") as f:
                    json.dump(self.device_fields, f)
                args += ["--device", device_path]
            done = run_tool("kb-run", args)
            outputs = [np.load(os.path.join(tmp, f"result{r}.npy"))
                       for r in range(len(self.results))]
            with open(report_path) as f:
                report_json = json.load(f)
        outcome = RunOutcome(outputs, report_json, done.stdout)
        if check:
            outcome.check = self.check(outputs, self.reference(values))
        return outcome

    def reference(self, values):
        """The written tensors computed in numpy from the launches' effects, rank by
        rank: {tensor index: [array per rank]}."""
        state = {r: [v.astype(np.float32) for v in values[r]] for r in values}
        for event in self._body:
            if isinstance(event, tuple):
                index = event[1]
                total = sum(state[r][index] for r in state)
                for r in state:
                    state[r][index] = round_to(total, self.tensors[index].dtype)
                continue
            for tl in event.traces:
                for op, sources, (out, offsets, shape) in tl.effects:
                    for r in state:
                        operands = [_box(state[r][i], o, s) for i, o, s in sources]
                        if op == "gemm":
                            value = operands[0] @ operands[1]
                        elif op == "gelu":
                            value = gelu_tanh(operands[0])
                        elif op == "silu":
                            value = silu(operands[0])
                        elif op == "mul":
                            value = operands[0] * operands[1]
                        else:
                            value = operands[0] + operands[1]
                        box = tuple(slice(o, o + s) for o, s in zip(offsets, shape))
                        state[r][out][box] = round_to(value, self.tensors[out].dtype)
        return {i: [state[r][i] for r in range(self.world_size)] for i in self.results}

    def check(self, outputs, expected):
        """Compares kb-run's outputs with numpy's; raises CheckError at the first
        element off by more than the dtype's tolerance (relative to the reference's
        largest magnitude), or not finite. Returns the worst relative error."""
        worst = 0.0
        for r, index in enumerate(self.results):
            t = self.tensors[index]
            want = np.concatenate(expected[index]).astype(np.float64)
            got = np.asarray(outputs[r], np.float64).reshape(want.shape)
            scale = max(float(np.max(np.abs(want))) if want.size else 0.0, 1e-30)
            error = np.abs(got - want) / scale
            bad = ~np.isfinite(got) | ~np.isfinite(want) | (error > TOLERANCE[t.dtype])
            if bad.any():
                where = tuple(int(i) for i in np.argwhere(bad)[0])
                rows = t.shape[0]
                local = (where[0] // rows, (where[0] % rows,) + where[1:])
                raise CheckError(
                    f"tensor {t.name!r} {t.shape} {t.dtype} differs from numpy at rank "
                    f"{local[0]} index {local[1]}: kb {got[where]!r}, numpy {want[where]!r} "
                    f"(tolerance {TOLERANCE[t.dtype]} of the largest magnitude {scale:.4g})")
            worst = max(worst, float(error.max()) if error.size else 0.0)
        return worst


def _box(array, offsets, shape):
    return array[tuple(slice(o, o + s) for o, s in zip(offsets, shape))]


class CheckError(AssertionError):
    """kb's result differs from numpy's."""


class RunOutcome:
    """A run: `outputs` (per written tensor, the ranks' values stacked on dimension 0),
    `report` (kb-run's JSON report), `summary` (kb-run's text report), `check` (the
    worst relative error when checked, else None)."""

    def __init__(self, outputs, report, summary):
        self.outputs, self.report, self.summary = outputs, report, summary
        self.check = None

    @property
    def device_time_s(self):
        return self.report["device_time_s"]
