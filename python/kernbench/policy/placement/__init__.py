"""kernbench.policy.placement: intra-SIP placement (DPPolicy)."""
