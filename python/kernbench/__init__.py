"""A compatibility package: code written against kernbench (the public simulator of the
AHBM family) runs unchanged on kb.

It provides the modules the seed imports, with kernbench's names and meanings:

- `kernbench.policy.placement.dp.DPPolicy`: cube/pe "replicate" | "column_wise" |
  "row_wise", num_cubes/num_pes None (= all) or a count; no SIP field.
- `kernbench.tp.parallel_state`: the TP world size (shared with kb.parallel_state).
- `kernbench.tp.kernels`: `_gemm_kernel` (and gelu/add kernels of ours), written in
  kernbench's kernel style.
- `kernbench.recorder.Recorder`: a torch-like facade (`zeros`, `empty`, `launch`,
  `distributed.all_reduce`, `ahbm.set_device`) that records each rank's calls and turns
  the per-rank (local-view) code into one kb program in the global view, which kb-opt
  compiles and kb-run runs and checks.
- `kernbench.registry`: which kb op each launched kernel is.

It is not kernbench: nothing here simulates; kb compiles and runs. Installing it beside
the real kernbench would shadow one with the other (both are `import kernbench`).
"""
import os as _os

from kb.location import register_internal_directory as _register

# The user's line is in the code that calls the recorder, not in this package.
_register(_os.path.dirname(_os.path.abspath(__file__)))
