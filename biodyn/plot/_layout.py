"""Checks of a drawn figure's layout: text that overlaps other text, text that covers bars,
text cut off at the figure's edge, and axes without a label.

:func:`layout_problems` renders the figure (Agg) and compares the window extents of every
piece of text matplotlib drew — titles, suptitle, axis labels, tick labels, legends, texts and
annotations, figure texts (the provenance footer) — pairwise. It returns readable problem
lines (empty when the figure is clean); the figure tests run it over every figure kind.

Decisions: two boxes overlap when they share more than ``tolerance`` pixels in both
directions (default 1 px at the figure's dpi); a legend is one box (its frame, drawn or not);
tick labels of one axis are compared with each other too (crowded ticks); texts inside a legend
are the legend's. A text is clipped when its box leaves the figure by more than ``tolerance``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["layout_problems", "text_boxes", "keep_legends_off_data"]


def _visible_text(t):
    return t is not None and t.get_visible() and str(t.get_text()).strip() != ""


def _drawn_ticklabels(axis):
    """The tick labels matplotlib draws (ticks inside the view interval), both sides."""
    try:
        ticks = axis._update_ticks()  # what Axis.draw draws
    except Exception:  # pragma: no cover  (a private API: fall back to the view interval)
        lo, hi = sorted(axis.get_view_interval())
        ticks = [t for t in axis.get_major_ticks() + axis.get_minor_ticks() if lo <= t.get_loc() <= hi]
    out = []
    for t in ticks:
        for lab in (t.label1, t.label2):
            if lab.get_visible():
                out.append(lab)
    return out


def text_boxes(fig):
    """``[(name, owner, Bbox)]`` of every visible piece of text in ``fig`` (rendered once).

    ``owner`` groups boxes that may touch (the tick labels of one axis share an owner only
    for the crowding check, which :func:`layout_problems` does separately).
    """
    fig.canvas.draw()  # twice, as biodyn.plot.save does: the constrained layout settles
    fig.canvas.draw()  # once the legends placed outside the axes have their size
    r = fig.canvas.get_renderer()
    out = []
    for k, ax in enumerate(fig.axes):
        if not ax.get_visible():
            continue
        tag = f"axes {k}" + (f" ({ax.get_label()})" if ax.get_label() and not ax.get_label().startswith("<") else "")
        for which, t in (("title", ax.title), ("left title", ax._left_title), ("right title", ax._right_title)):
            if _visible_text(t):
                out.append((f"{tag} {which} {t.get_text()!r}", (k, which), t.get_window_extent(r)))
        for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            if not axis.get_visible():
                continue
            if _visible_text(axis.label):
                out.append((f"{tag} {name} label {axis.label.get_text()!r}", (k, name + "label"),
                            axis.label.get_window_extent(r)))
            off = axis.get_offset_text()
            if _visible_text(off):
                out.append((f"{tag} {name} offset text {off.get_text()!r}", (k, name + "offset"),
                            off.get_window_extent(r)))
            for j, tl in enumerate(_drawn_ticklabels(axis)):
                if _visible_text(tl):
                    out.append((f"{tag} {name} tick label {tl.get_text()!r}", (k, name + "tick", j),
                                tl.get_window_extent(r)))
        leg = ax.get_legend()
        if leg is not None and leg.get_visible():
            out.append((f"{tag} legend", (k, "legend"), leg.get_window_extent(r)))
        for j, t in enumerate(ax.texts):
            if _visible_text(t):
                out.append((f"{tag} text {t.get_text()[:40]!r}", (k, "text", j), t.get_window_extent(r)))
    if fig._suptitle is not None and _visible_text(fig._suptitle):
        out.append((f"suptitle {fig._suptitle.get_text()[:40]!r}", ("fig", "suptitle"),
                    fig._suptitle.get_window_extent(r)))
    for j, t in enumerate(fig.texts):
        if t is not fig._suptitle and _visible_text(t):
            out.append((f"figure text {t.get_text()[:40]!r}", ("fig", "text", j), t.get_window_extent(r)))
    for j, leg in enumerate(fig.legends):
        out.append((f"figure legend {j}", ("fig", "legend", j), leg.get_window_extent(r)))
    return out


def _overlap(a, b, tol):
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return w > tol and h > tol


def _bars(fig, r):
    """Bars (Rectangle patches of bar charts) per axes: text must not cover them."""
    from matplotlib.patches import Rectangle

    out = []
    for k, ax in enumerate(fig.axes):
        for p in ax.patches:
            if isinstance(p, Rectangle) and p.get_visible() and abs(p.get_height()) > 0 and p.get_width() > 0:
                out.append((k, p.get_window_extent(r)))
    return out


def _data_points(ax, r, step=3.0):
    """Display coordinates of what ``ax`` draws as data: the vertices of its lines (segments
    filled in every ``step`` pixels, so a line crossing a box without a vertex in it counts)
    and the markers of its scatter plots. Lines in axes coordinates on one side
    (``axhline``/``axvline``: references, not data) are left out."""
    from matplotlib.collections import PathCollection

    out = []
    for line in ax.get_lines():
        if not line.get_visible() or line.get_transform() != ax.transData:
            continue
        xy = np.column_stack([np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)])
        xy = xy[np.all(np.isfinite(xy), axis=1)]
        if not len(xy):
            continue
        d = ax.transData.transform(xy)
        if line.get_linestyle() not in ("None", "none", "", " ") and len(d) > 1:
            seg = np.diff(d, axis=0)
            n = np.clip((np.hypot(seg[:, 0], seg[:, 1]) / step).astype(int), 1, 2000)
            d = np.concatenate([d[i] + np.outer(np.arange(n[i]) / n[i], seg[i]) for i in range(len(seg))]
                               + [d[-1:]])
        out.append(d)
    for c in ax.collections:
        if isinstance(c, PathCollection) and c.get_visible() and len(c.get_offsets()):
            out.append(c.get_offset_transform().transform(np.asarray(c.get_offsets(), float)))
    return np.concatenate(out) if out else np.zeros((0, 2))


def _covered(leg, ax, r, tolerance=1.0):
    b = leg.get_window_extent(r)
    pts = _data_points(ax, r)
    return int(np.sum((pts[:, 0] > b.x0 + tolerance) & (pts[:, 0] < b.x1 - tolerance)
                      & (pts[:, 1] > b.y0 + tolerance) & (pts[:, 1] < b.y1 - tolerance)))


def _on_texts_or_bars(leg, ax, r, tolerance=1.0):
    """Whether legend ``leg`` covers a visible text (``ax.text``) or a bar of ``ax``."""
    from matplotlib.patches import Rectangle

    b = leg.get_window_extent(r)
    for t in ax.texts:
        if _visible_text(t) and _overlap(b, t.get_window_extent(r), tolerance):
            return True
    return any(isinstance(p, Rectangle) and p.get_visible() and abs(p.get_height()) > 0 and p.get_width() > 0
               and _overlap(b, p.get_window_extent(r), tolerance) for p in ax.patches)


#: Places a legend inside its axes may take, in order of preference (matplotlib's codes).
_INSIDE = ("upper right", "upper left", "lower left", "lower right", "center right", "center left",
           "upper center", "lower center")


def keep_legends_off_data(fig):
    """Move every axes legend that covers data (lines, their segments, markers: see
    :func:`layout_problems`, check 5) to the first corner or side of its axes where it covers
    none, else under the axes (below its x label; the constrained layout makes room: the panel
    keeps its width, so titles wrapped to it still fit).
    Returns the number of legends moved. :func:`biodyn.plot.save` calls it on every figure."""
    if not any(ax.get_legend() is not None and ax.get_legend().get_visible()
               and getattr(ax.get_legend(), "_bbox_to_anchor", None) is None for ax in fig.axes):
        return 0  # no legend inside an axes: nothing to check, no extra draw
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    moved = 0
    for ax in fig.axes:
        leg = ax.get_legend()
        if leg is None or not leg.get_visible() or getattr(leg, "_bbox_to_anchor", None) is not None:
            continue  # anchored by its figure on purpose (outside the axes)
        if not _covered(leg, ax, r):
            continue
        moved += 1
        for loc in _INSIDE:  # a place over no data, no text and no bar of the axes
            leg.set_loc(loc)
            if not _covered(leg, ax, r) and not _on_texts_or_bars(leg, ax, r):
                break
        else:  # under the axes' tick labels and x label (a fixed distance in points)
            from matplotlib.transforms import ScaledTranslation

            leg.set_loc("upper center")
            below = ax.xaxis.get_tightbbox(r)
            drop = (ax.bbox.y0 - (below.y0 if below is not None else ax.bbox.y0)) / fig.dpi + 4 / 72
            leg.set_bbox_to_anchor((0.5, 0.0), transform=ax.transAxes
                                   + ScaledTranslation(0, -drop, fig.dpi_scale_trans))
    if moved:
        fig.canvas.draw()
    return moved


def layout_problems(fig, tolerance=1.0, require_labels=True):
    """Problems of ``fig``'s layout, one readable line each (an empty list: none).

    Checks: (1) no two pieces of text overlap (tick labels of one axis with each other
    included; a text and the tick label it stands beside are different owners);
    (2) no text leaves the figure (a title cut off); (3) no text in an axes or legend covers
    a bar; (4) with ``require_labels``, every axis that shows tick labels has a label; (5) no
    legend drawn inside an axes covers a point of that axes' lines (their segments too) or
    markers (reference lines drawn with ``axhline``/``axvline`` excepted).
    """
    boxes = text_boxes(fig)
    r = fig.canvas.get_renderer()
    W, H = fig.bbox.width, fig.bbox.height
    problems = []
    for name, _, b in boxes:
        if b.x0 < -tolerance or b.y0 < -tolerance or b.x1 > W + tolerance or b.y1 > H + tolerance:
            problems.append(f"clipped: {name} extends outside the figure "
                            f"(x {b.x0:.0f}..{b.x1:.0f} of {W:.0f}, y {b.y0:.0f}..{b.y1:.0f} of {H:.0f})")
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            (na, oa, a), (nb, ob, b) = boxes[i], boxes[j]
            if oa == ob:
                continue
            if _overlap(a, b, tolerance):
                problems.append(f"overlap: {na} and {nb}")
    bars = _bars(fig, r)
    for name, owner, b in boxes:
        if owner[0] == "fig" or owner[1] not in ("legend", "text"):
            continue
        for k, bar in bars:
            if k == owner[0] and _overlap(b, bar, tolerance):
                problems.append(f"covers data: {name} covers a bar")
                break
    for k, ax in enumerate(fig.axes):  # (5) a legend over the data of its axes
        leg = ax.get_legend()
        if leg is None or not leg.get_visible() or not ax.get_visible():
            continue
        n = _covered(leg, ax, r, tolerance)
        if n:
            problems.append(f"covers data: axes {k} legend covers {n} point(s) of its lines or markers")
    if require_labels:
        for k, ax in enumerate(fig.axes):
            if not ax.get_visible():
                continue
            for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
                if not axis.get_visible():
                    continue
                ticks = [t for t in _drawn_ticklabels(axis) if _visible_text(t)]
                shared = (ax.get_shared_x_axes() if name == "x" else ax.get_shared_y_axes()).get_siblings(ax)
                labelled = any(_visible_text((s.xaxis if name == "x" else s.yaxis).label) for s in shared)
                if ticks and not labelled:
                    problems.append(f"unlabelled: axes {k} {name} axis has tick labels but no label")
    return problems
