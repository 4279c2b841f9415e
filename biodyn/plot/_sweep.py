"""Sweep figures: each numeric result against the first swept parameter, from ``summary.csv``."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from ._base import new_axes

__all__ = ["sweep_table", "sweep_summary"]


def sweep_table(path):
    """Read a sweep's ``summary.csv`` into ``{"header", "rows", "params", "results"}``.

    Columns: ``point``, ``status``, the parameters (``name [unit]``), ``replicate`` (if any),
    ``seed``, the results, ``run_s``, ``error`` — parameters are the columns between
    ``status`` and ``replicate``/``seed``, results those between ``seed`` and ``run_s``.
    """
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    s, r = header.index("seed"), header.index("run_s")
    end = header.index("replicate") if "replicate" in header else s
    return {"header": header, "rows": body, "params": header[2:end], "results": header[s + 1:r],
            "title": Path(path).parent.name}


def _num(text):
    try:
        v = float(text)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def sweep_summary(table, max_panels=4):
    """One panel per numeric result (at most ``max_panels``): the value against the first
    numeric parameter, one line per combination of the other parameters, replicates as
    mean ± SEM; failed points are left out (and counted in the title).

    Results that do not change over the sweep are not drawn when others do; with more
    results than panels, evenly spaced ones (in the table's order) are drawn — the table
    keeps them all.
    """
    header, rows = table["header"], table["rows"]
    col = {h: k for k, h in enumerate(header)}
    ok = [row for row in rows if row[col["status"]] == "ok"]
    params = table["params"]
    x_name = next((p for p in params if len({row[col[p]] for row in ok}) > 1
                   and all(_num(row[col[p]]) is not None for row in ok)), None)
    results = [c for c in table["results"] if any(_num(row[col[c]]) is not None for row in ok)]
    varying = [c for c in results if len({_num(row[col[c]]) for row in ok}) > 1]
    results = varying or results  # a result the sweep does not change says nothing
    if len(results) > max_panels:  # e.g. a replay's value per condition: spread the picks
        picks = np.unique(np.linspace(0, len(results) - 1, max_panels).round().astype(int))
        results = [results[k] for k in picks]
    n = max(1, len(results))
    ax0 = new_axes((4.2 * n, 3.6))
    fig = ax0.figure
    ax0.remove()
    axes = np.atleast_1d(fig.subplots(1, n))
    others = [p for p in params if p != x_name]
    groups = {}
    for row in ok:
        groups.setdefault(tuple(row[col[p]] for p in others), []).append(row)
    for ax, res in zip(axes, results):
        for k, (key, members) in enumerate(sorted(groups.items())):
            xs = {}
            for row in members:
                y = _num(row[col[res]])
                if y is None:
                    continue
                x = _num(row[col[x_name]]) if x_name else 0.0
                xs.setdefault(x, []).append(y)
            if not xs:
                continue
            xv = np.array(sorted(xs))
            mean = np.array([np.mean(xs[v]) for v in xv])
            sem = np.array([np.std(xs[v], ddof=1) / math.sqrt(len(xs[v])) if len(xs[v]) > 1 else 0.0
                            for v in xv])
            label = ", ".join(f"{p} = {v}" for p, v in zip(others, key)) or None
            ax.errorbar(xv, mean, yerr=sem if np.any(sem > 0) else None, fmt="-o", ms=4, capsize=3,
                        color=f"C{k % 10}", label=label)
        if x_name:
            ax.set_xlabel(x_name)
            vals = [_num(row[col[x_name]]) for row in ok]
            if min(vals) > 0 and max(vals) / min(vals) >= 100:
                ax.set_xscale("log")
        ax.set_ylabel(res)
        ax.axhline(0, color="0.85", lw=0.8, zorder=0)
        if len(groups) > 1:
            ax.legend(fontsize=6, frameon=False)
    if not results:
        axes[0].text(0.5, 0.5, "no numeric results to draw", ha="center", va="center",
                     transform=axes[0].transAxes)
    failed = len(rows) - len(ok)
    fig.suptitle(f"sweep {table['title']}: {len(ok)} points ok"
                 + (f", {failed} failed (not drawn)" if failed else "")
                 + ("; replicates: mean ± SEM" if "replicate" in header else ""), fontsize=9)
    return axes[0]
