"""Figures of biodyn.learn: learning curves of a trained network."""

from __future__ import annotations

from ._base import footer as put_footer, new_axes

__all__ = ["learning_curves", "network_fixed_points"]

_METRIC_LABELS = {"sign_accuracy": "sign accuracy (fraction of scored outputs)",
                  "accuracy": "classification accuracy (fraction of sequences)",
                  "r2": "R² of the outputs (1 − SSE/SST)"}
_LOSS_LABELS = {"mse": "loss: MSE (mean over scored outputs)", "cross_entropy": "loss: cross-entropy (nats)"}


def learning_curves(doc, footer=None):
    """Train and test loss (log scale) and metric against the epoch, from a training document
    (``{"curves": {epoch, train_loss, test_loss, train_metric, test_metric}, "config": {...}}``,
    as ``biodyn train --json`` writes it); returns the loss ``Axes``."""
    c, cfg = doc["curves"], doc["config"]
    task = cfg["task"]
    spectra = c.get("lyapunov_epoch")
    ax = new_axes((14.5, 4.2) if spectra else (10, 4.2))
    fig = ax.figure
    ax.remove()
    axes = fig.subplots(1, 3 if spectra else 2)
    ax_loss, ax_metric = axes[0], axes[1]
    if spectra:
        _spectra(axes[2], c, cfg)
    for name, style in (("train", "-"), ("test", "--")):
        ax_loss.plot(c["epoch"], c[f"{name}_loss"], style, marker=".", label=name)
        ax_metric.plot(c["epoch"], c[f"{name}_metric"], style, marker=".", label=name)
    ax_loss.set_yscale("log")
    losses = [v for name in ("train_loss", "test_loss") for v in c[name] if v is not None and v > 0]
    if losses and max(losses) < 10 * min(losses):  # within a decade: 1.13, not 1.13 × 10^0
        from matplotlib.ticker import FuncFormatter

        plain = FuncFormatter(lambda v, _: f"{v:.3g}")
        ax_loss.yaxis.set_major_formatter(plain)
        ax_loss.yaxis.set_minor_formatter(plain)
    ax_loss.set_xlabel("epoch (passes over the training set)")
    ax_loss.set_ylabel(_LOSS_LABELS.get(task["loss"], task["loss"]))
    ax_metric.set_xlabel("epoch (passes over the training set)")
    ax_metric.set_ylabel(_METRIC_LABELS.get(task["metric"], task["metric"]))
    from matplotlib.ticker import MaxNLocator

    for a in (ax_loss, ax_metric):
        a.xaxis.set_major_locator(MaxNLocator(integer=True))  # whole epochs only
        a.legend(frameon=False)
        a.grid(alpha=0.3)
    params = ", ".join(f"{k}={v}" + ("" if task["units"].get(k, "1") == "1" else f" {task['units'][k]}")
                       for k, v in task["parameters"].items())
    fig.suptitle(f"{task['name']} ({params}): {cfg['net'].upper()}, H = {cfg['hidden']}, "
                 f"{cfg['optimizer']} lr = {cfg['lr']:g}", fontsize=10)
    put_footer(fig, footer)  # the shared footer: wrapped, in a strip the layout keeps free
    return ax_loss


def _spectra(ax, c, cfg):
    """The Lyapunov spectra along training, one line per record, coloured by epoch."""
    import matplotlib as mpl
    import numpy as np

    epochs = np.asarray(c["lyapunov_epoch"], float)
    norm = mpl.colors.Normalize(vmin=epochs.min(), vmax=max(epochs.max(), epochs.min() + 1))
    cmap = mpl.colormaps["viridis"]
    for e, lam in zip(epochs, c["lyapunov_exponents"]):
        lam = np.asarray(lam, float)
        ax.plot(np.arange(1, len(lam) + 1), lam, color=cmap(norm(e)), marker=".", ms=3, lw=1)
    ax.axhline(0.0, color="0.5", lw=0.8)
    ax.set_xlabel("exponent index i")
    ax.set_ylabel("Lyapunov exponent λ_i (1/step)")
    ly = cfg.get("lyapunov", {})
    ax.set_title(f"spectrum under the task's input ({ly.get('state', 'h')} state)", fontsize=9)
    bar = ax.figure.colorbar(mpl.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, label="epoch")
    bar.locator = mpl.ticker.MaxNLocator(integer=True)  # whole epochs only
    bar.update_ticks()
    ax.grid(alpha=0.3)


def network_fixed_points(doc, footer=None):
    """The fixed points of a trained network on the top principal components of its hidden
    states, with test trajectories (grey), as Sussillo & Barak (2013) Fig. 2: stable points
    filled, unstable (saddles) open, labelled with their outputs' signs; from the
    ``fixed_points`` part of a training document. Returns the ``Axes``."""
    import numpy as np

    fp, cfg = doc["fixed_points"], doc["config"]
    k = len(fp["explained_variance"])
    ax = new_axes((6.5, 5.8))
    if k >= 3:
        fig = ax.figure
        ax.remove()
        ax = fig.add_subplot(projection="3d")
    for traj in fp["trajectories_pc"]:
        t = np.asarray(traj)
        if k == 1:  # one unit (H = 1): the state against time, fixed points as levels
            ax.plot(np.arange(len(t)), t[:, 0], color="0.6", lw=0.6, alpha=0.7)
        else:
            ax.plot(*t[:, :min(k, 3)].T, color="0.6", lw=0.6, alpha=0.7)
    for p in fp["points"]:
        c = np.asarray(p["pc"])[:min(k, 3)]
        if k == 1:
            ax.axhline(c[0], color="k" if p["stable"] else "tab:red", lw=1.2, ls="-" if p["stable"] else "--")
            c = np.array([0.0, c[0]])
        if p["stable"]:
            ax.scatter(*c, color="k", s=40, zorder=3)
            label = "".join("+" if v > 0 else "-" for v in p["output"])
            ax.text(*c, " " + label, fontsize=7)
        else:
            ax.scatter(*c, facecolors="none", edgecolors="tab:red", s=30, zorder=3)
    ev = fp["explained_variance"]
    names = ["PC1", "PC2", "PC3"]
    if k == 1:
        ax.set_xlabel("time step of the test sequences")
        ax.set_ylabel(f"{names[0]} (the hidden state)")
    else:
        ax.set_xlabel(f"{names[0]} ({100 * ev[0]:.0f}% var.)")
    if k > 1:
        ax.set_ylabel(f"{names[1]} ({100 * ev[1]:.0f}% var.)")
    if k > 2:
        ax.set_zlabel(f"{names[2]} ({100 * ev[2]:.0f}% var.)")
    ax.set_title(f"{cfg['task']['name']}, {cfg['net'].upper()} H = {cfg['hidden']}: {fp['n_stable']} stable "
                 f"(filled, output signs) and {fp['n_unstable']} unstable (open) fixed points, input {fp['input']}; "
                 "test trajectories grey", fontsize=8, wrap=True)
    if footer:
        put_footer(ax.figure, footer)  # a strip kept free under the 3-D axes' tick labels
    return ax
