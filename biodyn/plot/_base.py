"""Shared helpers of the figures: a fresh Axes, atomic saving, the palette, the footer.

**One palette per meaning** (:data:`PALETTE`), the same in every figure: published data in
black (open squares with SEM bars), the model in blue, reference curves (published fits,
closed forms, expected values) dashed dark grey; pre-post pairings (Δt > 0) red and post-pre
(Δt < 0) blue; the biological learner blue and the artificial one orange; stable states black,
unstable red; the potential of a flow's gradient part ochre; nullclines red (x) and blue (y), trajectories in colours that are neither
(:data:`TRAJECTORY_COLOURS`).

**The provenance footer** (:func:`footer`): a grey line under everything else, placed by
reserving a strip at the bottom of the constrained layout, as many lines high as the text
needs once wrapped to the figure's width — it never overlaps a label or a legend however long
the provenance grows.
"""

from __future__ import annotations

__all__ = ["new_axes", "save", "dedup_legend", "PALETTE", "TRAJECTORY_COLOURS", "footer",
           "group_colour", "wrap_to_axes"]

#: Colours per meaning, shared by every figure.
PALETTE = {
    "data": "black",
    "model": "#1f77b4",
    "reference": "0.35",
    "pre_post": "#d62728",
    "post_pre": "#1f77b4",
    "bio": "#1f77b4",
    "ann": "#ff7f0e",
    "stable": "black",
    "unstable": "#d62728",
    "nullcline_x": "#d62728",
    "nullcline_y": "#1f77b4",
    "pre_post_pre": "#9467bd",
    "post_pre_post": "#2ca02c",
    "quadruplet": "#8c564b",
    "correlated": "#d62728",
    "unbounded": "#2ca02c",
    "potential": "#c8963e",
    "zero": "0.8",
    "footer": "0.45",
}

#: Colours of trajectories and of groups that have no meaning of their own: none is a
#: nullcline's, data's or reference's colour.
TRAJECTORY_COLOURS = ("#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#ff7f0e",
                      "#7f7f7f")


def group_colour(name, value, k):
    """The colour of group ``k`` (value ``value`` of label ``name``): timing groups
    (``delta_t``, ``dt``: the sign of Δt) in the pre-post/post-pre colours, others from
    :data:`TRAJECTORY_COLOURS` after the model's blue and red."""
    if name is not None and ("delta_t" in str(name) or str(name) in ("dt", "dt1")) and value not in (None, 0):
        try:
            return PALETTE["pre_post"] if float(value) > 0 else PALETTE["post_pre"]
        except (TypeError, ValueError):
            pass
    cycle = (PALETTE["model"], PALETTE["pre_post"]) + TRAJECTORY_COLOURS
    return cycle[k % len(cycle)]


def _text_width(text, fontsize):
    """Width of ``text`` in points at ``fontsize`` (the default font; mathtext measured)."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    w, _, _ = TextToPath().get_text_width_height_descent(text, FontProperties(size=fontsize),
                                                         ismath="$" in text)
    return w


def _wrap_measured(text, width_pt, fontsize):
    out = []
    for line in str(text).splitlines() or [""]:
        words, cur = line.split(" "), ""
        for w in words:
            trial = f"{cur} {w}" if cur else w
            if cur and _text_width(trial, fontsize) > width_pt:
                out.append(cur)
                cur = w
            else:
                cur = trial
        out.append(cur)
    return "\n".join(out)


def wrap_to_axes(text, ax, fontsize, share=1.0):
    """``text`` wrapped (line by line, words measured in the default font) to the width its
    axes will have once laid out: its column's share of the figure, less the room of the
    y tick labels and label (times ``share``: a suptitle over three panels passes 3)."""
    fig = ax.figure
    spec = ax.get_subplotspec()
    if spec is not None:
        top = spec.get_topmost_subplotspec()
        ncols = top.get_gridspec().ncols
        cols = len(range(top.colspan.start, top.colspan.stop))
        width_pt = fig.get_figwidth() * 72.0 * cols / ncols - 50.0
    else:
        width_pt = ax.get_position().width * fig.get_figwidth() * 72.0
    return _wrap_measured(text, max(width_pt * share, 60.0), fontsize)


def footer(fig, text, fontsize=6.0):
    """Put the provenance line ``text`` under everything in ``fig``.

    The text is wrapped to the figure's width; the constrained layout keeps a strip of
    the wrapped text's height free at the bottom (other layouts: ``subplots_adjust``), so
    the footer never overlaps axis labels or legends. Returns the ``Text``.
    """
    import textwrap

    if not text:
        return None
    width_pt = fig.get_figwidth() * 72.0
    chars = max(20, int(0.98 * width_pt / (0.56 * fontsize)))
    lines = []
    for para in str(text).splitlines():
        lines.extend(textwrap.wrap(para, chars) or [""])
    height = (len(lines) * 1.25 * fontsize + 4.0) / (fig.get_figheight() * 72.0)
    engine = fig.get_layout_engine()
    if engine is not None and hasattr(engine, "set") and type(engine).__name__ == "ConstrainedLayoutEngine":
        engine.set(rect=(0, height, 1, 1 - height))
    else:
        fig.subplots_adjust(bottom=max(fig.subplotpars.bottom, height + 0.08))
    return fig.text(0.99, 0.004, "\n".join(lines), ha="right", va="bottom", fontsize=fontsize,
                    color=PALETTE["footer"], linespacing=1.1)


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

    from ._layout import keep_legends_off_data

    fig = ax.figure
    keep_legends_off_data(fig)  # draws: the constrained layout settles (legends outside axes)
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
