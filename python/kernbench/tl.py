"""kernbench's kernel language `tl`, as a tracer that writes the per-PE gemm_tile program.

A kernbench kernel `def k(a_ptr, ..., M, K, N, tl, DTYPE="f16")` is plain Python that
calls `tl`. kb runs it once per PE of the launch with a `TileLanguage` bound to that PE
(cube c, PE p) and the pointers of the shards that PE sees; every call becomes the
gemm_tile operations it describes:

| tl call | gemm_tile |
|---|---|
| `tl.load(ptr, shape=, dtype=)` | `gemm_tile.alloc` of a staging buffer in the PE's cube + `gemm_tile.dma` of the shard into it (the DMA into the PE's local memory) |
| `tl.ref(ptr, shape=, dtype=)` | nothing: the operand is read where it lies; a shard in another cube is brought over by `gemm_tile.dma` first (a PE reads only its own cube) |
| `tl.composite(op="gemm", a=, b=, out_ptr=)` | one `gemm_tile.matmul` on this PE per 32 x 32 output tile, k streamed in chunks of 64 (kernbench's 32 x 64 x 32 tiles) |
| `tl.composite(op="gelu" / "silu", a=, ...)` | `gemm_tile.map "gelu"` / `"silu"` on this PE |
| `tl.composite(op="add" / "mul", a=, b=, ...)` | `gemm_tile.zip "add"` / `"mul"` on this PE (b the same shape or a vector of the row length) |
| `tl.wait(handle)` | `gemm_tile.wait` on the handle's tokens |
| `tl.send` / `tl.recv` | refused (NotImplementedError): use torch.distributed.all_reduce |

A composite whose operands were loaded waits for those DMAs first (a load completes
before its data is used: the `gemm_tile.wait` the hazard check of kb-run demands); that
implicit wait is not one of the kernel's: kernbench's yield contract counts `tl.wait`.

The trace is split into segments at every wait so that a launch can interleave its PEs:
every PE's segment i is issued before the wait that ends it (kernbench's PEs run
concurrently; a rank that waited on PE 0 before issuing PE 1's work would serialise
them). `effects` records what each composite computes on which regions of which
tensors, for the numpy reference.
"""
from kb.dtypes import check_dtype
from kb.location import caller_location

# kernbench's GEMM tile: 32 rows x 64 of k x 32 columns.
TILE_M, TILE_K, TILE_N = 32, 64, 32
# The elementwise composites: kb's runtime kernels of one operand (gemm_tile.map)
# and of two (gemm_tile.zip).
UNARY = ("gelu", "silu")
BINARY = ("add", "mul")
SUPPORTED = ("gemm",) + UNARY + BINARY

YIELD_CONTRACT = ("kernbench's yield-safety contract: every path through a kernel "
                  "holds at least one tl.wait (the scheduler's yield point), so the "
                  "scheduler that interleaves the ranks always makes progress")


class Buffer:
    """A gemm_tile buffer: an SSA name, a shape, an element type, a cube."""

    def __init__(self, name, shape, dtype, cube):
        self.name, self.shape, self.dtype, self.cube = name, tuple(shape), dtype, cube

    @property
    def type(self):
        dims = "x".join(str(d) for d in self.shape)
        return f"memref<{dims}x{self.dtype}, #gemm_tile.cube<{self.cube}>>"


class Pointer:
    """What a kernel receives for a tensor argument: its local shard on the PE, as the
    region `offsets` / `shape` of the cube piece `buffer` of tensor `tensor`.
    `region` is where the shard starts in the rank's tensor (for the reference)."""

    def __init__(self, tensor, buffer, offsets, shape, region):
        self.tensor, self.buffer = tensor, buffer
        self.offsets, self.shape, self.region = tuple(offsets), tuple(shape), tuple(region)

    @property
    def dtype(self):
        return self.tensor.dtype

    @property
    def name(self):
        return self.tensor.name

    def __repr__(self):
        return (f"<pointer to {self.tensor.name!r} shard {self.shape} at {self.region}, "
                f"cube {self.buffer.cube}>")


class Operand:
    """A tile operand: what tl.load / tl.ref return."""

    def __init__(self, kind, buffer, offsets, shape, dtype, source):
        self.kind, self.buffer = kind, buffer
        self.offsets, self.shape, self.dtype = tuple(offsets), tuple(shape), dtype
        self.source = source  # (tensor index, region offsets, shape) in the rank's tensor

    def __repr__(self):
        return f"<tl.{self.kind} of {self.shape} {self.dtype}>"


class Handle:
    """What tl.composite returns: the tokens of its asynchronous operations."""

    def __init__(self, op, tokens):
        self.op, self.tokens = op, list(tokens)

    def __repr__(self):
        return f"<tl.composite {self.op} handle>"


class Names:
    """Fresh SSA names, shared by every PE of a program."""

    def __init__(self):
        self._count = 0

    def fresh(self, prefix):
        self._count += 1
        return f"%{prefix}{self._count}"


def _offsets(values):
    return "[" + ", ".join(str(v) for v in values) + "]"


class Segment:
    """Operations issued before one wait (or the kernel's end)."""

    def __init__(self):
        self.lines, self.wait, self.explicit = [], [], False


class TileLanguage:
    """`tl` for one PE: cube `cube`, PE `pe` of launch `launch`, doing share `share`
    of the output tiles."""

    def __init__(self, launch, cube, pe, names, share=(0, 1)):
        self.launch, self.cube, self.pe = launch, cube, pe
        # (r, n): this PE is the r-th of n PEs of its cube that hold the same output
        # shard (a PE-replicated output); they split the composites' output tiles.
        self.share = share
        self._names = names
        self.segments = [Segment()]
        self.effects = []     # (op, operand sources, output region) per composite
        self.outputs = []     # the pointers written (out_ptr)
        self.waits = 0        # tl.wait calls, kernbench's yield points
        self._pending = []    # DMA tokens of loads not yet waited on

    def _where(self):
        return f"launch {self.launch!r} on cube {self.cube} PE {self.pe}"

    def _emit(self, line):
        # Each operation carries the kernel's line that issued it, so kb-opt's and
        # kb-run's diagnostics (a missing wait, a buffer too large) name that line.
        self.segments[-1].lines.append(f"{line} {caller_location().to_mlir()}")

    def _end_segment(self, tokens, explicit):
        segment = self.segments[-1]
        segment.wait, segment.explicit = list(tokens), explicit
        self.segments.append(Segment())

    # Operands.
    def _region(self, ptr, shape, dtype, call):
        if not isinstance(ptr, Pointer):
            raise TypeError(f"{self._where()}: {call} takes a tensor pointer (a kernel "
                            f"argument), got {type(ptr).__name__}")
        if dtype is not None and check_dtype(dtype) != ptr.dtype:
            raise ValueError(f"{self._where()}: {call}(dtype={dtype!r}) reads tensor "
                             f"{ptr.name!r}, which is {ptr.dtype}")
        if shape is None:
            return ptr.shape
        shape = (int(shape),) if isinstance(shape, int) else tuple(int(d) for d in shape)
        if shape == ptr.shape or shape == ptr.tensor.shape:
            # A kernel given the whole tensor's sizes reads its PE's shard: kernbench's
            # kernel sees its local shard.
            return ptr.shape
        if len(shape) == len(ptr.shape) and all(0 < s <= p for s, p in zip(shape, ptr.shape)):
            return shape  # the leading box of the shard
        raise ValueError(f"{self._where()}: {call}(shape={shape}) does not fit the shard "
                         f"{ptr.shape} of tensor {ptr.name!r} {ptr.tensor.shape} this PE "
                         f"holds")

    def _stage(self, ptr, shape, kind):
        staging = Buffer(self._names.fresh("stage"), shape, ptr.dtype, self.cube)
        token = self._names.fresh("dma")
        self._emit(f"{staging.name} = gemm_tile.alloc : {staging.type}")
        self._emit(f"{token} = gemm_tile.dma {ptr.buffer.name} {_offsets(ptr.offsets)} to "
                   f"{staging.name} {_offsets([0] * len(shape))} sizes {_offsets(shape)} : "
                   f"{ptr.buffer.type}, {staging.type}")
        self._pending.append(token)
        return Operand(kind, staging, [0] * len(shape), shape, ptr.dtype,
                       (ptr.tensor.index, ptr.region, shape))

    def load(self, ptr, shape=None, dtype=None):
        """DMA the operand into the PE's memory now."""
        return self._stage(ptr, self._region(ptr, shape, dtype, "tl.load"), "load")

    def ref(self, ptr, shape=None, dtype=None):
        """Read the operand where it lies (streamed tile by tile by the composite)."""
        shape = self._region(ptr, shape, dtype, "tl.ref")
        if ptr.buffer.cube != self.cube:
            return self._stage(ptr, shape, "ref")
        return Operand("ref", ptr.buffer, ptr.offsets, shape, ptr.dtype,
                       (ptr.tensor.index, ptr.region, shape))

    # Work.
    def composite(self, op=None, a=None, b=None, out_ptr=None, **options):
        """Start a tiled operation on this PE; returns a handle for tl.wait."""
        if op not in SUPPORTED:
            raise ValueError(f"{self._where()}: tl.composite op must be one of "
                             f"{', '.join(SUPPORTED)}, got {op!r}")
        if options:
            raise TypeError(f"{self._where()}: tl.composite(op={op!r}) got unexpected "
                            f"keyword arguments {', '.join(sorted(options))}")
        operands = [a] if op in UNARY else [a, b]
        for key, operand in zip("ab", operands):
            if not isinstance(operand, Operand):
                raise TypeError(f"{self._where()}: tl.composite(op={op!r}) {key}= must be "
                                f"what tl.load or tl.ref returned, got {operand!r}")
        if op in UNARY and b is not None:
            raise TypeError(f"{self._where()}: tl.composite(op={op!r}) takes a= only")
        if not isinstance(out_ptr, Pointer):
            raise TypeError(f"{self._where()}: tl.composite(op={op!r}) out_ptr= must be a "
                            f"tensor pointer (a kernel argument), got {out_ptr!r}")
        if out_ptr.buffer.cube != self.cube:
            raise NotImplementedError(
                f"{self._where()}: out_ptr ({out_ptr.name!r}) lies in cube "
                f"{out_ptr.buffer.cube}; a composite writes into its own PE's cube (place "
                f"the output so that this PE holds a shard of it)")
        dtypes = {o.dtype for o in operands} | {out_ptr.dtype}
        if len(dtypes) != 1:
            raise ValueError(f"{self._where()}: tl.composite(op={op!r}) mixes dtypes "
                             f"{sorted(dtypes)}")
        out_shape = self._out_shape(op, operands, out_ptr)
        if self._pending:  # the loads must complete before the tiles read them
            self._emit(f"gemm_tile.wait {', '.join(self._pending)}")
            self._end_segment(self._pending, explicit=False)
            self._pending = []
        tokens = (self._gemm(a, b, out_ptr, out_shape) if op == "gemm"
                  else self._elementwise(op, operands, out_ptr, out_shape))
        if self.share[0] == 0:  # the output once, for the reference
            self.effects.append((op, [o.source for o in operands],
                                 (out_ptr.tensor.index, out_ptr.region, out_shape)))
        self.outputs.append(out_ptr)
        return Handle(op, tokens)

    def _out_shape(self, op, operands, out_ptr):
        a = operands[0]
        if len(a.shape) != 2:
            raise ValueError(f"{self._where()}: tl.composite(op={op!r}) takes 2-D tiles, "
                             f"a= is {a.shape}")
        if op == "gemm":
            b = operands[1]
            if len(b.shape) != 2 or b.shape[0] != a.shape[1]:
                raise ValueError(f"{self._where()}: gemm of a {a.shape} by b {b.shape}: "
                                 f"the inner sizes differ")
            shape = (a.shape[0], b.shape[1])
        else:
            shape = a.shape
            if op in BINARY:
                b = operands[1]
                if b.shape != a.shape and b.shape != (a.shape[1],):
                    raise ValueError(f"{self._where()}: {op} of a {a.shape} and b {b.shape}: "
                                     f"b must be {a.shape} or a vector of {a.shape[1]}")
        if out_ptr.shape != shape:
            raise ValueError(f"{self._where()}: tl.composite(op={op!r}) computes {shape}, "
                             f"but out_ptr's shard of {out_ptr.name!r} is {out_ptr.shape}")
        return shape

    def _gemm(self, a, b, out_ptr, shape):
        m, n = shape
        k = a.shape[1]
        out = out_ptr.buffer
        tokens = []
        tiles = [(i, j) for i in range(0, m, TILE_M) for j in range(0, n, TILE_N)]
        r, count = self.share
        for i, j in tiles[r::count]:
            tm, tn = min(TILE_M, m - i), min(TILE_N, n - j)
            token = self._names.fresh("mm")
            lhs = (a.offsets[0] + i, a.offsets[1])
            rhs = (b.offsets[0], b.offsets[1] + j)
            dst = (out_ptr.offsets[0] + i, out_ptr.offsets[1] + j)
            self._emit(
                f"{token} = gemm_tile.matmul pe {self.pe} {a.buffer.name} {_offsets(lhs)}, "
                f"{b.buffer.name} {_offsets(rhs)} to {out.name} {_offsets(dst)} sizes "
                f"{_offsets([tm, tn, k])} k_chunk {min(TILE_K, k)} : {a.buffer.type}, "
                f"{b.buffer.type}, {out.type}")
            tokens.append(token)
        return tokens

    def _elementwise(self, op, operands, out_ptr, shape):
        # PEs sharing the output take consecutive blocks of its rows.
        r, count = self.share
        rows = -(-shape[0] // count)
        first, last = r * rows, min(shape[0], (r + 1) * rows)
        if first >= last:
            return []
        token = self._names.fresh(op)
        ins = []
        for o in operands:
            row = [first] if len(o.shape) == 2 else []  # a bias vector is every row's
            at = [a + b for a, b in zip(o.offsets, row + [0] * (len(o.offsets) - len(row)))]
            ins.append(f"{o.buffer.name} {_offsets(at)}")
        out_at = [out_ptr.offsets[0] + first] + list(out_ptr.offsets[1:])
        types = ", ".join(o.buffer.type for o in operands + [out_ptr])
        device_op = "map" if op in UNARY else "zip"
        self._emit(f"{token} = gemm_tile.{device_op} \"{op}\" pe {self.pe} {', '.join(ins)} to "
                   f"{out_ptr.buffer.name} {_offsets(out_at)} sizes "
                   f"{_offsets([last - first] + list(shape[1:]))} : {types}")
        return [token]

    def wait(self, *handles):
        """Block until the handles' operations complete: the scheduler's yield point."""
        tokens = []
        handles = [h for group in handles
                   for h in (group if isinstance(group, (list, tuple)) else [group])]
        for handle in handles:
            if not isinstance(handle, Handle):
                raise TypeError(f"{self._where()}: tl.wait takes what tl.composite "
                                f"returned, got {handle!r}")
            tokens += handle.tokens
        if not handles:
            raise TypeError(f"{self._where()}: tl.wait needs at least one handle")
        if tokens:  # a PE whose share of the tiles is empty has nothing to wait for
            self._emit(f"gemm_tile.wait {', '.join(tokens)}")
        self._end_segment(tokens, explicit=True)
        self.waits += 1

    def send(self, *args, **kwargs):
        raise NotImplementedError(
            f"{self._where()}: tl.send (PE-to-PE messages) is not supported by kb; reduce "
            f"across SIPs with torch.distributed.all_reduce(tensor, op='sum'), which kb "
            f"lowers to a bandwidth-optimal ring")

    def recv(self, *args, **kwargs):
        raise NotImplementedError(
            f"{self._where()}: tl.recv (PE-to-PE messages) is not supported by kb; reduce "
            f"across SIPs with torch.distributed.all_reduce(tensor, op='sum'), which kb "
            f"lowers to a bandwidth-optimal ring")

    def finish(self):
        """Closes the trace: loads never used are waited on (nothing may be left in
        flight), and kernbench's yield contract is checked."""
        if self._pending:
            self._emit(f"gemm_tile.wait {', '.join(self._pending)}")
            self._end_segment(self._pending, explicit=False)
            self._pending = []
        if self.segments and not self.segments[-1].lines:
            self.segments.pop()
