"""Figure of ``biodyn analyze spectra``: Lyapunov spectra against the performance of trained networks."""

from __future__ import annotations

from ._base import PALETTE, footer as _footer, new_axes

__all__ = ["spectra_vs_performance"]

_FEATURE_LABELS = {"lambda_1": "λ₁", "mean": "mean λ", "median": "median λ", "variance": "var λ",
                   "n_positive": "# λ > 0", "kaplan_yorke": "D_KY", "entropy_rate": "Σ λ⁺ (entropy rate)",
                   "fraction_near_zero": "frac |λ| < tol"}


def spectra_vs_performance(doc, footer=None):
    """Three panels from ``biodyn analyze spectra``'s document: (a) the autoencoder's latent
    (first two dimensions), each network coloured by its performance, the good (top third)
    and poor (bottom third) networks ringed; (b) each feature's Spearman correlation with the
    performance with its confidence interval; (c) the cross-validated accuracy of the linear
    read-out (good vs poor) of the latent, of the best single feature (chosen per fold) and of
    each feature, mean ± SD over repeats, chance 0.5 dashed. Returns the latent's ``Axes``."""
    import matplotlib as mpl
    import numpy as np

    ax = new_axes((15.0, 4.8))
    fig = ax.figure
    ax.remove()
    ax_lat, ax_cor, ax_acc = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1.15, 1, 1]})
    perf = np.asarray(doc["performance"]["values"], float)
    Z = np.asarray(doc["latent"], float)
    cmap = mpl.colormaps["viridis"]
    norm = mpl.colors.Normalize(vmin=perf.min(), vmax=perf.max() if perf.max() > perf.min() else perf.min() + 1)
    y = Z[:, 1] if Z.shape[1] > 1 else np.zeros(len(Z))
    ax_lat.scatter(Z[:, 0], y, c=perf, cmap=cmap, norm=norm, s=36, edgecolor="none", zorder=2)
    good, poor = doc["classes"]["good"], doc["classes"]["poor"]
    ax_lat.scatter(Z[good, 0], y[good], s=90, facecolor="none", edgecolor="black", lw=1.0,
                   label=f"good (top third, {len(good)})", zorder=1)
    ax_lat.scatter(Z[poor, 0], y[poor], s=90, facecolor="none", edgecolor=PALETTE["unstable"], lw=1.0,
                   marker="s", label=f"poor (bottom third, {len(poor)})", zorder=1)
    fig.colorbar(mpl.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax_lat, label=doc["performance"]["label"])
    ae = doc["autoencoder"]
    ax_lat.set_xlabel("latent z₁")
    ax_lat.set_ylabel("latent z₂" if Z.shape[1] > 1 else "")
    ax_lat.set_title(f"AeLLE-style latent (d = {ae['latent']}, first {ae['length']} exponents, "
                     f"all {len(perf)} networks)", fontsize=9)
    ax_lat.legend(frameon=False, fontsize=7, loc="best")
    ax_lat.grid(alpha=0.3)

    names = list(doc["correlations"])
    rows = np.arange(len(names))[::-1]
    for row, name in zip(rows, names):
        c = doc["correlations"][name]
        if c["r"] is None:
            ax_cor.text(0.0, row, "  constant", va="center", fontsize=7, color="0.4")
            continue
        lo, hi = c["ci"]
        excludes = lo > 0 or hi < 0
        colour = PALETTE["model"] if excludes else "0.55"
        ax_cor.errorbar([c["r"]], [row], xerr=[[max(c["r"] - lo, 0.0)], [max(hi - c["r"], 0.0)]], fmt="o", color=colour,
                        capsize=3, ms=5)
    ax_cor.axvline(0.0, color="0.5", lw=0.8)
    ax_cor.set_yticks(rows, [_FEATURE_LABELS.get(n, n) for n in names], fontsize=8)
    ax_cor.set_ylabel("spectrum feature", fontsize=8)
    ax_cor.set_xlim(-1.05, 1.05)
    ax_cor.set_ylim(-0.6, len(names) - 0.4)  # "constant" rows are text: keep them inside too
    level = doc["settings"]["level"]
    ax_cor.set_xlabel(f"Spearman r_s with performance ({100 * level:g}% CI)")
    which = "the final spectrum" if doc.get("epoch") is None else f"the spectrum at epoch {doc['epoch']}"
    ax_cor.set_title(f"features of {which} (blue: CI excludes 0)\nCI: Fisher z, "
                     "Bonett & Wright (2000) SE", fontsize=9)
    ax_cor.grid(alpha=0.3, axis="x")

    ro = doc["readout"]
    labels = ["AE latent", "best feature (per fold)"] + [_FEATURE_LABELS.get(n, n) for n in ro["per_feature"]]
    values = [ro["latent"], ro["best_feature"]] + list(ro["per_feature"].values())
    rows = np.arange(len(labels))[::-1]
    colours = [PALETTE["ann"], PALETTE["model"]] + ["0.45"] * len(ro["per_feature"])
    for row, v, colour in zip(rows, values, colours):
        ax_acc.errorbar([v["mean"]], [row], xerr=[v["sd"]], fmt="o", color=colour, capsize=3, ms=6)
    ax_acc.axvline(0.5, color=PALETTE["reference"], ls="--", lw=1, label="chance")
    ax_acc.set_yticks(rows, [f"{lab}  {v['mean']:.2f} ± {v['sd']:.2f}" for lab, v in zip(labels, values)],
                      fontsize=8)
    ax_acc.set_ylabel("read-out input (accuracy, mean ± SD over shuffles)", fontsize=8)
    ax_acc.set_xlim(0.3, 1.05)
    ax_acc.set_xlabel(f"accuracy, good vs poor ({ro['latent']['folds']}-fold CV × {ro['latent']['repeats']})")
    ax_acc.set_title("linear (logistic) read-out", fontsize=9)
    ax_acc.legend(frameon=False, fontsize=7, loc="lower left")
    ax_acc.grid(alpha=0.3, axis="x")
    fig.suptitle(doc.get("title", "Lyapunov spectra against performance"), fontsize=10)
    if footer:
        _footer(fig, footer)
    return ax_lat
