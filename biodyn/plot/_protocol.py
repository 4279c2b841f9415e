"""Protocol figures: the model's value per condition against the published data."""

from __future__ import annotations

import math

import numpy as np

from ._base import new_axes

__all__ = ["protocol_summary", "protocol_extra", "fit_summary"]


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
        title += f"\nχ = {chi:.2f} over n = {summary['score']['n']} conditions with data"
    else:
        title += "\nno published data to score"
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, frameon=False)
    ax.text(0.99, 0.01, _provenance(summary), transform=ax.transAxes, ha="right",
            va="bottom", fontsize=6, color="0.5")
    return ax


def _short(text):
    """``'0.006502356289144673'`` -> ``'0.006502'``, ``'16.80000001 ms'`` -> ``'16.8 ms'``."""
    head, _, unit = str(text).partition(" ")
    try:
        return f"{float(head):.4g}" + (f" {unit}" if unit else "")
    except ValueError:
        return str(text)


def fit_summary(doc, ax=None):
    """Draw a fit (the JSON of ``biodyn fit``): per condition with data, the published
    mean ± SEM, the model at the start values and at the fitted values.

    Conditions are drawn in the protocol's order on one axis (any protocol, whatever its
    labels), each tick naming its labels.
    """
    if ax is None:
        ax = new_axes((max(6.0, 0.42 * len(doc["after"]["conditions"]) + 2.5), 4.2))
    fit = doc["fit"]
    before, after = doc["before"]["conditions"], doc["after"]["conditions"]
    keep = [k for k, c in enumerate(after) if c.get("data") is not None]
    xs = np.arange(len(keep), dtype=float)
    ax.errorbar(xs, [after[k]["data"] for k in keep], yerr=[after[k]["error"] or 0 for k in keep],
                fmt="s", color="k", mfc="white", ms=6, capsize=3, label="data", zorder=3)
    ax.plot(xs - 0.12, [before[k]["value"] for k in keep], "o", color="0.6", mfc="none", ms=6,
            label=f"start (χ = {fit['chi_before']:.2f})")
    ax.plot(xs + 0.12, [after[k]["value"] for k in keep], "o", color="C3", ms=6,
            label=f"fitted (χ = {fit['chi_after']:.2f})")
    units = doc["after"].get("units", {})
    names = list(after[keep[0]]["labels"]) if keep else []
    ax.set_xticks(xs)
    ax.set_xticklabels(["\n".join(f"{after[k]['labels'][n]:g}" for n in names) for k in keep], fontsize=7)
    ax.set_xlabel(" / ".join(_fmt_label(n, units.get(n)) for n in names), fontsize=8)
    ax.set_ylabel("value")
    ax.axhline(0, color="0.8", lw=0.8, zorder=0)
    shown = ", ".join(f"{n} {_short(fit['start_values'][n])} → {_short(fit['values'][n])}"
                      for n in fit["free"])
    ax.set_title(f"{fit['protocol']}: {fit['model']} fitted over {fit['n']} conditions\n{shown}",
                 fontsize=9)
    ax.legend(fontsize=8, frameon=False)
    ax.text(0.99, 0.01, fit.get("footer") or f"{fit['evaluations']} replays, {len(fit['starts'])} "
            f"start(s), seed {fit['seed']}, {fit['target']}, biodyn {fit['versions'].get('biodyn', '?')}",
            transform=ax.transAxes, ha="right", va="bottom", fontsize=6, color="0.5")
    return ax


# --------------------------------------------------------------------------
# Figures of protocols that are more than a value per condition
# --------------------------------------------------------------------------


def _title(summary, figure):
    chi = summary.get("score", {}).get("chi")
    title = figure.get("title", summary["protocol"])
    if chi is not None and not math.isnan(chi):
        title += f"\nχ = {chi:.2f} over n = {summary['score']['n']} conditions with data"
    return title


def _provenance(summary):
    """The grey line: the text the job wrote (``summary["footer"]``), else the short record."""
    return summary.get("footer") or (f"{summary['model']}/{summary['parameter_set']}, seed "
                                     f"{summary['seed']}, {summary['target']}, dt {summary['dt']}")


def _footer(fig, summary):
    fig.text(0.99, 0.005, _provenance(summary), ha="right", va="bottom", fontsize=6,
             color="0.5")


def _panels(n, width=4.2, height=3.6):
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "pdf", "svg", "cairo"):
        try:
            matplotlib.use("Agg")
        except Exception:  # pragma: no cover
            pass
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, n, figsize=(width * n, height), layout="constrained")
    return fig, np.atleast_1d(axes)


def protocol_extra(kind, summary, extra=None, figure=None, curves=None):
    """Draw a protocol result of a given ``figure.kind``; returns the first ``Axes``.

    Kinds: ``patterns`` (value per spike pattern, triplets as bars and
    quadruplets against T), ``weight_distribution`` (final weights, output rate
    against input rate, the correlated group's weights against time),
    ``weight_trajectories`` (weights against time with the reference
    direction), ``voltage_traces`` (membrane potential per condition). ``extra``
    holds the arrays (``ProtocolResult.extra``); drawings that need arrays that
    are absent fall back to the value per condition.
    """
    figure = dict(figure or {})
    extra = dict(extra or {})
    draw = _KINDS.get(kind)
    if draw is None:
        raise ValueError(f"unknown figure kind {kind!r} (known: {', '.join(sorted(_KINDS))})")
    return draw(summary, extra, figure, curves or [])


def _draw_patterns(summary, extra, figure, curves):
    conds = summary["conditions"]
    group = figure.get("group", "pattern")
    quad = [c for c in conds if c["labels"].get(group) == 2]
    fig, axes = _panels(2 if quad else 1, width=5.0)
    ax = axes[0]
    trip = [c for c in conds if c["labels"].get(group) != 2]
    xs = np.arange(len(trip))
    colors = ["C0" if c["labels"].get(group) == 0 else "C3" for c in trip]
    ax.bar(xs, [c["value"] for c in trip], color=colors, alpha=0.75)
    ax.bar([], [], color="C0", alpha=0.75, label="model, pre-post-pre")
    ax.bar([], [], color="C3", alpha=0.75, label="model, post-pre-post")
    data = [(x, c["data"], c["error"]) for x, c in zip(xs, trip) if c.get("data") is not None]
    if data:
        dx, dy, de = map(np.array, zip(*data))
        ax.errorbar(dx, dy, yerr=de, fmt="s", color="k", mfc="white", ms=6, capsize=3, label="data")
    ax.set_xticks(xs)
    ax.set_xticklabels([f"({c['labels'].get('dt1', 0):g}, {c['labels'].get('dt2', 0):g})"
                        for c in trip], fontsize=7)
    ax.axhline(0, color="0.8", lw=0.8, zorder=0)
    ax.set_ylabel(figure.get("ylabel", "value"))
    ax.set_xlabel("triplet (Δt1, Δt2) in ms")
    ax.legend(fontsize=7, frameon=False)
    ax.set_title(_title(summary, figure), fontsize=9)
    if quad:
        ax2 = axes[1]
        quad = sorted(quad, key=lambda c: c["labels"]["dt1"])
        T = np.array([c["labels"]["dt1"] for c in quad])
        v = np.array([c["value"] for c in quad])
        for sel in (T < 0, T > 0):
            ax2.plot(T[sel], v[sel], "-o", color="C2", ms=4)
        ax2.axhline(0, color="0.8", lw=0.8, zorder=0)
        ax2.set_xlabel("quadruplet interval T (ms)")
        ax2.set_ylabel(figure.get("ylabel", "value"))
        ax2.set_title("quadruplets (no means with SEM published: not scored)", fontsize=8)
    _footer(fig, summary)
    return ax


def _draw_weight_distribution(summary, extra, figure, curves):
    conds = summary["conditions"]
    units = summary.get("units", {})
    fig, axes = _panels(3)
    ax = axes[0]
    w = extra.get("w_final")
    lo, hi = extra.get("bounds", (0.0, 1.0))
    if w is not None:
        bins = np.linspace(lo, hi, 26)
        for k, c in enumerate(conds):
            tag = ", ".join(f"{n} {v:g}{'' if units.get(n) in ('1', None) else ' ' + units[n]}"
                            for n, v in c["labels"].items())
            ax.hist(w[k], bins=bins, histtype="step", lw=1.5, color=f"C{k}", label=tag)
        ax.set_xlabel("final weight (units of g_max)")
        ax.set_ylabel("synapses")
        ax.legend(fontsize=6, frameon=False)
        ax.set_title("final weights: bimodal", fontsize=9)
    ax = axes[1]
    corr = np.array([c["labels"].get("correlation", 0) for c in conds])
    rates_in = np.array([c["labels"].get("input_rate", np.nan) for c in conds], dtype=float)
    out = extra.get("output_rates")
    values = np.array([c["value"] for c in conds]) if out is None else np.asarray(out)
    sel = corr == 0
    order = np.argsort(rates_in[sel])
    ax.plot(rates_in[sel][order], values[sel][order], "-o", color="C0", label="independent inputs")
    if np.any(~sel):
        ax.plot(rates_in[~sel], values[~sel], "s", color="C3", label="with a correlated group")
    ax.set_xlabel(figure.get("xlabel", "input rate (Hz)"))
    ax.set_ylabel(figure.get("ylabel", "output rate (Hz)"))
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=7, frameon=False)
    ax.set_title("output rate against input rate", fontsize=9)
    ax = axes[2]
    t = extra.get("t")
    if t is not None and "correlated_weight_t" in extra:
        for k in np.nonzero(~sel)[0]:
            ax.plot(t, extra["correlated_weight_t"][k], color="C3", label=f"correlated (c = {corr[k]:g})")
            ax.plot(t, extra["uncorrelated_weight_t"][k], color="C0", label="independent")
        ax.set_xlabel("time (s)")
        ax.set_ylabel("mean weight (units of g_max)")
        ax.legend(fontsize=7, frameon=False)
        ax.set_title("the correlated group wins", fontsize=9)
    elif t is not None and "mean_weight_t" in extra:
        for k in range(len(conds)):
            ax.plot(t, extra["mean_weight_t"][k], color=f"C{k}")
        ax.set_xlabel("time (s)")
        ax.set_ylabel("mean weight")
    fig.suptitle(_title(summary, figure), fontsize=10)
    _footer(fig, summary)
    return axes[0]


def _draw_weight_trajectories(summary, extra, figure, curves):
    conds = summary["conditions"]
    fig, axes = _panels(2)
    ax = axes[0]
    t, w = extra.get("t"), extra.get("w_t")  # w_t: (conditions, inputs, times)
    if t is not None and w is not None:
        for k in range(w.shape[0]):
            for j in range(w.shape[1]):
                ax.plot(t, w[k, j], color=f"C{j % 10}", lw=1.0, alpha=0.8,
                        label=f"w{j}" if k == 0 else None)
            ref = extra.get("reference")
            if ref is not None:
                for j, r in enumerate(np.atleast_2d(ref)[k]):
                    ax.axhline(r, color=f"C{j % 10}", ls="--", lw=0.8)
        ax.set_xlabel("time (s)")
        ax.set_ylabel("weight")
        ax.legend(fontsize=6, frameon=False, ncol=2)
        ax.set_title(figure.get("trajectory_title", "weight trajectories (dashed: reference)"), fontsize=9)
    protocol_summary(summary, ax=axes[1], figure=figure, curves=curves)  # with its footer
    return axes[0]


def _draw_voltage_traces(summary, extra, figure, curves):
    conds = summary["conditions"]
    t, v = extra.get("t"), extra.get("v")  # v: (conditions, times) in mV
    names = extra.get("names") or [str(c["labels"]) for c in conds]
    n = len(conds)
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(n, 1, figsize=(7.0, 1.2 * n + 0.8), sharex=True, layout="constrained",
                             squeeze=False)
    axes = axes[:, 0]
    for k, ax in enumerate(axes):
        if t is not None and v is not None:
            ax.plot(t * 1e3, v[k], color="k", lw=0.7)
        ax.set_ylabel("mV", fontsize=7)
        ax.text(0.01, 0.85, f"{names[k]}: {conds[k]['value']:.1f} Hz", transform=ax.transAxes,
                fontsize=7, va="top")
        ax.tick_params(labelsize=6)
    axes[-1].set_xlabel("time (ms)")
    axes[0].set_title(_title(summary, figure), fontsize=9)
    _footer(fig, summary)
    return axes[0]


_KINDS = {
    "patterns": _draw_patterns,
    "weight_distribution": _draw_weight_distribution,
    "weight_trajectories": _draw_weight_trajectories,
    "voltage_traces": _draw_voltage_traces,
}
