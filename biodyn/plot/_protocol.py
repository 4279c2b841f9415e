"""Protocol figures: the model's value per condition against the published data."""

from __future__ import annotations

import math

import numpy as np

from ._base import new_axes

__all__ = ["protocol_summary"]


def _fmt_label(name, unit):
    return name if unit in ("1", "", None) else f"{name} ({unit})"


def protocol_summary(summary, ax=None, figure=None, curves=None, model_label=None):
    """Draw a protocol result: the model's value per condition against the published data.

    Parameters
    ----------
    summary : dict
        A protocol summary (the JSON contract of ``biodyn replay``).
    figure : Mapping, optional
        The protocol's ``[figure]`` table: ``x``, ``group``, ``xlabel``, ``ylabel``,
        ``title``, ``xscale``.
    curves : list of (label, x, y), optional
        Reference curves (e.g. a published fit) drawn as dashed lines.

    Returns
    -------
    matplotlib.axes.Axes
    """
    if ax is None:
        ax = new_axes()
    figure = dict(figure or {})
    conditions = summary["conditions"]
    units = summary.get("units", {})
    labels = list(conditions[0]["labels"]) if conditions else []
    x = figure.get("x", labels[0] if labels else None)
    group = figure.get("group")
    if group is None:
        others = [l for l in labels if l != x]
        group = others[0] if len(others) == 1 else None
    keys = sorted({c["labels"].get(group) for c in conditions}, key=lambda v: (v is None, v)) if group else [None]
    colors = ["C0", "C3", "C2", "C1", "C4", "C5", "C6", "C7"]
    name = model_label or f"{summary['model']} ({summary['parameter_set']})"
    for k, key in enumerate(keys):
        sel = [c for c in conditions if group is None or c["labels"].get(group) == key]
        if x is not None:
            sel = sorted(sel, key=lambda c: c["labels"][x])
            xs = np.array([c["labels"][x] for c in sel], dtype=float)
        else:
            xs = np.arange(len(sel), dtype=float)
        ys = np.array([c["value"] for c in sel], dtype=float)
        color = colors[k % len(colors)]
        tag = "" if group is None else f" {group} = {key:g}{'' if units.get(group) in ('1', None) else ' ' + units[group]}"
        style = "-" if len(sel) > 12 else "-o"
        ax.plot(xs, ys, style, color=color, lw=1.8, ms=4, label=f"model{tag}" if group else name)
        data = [(xv, c["data"], c["error"]) for xv, c in zip(xs, sel) if c.get("data") is not None]
        if data:
            dx, dy, de = map(np.array, zip(*data))
            ax.errorbar(dx, dy, yerr=de, fmt="s", color=color, mfc="white", ms=6, capsize=3,
                        label=f"data{tag}")
    for label, cx, cy in curves or []:
        ax.plot(cx, cy, "--", color="0.35", lw=1.2, label=label)
    ax.axhline(0, color="0.8", lw=0.8, zorder=0)
    if x is not None:
        ax.set_xlabel(figure.get("xlabel", _fmt_label(x, units.get(x))))
    ax.set_ylabel(figure.get("ylabel", "value"))
    if figure.get("xscale"):
        ax.set_xscale(figure["xscale"])
    chi = summary.get("score", {}).get("chi")
    title = figure.get("title", summary["protocol"])
    if chi is not None and not math.isnan(chi):
        title += f"   (χ = {chi:.2f}, n = {summary['score']['n']})"
    else:
        title += "   (no published data to score)"
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, frameon=False)
    ax.text(0.99, 0.01, f"{summary['model']}/{summary['parameter_set']}, seed {summary['seed']}, "
            f"{summary['target']}, dt {summary['dt']}", transform=ax.transAxes, ha="right",
            va="bottom", fontsize=6, color="0.5")
    return ax
