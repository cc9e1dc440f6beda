"""kernbench.policy: placement policies."""
