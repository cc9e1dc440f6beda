"""DPPolicy: how a rank-local tensor is laid out over the cubes and PEs of its SIP.

It becomes the tensor type's encoding, `#kb.dp<...>`. Checks that need only the policy
and the tensor's shape run here, so the mistake is reported at the line that made it;
checks against a device (a policy naming more cubes or PEs than the device has) are
kb-opt's, because the device can be overridden at run time.
"""


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


class DPPolicy:
    """The seed's `DPPolicy(cube, pe, num_cubes, num_pes)`.

    `cube` and `pe` are "replicate" or "shard". A shard splits one dimension evenly:
    `cube_dim` (default 1, the columns) over `num_cubes` cubes, then each cube's piece
    along `pe_dim` (default 0, the rows) over `num_pes` PEs. The dims are ignored for a
    level that replicates.
    """

    def __init__(self, cube="replicate", pe="replicate", num_cubes=1, num_pes=1,
                 cube_dim=1, pe_dim=0):
        for level, value in (("cube", cube), ("pe", pe)):
            if value not in ("replicate", "shard"):
                raise ValueError(f"DPPolicy {level} must be 'replicate' or 'shard', got {value!r}")
        for name, value in (("num_cubes", num_cubes), ("num_pes", num_pes)):
            if not _is_int(value) or value < 1:
                raise ValueError(f"DPPolicy {name} must be a positive integer, got {value!r}")
        for name, value in (("cube_dim", cube_dim), ("pe_dim", pe_dim)):
            if not _is_int(value) or value < 0:
                raise ValueError(f"DPPolicy {name} must be a non-negative integer, got {value!r}")
        self.cube, self.pe = cube, pe
        self.num_cubes, self.num_pes = num_cubes, num_pes
        self.cube_dim, self.pe_dim = cube_dim, pe_dim

    def check(self, shape, what="tensor"):
        """Raises ValueError unless the policy divides `shape` (the rank-local shape of
        `what`); the message names the dimension's size and the count, as kb-opt's."""
        piece = list(shape)
        for level, kind, dim, count, count_name in (
                ("cube", self.cube, self.cube_dim, self.num_cubes, "num_cubes"),
                ("pe", self.pe, self.pe_dim, self.num_pes, "num_pes")):
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
        """The `#kb.dp<...>` attribute, as the dialect prints it."""
        cube = "replicate" if self.cube == "replicate" else f"shard({self.cube_dim})"
        pe = "replicate" if self.pe == "replicate" else f"shard({self.pe_dim})"
        return (f"#kb.dp<cube = {cube}, pe = {pe}, num_cubes = {self.num_cubes}, "
                f"num_pes = {self.num_pes}>")

    def __eq__(self, other):
        return isinstance(other, DPPolicy) and self.to_mlir() == other.to_mlir()

    def __hash__(self):
        return hash(self.to_mlir())

    def __repr__(self):
        dims = (f", cube_dim={self.cube_dim}" if self.cube == "shard" else "") + \
               (f", pe_dim={self.pe_dim}" if self.pe == "shard" else "")
        return (f"DPPolicy(cube={self.cube!r}, pe={self.pe!r}, num_cubes={self.num_cubes}, "
                f"num_pes={self.num_pes}{dims})")
