"""Analysis jobs: fixed points, bifurcation diagram, Lyapunov spectrum, phase portrait.

Each job reads a model as a dynamical system (:mod:`biodyn.dynamics`), computes, draws the
figure (``OUT/MODEL_ANALYSIS.png``) and, if asked, writes the numbers as JSON — both
atomically. Every summary records the model, parameter set, overrides, variants, reading,
seed and versions, and the units: state values are SI (``units`` gives each variable's
unit), rates and exponents are per the model's ``time_unit`` (iterations for maps).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import io, plot
from ..errors import BiodynError, SpecError
from ._base import JobResult, all_or_nothing, check_outputs, provenance_line

__all__ = ["analysis_footer", "draw_analysis", "analyze_fixed_points", "analyze_bifurcation", "analyze_lyapunov",
           "analyze_phase_portrait", "time_value", "draw_fixed_points", "draw_bifurcation",
           "draw_lyapunov", "draw_phase_portrait", "DRAW"]


# --------------------------------------------------------------------------
# Shared pieces
# --------------------------------------------------------------------------


def _read(model, params, overrides, variants, seed, reading):
    from ..dynamics import read

    return read(model, params, overrides, variants, reading=reading, seed=seed)


def _base(field, analysis, seed, overrides):
    from ..build import versions
    from ..spec import format_quantity

    plan = field.plan
    units = {}
    for g, s in field.var_of:
        key = s if len(field.groups) == 1 else f"{g}.{s}"
        units.setdefault(key, field.units[field.var_of.index((g, s))])
    return {
        "model": field.name,
        "analysis": analysis,
        "kind": "map" if field.is_map else "flow",
        "reading": plan.reading,
        "parameter_set": plan.resolved.parameter_set,
        "overrides": {k: (v if isinstance(v, str) else format_quantity(v))
                      for k, v in (field._overrides or {}).items()},
        "variants": dict(plan.resolved.variants),
        "dimension": field.n,
        "time_unit": field.time_unit_text,
        "units": units,
        "seed": int(seed),
        "versions": versions(),
    }


def time_value(field, value, key, default=None):
    """A duration or step in the model's time unit: a number (already in it), or text
    with a unit (``"2 s"``, ``"0.1 ms"``), converted. Maps count iterations."""
    if value is None:
        return default
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    text = str(value).strip()
    try:
        return float(text)
    except ValueError:
        pass
    from brian2.units.allunits import second

    from ..spec import parse_quantity

    if field.time_unit is None:
        raise SpecError("<command line>", key, "a number of iterations (the model is a map)", repr(text))
    q = parse_quantity(text, second.dim, file="<command line>", key=key)
    return float(q / field.time_unit)


def step_text(dt, time_unit):
    """A time step ``dt`` given in the model's time unit (its text, ``time_unit``, as a
    summary records it: ``"1 second"``, ``"20 ms"``, ``"tau (1 ms)"``, ``"step"``), for a
    reader: as a duration in the prefixed unit that reads best (``2e-05`` in
    ``"1 second"`` → ``"20 µs"``), followed, for a named unit, by the step in it
    (``0.05`` in ``"tau (1 ms)"`` → ``"50 µs (0.05 tau)"``); a step in a unit that is no
    duration (``"step"``, ``"iteration"``) as the number and the unit."""
    import re

    from brian2.units.allunits import second

    from .._quantity import evaluate, readable_quantity

    text = str(time_unit).strip()
    m = re.fullmatch(r"(?P<name>[^\s()]+)\s*\((?P<q>[^()]+)\)", text)
    name, q = (m.group("name"), m.group("q")) if m else (None, text)
    try:
        unit = evaluate(q)
        duration = float(dt) * unit
        ok = getattr(unit, "dim", None) is not None and unit.dim == second.dim
    except Exception:  # noqa: BLE001 - not a duration: the number in the unit
        ok = False
    if not ok:
        return f"{float(dt):g}" if text == "1" else f"{float(dt):g} {text}"
    return readable_quantity(duration) + (f" ({float(dt):g} {name})" if name else "")


def analysis_footer(summary, fig=None):
    """The provenance line of an analysis figure (:func:`biodyn.jobs.provenance_line`): model,
    parameter set, variants, overrides, reading (when not the network's), seed and versions,
    broken at its separators into lines as wide as ``fig`` (a figure) holds at 6 pt."""
    width = 110 if fig is None else max(60, int(0.98 * fig.get_figwidth() * 72.0 / (0.56 * 6.0)))
    s = dict(summary)
    if isinstance(s.get("dt"), (int, float)) and s.get("time_unit"):  # a step in the model's time unit
        s["dt"] = step_text(s["dt"], s["time_unit"])
    if s.get("reading") not in (None, "auto", "network"):
        s["variants"] = {**(s.get("variants") or {}), "reading": s["reading"]}
    return provenance_line(s, width=width)


def draw_analysis(summary):
    """The figure of an analysis summary (:data:`DRAW`, by its ``analysis`` key) with its
    provenance line under everything (:func:`analysis_footer`); returns the main ``Axes``."""
    ax = DRAW[summary["analysis"]](summary)
    plot.footer(ax.figure, analysis_footer(summary, ax.figure))
    return ax


def _write(summary, figure_ax, out, name, json_path):
    out = Path(out)
    fig_path = out / f"{name}.png"
    plot.footer(figure_ax.figure, analysis_footer(summary, figure_ax.figure))
    plot.save(figure_ax, fig_path)
    summary["files"] = {"figure": str(fig_path)}
    paths = {"figure": fig_path}
    if json_path:
        json_path = Path(json_path) if str(json_path) != "-" else "-"  # "-": stdout
        if json_path != "-":
            summary["files"]["json"] = str(json_path)
        io.write_json(summary, json_path)
        paths["json"] = json_path
    return paths


def _two_panels(size=(11.0, 4.4)):
    ax = plot.new_axes(size)
    fig = ax.figure
    ax.remove()
    return fig.subplots(1, 2)


class _TimeUnit:
    """Just the time unit of a plan (to convert durations without compiling a field)."""

    def __init__(self, time_unit):
        self.time_unit = time_unit


def _safe(v):
    v = float(v)
    return v if np.isfinite(v) else None


# --------------------------------------------------------------------------
# Figures, drawn from the summaries alone (``biodyn plot FILE.json`` redraws them)
# --------------------------------------------------------------------------


def draw_fixed_points(summary):
    """Fixed points in state space (first two variables) and their eigenvalues."""
    axes = _two_panels()
    names = list(summary.get("units", {}))
    if not names and summary.get("fixed_points"):
        names = list(summary["fixed_points"][0]["state"])
    x = names[0] if names else None
    y = names[1] if len(names) > 1 else None
    plot.fixed_points_in_state_space(summary, axes[0], x, y)
    plot.eigenvalue_plane(summary, axes[1])
    return axes[0]


def draw_bifurcation(summary):
    """The bifurcation diagram of one variable (``plot_variable``, else the first)."""
    variable = summary.get("plot_variable")
    if variable is None:
        names = list(summary.get("units", {}))
        variable = names[0] if names else None
    ax = plot.bifurcation_diagram(summary, variable=variable)
    return plot.cycle_branches(summary, ax, variable)  # limit cycles from Hopf points, if any


def draw_lyapunov(summary):
    """Running estimates and the spectrum."""
    axes = _two_panels()
    first = plot.lyapunov_running(summary, axes[0])  # may split its slot: use what it returns
    plot.lyapunov_exponents(summary, axes[1])
    return first


def draw_phase_portrait(summary):
    """Vector field, nullclines, trajectories and fixed points (or the phase line)."""
    return plot.phase_portrait(summary)


#: The drawing of each analysis, by the summary's ``analysis`` key.
DRAW = {"fixed-points": draw_fixed_points, "bifurcation": draw_bifurcation,
        "lyapunov": draw_lyapunov, "phase-portrait": draw_phase_portrait}


# --------------------------------------------------------------------------
# Fixed points
# --------------------------------------------------------------------------


@all_or_nothing()
def analyze_fixed_points(model, *, params=None, overrides=None, variants=None, seed=0,
                         reading="auto", out="results", json=None, n_starts=None):
    """Fixed points of a model, their eigenvalues and classes (figure + optional JSON).

    JSON: ``{"model", "fixed_points": [{"state": {var: value}, "eigenvalues": [[re, im]],
    "type", "stable", "residual", "relative_residual"}], "excluded_roots": [... "excluded":
    reason], "note", ...}`` (states in SI, ``units`` per variable, eigenvalues per time unit).

    A point is reported only where the terms of the field cancel to 1e-8 (see
    :func:`biodyn.dynamics.find_fixed_points`). For a neuron with a threshold, roots of the
    subthreshold flow where the threshold condition holds are no fixed points (the neuron is
    reset before it gets there): they are listed apart, in ``excluded_roots``, with the
    reason, and ``note`` says that a neuron with no stable fixed point below threshold fires.
    """
    from ..dynamics import find_fixed_points

    check_outputs(out, json)
    field = _read(model, params, overrides, variants, seed, reading)
    fps = find_fixed_points(field, n_starts=n_starts, seed=seed, include_excluded=True)
    summary = _base(field, "fixed-points", seed, overrides)
    summary["is_map"] = field.is_map
    summary["fixed_points"] = [fp.as_dict(field) for fp in fps if not fp.excluded]
    summary["excluded_roots"] = [fp.as_dict(field) for fp in fps if fp.excluded]
    spiking = field.resets and not field.is_map
    summary["threshold_reset"] = spiking
    note = None
    if spiking and not any(fp.stable for fp in fps if not fp.excluded):
        what = ("its subthreshold flow has no root at all" if not fps else
                "every root of its subthreshold flow is above threshold" if all(fp.excluded for fp in fps)
                else "no fixed point below threshold is stable")
        note = (f"no stable fixed point below threshold ({what}): the neuron cannot rest at this "
                "input; it fires" + (" tonically" if field.n == 1 else ""))
    summary["note"] = note
    paths = _write(summary, draw_fixed_points(summary), out, f"{field.name}_fixed_points", json)
    return JobResult(summary, paths)


# --------------------------------------------------------------------------
# Bifurcation
# --------------------------------------------------------------------------


def _param_value(field, param, text, key):
    """A parameter value (number in the parameter's unit, or text with a unit)."""
    from ..spec import parse_quantity

    _, unit = field.parameter(param)
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return float(text)
    try:
        return float(str(text))
    except ValueError:
        pass
    from .._quantity import parse_unit

    dim, scale = parse_unit(unit) if unit not in ("1", "") else (None, 1.0)
    q = parse_quantity(str(text), dim, file="<command line>", key=key)
    return float(np.asarray(q)) / scale


def _interface_unit(field, param, lo, hi):
    """``(unit_text, factor)``: the unit the user gave the range in (the first of ``lo``,
    ``hi`` written with a unit: ``"0 uA/cm**2"``), else the parameter's own (its declared unit;
    SI for model variables), and the factor taking values in the parameter's own unit to it.

    Decision: numbers a user reads (printed text, JSON, the figure's axis) are in the unit
    they typed, so ``--range "0 uA/cm**2" "15 uA/cm**2"`` reports the Hopf point of
    Hodgkin-Huxley at 9.78 uA/cm**2, not 0.0978 A/m**2; plain numbers are in the parameter's
    own unit and are reported in it.
    """
    from .._quantity import _NUMBER_THEN_UNIT, parse_unit

    _, own = field.parameter(param)
    for text in (lo, hi):
        m = _NUMBER_THEN_UNIT.match(str(text)) if isinstance(text, str) else None
        unit = m and (m.group("rest") or m.group("glued"))
        if unit:
            own_scale = 1.0 if own in ("1", "") or param not in field.plan.spec.parameters \
                else parse_unit(own)[1]
            return unit.strip(), own_scale / parse_unit(unit)[1]
    return own, 1.0


def _convert_parameter(summary, param, unit, factor):
    """``summary`` (a bifurcation's) with every value of ``param`` multiplied by ``factor``
    and stated in ``unit``: the range, points, branches, cycle points and branches, and the
    values the notes quote (``"P = 0.0977"`` becomes ``"P = 9.77 uA/cm**2"``)."""
    import re

    summary["param_unit"] = unit
    if factor == 1.0:
        return summary
    summary["range"] = [v * factor for v in summary["range"]]
    for key in ("points", "cycle_points"):
        for p in summary.get(key, []):
            p["value"] = p["value"] * factor
    for key in ("branches", "cycle_branches"):
        for b in summary.get(key, []):
            b["values"] = [v * factor for v in b["values"]]
            for k in ("hopf", "period_doubling"):
                if isinstance(b.get(k), (int, float)):
                    b[k] = b[k] * factor
    number = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
    pattern = re.compile(rf"\b{re.escape(param)} = ({number})")
    summary["notes"] = [pattern.sub(lambda m: f"{param} = {float(m.group(1)) * factor:.6g} {unit}", n)
                        for n in summary.get("notes", [])]
    return summary


@all_or_nothing()
def analyze_bifurcation(model, param, lo, hi, *, params=None, overrides=None, variants=None,
                        seed=0, reading="auto", out="results", json=None, variable=None,
                        max_steps=600, cycles=True):
    """One-parameter continuation of equilibria over ``[lo, hi]`` (figure + optional JSON).

    JSON: ``{"model", "param", "param_unit", "points": [{"type", "value", "state"}],
    "branches": [...], ...}`` — parameter values in ``param_unit``: the unit ``lo``/``hi`` were
    written in, else the parameter's own (:func:`_interface_unit`). With ``cycles`` (flows), the
    limit cycles born at every Hopf point are continued too (:func:`biodyn.dynamics.continue_cycles`):
    ``"cycle_branches"`` (max/min of each variable, period, stability per point) and
    ``"cycle_points"`` (``{"type": "cycle_fold"|"period_doubling"|"neimark_sacker", "value",
    "period", ...}``).
    """
    from ..dynamics import continuation

    check_outputs(out, json)
    field = _read(model, params, overrides, variants, seed, reading)
    lo_v = _param_value(field, param, lo, "--range")
    hi_v = _param_value(field, param, hi, "--range")
    if variable is not None:
        field.indices(variable)  # a clear error for an unknown name
    names = [variable] if variable else field.names[: min(field.n, 8)]
    result = continuation(field, param, lo_v, hi_v, seed=seed, max_steps=max_steps)
    summary = _base(field, "bifurcation", seed, overrides)
    summary.update(result.as_dict(variables=names))
    summary["plot_variable"] = variable or names[0]
    if cycles and not field.is_map and any(p.type == "hopf" for p in result.points):
        from ._cycles import cycles_from_hopf_points

        cycles_from_hopf_points(field, param, lo_v, hi_v, result.points, summary)
    _convert_parameter(summary, param, *_interface_unit(field, param, lo, hi))
    paths = _write(summary, draw_bifurcation(summary), out, f"{field.name}_bifurcation_{param}", json)
    return JobResult(summary, paths)


# --------------------------------------------------------------------------
# Lyapunov
# --------------------------------------------------------------------------

METHODS = ("auto", "qr", "two-trajectory", "brian2")


@all_or_nothing()
def analyze_lyapunov(model, *, params=None, overrides=None, variants=None, seed=0, reading="auto",
                     out="results", json=None, duration=None, dt=None, transient=None, k=None,
                     method="auto", integrator="rk4", reorth_every=None, segments=None,
                     target="auto", d0=None, report=None):
    """Lyapunov exponents of a model (figure + optional JSON).

    ``method``: ``qr`` (full or partial spectrum, numpy), ``two-trajectory`` (largest
    exponent, numpy), ``brian2`` (largest exponent, two copies in one Brian2 run), or
    ``auto`` — ``brian2`` for spiking networks (their Jacobian misses the spike-time terms),
    ``qr`` otherwise. Durations/steps are numbers in the model's time unit or text with a
    unit; defaults: ``dt`` from the fastest linear time scale at the initial state, 20000
    steps (5000 when the state has more than 50 components; 10000 steps of 0.1 ms for
    spiking networks in Brian2), transient 10 % of the duration. ``report``: ``"text"`` shows
    Brian2's report (``brian2``) or a progress bar on stderr (``qr``, ``two-trajectory``), a
    callable gets the fraction done; ``None`` is quiet.

    JSON: ``{"model", "exponents", "standard_error", "time_unit", "kaplan_yorke",
    "entropy_rate", "duration", ...}``.
    """
    from ..dynamics import default_dt, lyapunov_spectrum, make_plan, read, two_trajectory_exponent
    from ..dynamics._brian import brian_two_trajectory

    check_outputs(out, json)
    if method not in METHODS:
        raise SpecError("<command line>", "--method", "one of " + ", ".join(METHODS), repr(method))
    plan = make_plan(model, params, overrides, variants,
                     reading="network" if reading == "auto" else reading, seed=seed)
    if method == "auto":
        method = "brian2" if plan.spiking else "qr"
    if method != "brian2" and plan.spiking and reading == "auto":
        reading = "mean_field" if plan.spec.kind == "population" and "mean_field" in plan.spec.data \
            else reading
    if method == "brian2":
        from brian2 import ms

        from ..build import resolve_target

        target = resolve_target(target)
        conv = _TimeUnit(plan.time_unit)
        if plan.is_map:
            dt_v, dur_default = 1.0, 20000.0
        else:
            dt_v = time_value(conv, dt, "--dt", 1e-4 / (float(plan.time_unit / ms) * 1e-3))
            dur_default = 10000 * dt_v
        duration_v = time_value(conv, duration, "--duration", dur_default)
        transient_v = time_value(conv, transient, "--transient", 0.1 * duration_v)
        res = brian_two_trajectory(plan, duration=duration_v, transient=transient_v, dt=dt_v,
                                   seed=seed, target=target, d0=d0, renorm_every=reorth_every,
                                   report=report, segments=segments)
        field_like = None
        name = plan.spec.name
    else:
        field = read(model, params, overrides, variants, reading=reading, seed=seed)
        field_like = field
        name = field.name
        if field.is_map:
            dt_v = 1.0
            default_steps = 20000
        else:
            dt_v = time_value(field, dt, "--dt", None) or default_dt(field, field.x0(seed), fraction=0.1)
            default_steps = 20000 if field.n <= 50 else 5000
        duration_v = time_value(field, duration, "--duration", default_steps * dt_v)
        transient_v = time_value(field, transient, "--transient", 0.1 * duration_v)
        bar = None
        if report is not None:
            from .._progress import ProgressBar

            bar = report if callable(report) else ProgressBar(f"lyapunov {field.name} ({method})")
        try:
            if method == "qr":
                res = lyapunov_spectrum(field, duration=duration_v, dt=dt_v, transient=transient_v,
                                        k=k, reorth_every=reorth_every, integrator=integrator,
                                        segments=segments, seed=seed, progress=bar)
            else:
                res = two_trajectory_exponent(field, duration=duration_v, dt=dt_v,
                                              transient=transient_v,
                                              d0=d0 if d0 is not None else 1e-8,
                                              renorm_every=reorth_every, integrator=integrator,
                                              segments=segments, seed=seed, progress=bar)
        finally:
            if hasattr(bar, "close"):
                bar.close()
    if field_like is not None:
        summary = _base(field_like, "lyapunov", seed, overrides)
    else:
        from ..build import versions

        summary = {"model": name, "analysis": "lyapunov", "kind": "map" if plan.is_map else "flow",
                   "reading": plan.reading, "parameter_set": plan.resolved.parameter_set,
                   "overrides": {k_: str(v) for k_, v in (overrides or {}).items()},
                   "variants": dict(plan.resolved.variants), "time_unit": plan.time_unit_text,
                   "seed": int(seed), "versions": versions()}
    d = res.as_dict()
    d["method"] = {"qr": "qr", "two_trajectory": "two-trajectory",
                   "two_trajectory_brian2": "brian2"}.get(res.method, res.method)
    summary.update(d)
    keep = min(res.running.shape[1] if res.running.ndim == 2 else 0, 10)
    idx = np.unique(np.linspace(0, max(len(res.running_times) - 1, 0), min(len(res.running_times), 500))
                    .round().astype(int)) if len(res.running_times) else np.zeros(0, int)
    summary["running"] = {"times": [float(t) for t in res.running_times[idx]],
                          "estimates": [[_safe(v) for v in row[:keep]] for row in res.running[idx]]}
    paths = _write(summary, draw_lyapunov(summary), out, f"{name}_lyapunov", json)
    return JobResult(summary, paths)


# --------------------------------------------------------------------------
# Phase portrait
# --------------------------------------------------------------------------


@all_or_nothing()
def analyze_phase_portrait(model, *, x=None, y=None, params=None, overrides=None, variants=None,
                           seed=0, reading="auto", out="results", json=None, duration=None, dt=None,
                           n_trajectories=4, grid=25, manifolds=True):
    """Phase portrait on two state variables: vector field (or map displacement),
    nullclines, trajectories and fixed points; a phase line for one-dimensional systems.

    With ``manifolds`` (the default), the stable and unstable manifolds of the saddles (the
    first 10) of a flow with at most 10 components are drawn (one-dimensional ones as curves,
    two-dimensional ones as meshes of orbits; :func:`biodyn.dynamics.saddle_manifolds`) and
    written to the JSON as ``"manifolds": [{"kind", "dimension", "sign", "saddle",
    "eigenvalues", "directions", "orbits": [{"end", "end_index", "points": {var: [...]}}]}]``
    (``end``: ``"fixed point"`` — ``end_index`` into ``fixed_points`` —, ``"left the box"``
    or ``"bounded"``). Manifolds of maps are not computed.

    For systems with more than two state components the field is drawn on the plane
    through a reference state (the first stable fixed point, else the initial state), the
    other components held there; trajectories are of the full system, projected.
    """
    from ..dynamics import default_dt, find_fixed_points, search_box, trajectory

    check_outputs(out, json)
    field = _read(model, params, overrides, variants, seed, reading)
    if not field.autonomous:
        raise BiodynError(f"{field.name}: the field depends on time (forcing); a phase portrait of "
                          "a non-autonomous flow is not defined (use parameters without forcing)")
    ix = int(field.indices(x)[0]) if x else 0
    one_d = field.n == 1 and y is None
    iy = None if one_d else (int(field.indices(y)[0]) if y else (1 if ix != 1 else 0))
    if iy is not None and iy == ix:
        raise SpecError("<command line>", "--y", "a variable other than --x", repr(y))
    rng = np.random.default_rng([int(seed), 99])
    x0 = field.x0(seed)
    if field.is_map:
        dt_v, steps = 1.0, 2000
    else:
        dt_v = time_value(field, dt, "--dt", None) or default_dt(field, x0, fraction=0.05)
        steps = 4000
    duration_v = time_value(field, duration, "--duration", steps * dt_v)
    _, main = trajectory(field, x0, duration_v, dt_v)
    lo, hi = search_box(field, main, margin=0.15)
    fps = find_fixed_points(field, seed=seed) if field.n <= 50 else []
    ref = next((fp.state for fp in fps if fp.stable), x0)
    starts = [x0]
    for _ in range(max(0, n_trajectories - 1)):
        s = ref.copy()
        s[ix] = rng.uniform(lo[ix], hi[ix])
        if iy is not None:
            s[iy] = rng.uniform(lo[iy], hi[iy])
        starts.append(s)
    trajs = []
    for s in starts:
        _, X = trajectory(field, s, duration_v, dt_v)
        stride = max(1, len(X) // 2000)
        trajs.append({"x": [float(v) for v in X[::stride, ix]],
                      "y": [float(v) for v in X[::stride, iy]] if iy is not None else []})
    gx = np.linspace(lo[ix], hi[ix], grid if iy is not None else 400)
    summary = _base(field, "phase-portrait", seed, overrides)
    summary.update({"x": field.names[ix], "y": field.names[iy] if iy is not None else None,
                    "x_unit": field.units[ix], "y_unit": field.units[iy] if iy is not None else None,
                    "is_map": field.is_map, "trajectories": trajs,
                    "duration": duration_v, "dt": dt_v})
    if iy is None:
        vals = []
        for v in gx:
            s = ref.copy()
            s[ix] = v
            vals.append(field.f(s)[ix])
        summary.update({"grid_x": gx.tolist(), "fx": [float(v) for v in vals]})
    else:
        gy = np.linspace(lo[iy], hi[iy], grid)
        fx = np.empty((grid, grid))
        fy = np.empty((grid, grid))
        for a, yv in enumerate(gy):
            for b, xv in enumerate(gx):
                s = ref.copy()
                s[ix], s[iy] = xv, yv
                f = field.f(s)
                fx[a, b], fy[a, b] = f[ix], f[iy]
        summary.update({"grid_x": gx.tolist(), "grid_y": gy.tolist(), "fx": fx.tolist(),
                        "fy": fy.tolist()})
        if field.n > 2:
            others = [k for k in range(field.n) if k not in (ix, iy)]
            shown = ", ".join(f"{field.names[k]} = {ref[k]:.4g}" for k in others[:3])
            summary["slice"] = shown + (", ..." if len(others) > 3 else "")
    if manifolds and not field.is_map and iy is not None and field.n <= 10:
        from ..dynamics import saddle_manifolds

        comps = sorted({ix, iy})
        mans = []
        for fp in [fp for fp in fps if fp.type == "saddle"][:10]:
            try:
                found = saddle_manifolds(field, fp, fixed_points=fps, box=(lo, hi), n_orbits=24)
            except BiodynError:
                continue   # a saddle with a manifold of dimension above 2 only
            mans += [m.as_dict(field, comps) for m in found]
        summary["manifolds"] = mans
    summary["fixed_points"] = [{"x": float(fp.state[ix]), "y": float(fp.state[iy]) if iy is not None else None,
                                "type": fp.type, "stable": bool(fp.stable),
                                "state": field.state_dict(fp.state) if field.n <= 50 else {}}
                               for fp in fps]
    ax = draw_phase_portrait(summary)
    suffix = field.names[ix] if iy is None else f"{field.names[ix]}_{field.names[iy]}"
    suffix = suffix.replace("[", "").replace("]", "").replace(".", "_")
    paths = _write(summary, ax, out, f"{field.name}_phase_portrait_{suffix}", json)
    return JobResult(summary, paths)
