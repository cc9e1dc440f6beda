"""DPPolicy: how a rank-local tensor is laid out over the cubes and PEs of its SIP.

It becomes the tensor type's encoding, `#kb.dp<...>`. Checks that need only the policy
and the tensor's shape run here, so the mistake is reported at the line that made it;
checks against a device (a policy naming more cubes or PEs than the device has) are
kb-opt's, because the device can be overridden at run time.
"""


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


# kernbench's names for the splits of a matrix, as (kb's kind, the dimension split).
KERNBENCH_LAYOUTS = {"column_wise": ("shard", 1), "row_wise": ("shard", 0)}
LAYOUTS = ("replicate", "shard") + tuple(KERNBENCH_LAYOUTS)


class DPPolicy:
    """The seed's (and kernbench's) `DPPolicy(cube, pe, num_cubes, num_pes)`.

    `cube` and `pe` are "replicate", kernbench's "column_wise" (split dimension 1, the
    columns) or "row_wise" (split dimension 0, the rows), or kb's general "shard", which
    splits `cube_dim` (default 1) / `pe_dim` (default 0) of a tensor of any rank. A split
    divides one dimension evenly over `num_cubes` cubes, then each cube's piece over
    `num_pes` PEs. `num_cubes` / `num_pes` are counts or None, kernbench's "all of the
    device's"; `#kb.dp` leaves a None count out, and kb-opt resolves it against the
    device the program runs on (kb-run's device description, see kb.device).
    kb's defaults stay 1 and 1 (one PE of one cube, the seed's placement); kernbench's
    own DPPolicy (kernbench.policy.placement.dp) defaults to None. There is no SIP
    field: `sip=` / `num_sips=` are a TypeError, as in kernbench.
    """

    def __init__(self, cube="replicate", pe="replicate", num_cubes=1, num_pes=1,
                 cube_dim=None, pe_dim=None, **unexpected):
        for key in unexpected:
            if key in ("sip", "num_sips"):
                raise TypeError(
                    f"DPPolicy() got an unexpected keyword argument {key!r}: DPPolicy "
                    f"places a tensor inside one SIP; the SIP is the TP rank "
                    f"(torch.ahbm.set_device(rank))")
            raise TypeError(f"DPPolicy() got an unexpected keyword argument {key!r}")
        dims = {}
        for level, value, dim, default in (("cube", cube, cube_dim, 1),
                                           ("pe", pe, pe_dim, 0)):
            if value not in LAYOUTS:
                raise ValueError(f"DPPolicy {level} must be one of {', '.join(LAYOUTS)}, "
                                 f"got {value!r}")
            if value in KERNBENCH_LAYOUTS:
                named = KERNBENCH_LAYOUTS[value][1]
                if dim is not None and dim != named:
                    raise ValueError(f"DPPolicy {level}={value!r} splits dimension {named}, "
                                     f"but {level}_dim={dim!r}; use {level}='shard' for "
                                     f"another dimension")
                dim = named
            if dim is None:
                dim = default
            if not _is_int(dim) or dim < 0:
                raise ValueError(f"DPPolicy {level}_dim must be a non-negative integer, "
                                 f"got {dim!r}")
            dims[level] = dim
        for name, value in (("num_cubes", num_cubes), ("num_pes", num_pes)):
            if value is not None and (not _is_int(value) or value < 1):
                raise ValueError(f"DPPolicy {name} must be None (all) or a positive "
                                 f"integer, got {value!r}")
        self.cube, self.pe = cube, pe  # as the user spelled them
        self.num_cubes, self.num_pes = num_cubes, num_pes
        self.cube_dim, self.pe_dim = dims["cube"], dims["pe"]

    def resolved(self, device=None):
        """This policy with None counts replaced by the counts of `device` (a dict of
        device fields, None for kb's default device)."""
        if self.num_cubes is not None and self.num_pes is not None:
            return self
        from .device import counts
        cubes, pes = counts(device)
        return DPPolicy(self.cube_kind, self.pe_kind,
                        cubes if self.num_cubes is None else self.num_cubes,
                        pes if self.num_pes is None else self.num_pes,
                        self.cube_dim, self.pe_dim)

    @property
    def cube_kind(self):
        """"replicate" or "shard" (column_wise and row_wise are shards)."""
        return "replicate" if self.cube == "replicate" else "shard"

    @property
    def pe_kind(self):
        return "replicate" if self.pe == "replicate" else "shard"

    def check(self, shape, what="tensor"):
        """Raises ValueError unless the policy divides `shape` (the rank-local shape of
        `what`); the message names the dimension's size and the count, as kb-opt's."""
        policy = self.resolved()
        piece = list(shape)
        for level, kind, dim, count, count_name in (
                ("cube", policy.cube_kind, policy.cube_dim, policy.num_cubes, "num_cubes"),
                ("pe", policy.pe_kind, policy.pe_dim, policy.num_pes, "num_pes")):
            if kind != "shard":
                continue
            if dim >= len(piece):
                raise ValueError(f"{what} {tuple(shape)}: DPPolicy {level} shards dimension "
                                 f"{dim} of a rank-{len(piece)} tensor")
            if piece[dim] % count:
                raise ValueError(f"{what} {tuple(shape)}: DPPolicy {level} shard of dimension "
                                 f"{dim} (size {piece[dim]}) does not divide by "
                                 f"{count_name} ({count})")
            piece[dim] //= count

    def to_mlir(self):
        """The `#kb.dp<...>` attribute, as the dialect prints it: a None count is left
        out (all of the device's, resolved by kb-opt on the device the program runs
        on), a given count is written."""
        cube = "replicate" if self.cube_kind == "replicate" else f"shard({self.cube_dim})"
        pe = "replicate" if self.pe_kind == "replicate" else f"shard({self.pe_dim})"
        counts = "".join(f", {name} = {value}" for name, value in
                         (("num_cubes", self.num_cubes), ("num_pes", self.num_pes))
                         if value is not None)
        return f"#kb.dp<cube = {cube}, pe = {pe}{counts}>"

    def _key(self):
        return (self.cube_kind, self.pe_kind, self.num_cubes, self.num_pes,
                self.cube_dim if self.cube_kind == "shard" else None,
                self.pe_dim if self.pe_kind == "shard" else None)

    def __eq__(self, other):
        return isinstance(other, DPPolicy) and self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def __repr__(self):
        cube, pe = self.cube, self.pe
        dims = (f", cube_dim={self.cube_dim}" if cube == "shard" else "") + \
               (f", pe_dim={self.pe_dim}" if pe == "shard" else "")
        return (f"DPPolicy(cube={cube!r}, pe={pe!r}, num_cubes={self.num_cubes!r}, "
                f"num_pes={self.num_pes!r}{dims})")
