"""The compare job: ``biodyn compare NAME`` — a biological rule against its artificial
counterpart, with its figure and JSON.

Runs :func:`biodyn.compare.run` and writes, atomically, ``OUT/NAME.png`` (the four panels of
:func:`biodyn.plot.comparison_figure`) and, if asked, the JSON document of the comparison
(``{"comparison", "seed", "versions", "series", "summary"}``, see
:meth:`biodyn.compare.Comparison.to_dict`).
"""

from __future__ import annotations

import time
from pathlib import Path

from .. import io, plot
from ._base import JobResult, all_or_nothing, check_outputs

__all__ = ["compare", "comparison_footer"]


def comparison_footer(doc):
    """The figure's footer: what shaped the comparison — its name, every setting it ran with
    (``summary["settings"]``, defaults included: a comparison has no parameter set of its own;
    quantities as a reader writes them; settings left unset, ``None``, left out), seed, target
    and versions."""
    import json

    from .._quantity import readable_text

    s = doc.get("summary") or {}
    parts = [doc["comparison"]]
    settings = s.get("settings") or {}
    if settings:
        parts.append("settings " + ", ".join(
            f"{k}={readable_text(v) if isinstance(v, str) else json.dumps(v, separators=(',', ':'))}"
            for k, v in settings.items() if v is not None))
    target = s.get("target")
    parts.append(f"seed {doc['seed']}" + (f", {target}" if target else ""))
    versions = doc.get("versions") or {}
    parts.append(", ".join(f"{k} {v}" for k, v in versions.items()))
    return " · ".join(p for p in parts if p)


@all_or_nothing()
def compare(name, *, seed=0, target="numpy", settings=None, out="results", json=None, figure=True):
    """Run the comparison ``name``; write its figure (and its JSON with ``json``).

    Parameters
    ----------
    name : str
        A key of :data:`biodyn.compare.COMPARISONS`.
    seed : int
    target : str
        Brian2 target of the biological learner (``numpy`` by default: the networks are small).
    settings : dict, optional
        The comparison's settings (quantities as text or Brian2 quantities).
    out : path
        Folder of the figure ``NAME.png``.
    json : path, optional
        Where to write the JSON document.

    Returns
    -------
    JobResult
        ``summary`` is the JSON document; the :class:`~biodyn.compare.Comparison` is in
        ``result.comparison``.
    """
    from .. import compare as _compare

    check_outputs(out if figure else None, json)
    t0 = time.perf_counter()
    result = _compare.run(name, seed=seed, target=target, **dict(settings or {}))
    doc = result.to_dict()
    paths = {}
    if figure:
        ax = plot.comparison_figure(doc, footer=comparison_footer(doc))
        paths["figure"] = plot.save(ax, Path(out) / f"{name}.png")
    if json:
        paths["json"] = io.write_json(doc, Path(json) if str(json) != "-" else "-")
    job = JobResult(doc, paths, {"total": time.perf_counter() - t0})
    job.comparison = result
    return job
