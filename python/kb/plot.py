"""Pictures of a kb-run: where one SIP's device time goes.

    python3 -m kb.plot report.json trace.json -o run.png [--sip N]
    kb-run model.mlir --plot run.png          (runs this for you)

The figure has two panels: the timeline of one SIP (a row per PE, per cube DMA engine and
for the ring link, each slice coloured by its kernel or kb op) and a bar chart of the
device time by layer, from the report's per-op table (whose times sum to the device time,
docs/kb-run.md). matplotlib comes from Debian's python3-matplotlib (scripts/setup.sh
installs it); without it this says so and exits with status 2.
"""
import argparse
import json
import sys

# The trace's track ids (lib/Executor: a PE is cube * pes_per_cube + pe, a cube's DMA
# engine 2^24 + cube, the ring link 2^25: above every PE of 4096 cubes of 4096 PEs).
_DMA_TRACK_BASE = 1 << 24
_LINK_TRACK = 1 << 25


class PlotError(Exception):
    """What the user must fix: a missing matplotlib, a file that is not a kb-run output."""


def _load_json(path, what):
    try:
        with open(path) as f:
            return json.load(f)
    except OSError as e:
        raise PlotError(f"{path}: cannot read the {what}: {e.strerror}") from None
    except json.JSONDecodeError as e:
        raise PlotError(f"{path}: the {what} is not JSON: {e}") from None


def timeline(trace, sip):
    """The SIP's slices as {track name: [(start_us, duration_us, op)]}, tracks in order
    (PEs, DMA engines, the ring link)."""
    names = {}
    for e in trace.get("traceEvents", []):
        if e.get("ph") == "M" and e.get("name") == "thread_name" and e.get("pid") == sip:
            names[e["tid"]] = e["args"]["name"]
    tracks = {}
    for e in trace.get("traceEvents", []):
        if e.get("ph") != "X" or e.get("pid") != sip:
            continue
        op = e.get("args", {}).get("op") or e["name"]
        tracks.setdefault(e["tid"], []).append((e["ts"], e["dur"], op))
    order = sorted(tracks, key=lambda t: (t >= _LINK_TRACK, t >= _DMA_TRACK_BASE, t))
    return {names.get(t, str(t)): tracks[t] for t in order}


def time_by_layer(report):
    """[(label, seconds)] from the per-op table, largest first: one bar per layer and
    line (two calls of one layer class at different lines are different layers)."""
    totals = {}
    for row in report.get("ops", []):
        label = row.get("layer") or row.get("op", "?")
        if row.get("loc"):
            label += " " + row["loc"].rsplit("/", 1)[-1]
        totals[label] = totals.get(label, 0.0) + row.get("time_s", 0.0)
    return sorted(totals.items(), key=lambda item: -item[1])


def plot(report, trace, output, sip=None):
    """Draws the figure for `sip` (default: the SIP the report's per-op table describes)
    into `output` (PNG)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise PlotError("matplotlib is not installed; install Debian's python3-matplotlib "
                        "(scripts/setup.sh does) or `pip install matplotlib`") from None
    if "ops" not in report or "device_time_s" not in report:
        raise PlotError("the report has no per-op table (not a kb-run --report of a "
                        "device program)")
    if sip is None:
        sip = report.get("ops_sip", 0)
    tracks = timeline(trace, sip)
    if not tracks:
        shown = sorted({e.get("pid") for e in trace.get("traceEvents", [])
                        if e.get("ph") == "X"})
        raise PlotError(f"the trace has no slices of SIP {sip} (it has SIPs {shown})")
    layers = time_by_layer(report)

    ops = sorted({op for slices in tracks.values() for _, _, op in slices})
    palette = plt.get_cmap("tab20")
    colour = {op: palette(i % 20) for i, op in enumerate(ops)}

    height = 2.5 + 0.18 * len(tracks) + 0.3 * len(layers)
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(12, min(height, 40)),
        gridspec_kw={"height_ratios": [max(len(tracks), 4), max(len(layers), 2)]})
    for row, (name, slices) in enumerate(tracks.items()):
        for op in ops:
            bars = [(start, max(duration, 1e-6)) for start, duration, o in slices if o == op]
            if bars:
                top.broken_barh(bars, (row - 0.4, 0.8), facecolors=colour[op])
    top.set_yticks(range(len(tracks)))
    top.set_yticklabels(list(tracks), fontsize=6)
    top.invert_yaxis()
    top.set_xlabel("time (us)")
    top.set_title(f"SIP {sip} of {report.get('world_size', '?')}: device time "
                  f"{report['device_time_s'] * 1e6:.3f} us")
    handles = [plt.Rectangle((0, 0), 1, 1, color=colour[op]) for op in ops]
    top.legend(handles, ops, fontsize=6, loc="upper left", bbox_to_anchor=(1.0, 1.0))

    labels = [label for label, _ in layers]
    values = [seconds * 1e6 for _, seconds in layers]
    bottom.barh(range(len(labels)), values, color="tab:blue")
    bottom.set_yticks(range(len(labels)))
    bottom.set_yticklabels(labels, fontsize=7)
    bottom.invert_yaxis()
    bottom.set_xlabel("device time (us), by layer")
    fig.tight_layout()
    fig.savefig(output, format="png", dpi=100)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python3 -m kb.plot",
        description="Draw a kb-run's timeline of one SIP and its device time by layer.")
    parser.add_argument("report", help="kb-run --report JSON")
    parser.add_argument("trace", help="kb-run --trace JSON")
    parser.add_argument("-o", "--output", required=True, help="the PNG to write")
    parser.add_argument("--sip", type=int, default=None,
                        help="the SIP to draw (default: the report's per-op table's)")
    args = parser.parse_args(argv)
    try:
        report = _load_json(args.report, "report")
        trace = _load_json(args.trace, "trace")
        plot(report, trace, args.output, args.sip)
    except PlotError as e:
        print(f"kb.plot: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
