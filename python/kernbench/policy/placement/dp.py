"""kernbench's DPPolicy: how a tensor is laid out over the cubes and PEs of its SIP.

    DPPolicy(cube="replicate", pe="replicate", num_cubes=None, num_pes=None)

`cube` and `pe` are "replicate" (each cube / PE of the cube holds a full copy),
"column_wise" (split along the columns, the last axis) or "row_wise" (split along the
rows, the first axis). `num_cubes` / `num_pes` restrict the tensor to that many cubes /
PEs of each cube; None means all of them. There is no SIP field: the SIP is the TP rank
(`torch.ahbm.set_device`), so `sip=` and `num_sips=` are a TypeError, as in kernbench.

`to_kb` turns it into kb's DPPolicy (the `#kb.dp` encoding): column_wise is kb's
shard of the last dimension, row_wise its shard of dimension 0, and None becomes the
device's count.
"""
import kb

LAYOUTS = ("replicate", "column_wise", "row_wise")


def _count(name, value):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"DPPolicy {name} must be None (all) or a positive integer, "
                         f"got {value!r}")
    return value


class DPPolicy:
    def __init__(self, cube="replicate", pe="replicate", num_cubes=None, num_pes=None,
                 **unexpected):
        for key in unexpected:
            if key in ("sip", "num_sips"):
                raise TypeError(
                    f"DPPolicy() got an unexpected keyword argument {key!r}: DPPolicy "
                    f"places a tensor inside one SIP; the SIP is the TP rank, chosen with "
                    f"torch.ahbm.set_device(rank)")
            raise TypeError(f"DPPolicy() got an unexpected keyword argument {key!r}")
        for level, value in (("cube", cube), ("pe", pe)):
            if value not in LAYOUTS:
                raise ValueError(f"DPPolicy {level} must be one of {', '.join(LAYOUTS)}, "
                                 f"got {value!r}")
        self.cube, self.pe = cube, pe
        self.num_cubes, self.num_pes = _count("num_cubes", num_cubes), _count("num_pes",
                                                                                num_pes)

    @staticmethod
    def _dim(layout, rank):
        return rank - 1 if layout == "column_wise" else 0

    def to_kb(self, shape, cubes, pes_per_cube):
        """kb's DPPolicy for a tensor of `shape` on a device of `cubes` cubes of
        `pes_per_cube` PEs (what None stands for)."""
        rank = len(shape)
        kind = {"replicate": "replicate", "column_wise": "shard", "row_wise": "shard"}
        return kb.DPPolicy(cube=kind[self.cube], pe=kind[self.pe],
                           num_cubes=cubes if self.num_cubes is None else self.num_cubes,
                           num_pes=pes_per_cube if self.num_pes is None else self.num_pes,
                           cube_dim=self._dim(self.cube, rank), pe_dim=self._dim(self.pe, rank))

    def __eq__(self, other):
        return isinstance(other, DPPolicy) and (self.cube, self.pe, self.num_cubes,
                                                self.num_pes) == (other.cube, other.pe,
                                                                  other.num_cubes,
                                                                  other.num_pes)

    def __hash__(self):
        return hash((self.cube, self.pe, self.num_cubes, self.num_pes))

    def __repr__(self):
        return (f"DPPolicy(cube={self.cube!r}, pe={self.pe!r}, num_cubes={self.num_cubes!r}, "
                f"num_pes={self.num_pes!r})")
