"""The seed's TP layers, unmodified, as a kernbench benchmark: its ColumnParallelLinear
then RowParallelLinear (each rank's slice of the weights, _gemm_kernel launched on the
rank's SIP, the row-parallel partial sums all-reduced), every tensor on one PE of one
cube as the seed places them. Run it with --world-size W (4 divides its sizes).

The seed's file is python/tests/data/seed_layers.py, byte for byte."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "tests", "data"))

import seed_layers  # noqa: E402  the seed, unmodified
from kernbench.policy.placement.dp import DPPolicy  # noqa: E402
from kernbench.tp.parallel_state import get_tensor_model_parallel_world_size  # noqa: E402

M, HIDDEN, FFN = 64, 256, 1024


def run(torch):
    for rank in range(get_tensor_model_parallel_world_size()):
        torch.ahbm.set_device(rank)
        x = torch.zeros((M, HIDDEN), dtype="f16",
                        dp=DPPolicy(cube="replicate", pe="replicate", num_cubes=1,
                                    num_pes=1), name="x")
        column = seed_layers.ColumnParallelLinear(HIDDEN, FFN, torch=torch)
        row = seed_layers.RowParallelLinear(FFN, HIDDEN, torch=torch)
        row.forward(column.forward(x))
