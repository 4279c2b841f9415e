"""Analysis jobs of phase-space geometry: basins of attraction and Lyapunov functions.

Like the other analyses (:mod:`._analyze`), each job checks its output paths first, reads the
model as a vector field, computes, draws ``OUT/MODEL_<analysis>.png`` and, if asked, writes
the numbers as JSON — all or nothing. States are SI (``units`` per variable); times are in
the model's ``time_unit``.
"""

from __future__ import annotations

import numpy as np

from ..errors import BiodynError
from ._analyze import DRAW, _base, _read, _two_panels, _write, time_value
from ._base import JobResult, all_or_nothing, check_outputs

__all__ = ["analyze_basins", "draw_basins"]


def draw_basins(summary):
    """Basin map (2-D slice) or nothing, and the fractions with their intervals."""
    from .. import plot

    if "grid_x" in summary:
        axes = _two_panels((12.0, 4.8))
        plot.basin_map(summary, axes[0])
        plot.basin_fractions(summary, axes[1])
        return axes[0]
    return plot.basin_fractions(summary)


DRAW["basins"] = draw_basins


@all_or_nothing()
def analyze_basins(model, *, params=None, overrides=None, variants=None, seed=0, reading="auto",
                   out="results", json=None, grid=None, samples=None, x=None, y=None,
                   duration=None, dt=None, confidence=0.95):
    """Basins of attraction of a flow (:func:`biodyn.dynamics.basins`; figure + optional JSON).

    With ``grid`` a basin map on the plane of ``x`` and ``y`` (other components at the first
    stable fixed point); with ``samples`` states drawn uniformly in the spec's ``[ranges]``
    box. For 2-D flows the stable manifolds of saddles (the basin boundaries they are) are
    drawn on the map and written to the JSON.

    JSON: ``{"attractors": [{"kind", "type", "state" | "range", "count", "fraction",
    "interval"}], "confidence", "n_starts", "sampling", "duration", "dt", "labels" (the map,
    rows along y, or one label per sampled state), "grid_x", "grid_y", "x", "y",
    "reference", "manifolds", ...}``.
    """
    from ..dynamics import basins, find_fixed_points, saddle_manifolds, search_box

    check_outputs(out, json)
    field = _read(model, params, overrides, variants, seed, reading)
    if field.is_map or not field.autonomous:
        raise BiodynError(f"{field.name}: basins are computed for autonomous flows (this model is "
                          + ("a map" if field.is_map else "forced: use parameters without forcing") + ")")
    if field.n > 50:
        raise BiodynError(f"{field.name} has {field.n} state components: basins are computed for "
                          "at most 50 (use a mean-field reading or a smaller network)")
    fps = find_fixed_points(field, seed=seed)
    dur = time_value(field, duration, "--duration", None)
    dt_v = time_value(field, dt, "--dt", None)
    box = search_box(field)
    res = basins(field, grid=grid, samples=samples, x=x, y=y, fixed_points=fps, box=box,
                 duration=dur, dt=dt_v, seed=seed, confidence=confidence)
    summary = _base(field, "basins", seed, overrides)
    summary.update(res.as_dict(field))
    summary["fixed_points"] = [fp.as_dict(field) for fp in fps]
    if res.grid is not None and field.n == 2:
        mans = []
        for fp in fps:
            if fp.type == "saddle":
                try:
                    mans += [m.as_dict(field) for m in saddle_manifolds(field, fp, fixed_points=fps,
                                                                         box=box, kinds=("stable",))]
                except BiodynError:
                    pass
        summary["manifolds"] = mans
    name = f"{field.name}_basins"
    if res.grid is not None:
        name += "_" + f"{summary['x']}_{summary['y']}".replace("[", "").replace("]", "").replace(".", "_")
    paths = _write(summary, draw_basins(summary), out, name, json)
    return JobResult(summary, paths)
