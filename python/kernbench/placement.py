"""Where a tensor's shards lie: kernbench's DPPolicy resolved against the device.

A rank's tensor of policy DPPolicy(cube, pe, num_cubes, num_pes) occupies cubes
0 .. num_cubes - 1 of its SIP (None: all of the device's cubes). In each of them it has
one *piece* (the whole tensor when cube="replicate", else the cube's slice: column_wise
splits dimension 1, row_wise dimension 0); within the piece, PEs 0 .. num_pes - 1 each
hold a *shard* (the whole piece when pe="replicate", else the PE's slice of it). The
pieces are the buffers of the device program (one memref per cube); the shards are what
the kernels launched on the PEs see.
"""



def _dim(layout, dim, shape, level, what):
    """The dimension `layout` splits: column_wise the columns (dimension 1 of a matrix,
    the only one of a vector such as a bias), row_wise the rows (dimension 0 of a
    matrix), kb's shard its `dim`; None for replicate."""
    if layout == "replicate":
        return None
    if layout == "shard":
        if dim >= len(shape):
            raise ValueError(f"{what}: DPPolicy {level} shards dimension {dim} of a "
                             f"rank-{len(shape)} tensor")
        return dim
    if len(shape) == 1 and layout == "column_wise":
        return 0
    if len(shape) != 2:
        raise ValueError(f"{what}: DPPolicy {level}={layout!r} splits a matrix (or "
                         f"column_wise a vector), this tensor has {len(shape)} dimensions")
    return dim


class Placement:
    """The resolved placement of one tensor: `cubes`, `pes`, each cube's piece
    (`piece_offsets(c)`, `piece_shape`) and each PE's shard within it."""

    def __init__(self, tensor, cubes_on_device, pes_on_device):
        dp = tensor.dp
        self.cubes = cubes_on_device if dp is None or dp.num_cubes is None else dp.num_cubes
        self.pes = pes_on_device if dp is None or dp.num_pes is None else dp.num_pes
        what = f"tensor {tensor.name!r} {tensor.shape}"
        if self.cubes > cubes_on_device:
            raise ValueError(f"{what}: DPPolicy num_cubes ({self.cubes}) exceeds the "
                             f"device's {cubes_on_device} cubes per SIP")
        if self.pes > pes_on_device:
            raise ValueError(f"{what}: DPPolicy num_pes ({self.pes}) exceeds the device's "
                             f"{pes_on_device} PEs per cube")
        self.cube_dim, self.pe_dim = (None, None) if dp is None else (
            _dim(dp.cube, dp.cube_dim, tensor.shape, "cube", what),
            _dim(dp.pe, dp.pe_dim, tensor.shape, "pe", what))
        self.shape = tensor.shape
        self.piece_shape = self._split(tensor.shape, self.cube_dim, self.cubes, "cube",
                                       "num_cubes", what)
        self.shard_shape = self._split(self.piece_shape, self.pe_dim, self.pes, "pe",
                                       "num_pes", what)

    @staticmethod
    def _split(shape, dim, count, level, count_name, what):
        if dim is None:
            return tuple(shape)
        if shape[dim] % count:
            raise ValueError(f"{what}: DPPolicy {level} split of dimension {dim} (size "
                             f"{shape[dim]}) does not divide by {count_name} ({count})")
        piece = list(shape)
        piece[dim] //= count
        return tuple(piece)

    def piece_offsets(self, cube):
        """Where cube `cube`'s piece starts in the tensor."""
        offsets = [0] * len(self.shape)
        if self.cube_dim is not None:
            offsets[self.cube_dim] = cube * self.piece_shape[self.cube_dim]
        return offsets

    def shard_offsets(self, pe):
        """Where PE `pe`'s shard starts in its cube's piece."""
        offsets = [0] * len(self.shape)
        if self.pe_dim is not None:
            offsets[self.pe_dim] = pe * self.shard_shape[self.pe_dim]
        return offsets

    def distinct_cubes(self):
        """The cubes whose pieces together hold the tensor once (a replica each)."""
        return list(range(self.cubes)) if self.cube_dim is not None else [0]
