"""Figures of spiking networks trained on tasks (``biodyn train --net lif``)."""

from __future__ import annotations

from ._base import footer as put_footer, new_axes
from ._learn import _LOSS_LABELS, _METRIC_LABELS

__all__ = ["snn_learning_curves", "adjoint_scale"]


def adjoint_scale(config=None):
    r"""``(factor, unit)``: the adjoint :math:`\lVert\partial E/\partial v_t\rVert` of a spiking
    training (``curves["adjoint_norm"]``, per SI unit of the threshold's variable, recorded as
    ``config["adjoint"]["unit"]``) times ``factor`` is per ``unit``. The loss :math:`E` is
    dimensionless, so the adjoint has the inverse unit of :math:`v`: per volt in the document,
    shown per mV (the membrane's scale; factor 1e-3). Documents written before the unit was
    recorded hold volts too (every catalog spiking neuron's threshold variable is ``v`` in V)."""
    unit = ((config or {}).get("adjoint") or {}).get("unit", "V")
    if unit in ("V", "volt"):
        return 1e-3, "1/mV"
    return 1.0, f"1/{unit}"


def snn_learning_curves(doc, footer=None):
    """Five panels from a spiking training document (``{"curves", "config"[, "brian"]}``):
    train/test loss (log) and metric, the mean firing rate on the test set, and the alignment
    (cosine) of the learner's update with the BPTT surrogate gradient, per epoch, and the norm
    of the reverse-time adjoint through the sequence before and after training. With a
    ``brian`` entry, the metric of the trained weights run in Brian2 is marked at the last epoch.
    Returns the loss ``Axes``."""
    import numpy as np

    c, cfg = doc["curves"], doc["config"]
    task = cfg["task"]
    ax = new_axes((16, 7.2))
    fig = ax.figure
    ax.remove()
    axes = fig.subplots(2, 3)
    a_loss, a_metric, a_rate, a_align, a_adj, a_free = axes.ravel()
    a_free.remove()
    ep = np.asarray(c["epoch"], float)
    for name, style in (("train", "-"), ("test", "--")):
        a_loss.plot(ep, c[f"{name}_loss"], style, marker=".", label=name)
        a_metric.plot(ep, c[f"{name}_metric"], style, marker=".", label=name)
    b = doc.get("brian")
    if b:
        a_metric.plot([ep[-1]], [b["test_metric_brian"]], "k*", ms=10, label=f"Brian2 ({b['target']}, "
                      f"{b['n_sequences']} test seq.)")
    a_loss.set_yscale("log")
    # two lines: in a panel 2.7 in high, "classification accuracy (fraction of sequences)" ran
    # past its axes into the suptitle
    a_loss.set_ylabel(_LOSS_LABELS.get(task["loss"], task["loss"]).replace(" (", "\n(", 1))
    a_metric.set_ylabel(_METRIC_LABELS.get(task["metric"], task["metric"]).replace(" (", "\n(", 1))
    a_rate.plot(ep, c["rate_hz"], marker=".", color="0.3")
    a_rate.set_ylabel("mean firing rate on the test set (Hz)")
    align = np.array([np.nan if v is None else v for v in c["alignment"]], float)
    a_align.plot(ep, align, marker=".", color="C3")
    a_align.set_ylim(min(-0.05, np.nanmin(align) - 0.05) if np.any(np.isfinite(align)) else -0.05, 1.05)
    a_align.axhline(1.0, color="0.7", lw=0.8)
    a_align.set_ylabel("cos(update, BPTT surrogate gradient)")
    from matplotlib.ticker import MaxNLocator

    for a in (a_loss, a_metric, a_rate, a_align):
        a.set_xlabel("epoch (passes over the training set)")
        a.xaxis.set_major_locator(MaxNLocator(integer=True))  # whole epochs only
        a.grid(alpha=0.3)
    adj = c.get("adjoint_norm") or []
    if adj:
        dt = cfg.get("dt_ms", 1.0)
        factor, unit = adjoint_scale(cfg)
        for row, label, colour in ((adj[0], f"epoch {int(ep[0])}", "C0"), (adj[-1], f"epoch {int(ep[-1])}", "C1")):
            y = np.array([np.nan if v is None else v for v in row], float) * factor
            a_adj.semilogy(np.arange(len(y)) * dt, np.where(y > 0, y, np.nan), color=colour, label=label)
        a_adj.set_xlabel("time in the sequence (ms)")
        var = (cfg.get("adjoint") or {}).get("variable", "v")
        a_adj.set_ylabel(f"adjoint |∂E/∂{var}_t| ({unit}),\nnorm over test batch and neurons")
        a_adj.legend(frameon=False, fontsize=8)
        a_adj.grid(alpha=0.3)
    else:
        a_adj.remove()
    for a in (a_loss, a_metric):
        a.legend(frameon=False, fontsize=8)
    fig.suptitle(f"{task['name']}: {cfg['model']} network, H = {cfg['hidden']}, learner {cfg['learner']}, "
                 f"{cfg['optimizer']} lr = {cfg['lr']:g}", fontsize=10)
    put_footer(fig, footer)  # the shared footer: wrapped, in a strip the layout keeps free
    return a_loss
