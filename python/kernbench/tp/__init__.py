"""kernbench.tp: tensor parallelism across SIPs (parallel_state, kernels)."""
