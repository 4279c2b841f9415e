"""Sweep figures: each numeric result against the first swept parameter, from ``summary.csv``."""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path

import numpy as np

from ._base import PALETTE, footer, group_colour, new_axes

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


_PREFIX = {"Y": 1e24, "Z": 1e21, "E": 1e18, "P": 1e15, "T": 1e12, "G": 1e9, "M": 1e6, "k": 1e3, "": 1.0,
           "m": 1e-3, "u": 1e-6, "µ": 1e-6, "n": 1e-9, "p": 1e-12, "f": 1e-15, "a": 1e-18}
_SHOWN = (("G", 1e9), ("M", 1e6), ("k", 1e3), ("", 1.0), ("m", 1e-3), ("µ", 1e-6), ("n", 1e-9),
          ("p", 1e-12), ("f", 1e-15))
_BASES = ("Hz", "s", "V", "A", "S", "F", "ohm", "Ohm", "siemens", "volt", "amp", "second", "hertz",
          "farad", "mol", "M")


def _split_name(column):
    """``"eta [MHz]"`` -> ``("eta", "MHz")``; ``"chi"`` -> ``("chi", None)``."""
    m = re.match(r"^(.*) \[(.+)\]$", column)
    return (m.group(1), m.group(2)) if m else (column, None)


def _axis(column, values):
    """``(label, factor)``: a column drawn as ``value * factor`` under ``label``, its SI prefix
    chosen so that the largest magnitude lies in [1, 1000) — never an offset or a "1e-6" on
    the axis (``eta [MHz]`` at 1e-12 MHz is drawn in µHz); a dimensionless column with
    tiny or huge values names its power of ten in the label."""
    name, unit = _split_name(column)
    vals = np.abs(np.asarray([v for v in values if v is not None and v != 0], float))
    big = float(vals.max()) if vals.size else 0.0
    if unit is not None:
        for base in sorted(_BASES, key=len, reverse=True):
            if unit.endswith(base) and unit[: -len(base)] in _PREFIX:
                scale = _PREFIX[unit[: -len(base)]]
                if big == 0:
                    return f"{name} ({unit})", 1.0
                si = big * scale
                for prefix, f in _SHOWN:
                    if si >= f:
                        return f"{name} ({prefix}{base})", scale / f
                return f"{name} ({_SHOWN[-1][0]}{base})", scale / _SHOWN[-1][1]
        return f"{name} ({unit})", 1.0
    if big and not (1e-3 <= big < 1e4):
        e = int(math.floor(math.log10(big) / 3) * 3)
        return f"{name} (×1e{e})", 10.0 ** -e
    return name, 1.0


def _result_label(column, metric=None, value_label=None):
    """``(y label, panel title)`` of a result column: ``value(delta_t=2 ms)`` is the value at
    one condition of a replay (the protocol's observable: ``value_label``, its axis label
    with unit, when known), titled by its condition."""
    m = re.match(r"^(?:result\.)?value\((.*)\)( #\d+)?$", column)
    if m:  # ' #2': the second condition with these labels (a stimulus change made them alike)
        cond = ", ".join(part.replace("=", " = ") for part in m.group(1).split(","))
        return value_label or "value (the protocol's observable)", f"condition {cond}{m.group(2) or ''}"
    name, unit = _split_name(column)
    nice = {"chi": "χ (score against the data)", "n_scored": "conditions scored", **_TRAIN_LABELS}.get(name, name)
    if metric and name in ("train_metric", "test_metric"):
        nice = f"{name.split('_')[0]} {metric}"
    m = re.match(r"^lambda_(\d+)$", name)
    if m:
        nice = f"λ_{m.group(1)} (1/step)"
    return (f"{nice} [{unit}]" if unit else nice), None


#: Labels of a train sweep's results (biodyn.sweep's "train" runner; exponents per step).
_TRAIN_LABELS = {"train_loss": "train loss", "test_loss": "test loss", "lambda_max": "λ_max (1/step)",
                 "kaplan_yorke": "Kaplan–Yorke dimension", "entropy_rate": "entropy rate Σλ⁺ (1/step)"}
#: What a train sweep's summary draws first: test performance, then the spectrum's summary.
_TRAIN_FIRST = ("test_loss", "test_metric", "lambda_max", "kaplan_yorke", "entropy_rate", "train_loss",
                "train_metric")


def _settled_column(column):
    """The ``settled(LABELS)`` column beside a replay's ``value(LABELS)`` column."""
    m = re.match(r"^(result\.)?value(\(.*)$", column)
    return f"{m.group(1) or ''}settled{m.group(2)}" if m else None


def _is_settledness(column):
    """A column saying whether values settled (drawn as open markers, not as a panel)."""
    return re.match(r"^(result\.)?(settled\(.*|n_unsettled)$", column) is not None


def _varies(values):
    """Whether numbers differ by more than rounding (relative 1e-9 of their size)."""
    vals = np.asarray([v for v in values if v is not None], float)
    if vals.size < 2:
        return False
    return float(np.ptp(vals)) > 1e-9 * max(float(np.max(np.abs(vals))), 1e-300)


def sweep_summary(table, max_panels=4):
    """One panel per numeric result (at most ``max_panels``, two per row): the value against
    the first numeric parameter, one line per combination of the other parameters,
    replicates as mean ± SEM; failed points are left out (and counted in the title).

    Results that do not change over the sweep (beyond rounding: a relative spread under
    1e-9) are not drawn when others do; with more results than panels, evenly spaced ones
    (in the table's order) are drawn — the table keeps them all. A replay's values are labelled
    with ``table["value_label"]`` (the protocol's observable, :func:`biodyn.jobs.sweep_value_label`)
    when the table has one. Axis units carry the SI
    prefix that puts the values in [1, 1000) (no offset text).

    A replay's value whose ``settled(LABELS)`` column is false (the condition had not settled
    by the end of its run: a transient; protocols whose engine checks, e.g. song_2000) is
    drawn as an open marker and left off the line (with replicates: if any replicate had not
    settled), with a legend entry and the number of such points in the title; the
    ``settled(...)`` and ``n_unsettled`` columns are not panels of their own.
    """
    from matplotlib.ticker import MaxNLocator, ScalarFormatter

    header, rows = table["header"], table["rows"]
    col = {h: k for k, h in enumerate(header)}
    ok = [row for row in rows if row[col["status"]] == "ok"]
    params = table["params"]
    x_name = next((p for p in params if len({row[col[p]] for row in ok}) > 1
                   and all(_num(row[col[p]]) is not None for row in ok)), None)
    value_label = table.get("value_label")
    results = [c for c in table["results"] if not _is_settledness(c)
               and any(_num(row[col[c]]) is not None for row in ok)]
    varying = [c for c in results if _varies([_num(row[col[c]]) for row in ok])]
    results = varying or results  # a result the sweep does not change says nothing
    if "lambda_max" in results and len(results) > max_panels:  # a train sweep: performance and λ_max first
        results = ([c for c in _TRAIN_FIRST if c in results]
                   + [c for c in results if c not in _TRAIN_FIRST])[:max_panels]
    if len(results) > max_panels:  # e.g. a replay's value per condition: spread the picks
        picks = np.unique(np.linspace(0, len(results) - 1, max_panels).round().astype(int))
        results = [results[k] for k in picks]
    n = max(1, len(results))
    ncols = min(n, 2)
    nrows = int(math.ceil(n / ncols))
    ax0 = new_axes((4.3 * ncols, 3.2 * nrows + 0.5))
    fig = ax0.figure
    ax0.remove()
    axes = np.atleast_1d(fig.subplots(nrows, ncols)).ravel()
    for extra_ax in axes[n:]:
        extra_ax.set_visible(False)
    others = [p for p in params if p != x_name]
    groups = {}
    for row in ok:
        groups.setdefault(tuple(row[col[p]] for p in others), []).append(row)
    xlabel, xf = _axis(x_name, [_num(row[col[x_name]]) for row in ok]) if x_name else ("", 1.0)
    from matplotlib.lines import Line2D

    settled_cols = [k for h, k in col.items() if re.match(r"^(result\.)?settled\(", h)]
    n_unsettled = sum(1 for row in ok if any(row[k] == "false" for k in settled_cols))
    for ax, res in zip(axes, results):
        settled_col = col.get(_settled_column(res))  # a replay's value: did it settle?
        handles, any_open = [], False
        metric = ok[0][col["metric"]] if "metric" in col else None  # a train sweep's metric name
        ylabel, ptitle = _result_label(res, metric, value_label)  # "name [unit]" or a finished label
        ylabel, yf = _axis(ylabel, [_num(row[col[res]]) for row in ok])
        for k, (key, members) in enumerate(sorted(groups.items())):
            xs, unsettled = {}, set()
            for row in members:
                y = _num(row[col[res]])
                if y is None:
                    continue
                x = _num(row[col[x_name]]) * xf if x_name else 0.0
                xs.setdefault(x, []).append(y * yf)
                if settled_col is not None and row[settled_col] == "false":
                    unsettled.add(x)  # a transient (any replicate): open, off the line
            if not xs:
                continue
            xv = np.array(sorted(xs))
            mean = np.array([np.mean(xs[v]) for v in xv])
            sem = np.array([np.std(xs[v], ddof=1) / math.sqrt(len(xs[v])) if len(xs[v]) > 1 else 0.0
                            for v in xv])
            label = ", ".join(f"{_split_name(p)[0]} = {v}" + (f" {_split_name(p)[1]}" if _split_name(p)[1] else "")
                              for p, v in zip(others, key)) or None
            colour = group_colour(None, None, k)
            bad = np.array([v in unsettled for v in xv], bool)
            good = ~bad
            if np.any(good):
                ax.errorbar(xv[good], mean[good], yerr=sem[good] if np.any(sem[good] > 0) else None,
                            fmt="-o", ms=4, capsize=3, color=colour, label=label)
            if np.any(bad):
                any_open = True
                ax.errorbar(xv[bad], mean[bad], yerr=sem[bad] if np.any(sem[bad] > 0) else None,
                            fmt="o", ms=5, mfc="white", mew=1.2, capsize=3, color=colour,
                            label=None if np.any(good) else label)
            if label:
                handles.append(Line2D([], [], color=colour, marker="o", ms=4, label=label))
        if x_name:
            ax.set_xlabel(xlabel)
            vals = [_num(row[col[x_name]]) for row in ok]
            if min(vals) > 0 and max(vals) / min(vals) >= 100:
                ax.set_xscale("log")
            else:  # a few ticks: labels like 0.0025 on a 4-inch panel run together at 10
                ax.xaxis.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]))
        ax.set_ylabel(ylabel)
        if ptitle:
            ax.set_title(ptitle, fontsize=8)
        for axis in (ax.xaxis, ax.yaxis):
            if isinstance(axis.get_major_formatter(), ScalarFormatter):
                axis.get_major_formatter().set_useOffset(False)
        ax.axhline(0, color=PALETTE["zero"], lw=0.8, zorder=0)
        if any_open:
            handles.append(Line2D([], [], color="0.3", marker="o", ms=5, mfc="white", mew=1.2, ls="",
                                  label="open: not settled in the run (transient)"))
        if len(handles) > 1 or any_open:
            ax.legend(handles=handles, fontsize=6, frameon=False)
    if not results:
        axes[0].text(0.5, 0.5, "no numeric results to draw", ha="center", va="center",
                     transform=axes[0].transAxes)
    failed = len(rows) - len(ok)
    fig.suptitle(f"sweep {table['title']}: {len(ok)} points ok"
                 + (f", {failed} failed (not drawn)" if failed else "")
                 + ("; replicates: mean ± SEM" if "replicate" in header else "")
                 + (f"\n{n_unsettled} point{'s' if n_unsettled != 1 else ''} with values not settled in the run (open: transients)"
                    if n_unsettled else ""), fontsize=9)
    if table.get("footer"):  # the provenance line (biodyn.jobs.sweep_footer)
        footer(fig, table["footer"])
    return axes[0]
