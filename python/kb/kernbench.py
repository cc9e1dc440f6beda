"""Runs a kernbench benchmark file, unmodified, on kb.

    /usr/bin/python3 -m kb.kernbench run BENCH.py [--world-size W]
        [--fill zeros|random] [--seed S] [--check] [--report F] [--trace F] [--emit-ir F]

BENCH.py is written against kernbench's API (docs/Kernbench.md): it imports
`kernbench.policy.placement.dp.DPPolicy` and defines `run(ctx)` (or `run(torch)`), which
creates tensors with `ctx.zeros` / `ctx.empty` and launches `tl` kernels with
`ctx.launch`. The runner imports it, calls run() with kb's ctx (once per TP rank after
`ctx.ahbm.set_device(rank)`, unless the file selects the SIPs itself), traces the
kernels into the lowered gemm_tile program (kernbench.context), checks it with kb-opt
and runs it with kb-run, then prints kb-run's report.

`--fill random` gives every tensor seeded random values instead of zeros; `--check`
compares every tensor a kernel or all_reduce wrote with numpy and exits 1 at the first
mismatching element (NaN and Inf never pass). Any error is one message and exit 1.
"""
import argparse
import importlib.util
import os
import sys
import traceback

_HERE = os.path.dirname(os.path.abspath(__file__))


def _import_bench(path):
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no benchmark file {path!r}")
    directory = os.path.dirname(os.path.abspath(path))
    if directory not in sys.path:
        sys.path.insert(0, directory)  # the file's own imports, as `python BENCH.py`
    name = "kernbench_bench_" + os.path.splitext(os.path.basename(path))[0].replace("-", "_")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not callable(getattr(module, "run", None)):
        raise AttributeError(f"{path} defines no run(ctx) function")
    return module


def run_bench(path, world_size=1, fill="zeros", seed=0, check=False, report=None,
              trace=None, emit_ir=None, device=None):
    """Imports and runs benchmark `path`; returns (DeviceProgram, RunOutcome)."""
    from kernbench.context import Context
    from kernbench.tp import parallel_state

    parallel_state.initialize_model_parallel(tensor_model_parallel_size=world_size)
    try:
        bench = _import_bench(path)
        ctx = Context(world_size, device)
        bench.run(ctx)
        if not ctx.set_device_called:  # single-SIP style code: the runner selects the SIPs
            for rank in range(1, world_size):
                ctx.ahbm.set_device(rank)
                bench.run(ctx)
        name = os.path.splitext(os.path.basename(path))[0]
        program = ctx.program("".join(c if c.isalnum() else "_" for c in name) or "bench")
        if emit_ir:
            with open(emit_ir, "w") as f:
                f.write(program.text)
        outcome = program.run(fill=fill, seed=seed, check=check, report=report, trace=trace)
    finally:
        parallel_state.destroy_model_parallel()
    return program, outcome


def _user_frame(error):
    """The innermost frame of `error` outside kb and kernbench: the user's line."""
    import kernbench
    internal = (_HERE + os.sep, os.path.dirname(os.path.abspath(kernbench.__file__)) + os.sep)
    frames = traceback.extract_tb(error.__traceback__)
    for frame in reversed(frames):
        if not os.path.abspath(frame.filename).startswith(internal):
            return f"{frame.filename}:{frame.lineno}: "
    return ""


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m kb.kernbench",
                                     description="Run a kernbench benchmark file on kb.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run BENCH.py's run(ctx) through kb-opt and kb-run")
    run.add_argument("bench", metavar="BENCH.py")
    run.add_argument("--world-size", type=int, default=1, metavar="W",
                     help="TP world size: the number of SIPs (default 1)")
    run.add_argument("--fill", choices=("zeros", "random"), default="zeros",
                     help="initial tensor values (default zeros, as kernbench's)")
    run.add_argument("--seed", type=int, default=0, help="seed of --fill random")
    run.add_argument("--check", action="store_true",
                     help="compare every written tensor with numpy")
    run.add_argument("--report", metavar="F", help="write kb-run's JSON report to F")
    run.add_argument("--trace", metavar="F", help="write a Chrome/Perfetto trace to F")
    run.add_argument("--emit-ir", metavar="F", help="write the gemm_tile program to F")
    args = parser.parse_args(argv)
    if args.world_size < 1:
        parser.error(f"--world-size must be at least 1, got {args.world_size}")
    try:
        program, outcome = run_bench(args.bench, args.world_size, args.fill, args.seed,
                                     args.check, args.report, args.trace, args.emit_ir)
    except Exception as error:  # noqa: BLE001  every failure: one message, exit 1
        print(f"kb.kernbench: error: {_user_frame(error)}{type(error).__name__}: {error}",
              file=sys.stderr)
        return 1
    for line in program.describe():
        print(line)
    sys.stdout.write(outcome.summary)
    if args.check:
        print(f"check: passed ({len(program.results)} written tensor(s) match numpy; worst "
              f"error {outcome.check:.3g} of the largest magnitude)")
    print(f"device time: {outcome.device_time_s * 1e6:.3f} us")
    return 0


if __name__ == "__main__":
    sys.exit(main())
