"""Shared helpers of the figures: a fresh Axes, atomic saving."""

from __future__ import annotations

__all__ = ["new_axes", "save", "dedup_legend"]


def new_axes(figsize=(6.0, 4.0)):
    """A fresh figure with one Axes (Agg backend; no screen needed)."""
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "pdf", "svg", "cairo", "module://matplotlib_inline.backend_inline"):
        try:
            matplotlib.use("Agg")
        except Exception:  # pragma: no cover
            pass
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def save(ax, path):
    """Save the figure of ``ax`` to ``path`` atomically and close it."""
    import matplotlib.pyplot as plt

    from ..io import atomic_path

    fig = ax.figure
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=130, format=str(path).rsplit(".", 1)[-1])
    plt.close(fig)
    return path


def dedup_legend(ax, **kwargs):
    """A legend with one entry per label (markers drawn once per point share a label)."""
    handles, labels = ax.get_legend_handles_labels()
    seen = {}
    for h, lab in zip(handles, labels):
        if lab and lab not in seen:
            seen[lab] = h
    if seen:
        ax.legend(list(seen.values()), list(seen.keys()), **kwargs)
