"""Figures of dynamical-systems analyses: phase portraits, fixed points, bifurcation diagrams,
Lyapunov spectra. Every function takes plain data (the dicts the analyses write as JSON, or
arrays) and an ``Axes`` (or makes one), and returns the ``Axes``."""

from __future__ import annotations

import numpy as np

from ._base import dedup_legend, new_axes

__all__ = ["phase_portrait", "fixed_points_in_state_space", "eigenvalue_plane",
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
                "period_doubling": ("d", "tab:orange"), "neimark_sacker": ("h", "tab:cyan")}


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
    gx, gy = np.asarray(data["grid_x"]), np.asarray(data["grid_y"])
    fx, fy = np.asarray(data["fx"], float), np.asarray(data["fy"], float)
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
    for z, color, name in ((zx, "tab:red", names[0]), (zy, "tab:blue", names[1])):
        if np.all(np.isfinite(z)) and z.min() < 0 < z.max():
            ax.contour(X, Y, z, levels=[0.0], colors=[color], linewidths=1.8, zorder=3)
            ax.plot([], [], color=color, lw=1.8, label=name)
    for k, tr in enumerate(data.get("trajectories", [])):
        style = dict(lw=1.0, alpha=0.9, zorder=4, color=f"C{k % 10}")
        if data.get("is_map"):
            ax.plot(tr["x"], tr["y"], ".", ms=1.5, **{kk: v for kk, v in style.items() if kk != "lw"})
        else:
            ax.plot(tr["x"], tr["y"], **style)
            if len(tr["x"]):
                ax.plot(tr["x"][0], tr["y"][0], "o", ms=3, color=style["color"], zorder=4)
    manifolds(data, ax)
    for fp in data.get("fixed_points", []):
        _fp_marker(ax, fp["x"], fp["y"], fp["type"])
    ax.set_xlim(gx.min(), gx.max())
    ax.set_ylim(gy.min(), gy.max())
    ax.set_xlabel(_label(data["x"], data.get("x_unit")))
    ax.set_ylabel(_label(data["y"], data.get("y_unit")))
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
    for m in data.get("manifolds", []):
        color = colors.get(m["kind"], "k")
        lw, alpha = (2.2, 0.9) if m.get("dimension", 1) == 1 else (0.6, 0.6)
        for orb in m["orbits"]:
            pts = orb["points"]
            if data["x"] in pts and data.get("y") in pts:
                ax.plot(pts[data["x"]], pts[data["y"]], color=color, lw=lw, alpha=alpha, zorder=3.5,
                        ls="-" if m["kind"] == "unstable" else (0, (4, 1.5)),
                        label=f"{m['kind']} manifold")
    return ax


def _phase_line(data, ax):
    gx = np.asarray(data["grid_x"])
    f = np.asarray(data["fx"], float)
    if data.get("is_map"):
        ax.plot(gx, f, "k", lw=1.5, label=f"{data['x']}_next")
        ax.plot(gx, gx, ":", color="gray", lw=1, label="identity")
        for k, tr in enumerate(data.get("trajectories", [])[:2]):  # cobweb: (x_k, x_k) -> (x_k, x_k+1)
            xs = np.asarray(tr["x"], float)[:40]
            if len(xs) > 1:
                cx = np.repeat(xs[:-1], 2)
                cy = np.column_stack([xs[:-1], xs[1:]]).ravel()
                ax.plot(cx, cy, lw=0.7, alpha=0.8, color=f"C{k}")
        ylabel = _label(f"{data['x']}_next", data.get("x_unit"))
    else:
        ax.plot(gx, f, "k", lw=1.5, label=f"d{data['x']}/dt")
        ax.axhline(0, color="gray", lw=0.8)
        ylabel = f"d{data['x']}/dt" + (f" ({data['x_unit']} per {data.get('time_unit', 'time unit')})"
                                       if data.get("x_unit") not in (None, "1") else
                                       f" (per {data.get('time_unit', 'time unit')})")
    for fp in data.get("fixed_points", []):
        _fp_marker(ax, fp["x"], fp["x"] if data.get("is_map") else 0.0, fp["type"])
    ax.set_xlabel(_label(data["x"], data.get("x_unit")))
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
    for k, fp in enumerate(fps):
        xv = fp["state"].get(x, 0.0)
        yv = fp["state"].get(y, 0.0) if y else 0.0
        _fp_marker(ax, xv, yv, fp["type"])
    ax.set_xlabel(_label(x or "", units.get(x)))
    ax.set_ylabel(_label(y, units.get(y)) if y else "")
    if not y:
        ax.set_yticks([])
    ax.set_title(f"{summary.get('model', '')}: {len(fps)} fixed point{'s' if len(fps) != 1 else ''}",
                 fontsize=10)
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
        ax.scatter(ev[:, 0], ev[:, 1], marker=marker, color=f"C{k % 10}", s=28, alpha=0.85,
                   label=f"#{k} {fp['type']}")
    unit = summary.get("time_unit")
    ax.set_xlabel("Re μ" if is_map else f"Re λ (per {unit})" if unit else "Re λ")
    ax.set_ylabel("Im μ" if is_map else "Im λ")
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
    for k, b in enumerate(branches):
        v = np.asarray(b["values"], float)
        s = np.asarray(b["states"].get(variable, []), float)
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
        ax.plot(p["value"], p["state"].get(variable, np.nan), marker, color=color, ms=9,
                label=p["type"], zorder=5)
        ax.annotate(f"{p['value']:.4g}", (p["value"], p["state"].get(variable, np.nan)),
                    textcoords="offset points", xytext=(4, 4), fontsize=7, color=color)
    unit = summary.get("param_unit")
    ax.set_xlabel(_label(summary.get("param", ""), unit))
    ax.set_ylabel(_label(variable or "", summary.get("units", {}).get(variable)))
    lo, hi = summary.get("range", [None, None])
    if lo is not None:
        ax.set_xlim(lo, hi)
    ax.set_title(f"{summary.get('model', '')}: equilibria vs {summary.get('param', '')}", fontsize=10)
    dedup_legend(ax, fontsize=7, loc="best")
    return ax


def _wrap(text, width):
    import textwrap

    return "\n".join(textwrap.wrap(text, width))


def lyapunov_running(summary, ax=None, n=6):
    """Running estimates of the first ``n`` exponents (a ``lyapunov`` summary's ``running``)."""
    ax = ax or new_axes()
    run = summary.get("running", {})
    t = np.asarray(run.get("times", []), float)
    est = np.asarray(run.get("estimates", []), float)
    if est.ndim == 2 and est.size:
        for i in range(min(n, est.shape[1])):
            ax.plot(t, est[:, i], lw=1.2, label=f"λ{i + 1}")
    ax.axhline(0, color="gray", lw=0.8)
    unit = summary.get("time_unit", "")
    ax.set_xlabel(f"time ({unit})" if unit not in ("iteration", "step") else f"{unit}s")
    ax.set_ylabel(f"running estimate (per {unit})")
    ax.set_title(f"{summary.get('model', '')}: convergence ({summary.get('method', '')})", fontsize=10)
    if est.size:
        ax.legend(fontsize=7, loc="best")
    return ax


def lyapunov_exponents(summary, ax=None):
    """The spectrum :math:`\\lambda_i` against ``i`` with standard errors, Kaplan–Yorke
    dimension and entropy rate in the title."""
    ax = ax or new_axes()
    lam = np.asarray([np.nan if v is None else v for v in summary.get("exponents", [])], float)
    se = np.asarray([np.nan if v is None else v for v in summary.get("standard_error", [])], float)
    i = np.arange(1, len(lam) + 1)
    if len(lam) <= 40:
        ax.errorbar(i, lam, yerr=np.nan_to_num(se), fmt="o", color="k", ms=4, capsize=2)
    else:
        ax.plot(i, lam, ".", color="k", ms=3)
        ax.fill_between(i, lam - np.nan_to_num(se), lam + np.nan_to_num(se), color="gray", alpha=0.3)
    ax.axhline(0, color="gray", lw=0.8)
    unit = summary.get("time_unit", "")
    missing = [k + 1 for k, v in enumerate(summary.get("exponents", [])) if v is None]
    if missing:
        note = "; ".join(summary.get("notes", [])) or "not finite"
        ax.text(0.02, 0.98, f"λ{missing[0]} = −∞ or undefined:\n" + _wrap(note, 70), transform=ax.transAxes,
                va="top", ha="left", fontsize=7)
    ax.set_xlabel("i")
    ax.set_ylabel(f"λ_i (per {unit})")
    ky = summary.get("kaplan_yorke")
    h = summary.get("entropy_rate")
    bits = []
    if ky is not None:
        bits.append(f"D_KY = {ky:.3g}")
    if h is not None:
        bits.append(f"h = {h:.3g}/{unit}")
    ax.set_title("Lyapunov exponents" + (" (" + ", ".join(bits) + ")" if bits else ""), fontsize=10)
    return ax
