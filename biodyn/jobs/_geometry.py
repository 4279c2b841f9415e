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

__all__ = ["analyze_basins", "draw_basins", "state_box"]


def state_box(field, ranges=None):
    """The box ``(lo, hi)`` (SI) of an analysis: the spec's ``[ranges]`` (completed by
    :func:`biodyn.dynamics.search_box`), with ``ranges`` (``{variable: (lo, hi)}``, numbers in
    SI or text with units, ``"-80 mV"``) replacing it per variable."""
    from ..dynamics import search_box
    from ..errors import SpecError
    from ..spec import parse_quantity

    lo, hi = search_box(field)
    lo, hi = lo.copy(), hi.copy()
    for var, pair in (ranges or {}).items():
        idx = field.indices(var)
        g, s = field.var_of[int(idx[0])]
        grp = next(gr for gr in field.groups if gr.name == g)
        dim = grp.dims.get(s)
        vals = []
        for text in pair:
            try:
                vals.append(float(text))
            except (TypeError, ValueError):
                vals.append(float(np.asarray(parse_quantity(str(text), dim, file="<command line>",
                                                            key=f"--range {var}"))))
        if not vals[0] < vals[1]:
            raise SpecError("<command line>", f"--range {var}", "LO < HI", f"{pair[0]} {pair[1]}")
        lo[idx], hi[idx] = vals
    return lo, hi


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
                   duration=None, dt=None, confidence=0.95, ranges=None):
    """Basins of attraction of a flow (:func:`biodyn.dynamics.basins`; figure + optional JSON).

    With ``grid`` a basin map on the plane of ``x`` and ``y`` (other components at the first
    stable fixed point); with ``samples`` states drawn uniformly in the spec's ``[ranges]``
    box (``ranges`` replaces it per variable: :func:`state_box`). For 2-D flows the stable
    manifolds of saddles (the basin boundaries they are) are drawn on the map and written to
    the JSON.

    JSON: ``{"attractors": [{"kind", "type", "state" | "range", "count", "fraction",
    "interval"}], "confidence", "n_starts", "sampling", "duration", "dt", "labels" (the map,
    rows along y, or one label per sampled state), "grid_x", "grid_y", "x", "y",
    "reference", "manifolds", ...}``.
    """
    from ..dynamics import basins, find_fixed_points, saddle_manifolds

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
    box = state_box(field, ranges)
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


#: At most this many stable points get a panel of their own in a lyapunov-function figure.
MAX_CERTIFICATE_PANELS = 4


def draw_lyapunov_function(summary):
    """Sign of dV/dt on the samples, level sets of V and the region-of-attraction estimate: one
    panel per certified stable point (the first :data:`MAX_CERTIFICATE_PANELS`; a bistable
    system shows both wells), else the one function."""
    from .. import plot

    certs = [c for c in summary.get("certificates") or [] if c.get("samples")]
    if len(certs) <= 1:
        return plot.lyapunov_function_map(summary)
    certs = certs[:MAX_CERTIFICATE_PANELS]
    ax = plot.new_axes((5.0 * len(certs), 5.2))
    fig = ax.figure
    ax.remove()
    axes = fig.subplots(1, len(certs))
    for c, a in zip(certs, axes):
        plot.lyapunov_function_map({**summary, **c}, a)
    return axes[0]


DRAW["lyapunov-function"] = draw_lyapunov_function
__all__ += ["analyze_lyapunov_function", "draw_lyapunov_function"]


def _short(expr, width=90):
    return expr if len(expr) <= width else expr[: width - 3] + "..."


@all_or_nothing()
def analyze_lyapunov_function(model, *, candidate=None, params=None, overrides=None, variants=None,
                              seed=0, reading="auto", out="results", json=None, samples=4000,
                              x=None, y=None, ranges=None):
    """Lyapunov functions of a flow (figure + optional JSON).

    Without ``candidate``: the quadratic certificate :math:`V = z^\\top P z` at every stable
    fixed point (:func:`biodyn.dynamics.quadratic_lyapunov`) with its region-of-attraction
    estimate, each in ``certificates`` (with its samples and level grid) and in a panel of the
    figure of its own (the first four); the top-level keys are the first's. With ``candidate`` (an expression in the state
    variables, parameters and unit names, SI): :math:`\\dot V` derived symbolically and its
    sign on ``samples`` states in the box (:func:`biodyn.dynamics.check_lyapunov_function`;
    the box is the spec's ``[ranges]``, replaced per variable by ``ranges``: :func:`state_box`).

    JSON: ``{"V", "Vdot", "symbolic", "fractions": {"negative", "zero", "positive"},
    "samples": {var: [...], "V", "Vdot", "sign"}, "region_of_attraction": {"level", ...},
    "P", "scale", "certificates": [...], "fixed_points", ...}``; ``Vdot`` per time unit. With
    a candidate also ``"V_unit"`` (its units, checked: inconsistent units are a
    :class:`~biodyn.errors.SpecError` naming ``--candidate``), ``"Vdot_unit"``,
    ``"Vdot_per_second"`` (the factor from per time unit to per second) and
    ``"Vdot_unit_per_second"``.
    """
    from ..dynamics import check_lyapunov_function, find_fixed_points, quadratic_lyapunov

    check_outputs(out, json)
    field = _read(model, params, overrides, variants, seed, reading)
    if field.is_map or not field.autonomous or not field._single:
        from ..dynamics import symbolic_field

        symbolic_field(field)   # the clear error
    ix = int(field.indices(x)[0]) if x else 0
    iy = None if field.n == 1 else (int(field.indices(y)[0]) if y else (1 if ix != 1 else 0))
    if iy is not None and iy == ix:
        from ..errors import SpecError

        raise SpecError("<command line>", "--y", "a variable other than --x", repr(y))
    fps = find_fixed_points(field, seed=seed)
    box = state_box(field, ranges)
    stable = [fp for fp in fps if fp.stable]
    certificates = []
    if candidate is None:
        if not stable:
            raise BiodynError(f"{field.name}: no hyperbolic stable fixed point was found, so there is no "
                              "quadratic certificate; give your own function with --candidate")
        results = [quadratic_lyapunov(field, fp, samples=samples, box=box, seed=seed) for fp in stable]
        main = results[0]
        for fp, r in zip(stable, results):
            d = r.as_dict(field)
            d["fixed_point"]["type"] = fp.type
            certificates.append(d)
    else:
        ref = stable[0].state if stable else None
        main = check_lyapunov_function(field, candidate, samples=samples, box=box, seed=seed,
                                       fixed_point=ref)
    summary = _base(field, "lyapunov-function", seed, overrides)
    summary.update(main.as_dict(field))
    summary["candidate"] = candidate
    summary["certificates"] = certificates
    summary["fixed_points"] = [fp.as_dict(field) for fp in fps]
    if "fixed_point" in summary:
        fp0 = next((fp for fp in stable if np.allclose(fp.state, main.fixed_point)), None)
        if fp0 is not None:
            summary["fixed_point"]["type"] = fp0.type
    summary["plot_x"] = field.names[ix]
    summary["plot_y"] = field.names[iy] if iy is not None else None
    if iy is not None:
        import sympy

        from ..dynamics._lyapunov_functions import symbolic_field
        from ..dynamics._sympy import lambdify_numpy

        syms, _ = symbolic_field(field)
        lo, hi = box
        gx = np.linspace(lo[ix], hi[ix], 60)
        gy = np.linspace(lo[iy], hi[iy], 60)
        GX, GY = np.meshgrid(gx, gy)

        def level_grid(expr, base):
            Vf = lambdify_numpy([str(s) for s in syms], [sympy.sympify(expr, locals={str(s): s for s in syms})])
            S = np.tile(base, (GX.size, 1))
            S[:, ix], S[:, iy] = GX.ravel(), GY.ravel()
            with np.errstate(all="ignore"):
                V = np.broadcast_to(np.asarray(Vf(*S.T)[0], float), (GX.size,)).reshape(GX.shape)
            return {"x": gx.tolist(), "y": gy.tolist(),
                    "V": [[float(v) if np.isfinite(v) else None for v in row] for row in V]}

        summary["level_grid"] = level_grid(main.V, main.fixed_point if main.fixed_point is not None
                                           else field.x0(seed))
        for c, r in zip(certificates, results if candidate is None else []):
            c["level_grid"] = level_grid(r.V, r.fixed_point)
    ax = draw_lyapunov_function(summary)
    paths = _write(summary, ax, out, f"{field.name}_lyapunov_function", json)
    return JobResult(summary, paths)
