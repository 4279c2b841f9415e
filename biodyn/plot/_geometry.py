"""Figures of phase-space geometry: basin maps and basin fractions, Lyapunov-function checks.
Every function takes the summary dict an analysis writes as JSON and an ``Axes`` (or makes
one), and returns the ``Axes``."""

from __future__ import annotations

import numpy as np

from ._base import dedup_legend, new_axes
from ._dynamics import _fp_marker, _label, display_unit, manifolds

__all__ = ["basin_map", "basin_fractions", "lyapunov_function_map"]

_BASIN_COLORS = ["#9ecae1", "#fdae6b", "#a1d99b", "#bcbddc", "#fdd0a2", "#c7e9c0", "#d9d9d9"]


def _attractor_name(a, names=None):
    if a["kind"] == "fixed point":
        st = a.get("state", {})
        coords = ", ".join(f"{v:.3g}" for v in list(st.values())[:3])
        return f"{a['type']} ({coords})"
    return a["type"]


def _short(text, width=70):
    text = str(text)
    return text if len(text) <= width else text[: width - 3] + "..."


def _short_to_axes(text, ax, fontsize):
    """Each line of ``text`` cut (with "...") to the width its axes will have once laid out."""
    from ._base import _text_width

    spec = ax.get_subplotspec()
    top = spec.get_topmost_subplotspec() if spec is not None else None
    share = (len(range(top.colspan.start, top.colspan.stop)) / top.get_gridspec().ncols
             if top is not None else ax.get_position().width)
    width_pt = ax.figure.get_figwidth() * 72.0 * share - 70.0  # less the y ticks and label
    out = []
    for line in str(text).splitlines():
        while len(line) > 10 and _text_width(line, fontsize) > width_pt:
            line = line[: int(len(line) * 0.95) - 3].rstrip(".") + "..."
        out.append(line)
    return "\n".join(out)


def basin_map(summary, ax=None):
    """The basin map of a ``basins`` summary on its 2-D slice: one colour per attractor, the
    fixed points (``fixed_points``, else the point attractors) and (if present) the stable
    manifolds of saddles."""
    from matplotlib.colors import ListedColormap

    ax = ax or new_axes((6.0, 5.0))
    atts = summary.get("attractors", [])
    if "grid_x" not in summary:
        ax.text(0.5, 0.5, "sampled states: no basin map", ha="center", va="center", transform=ax.transAxes)
        return ax
    units = summary.get("units", {})
    ux, sx = display_unit(units.get(summary["x"]))  # states drawn in mV, nA, ... (the JSON is SI)
    uy, sy = display_unit(units.get(summary["y"]))
    gx, gy = np.asarray(summary["grid_x"]) * sx, np.asarray(summary["grid_y"]) * sy
    L = np.asarray(summary["labels"], float)
    colors = [_BASIN_COLORS[k % len(_BASIN_COLORS)] if a["kind"] != "unbounded" else "#525252"
              for k, a in enumerate(atts)] or ["white"]
    dx = (gx[1] - gx[0]) / 2 if len(gx) > 1 else 0.5
    dy = (gy[1] - gy[0]) / 2 if len(gy) > 1 else 0.5
    ax.imshow(L, origin="lower", cmap=ListedColormap(colors), vmin=-0.5, vmax=len(colors) - 0.5,
              extent=(gx[0] - dx, gx[-1] + dx, gy[0] - dy, gy[-1] + dy), aspect="auto",
              interpolation="nearest", zorder=0)
    for k, a in enumerate(atts):
        ax.fill_between([], [], color=colors[k], label=f"basin: {_attractor_name(a)} "
                        f"{100 * a['fraction']:.1f} %")
    manifolds({"x": summary["x"], "y": summary["y"], "x_unit": units.get(summary["x"]),
               "y_unit": units.get(summary["y"]),
               "manifolds": [m for m in summary.get("manifolds", []) if m["kind"] == "stable"]}, ax)
    points = summary.get("fixed_points") or [a for a in atts if a["kind"] == "fixed point"]
    for a in points:   # every fixed point (saddles too), else the point attractors
        if summary["x"] in a["state"] and summary["y"] in a["state"]:
            _fp_marker(ax, a["state"][summary["x"]] * sx, a["state"][summary["y"]] * sy, a["type"], label=False)
    ax.set_xlim(gx[0] - dx, gx[-1] + dx)
    ax.set_ylim(gy[0] - dy, gy[-1] + dy)
    ax.set_xlabel(_label(summary["x"], ux))
    ax.set_ylabel(_label(summary["y"], uy))
    ax.set_title(f"{summary.get('model', '')}: basins of attraction ({summary.get('sampling', '')})",
                 fontsize=10)
    dedup_legend(ax, fontsize=7, loc="upper right")
    return ax


def basin_fractions(summary, ax=None):
    """The fraction of starts reaching each attractor, with its (Wilson) interval."""
    ax = ax or new_axes()
    atts = summary.get("attractors", [])
    f = np.array([a["fraction"] for a in atts], float)
    ci = np.array([a["interval"] for a in atts], float).reshape(-1, 2)
    i = np.arange(len(atts))
    ax.bar(i, f, color=[_BASIN_COLORS[k % len(_BASIN_COLORS)] for k in i], edgecolor="k")
    if len(atts):
        ax.errorbar(i, f, yerr=[np.maximum(f - ci[:, 0], 0), np.maximum(ci[:, 1] - f, 0)], fmt="none", ecolor="k", capsize=4)
    ax.set_xticks(i)
    ax.set_xticklabels([_attractor_name(a) for a in atts], rotation=20, ha="right", fontsize=7)
    ax.set_ylim(0, 1)
    ax.set_ylabel("fraction of starts")
    level = summary.get("confidence", 0.95)
    ax.set_title(f"{summary.get('n_starts', '')} starts; {100 * level:g} % {summary.get('interval_method', '')}",
                 fontsize=8)
    return ax


def lyapunov_function_map(summary, ax=None):
    """Sign of :math:`\\dot V` on the samples of a ``lyapunov-function`` summary (first two
    variables), with level sets of ``V`` and the region-of-attraction estimate."""
    ax = ax or new_axes((6.0, 5.0))
    s = summary.get("samples", {})
    x, y = summary.get("plot_x"), summary.get("plot_y")
    if not s or x is None:
        ax.text(0.5, 0.5, "no samples", ha="center", va="center", transform=ax.transAxes)
        return ax
    sign = np.asarray(s["sign"], int)
    units = summary.get("units", {})
    ux, sx = display_unit(units.get(x))  # states drawn in mV, nA, ... (the JSON is SI)
    uy, sy = display_unit(units.get(y)) if y is not None else (None, 1.0)
    if y is None:   # one variable: dV/dt against it
        X = np.asarray(s[x], float) * sx
        D = np.asarray(s["Vdot"], float)
        for val, color, name in ((-1, "tab:green", "dV/dt < 0"), (0, "tab:gray", "dV/dt = 0"),
                                 (1, "tab:red", "dV/dt > 0")):
            m = sign == val
            if np.any(m):
                ax.scatter(X[m], D[m], s=4, color=color, label=name)
        ax.axhline(0, color="gray", lw=0.8)
        ax.set_xlabel(_label(x, ux))
        ax.set_ylabel(f"dV/dt (per {summary.get('time_unit', 'time unit')})")
        ax.set_title(f"{summary.get('model', '')}: V = {_short(summary.get('V', ''))}", fontsize=9)
        dedup_legend(ax, fontsize=7, loc="best")
        return ax
    X, Y = np.asarray(s[x], float) * sx, np.asarray(s[y], float) * sy
    for val, color, name in ((-1, "tab:green", "dV/dt < 0"), (0, "tab:gray", "dV/dt = 0"),
                             (1, "tab:red", "dV/dt > 0")):
        m = sign == val
        if np.any(m):
            ax.scatter(X[m], Y[m], s=4, color=color, label=name, zorder=2)
    grid = summary.get("level_grid")
    if grid:
        gx, gy = np.asarray(grid["x"]) * sx, np.asarray(grid["y"]) * sy
        V = np.asarray(grid["V"], float)
        if np.all(np.isfinite(V)):
            ax.contour(gx, gy, V, levels=8, colors="k", linewidths=0.6, alpha=0.6, zorder=3)
        c = summary.get("region_of_attraction", {}).get("level")
        if c is not None and np.nanmin(V) < c < np.nanmax(V):
            ax.contour(gx, gy, V, levels=[c], colors="b", linewidths=2.0, zorder=4)
            ax.plot([], [], color="b", lw=2, label=f"V = {c:.3g} (region of attraction)")
    fp = summary.get("fixed_point")
    if fp:
        _fp_marker(ax, fp["state"][x] * sx, fp["state"][y] * sy, fp.get("type", "stable node"), label=False)
    ax.set_xlabel(_label(x, ux))
    ax.set_ylabel(_label(y, uy))
    fp = summary.get("fixed_point")
    where = ""
    if fp and fp.get("state") and x in fp["state"] and y in fp["state"]:
        where = (f" at {x} = {fp['state'][x] * sx:.4g}" + (f" {ux}" if ux not in (None, "", "1") else "")
                 + f", {y} = {fp['state'][y] * sy:.4g}" + (f" {uy}" if uy not in (None, "", "1") else ""))
    ax.set_title(_short_to_axes(f"{summary.get('model', '')}{where}: V = {summary.get('V', '')}\n"
                                f"({summary.get('symbolic', '')}) dV/dt = {summary.get('Vdot', '')}",
                                ax, 9), fontsize=9)
    dedup_legend(ax, fontsize=7, loc="upper right")
    return ax
