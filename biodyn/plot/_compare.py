"""Figures of :mod:`biodyn.compare`: a biological rule and its artificial counterpart on the
same axes.

Every function draws from plain data — the JSON document of a comparison
(:meth:`biodyn.compare.Comparison.to_dict`, or the object itself, which is converted) — and
takes and returns an ``Axes``. :func:`comparison_figure` draws the four panels of one
comparison: the task measure over time, the gradient alignment, the shared projection of
both trajectories, and a comparison-specific panel (rates, objective, loss, gradient norms).
"""

from __future__ import annotations

import numpy as np

from ._base import PALETTE, new_axes, wrap_to_axes
from ._base import footer as put_footer

__all__ = ["comparison_figure", "compare_series", "compare_alignment", "compare_projection",
           "compare_rates", "compare_exponents", "compare_gradient_norms", "snn_curves", "snn_alignment",
           "snn_adjoint", "snn_dynamics"]

BIO, ANN, REF = PALETTE["bio"], PALETTE["ann"], PALETTE["reference"]


def _per(unit):
    """``"tau"`` -> ``"1/τ"``: the rate unit of a comparison's time unit."""
    unit = unit or "tau"
    return "1/" + {"tau": "τ"}.get(unit, unit)


def _plain(data):
    if hasattr(data, "to_dict") and not isinstance(data, dict):
        return data.to_dict()
    return data


def _arr(x):
    return np.array(x, dtype=float) if x is not None else None


def _time(data):
    s = data["series"]
    if "s" in s:
        return _arr(s["s"]), "learning time s = ηt (dimensionless)"
    return _arr(s["t"]), "time (s)"


def compare_series(data, keys, ax=None, log=False, labels=None, styles=None, ylabel=None, title=None):
    """Series of a comparison against its time axis (``s`` if recorded, else ``t``).

    Parameters
    ----------
    data : dict or Comparison
    keys : list of str
        Series names; a 2-D series draws one line per column.
    log : bool
        Logarithmic y axis (values <= 0 are left out).
    labels, styles : dict, optional
        Legend text and ``plot`` keywords per key.
    """
    data = _plain(data)
    ax = ax or new_axes()
    x, xlabel = _time(data)
    labels, styles = labels or {}, styles or {}
    for k, key in enumerate(keys):
        y = _arr(data["series"].get(key))
        if y is None:
            continue
        style = {"color": BIO if key.endswith("_bio") else ANN if key.endswith("_ann") else f"C{k}",
                 "lw": 1.3, **styles.get(key, {})}
        cols = y if y.ndim == 1 else y.T
        for c, col in enumerate(np.atleast_2d(cols) if y.ndim > 1 else [cols]):
            yy = np.where(col > 0, col, np.nan) if log else col
            ax.plot(x[: len(yy)], yy, label=(labels.get(key, key) if c == 0 else None), **style)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    return ax


def compare_alignment(data, ax=None, keys=None):
    """The gradient alignment :math:`\\cos(\\Delta w_{bio}, -\\nabla L)` over time."""
    data = _plain(data)
    ax = ax or new_axes()
    keys = keys or [k for k in ("alignment", "alignment_flow", "alignment_ann", "alignment_measured")
                    if k in data["series"]]
    names = {"alignment": "at the Brian2 weights", "alignment_flow": "along the averaged flow",
             "alignment_ann": "at the artificial learner's weights",
             "alignment_measured": "measured increments (Brian2)"}
    styles = {"alignment": {"color": BIO}, "alignment_flow": {"color": BIO, "ls": "--"},
              "alignment_ann": {"color": ANN},
              "alignment_measured": {"color": "0.6", "lw": 0.5, "alpha": 0.5, "zorder": 1}}
    compare_series(data, keys, ax=ax, labels=names, styles=styles, ylabel="cos(bio update, -grad L)")
    gn = _arr(data["series"].get("gradient_norm"))
    if gn is not None and np.any(np.isfinite(gn)):
        x, _ = _time(data)
        near = gn < 0.05 * np.nanmax(gn)
        if near.any():
            ax.fill_between(x[: len(gn)], -1.05, 1.05, where=near, color="0.92", zorder=0, step="mid",
                            label="|grad L| < 5 % of its largest (near the fixed point)")
            ax.legend(fontsize=6)
    ax.axhline(1.0, color="0.8", lw=0.8, zorder=0)
    ax.axhline(0.0, color="0.8", lw=0.8, zorder=0)
    ax.set_ylim(-1.05, 1.05)
    ax.set_title("gradient alignment", fontsize=9)
    return ax


def compare_projection(data, ax=None):
    """Both learners' trajectories on their shared top-2 principal components, with the
    reference points (targets, fixed points, selective states) of the comparison."""
    data = _plain(data)
    ax = ax or new_axes((5, 4.5))
    s = data["series"]
    for key, color, label in (("projection_bio", BIO, "biological (Brian2)"),
                              ("projection_ann", ANN, "artificial (gradient)")):
        if key in s:
            P = _arr(s[key])
            ax.plot(P[:, 0], P[:, 1], color=color, lw=1.3, label=label)
            ax.plot(P[0, 0], P[0, 1], "^", color=color, ms=5)
            ax.plot(P[-1, 0], P[-1, 1], "*", color=color, ms=9, mec="k", mew=0.5)
    refs = {"projection_target": "principal-subspace projector", "projection_states": "selective states",
            "projection_fixed_points": "fixed points (C_yx, W_LS)"}
    names = {"projection_fixed_points": ["C_yx (Hebb)", "W_LS (delta rule)"],
             "projection_target": ["U_k U_k'"]}
    for key, label in refs.items():
        if key in s:
            R = np.atleast_2d(_arr(s[key]))
            ax.scatter(R[:, 0], R[:, 1], s=70, marker="X", color="k", zorder=6, label=label)
            for k, (px, py) in enumerate(R):
                text = names.get(key, [f"state {i}" for i in range(len(R))])[k]
                ax.annotate(text, (px, py), textcoords="offset points", xytext=(6, 6), fontsize=7)
    if "projection" in s:  # the RNN: one forward trajectory per gain
        g = _arr(s["g"])
        cmap = _cmap()
        for k, P in enumerate(s["projection"]):
            P = _arr(P)
            ax.plot(P[:, 0], P[:, 1], lw=0.8, color=cmap(k / max(1, len(g) - 1)), label=f"g = {g[k]:g}")
    expl = data["summary"].get("projection_explained")
    if expl:
        ax.set_xlabel(f"PC 1 ({100 * float(expl[0]):.0f} %)")
        ax.set_ylabel(f"PC 2 ({100 * float(expl[1]):.0f} %)" if len(expl) > 1 else "PC 2")
    ax.set_title("trajectories in a shared projection", fontsize=9)
    ax.legend(fontsize=6)
    return ax


def _cmap():
    import matplotlib

    return matplotlib.colormaps["viridis"]


def compare_rates(data, ax=None):
    """oja_vs_backprop: measured convergence rates of the subspace angle against the
    linearisations (bars), with the Jacobian spectra at the end states as text."""
    data = _plain(data)
    ax = ax or new_axes()
    S = data["summary"]
    lin_oja = S.get("linearisation_oja", {}) or {}
    lin_ann = S.get("linearisation_ann", {}) or {}
    bars = [("Oja,\nBrian2", S.get("rate_bio"), BIO), ("Oja,\naveraged flow", S.get("rate_flow"), BIO),
            ("autoencoder,\nGD", S.get("rate_ann"), ANN),
            ("autoencoder,\nslowest mode", S.get("rate_ann_slowest_mode"), ANN)]
    preds = [(r"Oja, predicted: eigenvalue gap $\lambda_k - \lambda_{k+1}$", S.get("predicted_rate_oja"), BIO),
             ("Oja, predicted: linearisation", lin_oja.get("slowest_rate"), BIO),
             ("autoencoder, predicted: linearised GD map", lin_ann.get("gd_map_rate"), ANN),
             ("autoencoder, predicted: balanced minimum", S.get("predicted_rate_ann"), ANN)]
    x = 0
    ticks, names = [], []
    for name, v, color in bars:
        if v is not None:
            ax.bar(x, v, color=color, alpha=0.8)
        ticks.append(x)
        names.append(name)
        x += 1
    for k, (name, v, color) in enumerate(preds):
        if v is not None:
            ax.axhline(v, color=color, ls=[":", "--", ":", "--"][k], lw=1.0, label=name)
    ax.set_xticks(ticks, names, fontsize=7)
    ax.set_xlabel("learner (bars: measured rates; lines: predictions)", fontsize=8)
    ax.set_ylabel("rate of the subspace angle (per unit of s)")
    title = "convergence rates vs linearisation"
    sv_a = S.get("jacobian_spectrum_ann")
    sv_b = S.get("jacobian_spectrum_bio")
    if sv_a is not None and sv_b is not None:  # in the title: a text box in the panel covers bars
        fmt = lambda v: " ".join("0" if abs(float(x)) < 1e-12 else f"{float(x):.3g}" for x in v)  # noqa: E731
        title += "\n" + wrap_to_axes(f"singular values at the end (below 1e-12 shown as 0): W2 W1 ({fmt(sv_a)}), "
                                     f"W'W ({fmt(sv_b)})", ax, 8)
    ax.set_title(title, fontsize=8)
    ax.legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2, frameon=False)
    top = max([v for _, v, _ in bars + preds if v is not None] or [1.0])
    ax.set_ylim(0, 1.1 * top)
    return ax


def compare_exponents(data, ax=None):
    """rnn_lyapunov_vs_bptt: :math:`\\lambda_{\\max}` (± s.e.), the BPTT growth rate and the
    linearisation at :math:`h = 0` against the gain :math:`g`."""
    data = _plain(data)
    ax = ax or new_axes()
    s = data["series"]
    g = _arr(s["g"])
    lam, se = _arr(s["lambda_max"]), _arr(s["lambda_se"])
    ax.errorbar(g, lam, yerr=2 * se, fmt="o-", color=BIO, ms=4, capsize=2,
                label="largest Lyapunov exponent (QR, ±2 s.e.)")
    ax.plot(g, _arr(s["bptt_rate"]), "s--", color=ANN, ms=4,
            label=r"BPTT growth $\frac{1}{T}\ln(|\delta_0|/|\delta_T|)$")
    lin = _arr(s["lambda_linear"])
    below = lin < 0.05
    ax.plot(g[below], lin[below], ":", color=REF, label="linearisation at h = 0")
    ax.axhline(0, color="0.7", lw=0.8)
    ax.axvline(1.0, color="0.7", lw=0.8, ls="--", label="g = 1 (N → ∞)")
    cross = data["summary"].get("crossing_g")
    if cross is not None:
        ax.axvline(cross, color=BIO, lw=0.8, ls=":", label=f"crossing g = {cross:.2f}")
    ax.set_xlabel("gain g")
    ax.set_ylabel(f"rate ({_per(data['summary'].get('time_unit'))})")
    ax.set_title("transition to chaos, forward and backward", fontsize=9)
    ax.legend(fontsize=6)
    return ax


def compare_gradient_norms(data, ax=None):
    """rnn_lyapunov_vs_bptt: :math:`\\ln\\lVert\\delta\\rVert` against the time back from the
    horizon, one line per gain."""
    data = _plain(data)
    ax = ax or new_axes()
    s = data["series"]
    g = _arr(s["g"])
    back = _arr(s["horizon"])
    cmap = _cmap()
    for k, ld in enumerate(s["log_delta"]):
        ld = _arr(ld)
        ax.plot(back[: len(ld)], ld / np.log(10), color=cmap(k / max(1, len(g) - 1)), lw=1.1,
                label=f"g = {g[k]:g}")
    unit = {"tau": "τ"}.get(data["summary"].get("time_unit", "tau"), data["summary"].get("time_unit"))
    ax.set_xlabel(f"horizon T: time back from the loss (units of {unit})")
    ax.set_ylabel(r"$\log_{10}|\partial L/\partial h(t_{end} - T)|$")
    ax.set_title("BPTT gradient norms over the horizon", fontsize=9)
    ax.legend(fontsize=6, ncol=2)
    return ax


def _scatter_rates(data, ax):
    s = data["series"]
    lam, bptt = _arr(s["lambda_max"]), _arr(s["bptt_rate"])
    g = _arr(s["g"])
    sc = ax.scatter(lam, bptt, c=g, cmap="viridis", s=30, zorder=5)
    lo, hi = float(np.nanmin([lam, bptt])), float(np.nanmax([lam, bptt]))
    pad = 0.05 * (hi - lo + 1e-9)
    ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="0.6", lw=0.8, label="identity")
    ax.figure.colorbar(sc, ax=ax, label="gain g")
    rate = _per(data["summary"].get("time_unit"))
    ax.set_xlabel(rf"$\lambda_{{max}}$ (QR) ({rate})")
    ax.set_ylabel(f"BPTT growth rate ({rate})")
    ax.set_title("the RNN's analogue of gradient alignment", fontsize=9)
    ax.legend(fontsize=6)
    return ax


def _snn_colors(learners):
    return {L: (ANN if L == "bptt" else BIO if k == 0 else PALETTE.get("pre_post_pre", "C2"))
            for k, L in enumerate(learners)}


def _epoch_axis(ax, ep):
    """Whole-epoch ticks and x limits covering every epoch of the run (first to last, 4 % margin),
    the same on the curve and alignment panels: alignment has no value at epoch 0, and one trained
    epoch alone would otherwise get an axis from 0.96 to 1.04 with fractional ticks."""
    from matplotlib.ticker import MaxNLocator

    ep = ep[np.isfinite(ep)]
    if ep.size:
        lo, hi = float(ep.min()), float(ep.max())
        pad = 0.04 * max(hi - lo, 1.0)
        ax.set_xlim(lo - pad, hi + pad)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # whole epochs only, as snn_learning_curves


def snn_curves(data, ax=None):
    """eprop/rstdp_vs_bptt: the test metric (and loss, dashed, right axis) per epoch."""
    data = _plain(data)
    ax = ax or new_axes()
    s, S = data["series"], data["summary"]
    ep = _arr(s["epoch"])
    colors = _snn_colors(S["learners"])
    right = ax.twinx()
    for L in S["learners"]:
        ax.plot(ep, _arr(s[f"test_metric_{L}"]), "o-", ms=3, color=colors[L], label=f"{L}: test {S['metric']}")
        right.plot(ep, _arr(s[f"test_loss_{L}"]), ls="--", lw=0.9, color=colors[L], alpha=0.7)
    right.set_ylabel("test loss (dashed)", fontsize=8)
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"test {S['metric']}")
    ax.set_title("learning curves (same data, seed, initial weights)", fontsize=9)
    _epoch_axis(ax, ep)
    ax.legend(fontsize=7, loc="center right")
    return ax


def snn_alignment(data, ax=None):
    """eprop/rstdp_vs_bptt: cosine of each learner's update with BPTT's gradient, per epoch."""
    data = _plain(data)
    ax = ax or new_axes()
    s, S = data["series"], data["summary"]
    ep = _arr(s["epoch"])
    colors = _snn_colors(S["learners"])
    for L in S["learners"]:
        ax.plot(ep, _arr(s[f"alignment_{L}"]), "o-", ms=3, color=colors[L], label=L)
    ax.axhline(0, color="0.7", lw=0.8)
    ax.set_ylim(-1.05, 1.05)
    ax.set_xlabel("epoch")
    ax.set_ylabel(r"$\cos(\Delta\theta_{learner}, -\nabla L_{BPTT})$")
    ax.set_title("gradient alignment at each learner's weights", fontsize=9)
    _epoch_axis(ax, ep)
    ax.legend(fontsize=7)
    return ax


def snn_adjoint(data, ax=None):
    """eprop/rstdp_vs_bptt: :math:`\\lVert\\partial E/\\partial v_t\\rVert` through time, at the start
    (dotted, common) and at the end of training."""
    data = _plain(data)
    ax = ax or new_axes()
    s, S = data["series"], data["summary"]
    t = _arr(s["step_ms"])
    colors = _snn_colors(S["learners"])
    first = S["learners"][0]
    from ._snn import adjoint_scale

    factor, unit = adjoint_scale((S.get("per_learner") or {}).get(first, {}).get("config"))
    y0 = _arr(s[f"adjoint_start_{first}"]) * factor
    ax.plot(t, np.where(y0 > 0, y0, np.nan), ":", color=REF, lw=1.0, label="initial network")
    for L in S["learners"]:
        y = _arr(s[f"adjoint_end_{L}"]) * factor
        ax.plot(t, np.where(y > 0, y, np.nan), color=colors[L], lw=1.1, label=f"trained by {L}")
    ax.set_yscale("log")
    ax.set_xlabel("network time t (ms)")
    ax.set_ylabel(r"$\Vert\partial E/\partial v_t\Vert$" + f" ({unit})")
    ax.set_title("BPTT's adjoint through time", fontsize=9)
    ax.legend(fontsize=7)
    return ax


def snn_dynamics(data, ax=None):
    """eprop/rstdp_vs_bptt: the trained networks' largest Lyapunov exponent (two copies in
    Brian2, ±2 s.e.) and firing statistics, beside the initial network's."""
    data = _plain(data)
    ax = ax or new_axes()
    S = data["summary"]
    colors = _snn_colors(S["learners"])
    rows = [("initial", S["initial_dynamics"], REF)] + [(L, S["per_learner"][L]["dynamics"], colors[L])
                                                          for L in S["learners"]]
    values = [d.get(k) for _, d, _ in rows for k in ("lambda_max_per_s", "lambda_finite_per_s")]
    finite = [v for v in values if v is not None]
    span = max(finite + [0.0]) - min(finite + [0.0]) + 1.0
    floor = min(finite + [0.0]) - 0.1 * span
    w = 0.38
    for k, (name, d, color) in enumerate(rows):
        fs = d["firing"]
        cv = "n/a" if fs["cv_isi"] is None else f"{fs['cv_isi']:.2f}"
        fano = "n/a" if fs["fano"] is None else f"{fs['fano']:.2f}"
        tops = []
        for j, (key, alpha, hatch) in enumerate((("lambda_max", 0.85, None), ("lambda_finite", 0.35, ".."))):
            if f"{key}_per_s" not in d:
                continue
            lam, se = d[f"{key}_per_s"], d.get(f"{key}_se_per_s") or 0.0
            x = k + (j - 0.5) * w
            if lam is None:
                ax.bar(x, floor, w, color="white", edgecolor=color, hatch="//")
                ax.text(x, floor, "−∞", ha="center", va="top", fontsize=7)
                tops.append(floor)
            else:
                ax.bar(x, lam, w, color=color, alpha=alpha, hatch=hatch, edgecolor=color, yerr=2 * se, capsize=2)
                ax.text(x, lam + (2 * se + 0.02 * span) * (1 if lam >= 0 else -1), f"{lam:.3g}", ha="center",
                        va="bottom" if lam >= 0 else "top", fontsize=6)
                tops.append(lam)
        ax.text(k, 0.98, f"{fs['rate_hz']:.3g} Hz\nCV {cv}, Fano {fano}", transform=ax.get_xaxis_transform(),
                ha="center", va="top", fontsize=6, color=color)
    d0f = next((d.get("d0_finite") for _, d, _ in rows if d.get("d0_finite") is not None), None)
    from matplotlib.patches import Patch

    handles = [Patch(facecolor="0.4", alpha=0.85, label=r"$\lambda_{max}$, $d_0 \to 0$")]
    if d0f is not None:
        handles.append(Patch(facecolor="0.4", alpha=0.35, hatch="..", label=f"finite $d_0$ = {d0f:g} (SD units)"))
    handles.append(Patch(facecolor="white", edgecolor="0.4", hatch="//", label="−∞: copies merged"))
    ax.legend(handles=handles, fontsize=6, loc="lower left")
    ax.axhline(0, color="0.5", lw=0.8)
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels([r[0] for r in rows], fontsize=8)
    lo, hi = ax.get_ylim()
    ax.set_ylim(lo - 0.1 * (hi - lo), hi + 0.3 * (hi - lo))
    ax.set_ylabel(r"$\lambda_{max}$ (1/s), two copies in Brian2 (±2 s.e.)")
    d0 = S["initial_dynamics"]
    ax.set_title(f"trained networks' dynamics (driven by the test inputs, {d0['duration_s']:g} s)", fontsize=9)
    return ax


def _panels(data, axes):
    name = data["comparison"]
    a, b, c, d = axes
    if name == "oja_vs_backprop":
        compare_series(data, ["angle_bio", "angle_flow", "angle_ann"], ax=a, log=True,
                       labels={"angle_bio": "Oja's subspace rule (Brian2)",
                               "angle_flow": "Oja, averaged flow", "angle_ann": "linear autoencoder (GD)"},
                       styles={"angle_flow": {"color": BIO, "ls": "--"}},
                       ylabel="largest principal angle to U_k (rad)", title="principal subspace")
        s = data["series"]
        for key, color in (("flow", BIO), ("ann", ANN)):
            ts, ys = s.get(f"tail_s_{key}"), s.get(f"tail_angle_{key}")
            if ts is not None and len(ts) > 1:
                y = _arr(ys)
                a.plot(_arr(ts), np.where(y > 0, y, np.nan), color=color, lw=0.9, ls=":",
                       label="continued (no noise)" if key == "ann" else None)
        a.legend(fontsize=7)
        compare_alignment(data, ax=b)
        compare_projection(data, ax=c)
        compare_rates(data, ax=d)
    elif name == "bcm_vs_gradient":
        compare_series(data, ["y_bio", "y_ann"], ax=a,
                       labels={"y_bio": "BCM (Brian2)", "y_ann": "ascent on R"},
                       styles={"y_ann": {"ls": "--"}}, ylabel="response to each pattern",
                       title="selectivity")
        for st in data["summary"].get("selective_states", []):
            for v in st["y"]:
                if abs(float(v)) > 1e-9:
                    a.axhline(float(v), color="0.8", lw=0.8, zorder=0)
        compare_alignment(data, ax=b)
        compare_projection(data, ax=c)
        compare_series(data, ["R_bio", "R_ann"], ax=d,
                       labels={"R_bio": "BCM (Brian2)", "R_ann": "ascent on R"},
                       styles={"R_ann": {"ls": "--"}}, ylabel="R(w) (1/s)",
                       title="Intrator-Cooper objective")
    elif name == "hebb_vs_delta":
        compare_series(data, ["error_hebb_bio", "error_ls_bio", "error_ls_ann", "error_hebb_ann"], ax=a,
                       log=True, labels={"error_hebb_bio": "Hebb (Brian2) to C_yx",
                                         "error_ls_bio": "Hebb (Brian2) to W_LS",
                                         "error_ls_ann": "delta rule (GD) to W_LS",
                                         "error_hebb_ann": "delta rule (GD) to C_yx"},
                       styles={"error_ls_bio": {"color": BIO, "ls": ":"},
                               "error_hebb_ann": {"color": ANN, "ls": ":"}},
                       ylabel="distance (Frobenius)", title="fixed points")
        compare_alignment(data, ax=b)
        compare_projection(data, ax=c)
        compare_series(data, ["loss_bio", "loss_ann"], ax=d, log=True,
                       labels={"loss_bio": "Hebb (Brian2)", "loss_ann": "delta rule (GD)"},
                       ylabel="squared error L", title="loss")
        S = data["summary"]
        for key, text in (("loss_at_C_yx", "L(C_yx)"), ("loss_at_W_ls", "L(W_LS)")):
            if S.get(key) is not None and S[key] > 0:
                d.axhline(S[key], color="0.6", lw=0.8, ls="--")
                d.text(0.99, S[key], text, transform=d.get_yaxis_transform(), ha="right",
                       va="bottom", fontsize=6, color="0.4")
    elif name == "rnn_lyapunov_vs_bptt":
        compare_exponents(data, ax=a)
        _scatter_rates(data, b)
        compare_projection(data, ax=c)
        compare_gradient_norms(data, ax=d)
    elif name in ("eprop_vs_bptt", "rstdp_vs_bptt"):
        snn_curves(data, a)
        snn_alignment(data, b)
        snn_adjoint(data, c)
        snn_dynamics(data, d)
    else:
        raise ValueError(f"no figure for comparison {name!r}")


def comparison_figure(data, footer=None):
    """The four panels of a comparison (see the module docstring); returns the first ``Axes``."""
    data = _plain(data)
    ax = new_axes((11.5, 8.6))
    fig = ax.figure
    ax.remove()
    axes = fig.subplots(2, 2).ravel()
    _panels(data, axes)
    fig.suptitle(_title(data), fontsize=10)
    if footer:
        put_footer(fig, footer)
    return axes[0]


def _title(data):
    titles = {"oja_vs_backprop": "Oja's subspace rule vs a linear autoencoder trained by gradient descent",
              "bcm_vs_gradient": "BCM vs gradient ascent on the Intrator-Cooper objective",
              "hebb_vs_delta": "supervised Hebb vs the delta rule (linear associator)",
              "rnn_lyapunov_vs_bptt": "rate RNN: largest Lyapunov exponent vs BPTT gradient growth"}
    if data["comparison"] in ("eprop_vs_bptt", "rstdp_vs_bptt"):
        s = data["summary"]
        c = s["per_learner"][s["learners"][-1]]["config"]
        return (f"spiking network ({c['model']}, H = {c['hidden']}) on {s['task']['name']}: "
                + " vs ".join(s["learners"]) + " from the same seed and initial weights")
    return titles.get(data["comparison"], data["comparison"])
