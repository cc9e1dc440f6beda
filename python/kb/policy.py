"""DPPolicy: how a rank-local tensor is laid out over the cubes and PEs of its SIP."""


class DPPolicy:
    """The seed's `DPPolicy(cube, pe, num_cubes, num_pes)`.

    `cube` and `pe` are "replicate" or "shard"; a shard names the dimension it splits
    (`cube_dim`, `pe_dim`, default 1 for cubes and 0 for PEs, as kb's placement rule).
    """

    def __init__(self, cube="replicate", pe="replicate", num_cubes=1, num_pes=1,
                 cube_dim=1, pe_dim=0):
        for level, value in (("cube", cube), ("pe", pe)):
            if value not in ("replicate", "shard"):
                raise ValueError(f"DPPolicy {level} must be 'replicate' or 'shard', got {value!r}")
        for name, value in (("num_cubes", num_cubes), ("num_pes", num_pes)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"DPPolicy {name} must be a positive integer, got {value!r}")
        for name, value in (("cube_dim", cube_dim), ("pe_dim", pe_dim)):
            if not isinstance(value, int) or value < 0:
                raise ValueError(f"DPPolicy {name} must be a non-negative integer, got {value!r}")
        self.cube, self.pe = cube, pe
        self.num_cubes, self.num_pes = num_cubes, num_pes
        self.cube_dim, self.pe_dim = cube_dim, pe_dim

    def check(self, shape):
        """Raises ValueError unless the policy divides `shape` (the rank-local shape)."""
        piece = list(shape)
        for level, kind, dim, count in (("cube", self.cube, self.cube_dim, self.num_cubes),
                                        ("pe", self.pe, self.pe_dim, self.num_pes)):
            if kind != "shard":
                continue
            if dim >= len(piece):
                raise ValueError(f"DPPolicy {level} shards dimension {dim} of a "
                                 f"rank-{len(piece)} tensor")
            if piece[dim] % count:
                raise ValueError(f"DPPolicy {level} shard of dimension {dim} (size "
                                 f"{piece[dim]}) does not divide by {count}")
            piece[dim] //= count

    def to_mlir(self):
        cube = "replicate" if self.cube == "replicate" else f"shard({self.cube_dim})"
        pe = "replicate" if self.pe == "replicate" else f"shard({self.pe_dim})"
        return (f"#kb.dp<cube = {cube}, pe = {pe}, num_cubes = {self.num_cubes}, "
                f"num_pes = {self.num_pes}>")

    def __repr__(self):
        return (f"DPPolicy(cube={self.cube!r}, pe={self.pe!r}, num_cubes={self.num_cubes}, "
                f"num_pes={self.num_pes})")
