"""The device counts a placement needs: how many cubes a SIP has and how many PEs a
cube has, as kb-run's device description says (its built-in default, or the fields a
user overrides). kb-run owns the description (docs/Device.md); Python asks it, once per
description, instead of keeping a second copy of the defaults that could drift."""
import numpy as np

_cache = {}


def fields(device=None):
    """Every field of `device` (a dict of device fields, optionally with "preset": the
    built-in description they change, or None for kb's default, `ahbm`), read from the
    report of a one-element kb-run."""
    key = tuple(sorted((device or {}).items()))
    if key not in _cache:
        from .layers import gelu
        from .program import Program
        with Program("device_probe", world_size=1) as p:
            p.output(gelu(p.input((1, 1), dtype="f32")))
        report = p.run(np.zeros((1, 1)), check=False, device=device).report["device"]
        _cache[key] = {k: int(v) for k, v in report.items()}
    return dict(_cache[key])


def counts(device=None):
    """(cubes, pes_per_cube) of `device` (as for fields())."""
    d = fields(device)
    return d["cubes"], d["pes_per_cube"]
