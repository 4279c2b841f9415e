"""Protocol figures: the model's value per condition against the published data."""

from __future__ import annotations

import math

import numpy as np

from ._base import PALETTE, TRAJECTORY_COLOURS, group_colour, new_axes, wrap_to_axes
from ._base import footer as put_footer

__all__ = ["protocol_summary", "protocol_extra", "fit_summary", "provenance"]


def _fmt_label(name, unit):
    return name if unit in ("1", "", None) else f"{name} ({unit})"


def provenance(summary):
    """The provenance line of a protocol result: the text the job wrote (``summary["footer"]``:
    model/set, overrides, variants, stimulus changes, seed, target, dt, versions), else the
    short record (model/set, seed, target, dt)."""
    return summary.get("footer") or (f"{summary['model']}/{summary['parameter_set']}, seed "
                                     f"{summary['seed']}, {summary['target']}, dt {summary['dt']}")


def _is_timing(name):
    return name is not None and ("delta_t" in str(name))


def _categorical(x, units, conditions, figure):
    """An x label that numbers items (a pair of trains, a pattern), not a quantity:
    dimensionless consecutive integers from 0 or 1, with no reference curve (angles of
    0, 45, 90 degrees in a dimensionless label stay a quantity)."""
    if x is None or units.get(x) not in ("1", None, "") or figure.get("curves"):
        return False
    vals = [c["labels"].get(x) for c in conditions]
    if not vals or not all(isinstance(v, (int, float)) and float(v).is_integer() for v in vals):
        return False
    got = sorted({int(v) for v in vals})
    return got == list(range(got[0], got[0] + len(got))) and got[0] in (0, 1)


def protocol_summary(summary, ax=None, figure=None, curves=None, model_label=None, footer=None):
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
    footer : bool or str, optional
        The provenance line under the figure (``True``: :func:`provenance` of the summary;
        a string: that text; ``False``: none, e.g. when the axes is a panel of a figure
        that has its own). Default: only when the function makes the figure (``ax`` is
        ``None``) — a figure of the caller's keeps its own layout.

    Notes
    -----
    Colours follow :data:`biodyn.plot.PALETTE`: a timing group (``delta_t``) is red for
    pre-post (Δt > 0) and blue for post-pre; the model is a line, published data open squares
    with SEM bars, reference curves dashed grey. A timing window (x = ``delta_t``) is drawn as
    two branches, not joined across Δt = 0 where the rule is discontinuous. Items (a pair of
    trains, a pattern: dimensionless integer labels) are drawn as points on integer ticks,
    without lines joining independent items.

    Returns
    -------
    matplotlib.axes.Axes
    """
    from matplotlib.ticker import MaxNLocator

    if footer is None:
        footer = ax is None
    if ax is None:
        ax = new_axes((6.4, 4.8))
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
    categorical = _categorical(x, units, conditions, figure)
    name = model_label or f"model: {summary['model']} ({summary['parameter_set']})"
    for k, key in enumerate(keys):
        sel = [c for c in conditions if group is None or c["labels"].get(group) == key]
        if x is not None:
            sel = sorted(sel, key=lambda c: c["labels"][x])
            xs = np.array([c["labels"][x] for c in sel], dtype=float)
        else:
            xs = np.arange(len(sel), dtype=float)
        ys = np.array([c["value"] for c in sel], dtype=float)
        color = group_colour(group, key, k) if group else PALETTE["model"]
        tag = "" if group is None else f" {_group_name(group)} = {key:g}".replace("-", "−") + f"{'' if units.get(group) in ('1', None) else ' ' + units[group]}"
        label = f"model,{tag}" if group else name
        if categorical:
            ax.plot(xs, ys, "o", color=color, ms=6, ls="none", label=label)
        else:
            style = "-" if len(sel) > 12 else "-o"
            pieces = [np.ones(len(xs), bool)]
            if _is_timing(x) and np.any(xs < 0) and np.any(xs >= 0):
                pieces = [xs < 0, xs >= 0]
            for j, piece in enumerate(pieces):
                ax.plot(xs[piece], ys[piece], style, color=color, lw=1.8, ms=4,
                        label=label if j == 0 else None)
        data = [(xv, c["data"], c["error"]) for xv, c in zip(xs, sel) if c.get("data") is not None]
        if data:
            dx, dy, de = map(np.array, zip(*data))
            ax.errorbar(dx, dy, yerr=de, fmt="s", color=PALETTE["data"] if group is None else color,
                        mfc="white", ms=6, capsize=3, label=f"data,{tag}" if group else "data")
    for j, (label, cx, cy) in enumerate(curves or []):
        ax.plot(cx, cy, "--", color=PALETTE["reference"], lw=1.2,
                label=_shorter_curve_label(label, [c[0] for c in curves]) if j == 0 or
                label != curves[0][0] else None)
    ax.axhline(0, color=PALETTE["zero"], lw=0.8, zorder=0)
    if x is not None:
        ax.set_xlabel(figure.get("xlabel", _fmt_label(x, units.get(x))))
    if categorical:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.margins(x=0.08)
    ax.set_ylabel(figure.get("ylabel", "value"))
    if figure.get("xscale"):
        ax.set_xscale(figure["xscale"])
    chi = summary.get("score", {}).get("chi")
    title = figure.get("title", summary["protocol"])
    sub = (f"χ = {chi:.2f} over n = {summary['score']['n']} conditions with data"
           if chi is not None and not math.isnan(chi) else "no published data to score")
    ax.set_title(wrap_to_axes(title, ax, 10) + "\n" + sub, fontsize=10)
    _legend_outside_data(ax)
    if footer:
        put_footer(ax.figure, footer if isinstance(footer, str) else provenance(summary))
    return ax


def _group_name(group):
    return {"delta_t": "Δt"}.get(group, group)


def _shorter_curve_label(label, all_labels):
    return label


def _legend_outside_data(ax, fontsize=7):
    """A legend where it covers least, below the axes when nothing inside is free enough."""
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return None
    long = max(len(lab) for lab in labels)
    if long > 45 or len(labels) > 5:  # long entries: under the plot, in the layout
        return ax.legend(fontsize=fontsize, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.16),
                         ncol=1 if long > 45 else 2)
    return ax.legend(fontsize=fontsize, frameon=False, loc="best")


def _short(text):
    """``'0.006502356289144673'`` -> ``'0.006502'``, ``'16.80000001 ms'`` -> ``'16.8 ms'``."""
    head, _, unit = str(text).partition(" ")
    try:
        return f"{float(head):.4g}" + (f" {unit}" if unit else "")
    except ValueError:
        return str(text)


def fit_summary(doc, ax=None, ylabel=None):
    """Draw a fit (the JSON of ``biodyn fit``): per condition with data, the published
    mean ± SEM, the model at the start values and at the fitted values.

    Conditions are drawn in the protocol's order on one axis (any protocol, whatever its
    labels), each tick naming its labels. The y axis is the protocol's observable
    (``ylabel``, else the document's ``fit.value_label``).
    """
    own = ax is None
    if ax is None:
        ax = new_axes((max(6.0, 0.42 * len(doc["after"]["conditions"]) + 2.5), 4.4))
    fit = doc["fit"]
    before, after = doc["before"]["conditions"], doc["after"]["conditions"]
    keep = [k for k, c in enumerate(after) if c.get("data") is not None]
    xs = np.arange(len(keep), dtype=float)
    ax.errorbar(xs, [after[k]["data"] for k in keep], yerr=[after[k]["error"] or 0 for k in keep],
                fmt="s", color=PALETTE["data"], mfc="white", ms=6, capsize=3, label="data", zorder=3)
    ax.plot(xs - 0.12, [before[k]["value"] for k in keep], "o", color="0.6", mfc="none", ms=6,
            label=f"model at the start values (χ = {fit['chi_before']:.2f})")
    ax.plot(xs + 0.12, [after[k]["value"] for k in keep], "o", color=PALETTE["model"], ms=6,
            label=f"model at the fitted values (χ = {fit['chi_after']:.2f})")
    units = doc["after"].get("units", {})
    names = list(after[keep[0]]["labels"]) if keep else []
    ax.set_xticks(xs)
    ax.set_xticklabels(["\n".join(f"{after[k]['labels'][n]:g}" for n in names) for k in keep], fontsize=7)
    ax.set_xlabel(" / ".join(_fmt_label(_group_name(n), units.get(n)) for n in names), fontsize=8)
    ax.set_ylabel(ylabel or fit.get("value_label") or doc.get("value_label")
                  or "model and data (the protocol's observable)")
    ax.axhline(0, color=PALETTE["zero"], lw=0.8, zorder=0)
    shown = ", ".join(f"{n} {_short(fit['start_values'][n])} → {_short(fit['values'][n])}"
                      for n in fit["free"])
    ax.set_title(wrap_to_axes(f"{fit['protocol']}: {fit['model']} fitted over {fit['n']} conditions", ax, 9)
                 + "\n" + wrap_to_axes(shown, ax, 9), fontsize=9)
    ax.legend(fontsize=7, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3)
    if own:  # a figure of the caller's keeps its own layout
        put_footer(ax.figure, fit.get("footer") or f"{fit['evaluations']} replays, {len(fit['starts'])} "
                   f"start(s), seed {fit['seed']}, {fit['target']}, biodyn {fit['versions'].get('biodyn', '?')}")
    return ax


# --------------------------------------------------------------------------
# Figures of protocols that are more than a value per condition
# --------------------------------------------------------------------------


def _title(summary, figure, ax=None, fontsize=10, share=1.0):
    chi = summary.get("score", {}).get("chi")
    title = figure.get("title", summary["protocol"])
    if ax is not None:
        title = wrap_to_axes(title, ax, fontsize, share)
    if chi is not None and not math.isnan(chi):
        title += f"\nχ = {chi:.2f} over n = {summary['score']['n']} conditions with data"
    return title


def _footer(fig, summary, text=None):
    put_footer(fig, text if isinstance(text, str) else provenance(summary))


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


def protocol_extra(kind, summary, extra=None, figure=None, curves=None, footer=True):
    """Draw a protocol result of a given ``figure.kind``; returns the first ``Axes``.

    Kinds: ``patterns`` (value per spike pattern, triplets as bars and
    quadruplets against T), ``weight_distribution`` (final weights, output rate
    against input rate, the correlated group's weights against time),
    ``weight_trajectories`` (weights against time with the reference
    direction), ``voltage_traces`` (membrane potential per condition, the step
    current shaded, with its amplitude). ``extra`` holds the arrays
    (``ProtocolResult.extra``); drawings that need arrays that are absent fall back to the
    value per condition. ``footer``: the provenance line (``True``: :func:`provenance`; a
    string: that text; ``False``: none).
    """
    figure = dict(figure or {})
    extra = dict(extra or {})
    draw = _KINDS.get(kind)
    if draw is None:
        raise ValueError(f"unknown figure kind {kind!r} (known: {', '.join(sorted(_KINDS))})")
    ax = draw(summary, extra, figure, curves or [])
    if footer:
        _footer(ax.figure, summary, footer)
    return ax


#: Triplet and quadruplet patterns of Wang et al. (2005): one colour each (PALETTE keys).
_PATTERNS = {0: ("pre-post-pre", "pre_post_pre"), 1: ("post-pre-post", "post_pre_post")}


def _draw_patterns(summary, extra, figure, curves):
    from matplotlib.patches import Patch

    conds = summary["conditions"]
    group = figure.get("group", "pattern")
    quad = [c for c in conds if c["labels"].get(group) == 2]
    fig, axes = _panels(2 if quad else 1, width=5.0, height=4.0)
    ax = axes[0]
    trip = [c for c in conds if c["labels"].get(group) != 2]
    xs = np.arange(len(trip))
    colours = [PALETTE[_PATTERNS.get(c["labels"].get(group), ("", "pre_post_pre"))[1]] for c in trip]
    ax.bar(xs, [c["value"] for c in trip], color=colours, alpha=0.8, width=0.7)
    handles = [Patch(facecolor=PALETTE[key], alpha=0.8, label=f"model, {name}")
               for p, (name, key) in _PATTERNS.items() if any(c["labels"].get(group) == p for c in trip)]
    data = [(x, c["data"], c["error"]) for x, c in zip(xs, trip) if c.get("data") is not None]
    if data:
        dx, dy, de = map(np.array, zip(*data))
        handles.append(ax.errorbar(dx, dy, yerr=de, fmt="s", color=PALETTE["data"], mfc="white", ms=6,
                                   capsize=3, label="data (mean ± SEM)"))
    ax.set_xticks(xs)
    ax.set_xticklabels([f"({c['labels'].get('dt1', 0):g}, {c['labels'].get('dt2', 0):g})"
                        for c in trip], fontsize=7)
    ax.axhline(0, color=PALETTE["zero"], lw=0.8, zorder=0)
    ax.set_ylabel(figure.get("ylabel", "value"))
    ax.set_xlabel("triplet intervals (Δt1, Δt2) (ms)")
    ax.legend(handles=handles, fontsize=7, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.2),
              ncol=len(handles))
    ax.set_title(_title(summary, figure, ax, 9), fontsize=9)
    if quad:
        ax2 = axes[1]
        quad = sorted(quad, key=lambda c: c["labels"]["dt1"])
        T = np.array([c["labels"]["dt1"] for c in quad])
        v = np.array([c["value"] for c in quad])
        for sel in (T < 0, T > 0):
            ax2.plot(T[sel], v[sel], "-o", color=PALETTE["quadruplet"], ms=4)
        ax2.axhline(0, color=PALETTE["zero"], lw=0.8, zorder=0)
        ax2.set_xlabel("quadruplet interval T (ms)")
        ax2.set_ylabel(figure.get("ylabel", "value"))
        ax2.set_title("model, quadruplets\n(no means with SEM published: not scored)", fontsize=9)
    return ax


def _bimodality(w, lo, hi):
    """Fraction of weights within 10 % of the range from either bound."""
    w = np.asarray(w, float)
    span = hi - lo
    return float(np.mean((w < lo + 0.1 * span) | (w > hi - 0.1 * span))) if w.size else float("nan")


def _draw_weight_distribution(summary, extra, figure, curves):
    conds = summary["conditions"]
    units = summary.get("units", {})
    fig, axes = _panels(3, height=3.9)
    ax = axes[0]
    w = extra.get("w_final")
    lo, hi = extra.get("bounds", (0.0, 1.0))
    if w is not None:
        bins = np.linspace(lo, hi, 26)
        for k, c in enumerate(conds):
            tag = ", ".join(f"{n} {v:g}{'' if units.get(n) in ('1', None) else ' ' + units[n]}"
                            for n, v in c["labels"].items())
            frac = _bimodality(w[k], lo, hi)
            still = " (rate not settled)" if c.get("settled") is False else ""
            ax.hist(w[k], bins=bins, histtype="step", lw=1.5, color=TRAJECTORY_COLOURS[k % len(TRAJECTORY_COLOURS)],
                    label=f"{tag}: {100 * frac:.0f} % at a bound{still}")
        ax.set_xlabel("final weight (units of g_max)")
        ax.set_ylabel("synapses")
        ax.legend(fontsize=6, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.2))
        ax.set_title("final weights\n(at a bound: within 10 % of 0 or g_max)", fontsize=9)
    ax = axes[1]
    corr = np.array([c["labels"].get("correlation", 0) for c in conds])
    rates_in = np.array([c["labels"].get("input_rate", np.nan) for c in conds], dtype=float)
    out = extra.get("output_rates")
    values = np.array([c["value"] for c in conds]) if out is None else np.asarray(out)
    sel = corr == 0
    # whether each rate had settled by the end of the run (summary "settled"; absent: unknown,
    # drawn as before): unsettled rates are transients, drawn open and left off the line
    settled = np.array([c.get("settled", True) is not False for c in conds])
    before = np.array([(c.get("settling") or {}).get("rate_before_hz") for c in conds], dtype=float)
    window = next(((c.get("settling") or {}).get("window_s") for c in conds if c.get("settling")), None)
    from matplotlib.lines import Line2D

    handles = []
    for group, colour, marker, label in ((sel, PALETTE["model"], "o", "independent inputs"),
                                         (~sel, PALETTE["correlated"], "s", "with a correlated group")):
        if not np.any(group):
            continue
        idx = np.nonzero(group)[0]
        idx = idx[np.argsort(rates_in[idx])]
        ok = idx[settled[idx]]
        if ok.size > 1:
            ax.plot(rates_in[ok], values[ok], "-", color=colour, zorder=2)
        ax.plot(rates_in[ok], values[ok], marker, color=colour, ms=6, zorder=3)
        bad = idx[~settled[idx]]
        ax.plot(rates_in[bad], values[bad], marker, color=colour, mfc="white", mew=1.5, ms=7, zorder=3)
        handles.append(Line2D([], [], color=colour, marker=marker, ls="-" if group is sel else "",
                              label=label))
    if np.any(np.isfinite(before)):
        ax.plot(rates_in, before, "_", color="0.45", ms=12, mew=1.5, zorder=2)
        handles.append(Line2D([], [], color="0.45", marker="_", ms=12, mew=1.5, ls="",
                              label="rate over the window before"))
    if not np.all(settled):
        handles.append(Line2D([], [], color="0.3", marker="o", mfc="white", mew=1.5, ls="",
                              label="open: not settled in the run"))
    ax.set_xlabel(figure.get("xlabel", "input rate (Hz)"))
    ax.set_ylabel(figure.get("ylabel", "output rate (Hz)"))
    top = np.nanmax(np.concatenate([values, before])) if values.size else 1.0
    ax.set_ylim(0, 1.12 * top if np.isfinite(top) and top > 0 else 1.0)
    ax.legend(handles=handles, fontsize=7, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.2))
    over = f" (last {window:g} s)" if window else ""
    title = f"output rate{over} against input rate"
    if not np.all(settled):
        n_bad = int(np.sum(~settled))
        title += f"\n{n_bad} of {len(conds)} not settled: transient values"
    ax.set_title(title, fontsize=9)
    ax = axes[2]
    t = extra.get("t")
    if t is not None and "correlated_weight_t" in extra and np.any(~sel):
        for k in np.nonzero(~sel)[0]:
            ax.plot(t, extra["correlated_weight_t"][k], color=PALETTE["correlated"],
                    label=f"correlated group (c = {corr[k]:g})")
            ax.plot(t, extra["uncorrelated_weight_t"][k], color=PALETTE["model"], label="independent inputs")
        ax.set_xlabel("time (s)")
        ax.set_ylabel("mean weight (units of g_max)")
        ax.legend(fontsize=7, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.2))
        ax.set_title("mean weight of each group", fontsize=9)
    elif t is not None and "mean_weight_t" in extra:
        for k in range(len(conds)):
            ax.plot(t, extra["mean_weight_t"][k], color=TRAJECTORY_COLOURS[k % len(TRAJECTORY_COLOURS)])
        ax.set_xlabel("time (s)")
        ax.set_ylabel("mean weight (units of g_max)")
        ax.set_title("mean weight (colours as in the histogram)", fontsize=9)
    else:
        ax.set_visible(False)
    fig.suptitle(_title(summary, figure, axes[0], 10, share=3.0), fontsize=10)
    return axes[0]


def _draw_weight_trajectories(summary, extra, figure, curves):
    fig, axes = _panels(2, height=3.9)
    ax = axes[0]
    t, w = extra.get("t"), extra.get("w_t")  # w_t: (conditions, inputs, times)
    if t is not None and w is not None:
        for k in range(w.shape[0]):
            for j in range(w.shape[1]):
                ax.plot(t, w[k, j], color=TRAJECTORY_COLOURS[j % len(TRAJECTORY_COLOURS)], lw=1.0, alpha=0.8,
                        label=f"w[{j}]" if k == 0 else None)
            ref = extra.get("reference")
            if ref is not None:
                for j, r in enumerate(np.atleast_2d(ref)[k]):
                    ax.axhline(r, color=TRAJECTORY_COLOURS[j % len(TRAJECTORY_COLOURS)], ls="--", lw=0.8)
        ax.set_xlabel("time (s)")
        ax.set_ylabel("weight w[j] (model units)")
        ax.legend(fontsize=6, frameon=False, ncol=min(4, w.shape[1]), loc="upper center",
                  bbox_to_anchor=(0.5, -0.2))
        ax.set_title(wrap_to_axes(figure.get("trajectory_title", "weight trajectories (dashed: reference)"),
                                  ax, 9), fontsize=9)
    else:
        ax.set_visible(False)
    protocol_summary(summary, ax=axes[1], figure=figure, curves=curves, footer=False)
    return axes[0]


def _draw_voltage_traces(summary, extra, figure, curves):
    conds = summary["conditions"]
    t, v = extra.get("t"), extra.get("v")  # v: (conditions, times) in mV
    names = extra.get("names") or [str(c["labels"]) for c in conds]
    amps = extra.get("amplitudes")
    step = figure.get("step")  # (t_on, t_off) in s: the protocol's step current
    n = len(conds)
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(n, 1, figsize=(7.0, 1.3 * n + 1.2), sharex=True, layout="constrained",
                             squeeze=False)
    axes = axes[:, 0]
    for k, ax in enumerate(axes):
        if step is not None:
            ax.axvspan(step[0] * 1e3, step[1] * 1e3, color="0.93", zorder=0, lw=0)
        if t is not None and v is not None:
            ax.plot(t * 1e3, v[k], color="k", lw=0.7)
        ax.set_ylabel("v (mV)", fontsize=7)
        rate = conds[k]["value"]
        amp = f"I = {_tidy(amps[k])}" if amps is not None else "step current"
        text = f"{names[k]}: {amp}, " + (f"{rate:.1f} Hz" if rate > 0 else _silent_reason(t, None if v is None else v[k], step))
        ax.set_title(wrap_to_axes(text, ax, 7), fontsize=7, loc="left", pad=2)
        ax.tick_params(labelsize=6)
        ax.yaxis.set_major_locator(_few_ticks())
    axes[-1].set_xlabel("time (ms)" + ("; shaded: step current on" if step is not None else ""))
    fig.suptitle(_title(summary, figure, axes[0], 9), fontsize=9)
    return axes[0]


def _silent_reason(t, v, step):
    """Why a trace has no spike during the step, read from the trace: still rising at the
    step's end (a delay longer than the step), or settled below threshold."""
    if t is None or v is None or step is None:
        return "no spike during the step"
    t = np.asarray(t, float)
    v = np.asarray(v, float)
    on, off = step
    late = (t >= off - 0.1 * (off - on)) & (t < off)
    if late.sum() >= 2:
        slope = np.polyfit(t[late], v[late], 1)[0]  # mV/s over the last tenth of the step
        if slope > 1.0:
            return "no spike during the step: v still rising at its end (a delay longer than the step)"
        return "no spike during the step: v settles below threshold at this current"
    return "no spike during the step"


def _tidy(text):
    """``"500. pA"`` -> ``"500 pA"``, ``"0. A"`` -> ``"0 pA"`` (Brian2's str of quantities)."""
    head, _, unit = str(text).partition(" ")
    try:
        v = float(head)
    except ValueError:
        return str(text)
    if v == 0 and unit == "A":
        unit = "pA"
    return f"{v:g} {unit}".strip()


def _few_ticks():
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(nbins=3)


_KINDS = {
    "patterns": _draw_patterns,
    "weight_distribution": _draw_weight_distribution,
    "weight_trajectories": _draw_weight_trajectories,
    "voltage_traces": _draw_voltage_traces,
}
