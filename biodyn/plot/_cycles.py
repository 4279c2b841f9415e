"""Figures of periodic orbits: cycles (or period-k orbits of maps) in the phase plane with the
fixed points, and their Floquet multipliers against the unit circle."""

from __future__ import annotations

import numpy as np

from ._base import new_axes

__all__ = ["cycles_in_state_space", "floquet_multipliers", "cycle_branches"]


def _label(name, unit):
    return f"{name} ({unit})" if unit and unit != "1" else (name or "")


def cycles_in_state_space(summary, ax=None, x=None, y=None):
    """The orbits of a ``cycles`` summary (stable solid, unstable dashed) on two state
    variables, with the fixed points (filled: stable)."""
    ax = ax or new_axes()
    units = summary.get("units", {})
    names = list(units)
    x = x or (names[0] if names else None)
    y = y or (names[1] if len(names) > 1 else None)
    for k, c in enumerate(summary.get("cycles", [])):
        orbit = c.get("orbit", {})
        xs = np.asarray(orbit.get(x, []), float)
        ys = np.asarray(orbit.get(y, []), float) if y else np.zeros_like(xs)
        if c.get("kind") == "orbit":   # period-k orbit of a map: points
            ax.plot(xs, ys, "o", color=f"C{k % 10}", ms=6 if c["stable"] else 4,
                    mfc=None if c["stable"] else "none",
                    label=f"period {c['period']} ({'stable' if c['stable'] else 'unstable'})")
        else:
            ax.plot(xs, ys, "-" if c["stable"] else "--", color=f"C{k % 10}", lw=1.6,
                    label=f"T = {c['period']:.4g} {summary.get('time_unit', '')} "
                          f"({'stable' if c['stable'] else 'unstable'})")
    for fp in summary.get("fixed_points", []):
        xv = fp["state"].get(x, 0.0)
        yv = fp["state"].get(y, 0.0) if y else 0.0
        ax.plot([xv], [yv], "o", color="k", ms=6, mfc="k" if fp["stable"] else "white",
                label=f"fixed point ({fp['type']})")
    ax.set_xlabel(_label(x, units.get(x)))
    ax.set_ylabel(_label(y, units.get(y)) if y else "")
    if not y:
        ax.set_yticks([])
    n = len(summary.get("cycles", []))
    what = "periodic orbit" if summary.get("is_map") else "limit cycle"
    ax.set_title(f"{summary.get('model', '')}: {n} {what}{'s' if n != 1 else ''}", fontsize=10)
    handles, labels = ax.get_legend_handles_labels()
    seen = {}
    for h, lab in zip(handles, labels):
        seen.setdefault(lab, h)
    if seen:
        ax.legend(list(seen.values()), list(seen), fontsize=7, loc="best")
    ax.margins(0.1)
    return ax


def floquet_multipliers(summary, ax=None):
    """Floquet multipliers of every cycle (the trivial one, at 1, hollow) and the unit circle."""
    ax = ax or new_axes()
    th = np.linspace(0, 2 * np.pi, 200)
    ax.plot(np.cos(th), np.sin(th), color="gray", lw=0.8)
    ax.axhline(0, color="gray", lw=0.5)
    for k, c in enumerate(summary.get("cycles", [])):
        mu = np.asarray(c["multipliers"], float).reshape(-1, 2)
        start = 0 if c.get("kind") == "orbit" else 1
        if start:
            ax.scatter(mu[:1, 0], mu[:1, 1], marker="o", facecolors="none", edgecolors=f"C{k % 10}", s=40)
        ax.scatter(mu[start:, 0], mu[start:, 1], marker="x", color=f"C{k % 10}", s=40,
                   label=f"#{k} ({'stable' if c['stable'] else 'unstable'})")
    ax.set_xlabel("Re μ")
    ax.set_ylabel("Im μ")
    ax.set_title("Floquet multipliers (hollow: the trivial one)" if not summary.get("is_map")
                 else "multipliers of the orbits", fontsize=10)
    ax.set_aspect("equal", adjustable="datalim")
    if summary.get("cycles"):
        ax.legend(fontsize=7, loc="best")
    return ax


_POINT_STYLE = {"cycle_fold": ("s", "LPC"), "period_doubling": ("D", "PD"), "neimark_sacker": ("*", "NS")}


def cycle_branches(summary, ax, variable=None):
    """Overlay the cycle branches of a ``bifurcation`` summary on its diagram: max and min of
    ``variable`` over each cycle against the parameter (stable solid, unstable dashed), and the
    fold-of-cycles (LPC), period-doubling (PD) and Neimark–Sacker (NS) points."""
    branches = summary.get("cycle_branches", [])
    if not branches:
        return ax
    from ._dynamics import display_unit

    variable = variable or summary.get("plot_variable")
    sv = display_unit(summary.get("units", {}).get(variable))[1]   # SI -> the diagram's unit
    for b in branches:
        v = np.asarray(b["values"], float)
        st = np.asarray(b["stable"], bool)
        for key in ("max", "min"):
            y = np.asarray(b[key].get(variable, []), float) * sv
            if not y.size:
                continue
            for stable in (True, False):
                yy = np.where(st == stable, y, np.nan)
                # join runs to their neighbours so that the curve has no gaps
                edge = np.zeros_like(st)
                edge[1:] |= st[1:] != st[:-1]
                edge[:-1] |= st[1:] != st[:-1]
                yy = np.where(edge, y, yy)
                if not np.isfinite(yy).any():
                    continue
                ax.plot(v, yy, "-" if stable else "--", color="C3", lw=1.3,
                        label="cycles (max/min), stable" if stable else "cycles (max/min), unstable")
    for p in summary.get("cycle_points", []):
        marker, short = _POINT_STYLE.get(p["type"], ("o", p["type"]))
        for key in ("max", "min"):
            if key in p and variable in p[key]:
                ax.plot([p["value"]], [p[key][variable] * sv], marker, color="C3", ms=7, mfc="white",
                        label=f"{short} ({p['type'].replace('_', ' ')})")
    handles, labels = ax.get_legend_handles_labels()
    seen = {}
    for h, lab in zip(handles, labels):
        seen.setdefault(lab, h)
    ax.legend(list(seen.values()), list(seen), fontsize=7, loc="best")
    return ax
