"""Figures of dynamical-systems analyses: phase portraits, fixed points, bifurcation diagrams,
Lyapunov spectra. Every function takes plain data (the dicts the analyses write as JSON, or
arrays) and an ``Axes`` (or makes one), and returns the ``Axes``."""

from __future__ import annotations

import numpy as np

from ._base import PALETTE, TRAJECTORY_COLOURS, dedup_legend, new_axes, wrap_to_axes

__all__ = ["display_unit", "time_units", "phase_portrait", "fixed_points_in_state_space", "eigenvalue_plane",
           "bifurcation_diagram", "lyapunov_running", "lyapunov_exponents", "manifolds"]

#: marker and colour per fixed-point class
_STYLE = {
    "stable node": ("o", "k", True),
    "stable focus": ("o", "tab:blue", True),
    "unstable node": ("o", "tab:red", False),
    "unstable focus": ("o", "tab:orange", False),
    "saddle": ("X", "tab:purple", True),
    "centre": ("D", "tab:green", False),
    "non-hyperbolic": ("s", "tab:gray", False),
}
_POINT_STYLE = {"fold": ("v", "tab:red"), "hopf": ("*", "tab:green"), "branch": ("P", "tab:purple"),
                "period_doubling": ("d", "tab:orange"), "neimark_sacker": ("h", "tab:cyan"),
                "threshold": ("X", "tab:brown")}


#: SI units of the analyses' JSON shown in the units Brian2 users read: (unit, factor).
DISPLAY_UNITS = {"volt": ("mV", 1e3), "V": ("mV", 1e3), "amp": ("nA", 1e9), "A": ("nA", 1e9),
                 "siemens": ("nS", 1e9), "S": ("nS", 1e9), "farad": ("pF", 1e12), "F": ("pF", 1e12),
                 "ohm": ("Mohm", 1e-6), "second": ("ms", 1e3), "s": ("ms", 1e3)}


def display_unit(unit):
    """``(unit shown, factor)``: a state in SI ``unit`` (the JSON's) is drawn times ``factor``
    in the unit shown — volts as mV, amperes as nA, siemens as nS (Brian2 users' units)."""
    if unit in (None, "", "1"):
        return unit, 1.0
    return DISPLAY_UNITS.get(str(unit), (unit, 1.0))


def time_units(text):
    """``(time axis label, rate unit)`` for a model's ``time_unit`` text.

    ``"tau (1 ms)"`` (the model's own time, a parameter: a dimensionless system run at a
    Brian2 convention of 1 ms) gives ``("time (units of τ)", "1/τ")``; ``"iteration"`` gives
    ``("iterations", "per iteration")``; ``"1 second"`` gives ``("time (s)", "1/s")``;
    ``"10 ms"`` gives ``("time (units of 10 ms)", "1/(10 ms)")``.
    """
    import re

    text = (text or "").strip()
    if not text:
        return "time", "1/time unit"
    if text in ("iteration", "step"):
        return f"{text}s", f"per {text}"
    m = re.match(r"^([A-Za-z_]\w*) \((.+)\)$", text)
    if m:
        sym = {"tau": "τ"}.get(m.group(1), m.group(1))
        return f"time (units of {sym})", f"1/{sym}"
    short = {"second": "s", "1 second": "s", "1 s": "s", "1 ms": "ms", "1 ms ": "ms"}.get(text)
    if short:
        return f"time ({short})", f"1/{short}"
    return f"time (units of {text})", f"1/({text})"


def _label(name, unit):
    return name if unit in (None, "", "1") else f"{name} ({unit})"


def _fp_marker(ax, x, y, kind, label=True, size=70):
    marker, color, filled = _STYLE.get(kind, ("o", "k", True))
    ax.scatter([x], [y], marker=marker, s=size, zorder=5,
               facecolors=color if filled else "white", edgecolors=color, linewidths=1.5,
               label=kind if label else None)


def phase_portrait(data, ax=None):
    """Draw a phase portrait: vector field, nullclines, trajectories, fixed points.

    Parameters
    ----------
    data : dict
        ``x``, ``y`` (names), ``x_unit``, ``y_unit``, ``grid_x``, ``grid_y`` (1-D grids),
        ``fx``, ``fy`` (the field on the grid, shape ``(len(grid_y), len(grid_x))``),
        ``trajectories`` (list of ``{"x": [...], "y": [...]}``), ``fixed_points``
        (list of ``{"x", "y", "type"}``), ``manifolds`` (optional, see :func:`manifolds`), ``is_map`` (nullclines are then the curves
        ``F_x = x`` and ``F_y = y``), ``slice`` (text: where the other variables are
        held), ``model``. A 1-D system has ``y = None`` and ``f`` on ``grid_x``.
    """
    ax = ax or new_axes((6.0, 5.0))
    if data.get("y") is None:
        return _phase_line(data, ax)
    ux, sx = display_unit(data.get("x_unit"))
    uy, sy = display_unit(data.get("y_unit"))
    gx, gy = np.asarray(data["grid_x"]) * sx, np.asarray(data["grid_y"]) * sy
    fx, fy = np.asarray(data["fx"], float) * sx, np.asarray(data["fy"], float) * sy
    X, Y = np.meshgrid(gx, gy)
    if data.get("is_map"):
        u, v = fx - X, fy - Y
    else:
        u, v = fx, fy
    speed = np.hypot(u / (np.ptp(gx) or 1), v / (np.ptp(gy) or 1))
    with np.errstate(all="ignore"):
        if not (np.all(np.isfinite(u)) and np.all(np.isfinite(v))):
            pass
        elif data.get("is_map"):  # a map has no streamlines: arrows of the displacement F(x) - x
            step = max(1, len(gx) // 15)
            sl = (slice(None, None, step), slice(None, None, step))
            norm = np.maximum(speed[sl], 1e-300)
            ax.quiver(X[sl], Y[sl], u[sl] / (np.ptp(gx) or 1) / norm, v[sl] / (np.ptp(gy) or 1) / norm,
                      np.log10(speed[sl] + 1e-12), cmap="Greys", angles="xy", pivot="mid",
                      scale=30, width=0.003, zorder=1)
        else:
            ax.streamplot(X, Y, u, v, color=np.log10(speed + 1e-12), cmap="Greys", density=1.1,
                          linewidth=0.7, arrowsize=0.8, zorder=1)
    zx = (fx - X) if data.get("is_map") else fx
    zy = (fy - Y) if data.get("is_map") else fy
    names = ((f"{data['x']}_next = {data['x']}", f"{data['y']}_next = {data['y']}") if data.get("is_map")
             else (f"d{data['x']}/dt = 0", f"d{data['y']}/dt = 0"))
    for z, color, name in ((zx, PALETTE["nullcline_x"], names[0]), (zy, PALETTE["nullcline_y"], names[1])):
        if np.all(np.isfinite(z)) and z.min() < 0 < z.max():
            ax.contour(X, Y, z, levels=[0.0], colors=[color], linewidths=1.8, zorder=3)
            ax.plot([], [], color=color, lw=1.8, label=name)
    for k, tr in enumerate(data.get("trajectories", [])):  # never a nullcline's colour
        style = dict(lw=1.0, alpha=0.9, zorder=4, color=TRAJECTORY_COLOURS[k % len(TRAJECTORY_COLOURS)])
        tx, ty = np.asarray(tr["x"], float) * sx, np.asarray(tr["y"], float) * sy
        label = "orbits" if data.get("is_map") else "trajectories (● start)"
        if data.get("is_map"):
            ax.plot(tx, ty, ".", ms=1.5, label=label if k == 0 else None,
                    **{kk: v for kk, v in style.items() if kk != "lw"})
        else:
            ax.plot(tx, ty, label=label if k == 0 else None, **style)
            if len(tx):
                ax.plot(tx[0], ty[0], "o", ms=3, color=style["color"], zorder=4)
    manifolds(data, ax)
    for fp in data.get("fixed_points", []):
        _fp_marker(ax, fp["x"] * sx, fp["y"] * sy, fp["type"])
    ax.set_xlim(gx.min(), gx.max())
    ax.set_ylim(gy.min(), gy.max())
    ax.set_xlabel(_label(data["x"], ux))
    ax.set_ylabel(_label(data["y"], uy))
    title = f"{data.get('model', '')} phase portrait"
    if data.get("slice"):
        title += f"\n(slice: {data['slice']})"
    ax.set_title(title, fontsize=10)
    dedup_legend(ax, fontsize=7, loc="best")
    return ax


def manifolds(data, ax=None):
    """Stable (teal, dashed) and unstable (magenta) manifolds of saddles, projected on the plot's axes.

    ``data["manifolds"]``: list of ``{"kind": "stable"|"unstable", "dimension", "orbits":
    [{"points": {name: [...]}, "end"}]}`` (the JSON of :meth:`biodyn.dynamics.Manifold.as_dict`);
    ``data["x"]``, ``data["y"]`` name the components drawn. 2-D manifolds are drawn as
    their orbit meshes, thinner.
    """
    ax = ax or new_axes((6.0, 5.0))
    colors = {"stable": "teal", "unstable": "m"}
    _, sx = display_unit(data.get("x_unit"))  # drawn in the axes' display units (mV, ...)
    _, sy = display_unit(data.get("y_unit"))
    for m in data.get("manifolds", []):
        color = colors.get(m["kind"], "k")
        lw, alpha = (2.2, 0.9) if m.get("dimension", 1) == 1 else (0.6, 0.6)
        for orb in m["orbits"]:
            pts = orb["points"]
            if data["x"] in pts and data.get("y") in pts:
                ax.plot(np.asarray(pts[data["x"]], float) * sx, np.asarray(pts[data["y"]], float) * sy,
                        color=color, lw=lw, alpha=alpha, zorder=3.5,
                        ls="-" if m["kind"] == "unstable" else (0, (4, 1.5)),
                        label=f"{m['kind']} manifold")
    return ax


def _phase_line(data, ax):
    ux, sx = display_unit(data.get("x_unit"))
    gx = np.asarray(data["grid_x"]) * sx
    f = np.asarray(data["fx"], float) * sx
    tlabel, rate = time_units(data.get("time_unit"))
    if data.get("is_map"):
        ax.plot(gx, f, "k", lw=1.5, label=f"{data['x']}_next")
        ax.plot(gx, gx, ":", color="gray", lw=1, label="identity")
        for k, tr in enumerate(data.get("trajectories", [])[:2]):  # cobweb: (x_k, x_k) -> (x_k, x_k+1)
            xs = np.asarray(tr["x"], float)[:40] * sx
            if len(xs) > 1:
                cx = np.repeat(xs[:-1], 2)
                cy = np.column_stack([xs[:-1], xs[1:]]).ravel()
                ax.plot(cx, cy, lw=0.7, alpha=0.8, color=TRAJECTORY_COLOURS[k % len(TRAJECTORY_COLOURS)],
                        label="cobweb" if k == 0 else None)
        ylabel = _label(f"{data['x']}_next", ux)
    else:
        ax.plot(gx, f, "k", lw=1.5, label=f"d{data['x']}/dt")
        ax.axhline(0, color="gray", lw=0.8)
        ylabel = f"d{data['x']}/dt" + (f" ({ux} × {rate})" if ux not in (None, "1") else f" ({rate})")
    for fp in data.get("fixed_points", []):
        _fp_marker(ax, fp["x"] * sx, fp["x"] * sx if data.get("is_map") else 0.0, fp["type"])
    ax.set_xlabel(_label(data["x"], ux))
    ax.set_ylabel(ylabel)
    ax.set_title(f"{data.get('model', '')} phase line", fontsize=10)
    dedup_legend(ax, fontsize=7, loc="best")
    return ax


def fixed_points_in_state_space(summary, ax=None, x=None, y=None):
    """Fixed points (from a ``fixed-points`` summary) on two state variables."""
    ax = ax or new_axes()
    fps = summary.get("fixed_points", [])
    names = list(fps[0]["state"]) if fps else []
    x = x or (names[0] if names else None)
    y = y or (names[1] if len(names) > 1 else None)
    units = summary.get("units", {})
    ux, sx = display_unit(units.get(x))
    uy, sy = display_unit(units.get(y))
    for k, fp in enumerate(fps):
        xv = fp["state"].get(x, 0.0) * sx
        yv = fp["state"].get(y, 0.0) * sy if y else 0.0
        _fp_marker(ax, xv, yv, fp["type"])
        if not y:
            ax.annotate(f"{xv:.4g}" + (f" {ux}" if ux not in (None, "1") else ""), (xv, yv),
                        textcoords="offset points", xytext=(0, 9), ha="center", fontsize=7)
    ax.set_xlabel(_label(x or "", ux))
    ax.set_ylabel(_label(y, uy) if y else "")
    if not y:
        ax.set_yticks([])
    excluded = len(summary.get("excluded_roots") or [])
    more = f", {excluded} root{'s' if excluded != 1 else ''} above threshold" if excluded else ""
    fires = "\nno stable state below threshold: the neuron fires" if summary.get("note") else ""
    ax.set_title(f"{summary.get('model', '')}: {len(fps)} fixed point{'s' if len(fps) != 1 else ''}"
                 f"{more}{fires}", fontsize=10)
    dedup_legend(ax, fontsize=7, loc="best")
    ax.margins(0.15)
    return ax


def eigenvalue_plane(summary, ax=None):
    """Eigenvalues (flows; imaginary axis) or multipliers (maps; unit circle) of every fixed
    point of a ``fixed-points`` summary, in the complex plane."""
    ax = ax or new_axes()
    is_map = summary.get("is_map", False)
    if is_map:
        th = np.linspace(0, 2 * np.pi, 200)
        ax.plot(np.cos(th), np.sin(th), color="gray", lw=0.8)
    else:
        ax.axvline(0, color="gray", lw=0.8)
    ax.axhline(0, color="gray", lw=0.5)
    for k, fp in enumerate(summary.get("fixed_points", [])):
        ev = np.asarray(fp["eigenvalues"], float).reshape(-1, 2)
        marker, _, _ = _STYLE.get(fp["type"], ("o", "k", True))
        ax.scatter(ev[:, 0], ev[:, 1], marker=marker, color=TRAJECTORY_COLOURS[k % len(TRAJECTORY_COLOURS)],
                   s=28, alpha=0.85, label=f"#{k} {fp['type']}")
    _, rate = time_units(summary.get("time_unit"))
    ax.set_xlabel("Re μ (multiplier)" if is_map else f"Re λ ({rate})")
    ax.set_ylabel("Im μ (multiplier)" if is_map else f"Im λ ({rate})")
    ax.set_title("multipliers" if is_map else "eigenvalues", fontsize=10)
    dedup_legend(ax, fontsize=7, loc="best")
    return ax


def bifurcation_diagram(summary, ax=None, variable=None):
    """Branches (solid: stable, dashed: unstable) and special points of a ``bifurcation``
    summary, against the parameter."""
    ax = ax or new_axes()
    branches = summary.get("branches", [])
    if variable is None:
        for b in branches:
            if b["states"]:
                variable = next(iter(b["states"]))
                break
    uv, sv = display_unit(summary.get("units", {}).get(variable))
    for k, b in enumerate(branches):
        v = np.asarray(b["values"], float)
        s = np.asarray(b["states"].get(variable, []), float) * sv
        st = np.asarray(b["stable"], bool)
        if not len(s):
            continue
        start = 0
        for j in range(1, len(st) + 1):  # runs of equal stability, joined at the changes
            if j == len(st) or st[j] != st[start]:
                seg = slice(start, min(j + 1, len(st)))
                stable = bool(st[start])
                ax.plot(v[seg], s[seg], "-" if stable else "--", color="k" if stable else "tab:gray",
                        lw=1.6, label="stable" if stable else "unstable")
                start = j
    for p in summary.get("points", []):
        marker, color = _POINT_STYLE.get(p["type"], ("o", "k"))
        ax.plot(p["value"], p["state"].get(variable, np.nan) * sv, marker, color=color, ms=9,
                label=p["type"], zorder=5)
        ax.annotate(f"{p['value']:.4g}", (p["value"], p["state"].get(variable, np.nan) * sv),
                    textcoords="offset points", xytext=(4, 4), fontsize=7, color=color)
    unit = summary.get("param_unit")
    ax.set_xlabel(_label(summary.get("param", ""), unit))
    ax.set_ylabel(_label(variable or "", uv))
    lo, hi = summary.get("range", [None, None])
    if lo is not None:
        ax.set_xlim(lo, hi)
    what = "equilibria and cycles" if summary.get("cycle_branches") else "equilibria"
    ax.set_title(f"{summary.get('model', '')}: {what} vs {summary.get('param', '')}", fontsize=10)
    dedup_legend(ax, fontsize=7, loc="best")
    return ax


def _wrap(text, width):
    import textwrap

    return "\n".join(textwrap.wrap(text, width))


def _break_axes(ax):
    """Split ``ax``'s slot into an upper and a lower panel sharing x, with break marks;
    ``None`` when ``ax`` is not in a grid."""
    if ax.get_subplotspec() is None:
        return None
    fig = ax.figure
    spec = ax.get_subplotspec().subgridspec(2, 1, hspace=0.08)
    ax.remove()
    top = fig.add_subplot(spec[0])
    bottom = fig.add_subplot(spec[1], sharex=top)
    top.spines["bottom"].set_visible(False)
    bottom.spines["top"].set_visible(False)
    top.tick_params(axis="x", bottom=False, labelbottom=False)
    d = dict(transform=top.transAxes, color="k", clip_on=False, lw=0.8)
    top.plot([-0.015, 0.015], [-0.03, 0.03], **d)  # the break marks
    top.plot([0.985, 1.015], [-0.03, 0.03], **d)
    d["transform"] = bottom.transAxes
    bottom.plot([-0.015, 0.015], [0.97, 1.03], **d)
    bottom.plot([0.985, 1.015], [0.97, 1.03], **d)
    return top, bottom


def lyapunov_running(summary, ax=None, n=6):
    """Running estimates of the first ``n`` exponents (a ``lyapunov`` summary's ``running``).

    With a large gap in the spectrum (see :func:`lyapunov_exponents`) the axis is broken in
    two panels, the leading exponents above; the upper panel is returned."""
    ax = ax or new_axes()
    run = summary.get("running", {})
    t = np.asarray(run.get("times", []), float)
    est = np.asarray([[np.nan if v is None else v for v in row] for row in run.get("estimates", [])], float)
    lam = np.asarray([np.nan if v is None else v for v in summary.get("exponents", [])], float)
    tlabel, rate = time_units(summary.get("time_unit"))
    cut = _split(lam) if len(lam) <= 40 else None
    panels = _break_axes(ax) if cut is not None and est.ndim == 2 and est.size else None
    shown = range(min(n, est.shape[1])) if est.ndim == 2 and est.size else range(0)
    if panels is None:
        panels = (ax,)
        groups = [list(shown)]
    else:
        groups = [[i for i in shown if i < len(lam) and lam[i] >= cut[0]],
                  [i for i in shown if i < len(lam) and lam[i] <= cut[1]]]
    for a, group in zip(panels, groups):
        for i in group:
            a.plot(t, est[:, i], lw=1.2, color=TRAJECTORY_COLOURS[i % len(TRAJECTORY_COLOURS)], label=f"λ{i + 1}")
        tail = est[len(t) // 5:, group] if group else np.zeros((0, 0))
        if len(panels) > 1 and tail.size and np.all(np.isfinite(tail)):
            lo, hi = float(tail.min()), float(tail.max())
            pad = 0.25 * max(hi - lo, 0.1 * max(abs(lo), abs(hi), 1e-3))
            a.set_ylim(lo - pad, hi + pad)
        if a.get_ylim()[0] <= 0 <= a.get_ylim()[1]:
            a.axhline(0, color="gray", lw=0.8)
        a.set_ylabel(f"estimate ({rate})")
        if group:
            a.legend(fontsize=7, loc="best", ncol=2 if len(group) > 3 else 1)
    panels[-1].set_xlabel(tlabel)
    panels[0].set_title(f"{summary.get('model', '')}: running estimates ({summary.get('method', '')})"
                        + ("\n(axis broken between the exponent groups)" if len(panels) > 1 else ""),
                        fontsize=10)
    return panels[0]


def _split(lam):
    """Where to break the spectrum's axis: the index after the largest gap between
    consecutive exponents when that gap is more than half the range and the exponents
    above it would be squashed (their spread plus their largest size is under a sixth of the
    range: Lorenz's 0.91, 0 against −14.6, not Hénon's 0.42 against −1.62); else ``None``."""
    fin = np.sort(lam[np.isfinite(lam)])[::-1]
    if len(fin) < 2:
        return None
    gaps = -np.diff(fin)
    k = int(np.argmax(gaps))
    span = fin[0] - fin[-1]
    top = fin[: k + 1]
    if span > 0 and gaps[k] > 0.5 * span and (np.ptp(top) + max(abs(top).max(), 1e-12)) < span / 6:
        return fin[k], fin[k + 1]  # lowest of the top group, highest of the bottom group
    return None


def lyapunov_exponents(summary, ax=None):
    """The spectrum :math:`\\lambda_i` against ``i`` with standard errors, Kaplan–Yorke
    dimension and entropy rate in the title.

    The index axis has integer ticks. When a large gap separates the leading exponents
    from strongly negative ones (Lorenz: 0.91, 0, −14.6), the axis is broken in two
    panels (the axes' slot is split; the upper panel is returned) so that the positive
    exponents are not squashed against zero. Rates are per the model's time unit
    (:func:`time_units`: ``1/τ`` for a dimensionless system).
    """
    from matplotlib.ticker import MaxNLocator

    ax = ax or new_axes()
    lam = np.asarray([np.nan if v is None else v for v in summary.get("exponents", [])], float)
    se = np.asarray([np.nan if v is None else v for v in summary.get("standard_error", [])], float)
    if se.shape != lam.shape:
        se = np.full(lam.shape, np.nan)
    i = np.arange(1, len(lam) + 1)
    _, rate = time_units(summary.get("time_unit"))
    cut = _split(lam) if len(lam) <= 40 else None
    panels = [ax]
    broken = _break_axes(ax) if cut is not None else None
    if broken is not None:
        top, bottom = broken
        panels = [top, bottom]
        hi, lo = cut
        for a, sel in ((top, lam >= hi), (bottom, lam <= lo)):
            vals = lam[sel]
            err = np.nan_to_num(se[sel])
            a.errorbar(i[sel], vals, yerr=err, fmt="o", color="k", ms=4, capsize=2)
            pad = max(0.15 * (np.ptp(vals) + 2 * err.max()), 0.1 * max(abs(vals).max(), 1e-3))
            a.set_ylim(vals.min() - err.max() - pad, vals.max() + err.max() + pad)
            if a.get_ylim()[0] <= 0 <= a.get_ylim()[1]:
                a.axhline(0, color="gray", lw=0.8)
            a.set_ylabel(f"$\\lambda_i$ ({rate})")
        ax = top
    elif len(lam) <= 40:
        ax.errorbar(i, lam, yerr=np.nan_to_num(se), fmt="o", color="k", ms=4, capsize=2)
        ax.axhline(0, color="gray", lw=0.8)
        ax.set_ylabel(f"$\\lambda_i$ ({rate})")
    else:
        ax.plot(i, lam, ".", color="k", ms=3)
        ax.fill_between(i, lam - np.nan_to_num(se), lam + np.nan_to_num(se), color="gray", alpha=0.3)
        ax.axhline(0, color="gray", lw=0.8)
        ax.set_ylabel(f"$\\lambda_i$ ({rate})")
    low = panels[-1]
    low.set_xlabel("index i")
    low.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=min(10, max(len(lam), 1))))
    low.set_xlim(0.5, len(lam) + 0.5)
    missing = [k + 1 for k, v in enumerate(summary.get("exponents", [])) if v is None]
    if missing:
        note = "; ".join(summary.get("notes", [])) or "not finite"
        ax.text(0.02, 0.98, f"λ{missing[0]} = −∞ or undefined:\n" + _wrap(note, 70), transform=ax.transAxes,
                va="top", ha="left", fontsize=7)
    ky = summary.get("kaplan_yorke")
    h = summary.get("entropy_rate")
    bits = []
    if ky is not None:
        bits.append(f"D_KY = {ky:.3g}")
    if h is not None:
        bits.append(f"h = {h:.3g} {rate}")
    ax.set_title(wrap_to_axes("Lyapunov exponents" + (" (" + ", ".join(bits) + ")" if bits else ""), ax, 10)
                 + ("\n(axis broken between the exponent groups)" if len(panels) > 1 else ""), fontsize=10)
    return ax
