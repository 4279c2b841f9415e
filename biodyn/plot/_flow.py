"""Figures of the flow analysis (:mod:`biodyn.flow`): the averaged field of the weights with the
potential of its gradient part, simulated trajectories and stable states; an objective along the
simulated trajectories. Every function draws from plain data (the dicts
:func:`biodyn.jobs.analyze_flow` builds, JSON-friendly) and returns an ``Axes``."""

from __future__ import annotations

import numpy as np

from ._base import PALETTE, TRAJECTORY_COLOURS, dedup_legend, new_axes, wrap_to_axes
from ._base import footer as put_footer

__all__ = ["flow_portrait", "flow_objective", "flow_figure"]


def _state_marker(ax, x, y, stable, boundary, label=True):
    color = PALETTE["stable"] if stable else PALETTE["unstable"]
    marker = "s" if boundary else "o"
    ax.scatter([x], [y], s=60, marker=marker, zorder=6, facecolors=color if stable else "white",
               edgecolors=color, linewidths=1.5,
               label=(("stable" if stable else "unstable") + (" (on the bounds)" if boundary else ""))
               if label else None)


def flow_portrait(data, ax=None):
    """The averaged field in the plane of two weights.

    Parameters
    ----------
    data : dict
        ``names`` (two axis names), ``x``, ``y`` (1-D grids), ``fx``, ``fy`` (the field on the
        grid, shape ``(len(y), len(x))``), ``potential`` (the gradient part's potential on the
        grid, or ``None``), ``trajectories`` (list of ``{"w": [[w0, w1], ...]}``),
        ``states`` (list of ``{"w", "stable", "boundary"}``), ``title``, ``slice`` (text: where
        the other weights are held), ``reference`` (optional list of ``[w0, w1]`` to mark, e.g.
        the unit circle for Oja: ``circle = true``), ``measured`` (optional
        ``{"points", "f"}``: a measured field drawn as arrows). A one-dimensional field has
        ``y = None`` and ``f`` on ``x``.
    """
    ax = ax or new_axes((5.6, 4.8))
    x = np.asarray(data["x"], dtype=float)
    if data.get("y") is None:
        f = np.asarray(data["f"], dtype=float)
        ax.plot(x, f, color=PALETTE["model"], lw=1.5, label="f(w)")
        ax.axhline(0, color="0.7", lw=0.8)
        if data.get("potential") is not None:
            ax2 = ax.twinx()
            ax2.plot(x, data["potential"], color=PALETTE["potential"], lw=1.0, ls="--")
            ax2.set_ylabel("potential of the gradient part", color=PALETTE["potential"])
        for s in data.get("states", []):
            _state_marker(ax, s["w"][0], 0.0, s["stable"], bool(s.get("boundary")))
        ax.set_xlabel(data["names"][0])
        ax.set_ylabel("dw/dt (1/s)")
    else:
        y = np.asarray(data["y"], dtype=float)
        fx, fy = np.asarray(data["fx"], dtype=float), np.asarray(data["fy"], dtype=float)
        speed = np.hypot(fx, fy)
        if data.get("potential") is not None:
            pot = np.asarray(data["potential"], dtype=float)
            levels = np.unique(np.quantile(pot[np.isfinite(pot)], np.linspace(0.02, 0.98, 15)))
            if levels.size > 1:
                ax.contour(x, y, pot, levels=levels, colors=PALETTE["potential"], linewidths=0.6, alpha=0.9,
                           linestyles="solid")
                ax.plot([], [], color=PALETTE["potential"], lw=0.6, label="potential of the gradient part")
        lw = 0.4 + 1.6 * speed / max(float(speed.max()), 1e-300)
        ax.streamplot(x, y, fx, fy, color="0.45", linewidth=lw, density=1.1, arrowsize=0.8)
        if data.get("measured"):
            mp = np.asarray(data["measured"]["points"], dtype=float)
            mf = np.asarray(data["measured"]["f"], dtype=float)
            ax.quiver(mp[:, 0], mp[:, 1], mf[:, 0], mf[:, 1], color="tab:purple", width=0.004,
                      alpha=0.8, label="measured field (Brian2)", zorder=4)
        if data.get("circle"):
            th = np.linspace(0, 2 * np.pi, 200)
            ax.plot(np.cos(th), np.sin(th), color=PALETTE["reference"], lw=1.0, ls=":", label="unit circle")
        for k, tr in enumerate(data.get("trajectories", [])):
            w = np.asarray(tr["w"], dtype=float)
            if w.ndim != 2 or len(w) == 0:
                continue
            colour = TRAJECTORY_COLOURS[k % len(TRAJECTORY_COLOURS)]  # as in flow_objective
            ax.plot(w[:, 0], w[:, 1], color=colour, lw=1.3, alpha=0.9,
                    label="Brian2 simulations (▲ start, ★ end)" if k == 0 else None)
            ax.plot(w[0, 0], w[0, 1], "^", color=colour, ms=5)
            ax.plot(w[-1, 0], w[-1, 1], "*", color=colour, ms=9, mec="k", mew=0.5)
        for s in data.get("states", []):
            _state_marker(ax, s["w"][0], s["w"][1], s["stable"], bool(s.get("boundary")))
            if s.get("probability") is not None:   # ends of the flow from the initial weights
                sx = -1 if s["w"][0] > 0.5 * (x[0] + x[-1]) else 1     # label towards the inside
                sy = -1 if s["w"][1] > 0.5 * (y[0] + y[-1]) else 1
                ax.annotate(f"{100 * s['probability']:.0f} %", (s["w"][0], s["w"][1]),
                            xytext=(8 * sx, 8 * sy), textcoords="offset points", fontsize=8, color="k",
                            ha="left" if sx > 0 else "right", va="bottom" if sy > 0 else "top", zorder=10,
                            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "0.6", "alpha": 0.85})
        ax.set_xlim(x[0], x[-1])
        ax.set_ylim(y[0], y[-1])
        ax.set_xlabel(data["names"][0])
        ax.set_ylabel(data["names"][1])
    title = data.get("title")
    if title:
        ax.set_title(wrap_to_axes(title, ax, 9), fontsize=9)
    if data.get("slice"):
        ax.text(0.01, 0.01, data["slice"], transform=ax.transAxes, fontsize=6, color="0.4")
    dedup_legend(ax, fontsize=6, loc="upper right", framealpha=0.8)
    return ax


def _running_median(v, k):
    pad = np.concatenate([np.full(k // 2, v[0]), v, np.full(k // 2, v[-1])])
    return np.median(np.lib.stride_tricks.sliding_window_view(pad, k), axis=1)


def flow_objective(data, ax=None):
    """An objective (or the gradient part's potential) along simulated trajectories.

    ``data``: ``t`` (times, s), ``values`` (list of arrays, one per trajectory), ``label``,
    ``monotone`` (bool or None: the verdict of :func:`biodyn.flow.monotone`), ``drawdown``
    (its worst relative drop, optional), ``text`` (the verdict lines shown in the panel).

    The simulation is noisy, so :func:`biodyn.flow.monotone` tests the *trend*: the running
    median over a tenth of each trajectory may drop below its running maximum by at most 10 %
    of the range it covers. The panel draws the raw values thin and that running median thick,
    and its title says what was tested and the result — never "monotone" over a curve that
    visibly dips.
    """
    ax = ax or new_axes((5.0, 4.0))
    t = data.get("t")
    for k, v in enumerate(data.get("values", [])):
        v = np.asarray(v, dtype=float)
        tt = np.asarray(t, dtype=float)[: len(v)] if t is not None else np.arange(len(v))
        colour = TRAJECTORY_COLOURS[k % len(TRAJECTORY_COLOURS)]
        ax.plot(tt, v, color=colour, lw=0.6, alpha=0.45)
        ok = np.isfinite(v)
        kk = max(3, int(ok.sum()) // 10) | 1
        if ok.sum() >= kk:
            ax.plot(tt[ok], _running_median(v[ok], kk), color=colour, lw=1.6,
                    label="running median (1/10 of the run)" if k == 0 else None)
    ax.set_xlabel("time (s)")
    ax.set_ylabel(data.get("label", "objective"))
    mono = data.get("monotone")
    if mono is not None:
        draw = data.get("drawdown")
        how = (f"largest drop {100 * draw:.2g} % of its range" if draw is not None else "largest drop")
        ax.set_title(f"trend along the noisy Brian2 runs: {'rises' if mono else 'does NOT rise'}\n"
                     f"(running median: {how}; at most 10 % allowed)", fontsize=9)
    elif data.get("values"):
        ax.set_title("along the Brian2 runs (no objective to test)", fontsize=9)
    if data.get("text"):
        ax.text(0.98, 0.02, data["text"], transform=ax.transAxes, fontsize=6.5, va="bottom",
                ha="right", family="monospace",
                bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "0.8"})
    if data.get("note"):
        ax.text(0.02, 0.98, data["note"], transform=ax.transAxes, fontsize=6, va="top", color="0.4")
    if data.get("values"):
        ax.legend(fontsize=6, loc="upper right", frameon=False)
    return ax


def flow_figure(portrait, objective, footer=None):
    """Both panels side by side; returns the portrait's ``Axes``. ``footer``: the provenance
    line, under everything (:func:`biodyn.plot.footer`)."""
    ax = new_axes((11.5, 5.0))
    fig = ax.figure
    ax.remove()
    left, right = fig.subplots(1, 2)
    flow_portrait(portrait, ax=left)
    flow_objective(objective, ax=right)
    if footer:
        put_footer(fig, footer)
    return left
