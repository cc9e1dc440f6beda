"""kernbench's DPPolicy: how a tensor is laid out over the cubes and PEs of its SIP.

    DPPolicy(cube="replicate", pe="replicate", num_cubes=None, num_pes=None)

`cube` and `pe` are "replicate" (each cube / PE of the cube holds a full copy),
"column_wise" (split along the columns, the last axis) or "row_wise" (split along the
rows, the first axis). `num_cubes` / `num_pes` restrict the tensor to that many cubes /
PEs of each cube; None means all of them. There is no SIP field: the SIP is the TP rank
(`torch.ahbm.set_device`), so `sip=` and `num_sips=` are a TypeError, as in kernbench.

It is kb.DPPolicy (kb/policy.py) with kernbench's signature: only the three layouts,
None by default. The tl path (kernbench.context) places tensors by it directly;
`to_kb` gives the recorder's global-view programs kb's DPPolicy (the `#kb.dp`
encoding): column_wise is kb's shard of the last dimension, row_wise its shard of
dimension 0, and None stays None (`#kb.dp` leaves the count out; kb-opt resolves it
against the device the program runs on).
"""
import kb

LAYOUTS = ("replicate", "column_wise", "row_wise")


class DPPolicy(kb.DPPolicy):
    """kb's DPPolicy with kernbench's signature: only its three layouts, and None (all
    of the device's cubes / PEs) by default."""

    def __init__(self, cube="replicate", pe="replicate", num_cubes=None, num_pes=None,
                 **unexpected):
        for key in unexpected:  # kb's cube_dim / pe_dim are not kernbench's
            if key not in ("sip", "num_sips"):
                raise TypeError(f"DPPolicy() got an unexpected keyword argument {key!r}")
        for level, value in (("cube", cube), ("pe", pe)):
            if value not in LAYOUTS:
                raise ValueError(f"DPPolicy {level} must be one of {', '.join(LAYOUTS)}, "
                                 f"got {value!r}")
        super().__init__(cube, pe, num_cubes, num_pes, **unexpected)

    def to_kb(self, shape, cubes=None, pes_per_cube=None):
        """kb's DPPolicy for a tensor of `shape`; a None count becomes `cubes` /
        `pes_per_cube` when given, else stays None (all of the device's). column_wise
        splits the last dimension of a tensor of any rank (the columns), row_wise
        dimension 0."""
        rank = len(shape)
        return kb.DPPolicy(cube=self.cube_kind, pe=self.pe_kind,
                           num_cubes=cubes if self.num_cubes is None else self.num_cubes,
                           num_pes=pes_per_cube if self.num_pes is None else self.num_pes,
                           cube_dim=self._dim(self.cube, rank), pe_dim=self._dim(self.pe, rank))

    @staticmethod
    def _dim(layout, rank):
        return rank - 1 if layout == "column_wise" else 0
