"""Figures of biodyn.learn: learning curves of a trained network."""

from __future__ import annotations

from ._base import new_axes

__all__ = ["learning_curves"]

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
    ax = new_axes((10, 4.2))
    fig = ax.figure
    ax.remove()
    ax_loss, ax_metric = fig.subplots(1, 2)
    for name, style in (("train", "-"), ("test", "--")):
        ax_loss.plot(c["epoch"], c[f"{name}_loss"], style, marker=".", label=name)
        ax_metric.plot(c["epoch"], c[f"{name}_metric"], style, marker=".", label=name)
    ax_loss.set_yscale("log")
    ax_loss.set_xlabel("epoch (passes over the training set)")
    ax_loss.set_ylabel(_LOSS_LABELS.get(task["loss"], task["loss"]))
    ax_metric.set_xlabel("epoch (passes over the training set)")
    ax_metric.set_ylabel(_METRIC_LABELS.get(task["metric"], task["metric"]))
    for a in (ax_loss, ax_metric):
        a.legend(frameon=False)
        a.grid(alpha=0.3)
    params = ", ".join(f"{k}={v}" + ("" if task["units"].get(k, "1") == "1" else f" {task['units'][k]}")
                       for k, v in task["parameters"].items())
    fig.suptitle(f"{task['name']} ({params}): {cfg['net'].upper()}, H = {cfg['hidden']}, "
                 f"{cfg['optimizer']} lr = {cfg['lr']:g}", fontsize=10)
    if footer:
        engine = fig.get_layout_engine()
        if engine is not None and hasattr(engine, "set"):
            engine.set(rect=(0, 0.03, 1, 0.97))
        fig.text(0.99, 0.003, footer, ha="right", va="bottom", fontsize=6, color="0.5")
    return ax_loss
