r"""Fixed points: multi-start root finding, deduplication, eigenvalues, classification.

A fixed point of a flow solves :math:`f(x^*) = 0`; of a map, :math:`F(x^*) = x^*`. Starting
points are drawn in the spec's ``[ranges]`` box (completed by the box of a trajectory) and
taken from states visited by trajectories (as FixedPointFinder does, Sussillo & Barak 2013,
so that high-dimensional networks are searched where they live); each is refined by
Powell's hybrid method (MINPACK ``hybrd``/``hybrj`` through ``scipy.optimize.root``) with
the derived Jacobian, variables scaled by the box. Converged points (residual below
``tol``) closer than ``dedup`` (relative to the box) are merged.

Classification from the eigenvalues :math:`\lambda` of :math:`J(x^*)` (flows) or the
multipliers :math:`\mu` of :math:`DF(x^*)` (maps), with a relative tolerance ``tol_eig``:

===================  =======================================  ================================
type                 flow                                     map
===================  =======================================  ================================
stable node          all Re λ < 0, all real                   all |μ| < 1, all real
stable focus         all Re λ < 0, some complex               all |μ| < 1, some complex
unstable node/focus  all Re λ > 0                             all |μ| > 1
saddle               Re λ of both signs                       |μ| on both sides of 1
centre               all Re λ = 0, none zero                  all |μ| = 1, none real
non-hyperbolic       some Re λ = 0 otherwise                  some |μ| = 1 otherwise
===================  =======================================  ================================

``stable`` is true only for hyperbolic attractors (stable node/focus): at a non-hyperbolic
point linearisation does not decide stability (the centre of a linear system is stable,
the origin of :math:`\dot x = x^3` is not), so ``stable`` is false and the type says why.

Limits: root finding finds fixed points near its starting points — a fixed point far from
the box and from every trajectory can be missed; a continuum of fixed points (a line of
equilibria) comes back as a set of points on it, all non-hyperbolic.

References
----------
Sussillo D, Barak O (2013) Opening the black box: low-dimensional dynamics in
high-dimensional recurrent neural networks. Neural Comput 25:626-649.
doi:10.1162/NECO_a_00409
Strogatz SH (2015) Nonlinear Dynamics and Chaos, 2nd ed. Westview Press (sections 5.2, 6.3).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import BiodynError

__all__ = ["FixedPoint", "find_fixed_points", "classify", "TYPES", "search_box", "relative_residual"]

#: The classes of fixed points.
TYPES = ("stable node", "stable focus", "unstable node", "unstable focus", "saddle", "centre",
         "non-hyperbolic")


@dataclass
class FixedPoint:
    """A fixed point with its eigenvalues (flows) or multipliers (maps) and class."""

    state: np.ndarray
    eigenvalues: np.ndarray
    type: str
    stable: bool
    residual: float
    #: why a root of the subthreshold flow is not a fixed point of the neuron ("" if it is one)
    excluded: str = ""
    #: max over components of |f_a| / sum_i |f_ai| (how well the terms of f cancel there)
    relative_residual: float = 0.0

    def as_dict(self, field=None, max_state=None):
        names = field.names if field is not None else [f"x{k}" for k in range(len(self.state))]
        items = list(zip(names, self.state))
        if max_state is not None:
            items = items[:max_state]
        order = np.argsort(-(self.eigenvalues.real if field is None or not field.is_map
                             else np.abs(self.eigenvalues)), kind="stable")
        out = {"state": {n: float(v) for n, v in items},
               "eigenvalues": [[float(e.real), float(e.imag)] for e in self.eigenvalues[order]],
               "type": self.type, "stable": bool(self.stable), "residual": float(self.residual),
               "relative_residual": float(self.relative_residual)}
        if self.excluded:
            out["excluded"] = self.excluded
        return out


def classify(eigenvalues, is_map=False, tol=1e-7):
    """``(type, stable)`` of a fixed point from its eigenvalues (see the module docstring).

    ``tol`` is relative to the largest modulus (flows) or absolute on ``|mu| - 1`` (maps).
    """
    lam = np.asarray(eigenvalues, dtype=complex).ravel()
    if lam.size == 0:
        raise BiodynError("no eigenvalues to classify")
    scale = max(float(np.max(np.abs(lam))), 1e-300)
    complex_ = np.abs(lam.imag) > tol * max(scale, 1.0 if is_map else scale)
    if is_map:
        mod = np.abs(lam)
        on = np.abs(mod - 1.0) <= tol
        inside, outside = mod < 1.0, mod > 1.0
    else:
        on = np.abs(lam.real) <= tol * scale
        inside, outside = lam.real < 0, lam.real > 0
    if np.any(on):
        if np.all(on) and np.all(complex_):
            return "centre", False
        return "non-hyperbolic", False
    if np.all(inside):
        return ("stable focus" if np.any(complex_) else "stable node"), True
    if np.all(outside):
        return ("unstable focus" if np.any(complex_) else "unstable node"), False
    return "saddle", False


def search_box(field, samples=None, margin=0.5):
    """``(lo, hi)``: the spec's ranges, completed (where not given) by the box of ``samples``
    widened by ``margin`` on each side, or by ``x0 +- max(1, |x0|)``."""
    lo, hi = field.ranges()
    x0 = field.x0()
    if samples is not None and len(samples):
        smin, smax = np.min(samples, axis=0), np.max(samples, axis=0)
        width = np.maximum(smax - smin, 1e-12 + 1e-3 * np.maximum(np.abs(smin), np.abs(smax)))
        slo, shi = smin - margin * width, smax + margin * width
    else:
        w = np.maximum(1.0, np.abs(x0))
        slo, shi = x0 - w, x0 + w
    lo = np.where(np.isnan(lo), slo, lo)
    hi = np.where(np.isnan(hi), shi, hi)
    bad = hi <= lo
    hi = np.where(bad, lo + 1.0, hi)
    return lo, hi


def _trajectory_samples(field, t=0.0, count=None, seed=0):
    from ._simulate import default_dt, trajectory

    x0 = field.x0(seed)
    if field.is_map:
        _, states = trajectory(field, x0, 400)
        return states
    if not field.autonomous:
        return x0[None, :]
    try:
        dt = default_dt(field, x0, t, fraction=0.1)
        _, states = trajectory(field, x0, 1500 * dt, dt)
    except (BiodynError, FloatingPointError, ValueError):
        return x0[None, :]
    if field.n <= 10 and _has_threshold(field):
        # the neuron resets at its threshold: the subthreshold flow beyond it (which may run
        # off to infinity, as the quadratic integrate-and-fire does) is not part of the search;
        # the neuron's own scales are (every parameter with a state's unit: v_th, v_reset, E_L)
        for k in range(1, len(states), max(1, len(states) // 300)):
            if field.threshold_crossed(states[k]):
                states = states[:max(k, 1)]
                break
        states = np.concatenate([states, _parameter_states(field, x0)])
    return states


def _parameter_states(field, x0):
    """``x0`` with one component set to a parameter of the same (non-trivial) dimension."""
    from brian2.units.fundamentalunits import DIMENSIONLESS, Quantity, get_dimensions

    out = []
    for k, dim in enumerate(field._dims):
        if dim is None or dim is DIMENSIONLESS:
            continue
        grp = next(g for g in field.groups if g.name == field.var_of[k][0])
        for value in grp.plan.namespace.values():
            if isinstance(value, Quantity) and np.ndim(value) == 0 and get_dimensions(value) is dim:
                x = x0.copy()
                x[k] = float(np.asarray(value))
                out.append(x)
    return np.array(out).reshape(-1, field.n)


def _has_threshold(field):
    return bool(getattr(field, "resets", False))


def _exclusion(field, x):
    """Why a root ``x`` of the subthreshold flow is no fixed point of the neuron ("" if it is)."""
    hits = field.threshold_crossed(x)
    if not hits:
        return ""
    group, unit, cond, values = hits[0]
    where = "" if len(field.groups) == 1 and field.groups[0].size == 1 else f" (group {group}, unit {unit})"
    more = f" and {len(hits) - 1} more units" if len(hits) > 1 else ""
    shown = f" ({values})" if values else ""
    return (f"above threshold: the condition '{cond}'{shown} holds there{where}{more}, so the "
            "neuron spikes and is reset before it can rest there")


def relative_residual(field, x, t=0.0):
    """:math:`\\max_a |f_a(x)| / \\sum_i |f_{a,i}(x)|` (0 where every term vanishes)."""
    r = np.abs(field.residual(x, t))
    scale = field.residual_scale(x, t)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(r == 0, 0.0, r / scale)
    rel = np.where(np.isfinite(rel), rel, np.inf)
    return float(np.max(rel)) if rel.size else 0.0


def _newton_lm(fun, jac, x, scale, tol, maxiter=60):
    """Damped Newton with a Levenberg-Marquardt fallback, in scaled variables (for large n,
    where MINPACK's dense updates are slow). Stops at a root, or when ``|f|`` stagnates (a
    local minimum of ``|f|^2``: a slow point, not a fixed point). Returns ``(x, converged)``."""
    mu = 1e-3
    f = fun(x)
    cost = float(f @ f)
    history = []
    for _ in range(maxiter):
        if not np.isfinite(cost):
            return x, False
        if np.sqrt(cost) <= tol:
            return x, True
        history.append(cost)
        if len(history) > 8 and history[-1] > 0.999 * history[-9]:
            return x, False
        J = jac(x)
        accepted = False
        try:  # Newton step with backtracking
            dx = np.linalg.solve(J, -f)
            for alpha in (1.0, 0.5, 0.25):
                x_new = x + alpha * dx
                f_new = fun(x_new)
                c_new = float(f_new @ f_new)
                if np.isfinite(c_new) and c_new < (1 - 1e-4 * alpha) * cost:
                    x, f, cost, accepted = x_new, f_new, c_new, True
                    break
        except np.linalg.LinAlgError:
            pass
        if accepted:
            continue
        D = J * scale[None, :]
        g = D.T @ f
        A = D.T @ D
        dA = np.diag(A).copy() + 1e-300
        while True:
            try:
                dz = np.linalg.solve(A + mu * np.diag(dA), -g)
            except np.linalg.LinAlgError:
                dz = None
            if dz is not None:
                x_new = x + scale * dz
                f_new = fun(x_new)
                c_new = float(f_new @ f_new)
                if np.isfinite(c_new) and c_new < cost:
                    x, f, cost = x_new, f_new, c_new
                    mu = max(mu / 5.0, 1e-12)
                    break
            mu *= 4.0
            if mu > 1e10:
                return x, bool(np.sqrt(cost) <= tol)
    return x, bool(np.sqrt(cost) <= tol)


def find_fixed_points(field, *, n_starts=None, starts=None, seed=0, t=0.0, tol=None,
                      dedup=1e-6, tol_eig=1e-7, box=None, eigenvalues=True, rtol=1e-8,
                      include_excluded=False):
    """Fixed points of a field (flow) or map, with eigenvalues and class.

    Parameters
    ----------
    field : Field
    n_starts : int, optional
        Number of starting points (default 48 for n <= 10, else 12).
    starts : (m, n) array, optional
        Extra starting points.
    seed : int
        Seeds the random starting points.
    t : float
        Time at which a non-autonomous field is frozen (fixed points of a forced system
        are not fixed points of its flow; a :class:`BiodynError` is raised unless the field
        is autonomous).
    tol : float, optional
        An absolute residual :math:`\\lVert f(x)\\rVert` below which a point counts as a
        fixed point, instead of ``rtol``.
    rtol : float
        A point counts as a fixed point where, in every component, the terms of the field
        cancel to this relative accuracy, :math:`|f_a(x)| \\le \\text{rtol}\\sum_i|f_{a,i}(x)|`
        (:meth:`Field.residual_scale`), or where the terms themselves vanish (below
        :math:`10^{-10}` of their median size on the starting points: a degenerate root, as
        :math:`x^3` at 0). A minimum of :math:`|f|` that is not a
        root (the quadratic integrate-and-fire neuron above rheobase: its parabola's vertex,
        where :math:`|f|` is a few per cent of its terms) is not reported.
    include_excluded : bool
        Also return the roots of a spiking neuron's subthreshold flow that lie where its
        threshold condition holds (``excluded`` gives the reason): the neuron is reset
        before it reaches them, so they are not fixed points of the neuron.
    dedup : float
        Points closer than ``dedup`` times the box size (max norm) are one point.
    box : (lo, hi), optional
        Search box (default :func:`search_box`).

    Returns
    -------
    list of FixedPoint
        Sorted by the first state component (fixed points first, then excluded roots).
    """
    from scipy.optimize import root

    if not field.autonomous:
        raise BiodynError(f"{field.name}: the field depends on time (forcing), so it has no fixed "
                          "points; use parameters without forcing")
    n = field.n
    rng = np.random.default_rng([int(seed), 2718])
    samples = _trajectory_samples(field, t, seed=seed)
    lo, hi = box if box is not None else search_box(field, samples)
    scale = np.maximum(hi - lo, 1e-300)
    if n_starts is None:
        n_starts = 48 if n <= 10 else 8
    pts = []
    if n <= 10:
        # stratified (Latin hypercube) samples of the box
        u = (rng.permuted(np.tile(np.arange(n_starts), (n, 1)), axis=1).T + rng.random((n_starts, n))) / n_starts
        pts.append(lo + u * scale)
        take = samples[rng.choice(len(samples), size=min(len(samples), max(4, n_starts // 4)), replace=False)]
        pts.append(take)
    else:
        take = samples[np.linspace(0, len(samples) - 1, min(len(samples), n_starts)).astype(int)]
        pts.append(take)
        pts.append(np.zeros((1, n)))
    pts.append(field.x0(seed)[None, :])
    if starts is not None:
        pts.append(np.atleast_2d(np.asarray(starts, float)))
    P = np.concatenate(pts)
    fscale = np.median([np.linalg.norm(field.residual(p, t)) for p in P[:16]])
    fscale = fscale if np.isfinite(fscale) and fscale > 0 else 1.0
    # duck-typed fields without residual_scale: an absolute residual relative to the box
    absolute = tol is not None or not hasattr(field, "residual_scale")
    tol = tol if tol is not None else 1e-9 * fscale  # also the Newton iteration's target for n > 10
    with np.errstate(all="ignore"):
        tscale = (np.median([field.residual_scale(p, t) for p in P[:16]], axis=0) if not absolute
                  else np.ones(n))
    tscale = np.where(np.isfinite(tscale) & (tscale > 0), tscale, 1.0)

    def accept(x, res):
        if absolute:
            return res <= tol
        r = np.abs(field.residual(x, t))
        terms = field.residual_scale(x, t)
        # the terms cancel (a simple root), or they all vanish (a degenerate one, x^3 at 0)
        return bool(np.all((r <= rtol * terms) | (terms <= 1e-10 * tscale)))

    found = []
    fun = lambda x: field.residual(x, t)  # noqa: E731
    jac = lambda x: field.residual_jacobian(x, t)  # noqa: E731
    for p in P:
        try:
            with np.errstate(all="ignore"):
                if n <= 10:
                    x = root(fun, p, jac=jac, method="hybr", options={"diag": 1.0 / scale, "xtol": 1e-12}).x
                else:
                    x, _ = _newton_lm(fun, jac, p, scale, tol)
        except (BiodynError, ValueError, FloatingPointError, np.linalg.LinAlgError):
            continue
        if not np.all(np.isfinite(x)):
            continue
        res = float(np.linalg.norm(field.residual(x, t)))
        if not np.isfinite(res) or not accept(x, res):
            continue
        for k, q in enumerate(found):
            if np.max(np.abs(q[0] - x) / scale) <= dedup:
                if res < q[1]:
                    found[k] = (x, res)
                break
        else:
            found.append((x, res))
    out = []
    threshold = not field.is_map and _has_threshold(field)
    for x, res in found:
        why = _exclusion(field, x) if threshold else ""
        if why and not include_excluded:
            continue
        if eigenvalues:
            lam = np.linalg.eigvals(field.jacobian(x, t))
            kind, stable = classify(lam, field.is_map, tol_eig)
        else:
            lam, kind, stable = np.array([]), "unclassified", False
        rel = relative_residual(field, x, t) if hasattr(field, "residual_scale") else float("nan")
        out.append(FixedPoint(x, lam, kind, stable, res, why, rel))
    out.sort(key=lambda fp: (bool(fp.excluded),) + tuple(fp.state[:1]))
    return out
