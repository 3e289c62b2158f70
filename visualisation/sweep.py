"""The plot of a parameter sweep, and the ``pcc sweep`` command that runs one and draws it.

:func:`sweep_curve` takes the rows of a ``sweep.csv`` (:func:`pcc.sweep.read_csv`) and RETURNS a
matplotlib ``Figure`` of one metric against another, each point labelled with the parameter values
of its run. :func:`register` adds ``pcc sweep`` to the ``pcc`` command line (through the
``pcc.commands`` entry-point group, so that ``pcc`` itself never imports plotting code);
``python -m visualisation.sweep`` is the same command.

Example::

    pcc sweep notebooks/06_whole_pipeline.ipynb -p color_k 64 256 1024 \\
        --out output/sweeps/color_k --x size_bytes --y psnr

Taught in ``notebooks/06_whole_pipeline.ipynb``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from visualisation.style import PALETTE

#: Axis labels (with units) for column names the pcc notebooks write into ``metrics.json``.
AXIS_LABELS = {
    "psnr": "PSNR (dB)",
    "psnr_after": "PSNR after compression (dB)",
    "psnr_before": "PSNR before compression (dB)",
    "ssim": "SSIM (0-1)",
    "ssim_after": "SSIM after compression (0-1)",
    "ratio": "compression ratio (input / output)",
    "size_bytes": "file size (bytes)",
    "seconds": "run time (s)",
    "bytes_per_gaussian": "bytes per Gaussian (B)",
    "n_gaussians": "Gaussians",
}


def axis_label(column: str) -> str:
    """A readable label with a unit for a CSV column (``size_bytes`` -> ``size (bytes)``)."""
    if column in AXIS_LABELS:
        return AXIS_LABELS[column]
    base = column.rsplit(".", 1)[-1]
    if base in AXIS_LABELS:
        return AXIS_LABELS[base]
    for suffix, unit in (
        ("_bytes", "bytes"),
        ("_mb", "MB"),
        ("_mib", "MiB"),
        ("_db", "dB"),
        ("_seconds", "s"),
        ("_s", "s"),
        ("_bpp", "bits per point"),
    ):
        if base.endswith(suffix):
            return f"{column[: -len(suffix)].replace('_', ' ')} ({unit})"
    if "psnr" in base:
        return f"{column.replace('_', ' ')} (dB)"
    return column.replace("_", " ")


def _value(v) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return math.nan
    return f


def sweep_curve(
    rows: Sequence[Mapping[str, object]],
    x: str,
    y: str,
    *,
    label_by: Sequence[str] = (),
    group_by: str | None = None,
    logx: bool | None = None,
    title: str | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
):
    """One metric against another over the runs of a sweep.

    Args:
        rows: the sweep's rows (dicts); rows whose ``status`` is not ``"ok"`` or that lack ``x``
            or ``y`` are left out and counted in the title.
        x, y: column names (e.g. ``"size_bytes"``, ``"psnr"``; any parameter works as ``x``).
        label_by: columns printed next to each point (e.g. the swept parameters).
        group_by: a column whose values get one line each (e.g. a second swept parameter).
        logx: log-scale x axis (default: when x is positive and spans more than a factor 8;
            base 2 when every x is a power of two, e.g. codebook sizes).
        xlabel, ylabel: axis labels (default: :func:`axis_label` of the column, with a unit
            when the name tells it).
    """
    import matplotlib as mpl

    from visualisation.style import RC

    with mpl.rc_context(RC):
        return _sweep_curve(rows, x, y, label_by, group_by, logx, title, xlabel, ylabel)


def _power_of_two(v: float) -> bool:
    return v >= 1 and float(v).is_integer() and (int(v) & (int(v) - 1)) == 0


def _sweep_curve(rows, x, y, label_by, group_by, logx, title, xlabel, ylabel):
    from matplotlib.figure import Figure

    ok = [
        r
        for r in rows
        if r.get("status", "ok") == "ok"
        and math.isfinite(_value(r.get(x)))
        and math.isfinite(_value(r.get(y)))
    ]
    left_out = len(rows) - len(ok)
    if not ok:
        raise ValueError(f"no successful run has both {x!r} and {y!r}")
    groups: dict[object, list] = {}
    for r in ok:
        groups.setdefault(r.get(group_by) if group_by else None, []).append(r)
    fig = Figure(figsize=(6.8, 4.6), layout="constrained")
    ax = fig.subplots()
    for i, (g, rs) in enumerate(groups.items()):
        rs = sorted(rs, key=lambda r: _value(r[x]))
        xs = [_value(r[x]) for r in rs]
        ys = [_value(r[y]) for r in rs]
        label = f"{group_by} = {g}" if group_by else None
        ax.plot(xs, ys, "-o", color=PALETTE[i % len(PALETTE)], label=label, ms=6)
        for r, xv, yv in zip(rs, xs, ys):
            text = ", ".join(f"{c}={r.get(c)}" for c in label_by if c != group_by)
            if text:
                ax.annotate(text, (xv, yv), textcoords="offset points", xytext=(6, 5), fontsize=9)
    allx = [_value(r[x]) for r in ok]
    if logx is None:
        logx = min(allx) > 0 and max(allx) / min(allx) > 8
    if logx:
        if all(_power_of_two(v) for v in allx):
            from matplotlib.ticker import FixedLocator, NullLocator

            ax.set_xscale("log", base=2)
            ax.xaxis.set_major_locator(FixedLocator(sorted(set(allx))))
            ax.xaxis.set_minor_locator(NullLocator())
            ax.set_xticklabels([f"{int(v)}" for v in sorted(set(allx))])
        else:
            ax.set_xscale("log")
    ax.margins(x=0.12, y=0.12)
    xlabel = xlabel or axis_label(x)
    ylabel = ylabel or axis_label(y)
    ax.set_xlabel(xlabel + (" (log scale)" if logx else ""))
    ax.set_ylabel(ylabel)
    if group_by:
        ax.legend(loc="best")
    note = f" ({left_out} failed or incomplete run{'s' if left_out != 1 else ''} left out)"
    ax.set_title(
        (title or f"{ylabel.split(' (')[0]} against {xlabel.split(' (')[0]}")
        + (note if left_out else ""),
        fontsize=11,
    )
    return fig


def plot_sweep_csv(
    csv_path: str | Path,
    x: str,
    y: str,
    png_path: str | Path,
    *,
    label_by: Sequence[str] = (),
    group_by: str | None = None,
    title: str | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
) -> Path:
    """Read a ``sweep.csv``, draw :func:`sweep_curve` and save it as PNG; returns the PNG path."""
    from pcc.sweep import read_csv

    fig = sweep_curve(
        read_csv(csv_path),
        x,
        y,
        label_by=label_by,
        group_by=group_by,
        title=title,
        xlabel=xlabel,
        ylabel=ylabel,
    )
    png_path = Path(png_path)
    fig.savefig(png_path, dpi=120, bbox_inches="tight")
    return png_path


# --------------------------------------------------------------------------- the command
HELP = "run a notebook over parameter values with papermill; gather metrics into a CSV"
DESCRIPTION = (
    "Run NOTEBOOK once per combination of the -p values (papermill), one folder each under "
    "--out; gather every metrics.json into OUT/sweep.csv and draw --y against --x as "
    "OUT/sweep.png. Exits 1 if any run failed (they are listed)."
)


def register(subparsers) -> None:
    """Add ``sweep`` to a ``pcc`` sub-command list (the ``pcc.commands`` entry point)."""
    p = subparsers.add_parser("sweep", help=HELP, description=DESCRIPTION)
    add_arguments(p)
    p.set_defaults(func=run_command)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "notebook", nargs="?", help="the .ipynb to run (it needs a cell tagged 'parameters')"
    )
    p.add_argument(
        "-p",
        "--param",
        nargs="+",
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="a parameter and its values, e.g. -p color_k 64 256 1024 (repeat for a grid)",
    )
    p.add_argument(
        "--set",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="a parameter fixed in every run, e.g. --set preset tiny",
    )
    p.add_argument("--out", help="a new folder for the runs, the CSV and the plot")
    p.add_argument("--jobs", type=int, default=1, help="runs at the same time (default 1)")
    p.add_argument("--x", help="CSV column on the x axis (default: the first swept parameter)")
    p.add_argument("--y", help="CSV column on the y axis; without it no plot is drawn")
    p.add_argument("--xlabel", help="x axis label, with its unit (default: from the column name)")
    p.add_argument("--ylabel", help="y axis label, with its unit")
    p.add_argument("--timeout", type=float, help="seconds allowed per notebook cell")
    p.add_argument("--kernel", help="Jupyter kernel name (default: the notebook's)")
    p.add_argument(
        "--replot",
        metavar="DIR",
        help="redraw DIR/sweep.png from DIR/sweep.csv of an earlier sweep (needs --x and --y; "
        "nothing is run)",
    )


def _replot(args: argparse.Namespace) -> int:
    from pcc.sweep import CSV_NAME, read_csv

    if not (args.x and args.y):
        raise SystemExit("pcc sweep: error: --replot needs --x and --y")
    folder = Path(args.replot)
    csv_path = folder / CSV_NAME
    if not csv_path.is_file():
        raise SystemExit(f"pcc sweep: error: {csv_path} not found")
    rows = read_csv(csv_path)
    names = [c for c in json.loads((folder / "sweep.json").read_text())["runs"][0]["parameters"]]
    png = plot_sweep_csv(
        csv_path,
        args.x,
        args.y,
        folder / f"sweep_{args.y.replace('.', '_')}_vs_{args.x.replace('.', '_')}.png",
        label_by=[n for n in names if n != args.x],
        xlabel=args.xlabel,
        ylabel=args.ylabel,
    )
    print(f"plot of {len(rows)} run(s): {png}")
    return 0


def run_command(args: argparse.Namespace) -> int:
    from pcc.sweep import parse_value, run_sweep

    if args.replot:
        return _replot(args)
    if not args.notebook or not args.param or not args.out:
        raise SystemExit("pcc sweep: error: NOTEBOOK, at least one -p and --out are required")
    params = []
    for item in args.param:
        if len(item) < 2:
            raise SystemExit(f"pcc sweep: error: -p {item[0]} needs at least one value")
        params.append((item[0], [parse_value(v) for v in item[1:]]))
    fixed = {name: parse_value(value) for name, value in args.set}
    names = [n for n, _ in params]
    total = math.prod(len(v) for _, v in params)
    print(f"sweep: {total} run(s) of {args.notebook} into {args.out}", flush=True)

    def done(run, n):
        values = ", ".join(f"{k}={v}" for k, v in run.parameters.items())
        print(f"[{n}/{total}] {run.status:6s} {values}  ({run.seconds:.1f} s)", flush=True)

    result = run_sweep(
        args.notebook,
        params,
        args.out,
        jobs=args.jobs,
        fixed=fixed,
        kernel=args.kernel,
        timeout=args.timeout,
        on_done=done,
    )
    print(f"table: {result.csv_path}")
    if args.y:
        x = args.x or names[0]
        if any(r.ok for r in result.runs):
            print(f"plot: {_plot(result, x, args.y, names, args.xlabel, args.ylabel)}")
        else:
            print("no plot: every run failed")
    for run in result.failed:
        print(f"\nFAILED run {run.index} ({run.folder}):\n{run.error}", file=sys.stderr)
    if result.failed:
        print(
            f"\n{len(result.failed)} of {len(result.runs)} run(s) failed (see papermill.log in "
            "their folders)",
            file=sys.stderr,
        )
        return 1
    return 0


def _plot(result, x: str, y: str, names: Sequence[str], xlabel=None, ylabel=None) -> Path:
    """The sweep's plot: lines over ``x``; a second swept parameter gives one line per value."""
    others = [n for n in names if n != x]
    group = others[0] if len(others) == 1 and x in names else None
    labels = [] if x in names and len(others) <= 1 else others or list(names)
    title = f"{result.notebook.stem}: {(ylabel or axis_label(y)).split(' (')[0]} against "
    title += (xlabel or axis_label(x)).split(" (")[0]
    return plot_sweep_csv(
        result.csv_path,
        x,
        y,
        result.out / "sweep.png",
        label_by=labels,
        group_by=group,
        title=title,
        xlabel=xlabel,
        ylabel=ylabel,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m visualisation.sweep", description=DESCRIPTION)
    add_arguments(parser)
    args = parser.parse_args(argv)
    from pcc.errors import PccError

    try:
        return run_command(args)
    except PccError as err:
        print(f"pcc sweep: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
