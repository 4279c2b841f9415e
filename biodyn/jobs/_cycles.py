"""The ``cycles`` analysis: limit cycles of a flow (or period-k orbits of a map), their periods,
amplitudes, Floquet multipliers and stability, drawn in the phase plane with the fixed points."""

from __future__ import annotations

import numpy as np

from .. import plot
from ..errors import BiodynError, SpecError
from ._analyze import DRAW, _base, _read, _two_panels, _write
from ._base import JobResult, all_or_nothing, check_outputs

__all__ = ["analyze_cycles", "draw_cycles", "cycles_from_hopf_points"]


def draw_cycles(summary):
    """Orbits with the fixed points (first two variables), and the multipliers."""
    axes = _two_panels()
    plot.cycles_in_state_space(summary, axes[0])
    plot.floquet_multipliers(summary, axes[1])
    return axes[0]


DRAW["cycles"] = draw_cycles


#: largest state dimension ``analyze cycles`` integrates the variational equations of
MAX_SHOOTING = 50


def _orbit_dict(field, S, max_points=400):
    idx = np.unique(np.linspace(0, len(S) - 1, min(len(S), max_points)).round().astype(int))
    return {n: [float(v) for v in S[idx, c]] for c, n in enumerate(field.names[:8])}


@all_or_nothing()
def analyze_cycles(model, *, params=None, overrides=None, variants=None, seed=0, reading="auto",
                   out="results", json=None, segments=4, max_period=4):
    """Limit cycles of a flow, or periodic orbits (periods 2..``max_period``) of a map.

    A flow: the cycle reached from the spec's initial state, by multiple shooting
    (:func:`biodyn.dynamics.find_cycle`); if the trajectory settles at an equilibrium or does
    not become periodic, no cycle, and the summary's ``notes`` say why. JSON: ``{"cycles":
    [{"period", "time_unit", "state", "max", "min", "multipliers" ([re, im], the trivial one
    first), "exponents", "stable", "residual", "orbit"}], "fixed_points": [...], "notes"}``.
    """
    from ..dynamics import find_cycle, find_fixed_points, periodic_orbits
    from ..dynamics._cycles import _check_flow

    check_outputs(out, json)
    field = _read(model, params, overrides, variants, seed, reading)
    if int(max_period) < 1:
        raise SpecError("<command line>", "--max-period", "a positive integer", repr(max_period))
    summary = _base(field, "cycles", seed, overrides)
    summary["is_map"] = field.is_map
    notes = []
    cycles = []
    hybrid = False
    if field.is_map:
        for k in range(2, int(max_period) + 1):
            for o in periodic_orbits(field, k, seed=seed):
                d = o.as_dict(field)
                d["kind"] = "orbit"
                d["orbit"] = _orbit_dict(field, o.points)
                cycles.append(d)
    elif getattr(field, "resets", False):
        # integrate-and-fire: the cycle through the reset, multipliers by saltation matrices
        from ..dynamics._hybrid_cycles import hybrid_cycle

        if not field.autonomous:
            _check_flow(field)
        try:
            c = hybrid_cycle(field)
        except BiodynError as exc:
            text = str(exc)
            if "no spike" in text or "firing stops" in text or "does not become periodic" in text:
                notes.append(f"no firing cycle: {text}")
            else:
                raise
        else:
            d = c.as_dict(field)
            d["exponents"] = [e if np.isfinite(e) else None for e in d["exponents"]]
            d["kind"] = "cycle"
            d["spikes_per_cycle"] = c.spikes_per_cycle
            d["through_reset"] = True
            d["orbit"] = _orbit_dict(field, c.orbit)
            cycles.append(d)
            notes.append("threshold-reset neuron: the cycle passes through the reset; multipliers from "
                         "saltation matrices (the multiplier along the flow is reported as trivial, "
                         "a check); variables the reset sets to constants add multipliers 0")
        hybrid = True
    else:
        _check_flow(field)
        if field.n > MAX_SHOOTING:
            raise BiodynError(
                f"{field.name} has {field.n} state components: limit cycles are computed by multiple "
                f"shooting with the n + n^2 variational equations, for at most {MAX_SHOOTING} components "
                "(use a mean-field reading, --reading mean_field, or a smaller network, --set N=...)")
        try:
            c = find_cycle(field, segments=segments)
        except BiodynError as exc:
            text = str(exc)
            if "settles at an equilibrium" in text or "do not repeat" in text or "diverges" in text:
                notes.append(f"no limit cycle: {text}")
            else:
                raise
        else:
            d = c.as_dict(field)
            d["kind"] = "cycle"
            d["orbit"] = _orbit_dict(field, c.orbit)
            cycles.append(d)
    fps = find_fixed_points(field, seed=seed) if field.n <= 50 else []
    summary["fixed_points"] = [fp.as_dict(field, max_state=8) for fp in fps]
    summary["cycles"] = cycles
    summary["method"] = ("fixed points of the k-th iterate F^k (Jacobian by the chain rule)"
                         if field.is_map else
                         "hybrid: flights between resets with variational equations (LSODA), saltation "
                         "matrices at the reset (Mueller 1995; Bizzarri et al. 2016), Newton on the "
                         "return map; start: iterates of the return map from the initial state"
                         if hybrid else
                         f"multiple shooting ({segments} segments) with the variational equations "
                         "(LSODA), Newton with a Poincare phase condition; start: returns of a "
                         "trajectory from the initial state to a Poincare section")
    summary["notes"] = notes
    paths = _write(summary, draw_cycles(summary), out, f"{field.name}_cycles", json)
    return JobResult(summary, paths)


def cycles_from_hopf_points(field, param, lo, hi, points, summary, *, max_steps=200):
    """Continue the cycles born at every Hopf point of an equilibrium continuation (``points``:
    its special points) and add ``cycle_branches``, ``cycle_points`` (``{"type":
    "cycle_fold"|"period_doubling"|"neimark_sacker", "value", "period", "state", "max", "min",
    "multipliers"}``) and notes to ``summary``; at each period doubling on those branches, the
    doubled branch is continued too (one level). A branch that fails is a note, not an error."""
    from ..dynamics import continue_cycles

    branches, cpoints, notes = [], [], []
    for h in points:
        if h.type != "hopf":
            continue
        try:
            cc = continue_cycles(field, param, lo, hi, hopf=h, max_steps=max_steps)
        except BiodynError as exc:
            notes.append(f"cycles from the Hopf point at {param} = {h.value:.6g}: {exc}")
            continue
        notes.extend(cc.notes)
        offset = len(branches)
        for b in cc.branches:
            d = b.as_dict(field)
            d["hopf"] = float(h.value)
            branches.append(d)
            if b.end:
                notes.append(f"cycle branch from the Hopf point at {param} = {h.value:.6g} ended: {b.end}")
        span = abs(float(hi) - float(lo)) or 1.0
        for p in cc.points:
            if p.type == "cycle_fold" and abs(float(p.value) - float(h.value)) <= 1e-6 * span:
                # a cycle of finite amplitude AT the Hopf value: the branch leaves the Hopf point
                # vertically (a family of cycles at one parameter value, first Lyapunov
                # coefficient zero, e.g. van der Pol at mu = 0, a linear centre): not a fold
                notes.append(f"the cycle branch from the Hopf point at {param} = {h.value:.6g} rises "
                             "vertically there (a family of cycles at one parameter value: a degenerate "
                             "Hopf point, first Lyapunov coefficient zero); its turn is not reported as a "
                             "fold of cycles")
                continue
            d = p.as_dict(field)
            d["branch"] = offset + p.branch
            cpoints.append(d)
        # one level of branch switching at the period doublings of these branches
        for p in [q for q in cc.points if q.type == "period_doubling"]:
            try:
                c2 = continue_cycles(field, param, lo, hi, period_doubling=p, max_steps=max_steps)
            except BiodynError as exc:
                notes.append(f"period-doubled branch at {param} = {p.value:.6g}: {exc}")
                continue
            notes.extend(c2.notes)
            off2 = len(branches)
            for b in c2.branches:
                d = b.as_dict(field)
                d["period_doubling"] = float(p.value)
                branches.append(d)
            for q in c2.points:
                d = q.as_dict(field)
                d["branch"] = off2 + q.branch
                cpoints.append(d)
    summary["cycle_branches"] = branches
    summary["cycle_points"] = cpoints
    summary.setdefault("notes", [])
    summary["notes"] = list(summary["notes"]) + notes
