r"""One-parameter continuation of equilibria (flows) and fixed points (maps).

Pseudo-arclength continuation (Keller 1977; Allgower & Georg 2003, ch. 2) of the solution
curve of :math:`G(x, p) = 0`, with :math:`G = f` for flows and :math:`G = F - \mathrm{id}`
for maps, in variables scaled by the search box and the parameter range. Predictor along
the unit tangent :math:`t` (:math:`G_y t = 0`, :math:`y = (x, p)`), corrector by Newton on
:math:`\{G(y) = 0,\; t^\top(y - y_{pred}) = 0\}`; the step adapts to the number of Newton
iterations. :math:`G_x` is the derived Jacobian; :math:`G_p` a central difference in the
parameter (parameters can enter through other parameters and through random weights).

Special points are detected by sign changes of test functions between consecutive points
and located by bisection along the arc (Kuznetsov 2004, ch. 10; Govaerts 2000):

================  ==================================================================
type              test function
================  ==================================================================
fold              :math:`t_p`, the parameter component of the tangent (limit point)
branch            :math:`\det\begin{pmatrix}G_x & G_p\\ t^\top\end{pmatrix}` (a simple
                  branch point: two curves cross); biodyn switches onto the other curve
hopf (flows)      the real part of the complex pair nearest the imaginary axis
                  (a pair :math:`\pm i\omega` crosses; equilibria of a flow only)
period_doubling   :math:`\det(F_x + I)`: a multiplier crosses :math:`-1` (maps)
neimark_sacker    the modulus minus one of the complex pair nearest the unit circle (maps)
threshold         a neuron with threshold and reset: the equilibrium reaches the threshold
                  condition. Beyond it the root of the subthreshold flow is no state of the
                  neuron (it spikes and is reset before resting there): the neuron fires
                  (rheobase, for a stable rest state), and the branch is drawn unstable there
================  ==================================================================

A fold is also a zero of :math:`\det G_x`; telling it from a branch point is what the two
first tests do. Where either of them changes sign, the point between is first examined for
a branch point by the rank of :math:`G_y = [G_x, G_p]`: a golden-section search for the
minimum of its smallest singular value, which vanishes at a branch point on *every* curve
through it (so the tip of a pitchfork, where :math:`t_p` and the determinant flip together,
is a branch point and not a fold), accepted where it drops below 1/100 of its value at both
ends. A step is accepted only if the tangent turns by less than 18 degrees (Allgower &
Georg 2003, sec. 6.1), so the corrector does not jump from one curve to the other at a
crossing. Neither criterion depends on the step or on the range (which scales the arc): the
branch point of the second logistic iterate at r = 3 was found with ``--range 2.8 3.2`` and
missed with ``--range 2.5 3.55`` before. Detection assumes the step is small enough not to
jump over two special points at once (two sign changes cancel); ``max_ds`` limits it. Degenerate points (a
transcritical crossing at a fold, Bogdanov–Takens) are reported by whichever tests change
sign there. Periodic orbits born at Hopf points are continued by
:func:`biodyn.dynamics.continue_cycles` (multiple shooting), period-k orbits of maps by passing
an :class:`biodyn.dynamics.IteratedMap` here.

References
----------
Keller HB (1977) Numerical solution of bifurcation and nonlinear eigenvalue problems. In:
Rabinowitz P (ed) Applications of Bifurcation Theory, Academic Press, pp 359-384.
Allgower EL, Georg K (2003) Introduction to Numerical Continuation Methods. SIAM Classics in
Applied Mathematics 45. doi:10.1137/1.9780898719154
Kuznetsov YA (2004) Elements of Applied Bifurcation Theory, 3rd ed. Springer, New York.
doi:10.1007/978-1-4757-3978-7
Govaerts WJF (2000) Numerical Methods for Bifurcations of Dynamical Equilibria. SIAM.
doi:10.1137/1.9780898719543
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field as dc_field

import numpy as np

from ..errors import BiodynError, SpecError

__all__ = ["continuation", "Continuation", "Branch", "SpecialPoint", "ParameterHandle"]


# --------------------------------------------------------------------------
# Evaluating the field at another parameter value, fast where possible
# --------------------------------------------------------------------------


class ParameterHandle:
    """``field_at(p)``: the field at parameter value ``p`` (in the parameter's unit).

    Direct parameters (used only in the equations, with no other parameter depending on
    them) are changed in place in a shallow copy of the field (microseconds); others go
    through :meth:`Field.with_params` (re-resolving the spec, redrawing weights), cached.
    """

    def __init__(self, field, name):
        self.field = field
        self.name = name
        self.value, self.unit = field.parameter(name)
        from .._quantity import parse_unit

        self.scale = 1.0 if self.unit in ("1", "") else parse_unit(self.unit)[1]
        if self.unit not in ("1", "") and name not in field.plan.spec.parameters:
            self.scale = 1.0  # model variables: SI
        self._slots = self._direct_slots()
        self._cache = {}

    def _direct_slots(self):
        f = self.field
        spec = f.plan.spec
        if self.name in spec.parameters:
            # does anything else depend on it? (other parameters, couplings, sizes)
            keys = () if f.plan.reading == "mean_field" else ("couplings", "groups", "size", "inputs")
            text = repr({k: v for k, v in spec.data.items() if k in keys})
            other_groups = any(g.resolved is not f.plan.resolved for g in f.plan.groups)
            try:
                base = dict(f.plan.namespace)
                bumped = f.plan.spec.resolve(f._params_arg, {**{k: v for k, v in f._overrides.items()
                                                               if k in spec.parameters},
                                                            self.name: self.field.parameter_text(
                                                                self.name, self.value * 1.001 + 1e-3)},
                                             f._variants).namespace
            except Exception:
                return None
            changed = [k for k in bumped if k in base and
                       not np.allclose(np.asarray(bumped[k], float), np.asarray(base[k], float),
                                       rtol=0, atol=0)]
            if changed != [self.name] or _mentions(text, self.name) or other_groups:
                return None
            slots = []
            for k, grp in enumerate(f.groups):
                if self.name in grp.compiled.params:
                    slots.append((k, "param", grp.compiled.params.index(self.name)))
            return slots if slots else None
        slots = []
        for k, grp in enumerate(f.groups):
            if self.name in grp.compiled.uvars:
                slots.append((k, "uvar", grp.compiled.uvars.index(self.name)))
        return slots or None

    @property
    def direct(self):
        return self._slots is not None

    def __call__(self, p):
        p = float(p)
        if self._slots is not None:
            f = copy.copy(self.field)
            f.groups = list(f.groups)
            si = p * self.scale
            for k, kind, idx in self._slots:
                grp = copy.copy(f.groups[k])
                if kind == "param":
                    grp.param_values = list(grp.param_values)
                    grp.param_values[idx] = si
                else:
                    grp.uvar_values = list(grp.uvar_values)
                    grp.uvar_values[idx] = si
                f.groups[k] = grp
            if f._single:
                g0 = f.groups[0]
                f._tail = list(g0.uvar_values) + list(g0.param_values) + [0.0, 1.0]
            return f
        key = round(p, 15)
        if key not in self._cache:
            if len(self._cache) > 64:
                self._cache.clear()
            self._cache[key] = self.field.with_params(**{self.name: self.field.parameter_text(self.name, p)})
        return self._cache[key]


def _mentions(text, name):
    import re

    return re.search(rf"\b{re.escape(name)}\b", text) is not None


# --------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------


@dataclass
class SpecialPoint:
    """A bifurcation point on a branch."""

    type: str
    value: float
    state: np.ndarray
    eigenvalues: np.ndarray
    branch: int

    def as_dict(self, field, max_state=None):
        items = list(zip(field.names, self.state))
        if max_state is not None:
            items = items[:max_state]
        return {"type": self.type, "value": float(self.value),
                "state": {n: float(v) for n, v in items},
                "branch": int(self.branch),
                "eigenvalues": [[float(e.real), float(e.imag)] for e in _leading(self.eigenvalues, field)]}


def _leading(lam, field, k=6):
    lam = np.asarray(lam)
    if lam.size == 0:
        return lam
    key = np.abs(np.abs(lam) - 1.0) if field.is_map else np.abs(lam.real)
    return lam[np.argsort(key, kind="stable")[:k]]


@dataclass
class Branch:
    """A continued curve: parameter values (in the parameter's unit), states, stability."""

    values: np.ndarray
    states: np.ndarray
    stable: np.ndarray
    start: str = ""

    def as_dict(self, field, variables=None, max_points=400):
        idx = np.arange(len(self.values))
        if len(idx) > max_points:
            idx = np.unique(np.linspace(0, len(idx) - 1, max_points).round().astype(int))
        names = field.names if variables is None else variables
        cols = [field.names.index(n) for n in names]
        return {"values": [float(v) for v in self.values[idx]],
                "states": {field.names[c]: [float(v) for v in self.states[idx, c]] for c in cols},
                "stable": [bool(s) for s in self.stable[idx]], "start": self.start}


@dataclass
class Continuation:
    """Branches and special points of a one-parameter continuation."""

    param: str
    unit: str
    range: tuple
    branches: list
    points: list
    field: object = None
    notes: list = dc_field(default_factory=list)

    def as_dict(self, variables=None, max_state=64):
        f = self.field
        return {"param": self.param, "param_unit": self.unit, "range": [float(r) for r in self.range],
                "points": [p.as_dict(f, max_state) for p in self.points],
                "branches": [b.as_dict(f, variables) for b in self.branches],
                "notes": list(self.notes)}


# --------------------------------------------------------------------------
# The algorithm
# --------------------------------------------------------------------------


class _Problem:
    """G(y) in scaled variables z = (x / sx, p / sp)."""

    def __init__(self, handle, sx, sp, t=0.0):
        self.h = handle
        self.sx = sx
        self.sp = sp
        self.t = t
        self.n = len(sx)

    def y(self, z):
        return z[:-1] * self.sx, z[-1] * self.sp

    def G(self, z):
        x, p = self.y(z)
        return self.h(p).residual(x, self.t)

    def Gy(self, z):
        """(G, dG/dz) with dG/dp by central differences."""
        x, p = self.y(z)
        f = self.h(p)
        g = f.residual(x, self.t)
        Gx = f.residual_jacobian(x, self.t) * self.sx[None, :]
        dp = 1e-6 * max(1.0, abs(z[-1]))
        gp = (self.h((z[-1] + dp) * self.sp).residual(x, self.t)
              - self.h((z[-1] - dp) * self.sp).residual(x, self.t)) / (2 * dp)
        return g, np.column_stack([Gx, gp]), f

    def tangent(self, A, t_prev):
        n = self.n
        M = np.vstack([A, t_prev[None, :]])
        rhs = np.zeros(n + 1)
        rhs[-1] = 1.0
        try:
            t = np.linalg.solve(M, rhs)
        except np.linalg.LinAlgError:
            _, _, vt = np.linalg.svd(A)
            t = vt[-1]
        t /= np.linalg.norm(t)
        if t @ t_prev < 0:
            t = -t
        return t

    def correct(self, z_pred, t, gscale, tol=1e-10, maxit=8):
        z = z_pred.copy()
        for it in range(1, maxit + 1):
            g, A, _ = self.Gy(z)
            if not np.all(np.isfinite(g)):
                return None, it
            H = np.concatenate([g, [t @ (z - z_pred)]])
            M = np.vstack([A, t[None, :]])
            try:
                dz = np.linalg.solve(M, -H)
            except np.linalg.LinAlgError:
                return None, it
            z = z + dz
            if np.max(np.abs(dz)) < 1e-11 and np.linalg.norm(self.G(z)) <= tol * gscale:
                return z, it
        if np.linalg.norm(self.G(z)) <= 1e3 * tol * gscale:
            return z, maxit
        return None, maxit


def _eigs(field, x, t):
    return np.linalg.eigvals(field.jacobian(x, t))


def _tests(prob, z, tvec, is_map):
    """Test functions at a point: dict name -> value, plus the eigenvalues."""
    g, A, f = prob.Gy(z)
    x, p = prob.y(z)
    lam = _eigs(f, x, prob.t)
    out = {"fold": tvec[-1]}
    sign, logdet = np.linalg.slogdet(np.vstack([A, tvec[None, :]]))
    out["branch"] = sign
    cplx = lam[np.abs(lam.imag) > 1e-9 * max(1.0, np.max(np.abs(lam)))]
    if is_map:
        s, _ = np.linalg.slogdet(f.jacobian(x, prob.t) + np.eye(f.n))
        out["period_doubling"] = s
        out["neimark_sacker"] = (np.abs(cplx)[np.argmin(np.abs(np.abs(cplx) - 1))] - 1.0) if cplx.size else np.nan
    else:
        out["hopf"] = cplx.real[np.argmin(np.abs(cplx.real))] if cplx.size else np.nan
    return out, lam


def _stable(lam, is_map, tol=1e-9):
    if is_map:
        return bool(np.all(np.abs(lam) < 1 - tol))
    scale = max(1.0, float(np.max(np.abs(lam)))) if lam.size else 1.0
    return bool(np.all(lam.real < -tol * scale))


def continuation(field, param, lo, hi, *, starts=None, ds=None, max_ds=None, max_steps=600,
                 seed=0, t=0.0, switch_branches=True, max_branches=12):
    """Continue the equilibria of ``field`` in parameter ``param`` over ``[lo, hi]``.

    Parameters
    ----------
    field : Field
    param : str
        A parameter of the spec, or a model variable that is a parameter of the equations.
    lo, hi : float
        The range, in the parameter's unit (see ``Field.parameter``).
    starts : list of (p, x), optional
        Starting points; default: the fixed points found (multi-start) at ``lo``, the
        middle and ``hi``.
    ds, max_ds : float, optional
        Initial and largest step along the (scaled) arc; default 1/100 and 1/40.
    max_steps : int
        Steps per branch and direction.
    switch_branches : bool
        Start new branches at branch points.

    Returns
    -------
    Continuation
    """
    from ._fixed_points import find_fixed_points, search_box

    if not field.autonomous:
        raise BiodynError(f"{field.name}: the field depends on time (forcing): equilibria are "
                          "not defined")
    lo, hi = float(lo), float(hi)
    if not hi > lo:
        raise SpecError("<arguments>", "range", "LO < HI", f"{lo:g} {hi:g}")
    # an IteratedMap (period-k orbits, biodyn.dynamics._cycles) brings its own handle
    handle = (field.parameter_handle(param) if hasattr(field, "parameter_handle")
              else ParameterHandle(field, param))
    sp = (hi - lo)
    # starting points
    notes = []
    if starts is None:
        starts = []
        for p in (lo, 0.5 * (lo + hi), hi):
            fp_field = handle(p)
            try:
                for fp in find_fixed_points(fp_field, seed=seed, t=t, eigenvalues=False):
                    starts.append((p, fp.state))
            except BiodynError as exc:
                notes.append(f"no fixed points searched at {param} = {p:g}: {exc}")
    if not starts:
        raise BiodynError(f"{field.name}: no equilibrium found in the range of {param} to start "
                          "the continuation from")
    samples = np.array([s for _, s in starts])
    blo, bhi = search_box(field, samples)
    sx = np.maximum(bhi - blo, 1e-12 * np.maximum(1.0, np.abs(samples).max(axis=0)))
    prob = _Problem(handle, sx, sp, t)
    gscale = np.median([np.linalg.norm(prob.h(p).residual(x + 0.05 * sx, t)) for p, x in starts[:8]])
    gscale = gscale if np.isfinite(gscale) and gscale > 0 else 1.0
    ds0 = ds if ds is not None else 0.01
    max_ds = max_ds if max_ds is not None else 0.025
    branches, points = [], []
    queue = [(p, np.asarray(x, float), None, f"fixed point at {param} = {p:.6g}") for p, x in starts]
    zlo, zhi = lo / sp, hi / sp
    margin = 1e-9

    def on_known(z):
        """Is z (scaled) within 0.01 of a computed branch (distance to its polyline)?"""
        for b in branches:
            Z = np.column_stack([b.states / sx, b.values / sp])
            a, d = Z[:-1], np.diff(Z, axis=0)
            L2 = np.maximum((d * d).sum(axis=1), 1e-300)
            u = np.clip(((z - a) * d).sum(axis=1) / L2, 0.0, 1.0)
            dist = np.linalg.norm(a + u[:, None] * d - z, axis=1)
            if dist.size and dist.min() < 0.01:
                return True
        return False

    while queue and len(branches) < max_branches:
        p0, x0, t0_dir, label = queue.pop(0)
        z0 = np.concatenate([x0 / sx, [p0 / sp]])
        if t0_dir is None and on_known(z0):
            continue
        # refine the start at fixed p
        g, A, f0 = prob.Gy(z0)
        # initial tangent: null vector of A
        if t0_dir is None:
            _, _, vt = np.linalg.svd(A)
            tangent = vt[-1]
            if tangent[-1] < 0:
                tangent = -tangent
            directions = (tangent, -tangent)
        else:
            directions = (t0_dir, -t0_dir)
        halves = []
        for tan in directions:
            zs, ts, stab, tests, lams = _run_branch(prob, z0, tan, ds0, max_ds, max_steps, zlo, zhi,
                                                    margin, gscale, field.is_map)
            halves.append((zs, ts, stab, tests, lams))
        # join the two halves (the second reversed) into one branch
        zs = halves[1][0][::-1][:-1] + halves[0][0]
        ts = [-v for v in halves[1][1][::-1][:-1]] + halves[0][1]
        stab = halves[1][2][::-1][:-1] + halves[0][2]
        tests = halves[1][3][::-1][:-1] + halves[0][3]
        lams = halves[1][4][::-1][:-1] + halves[0][4]
        for k in range(len(tests)):  # the reversed half has tangents flipped
            if k < len(halves[1][3]) - 1:
                tests[k] = dict(tests[k], fold=-tests[k]["fold"], branch=-tests[k]["branch"])
        if len(zs) < 2:
            continue
        Z = np.array(zs)
        bidx = len(branches)
        above = _above_threshold(prob, zs) if getattr(field, "resets", False) and not field.is_map else None
        if above is not None:
            stab = [bool(st) and not a for st, a in zip(stab, above)]
        branches.append(Branch(Z[:, -1] * sp, Z[:, :-1] * sx, np.array(stab), label))
        if above is not None:
            for k in range(1, len(zs)):
                if above[k] != above[k - 1]:
                    zt = _locate_threshold(prob, zs[k - 1], zs[k], above[k - 1], gscale)
                    x, p = prob.y(zt)
                    if not any(q.type == "threshold" and abs(q.value - p) <= 1e-6 * sp for q in points):
                        points.append(SpecialPoint("threshold", p, x, _eigs(prob.h(p), x, prob.t), bidx))
        # special points
        for k in range(1, len(zs)):
            for name, v0 in tests[k - 1].items():
                v1 = tests[k][name]
                if not (np.isfinite(v0) and np.isfinite(v1)) or np.sign(v0) == np.sign(v1) or v0 == 0:
                    continue
                fold_flips = np.sign(tests[k - 1]["fold"]) != np.sign(tests[k]["fold"])
                if name == "branch" and fold_flips:
                    continue  # t_p flips too: the tip of a pitchfork, examined with the fold test
                if name in ("fold", "branch"):
                    # G_y = [G_x, G_p] loses rank at a branch point, on every curve through it:
                    # find the minimum of its smallest singular value between the two points
                    zr, rank_drop = _rank_minimum(prob, zs[k - 1], zs[k], gscale)
                    if rank_drop:
                        name, zp = "branch", zr
                        x_, p_ = prob.y(zp)
                        lam = _eigs(prob.h(p_), x_, prob.t)
                    elif name == "branch":
                        continue
                if name != "branch":
                    zp, lam = _locate(prob, zs[k - 1], ts[k - 1], zs[k], name, tests[k - 1], gscale,
                                      field.is_map)
                if name == "hopf" and not _hopf_like(lam):
                    continue
                if name == "fold" and not _fold_like(prob, zp, zs[k - 1], zs[k]):
                    continue  # t_p also turns at a branch point (the tip of a pitchfork)
                if name == "period_doubling" and not np.min(np.abs(lam + 1.0)) <= 1e-4:
                    continue
                x, p = prob.y(zp)
                typ = {"neimark_sacker": "neimark_sacker"}.get(name, name)
                pt = SpecialPoint(typ, p, x, lam, bidx)
                # one point reached along several curves (a branch point: from each of them)
                same = 1e-4 if typ == "branch" else 1e-6
                if not any(q.type == typ and abs(q.value - p) <= same * sp and
                           np.max(np.abs(q.state - x) / sx) < 100 * same for q in points):
                    points.append(pt)
                    if typ == "branch" and switch_branches:
                        tnew = _other_tangent(prob, zp, ts[k - 1])
                        if tnew is not None:
                            queue.append((p, x, tnew, f"branch point at {param} = {p:.6g}"))
    points = [q for q in points if lo - 1e-9 * sp <= q.value <= hi + 1e-9 * sp]
    for q in points:
        if q.type == "threshold":
            notes.append(f"at {param} = {q.value:.6g} the equilibrium reaches the threshold: on the "
                         "side where it lies above, it is no state of the neuron (it spikes and is "
                         "reset before resting there); the neuron fires, and the branch is drawn "
                         "unstable there")
    points.sort(key=lambda q: (q.value, q.type))
    if len(branches) >= max_branches and queue:
        notes.append(f"stopped after {max_branches} branches")
    return Continuation(param, handle.unit, (lo, hi), branches, points, field, notes)


#: a step is accepted only if the tangent turns by less than arccos(_MIN_COS) (Allgower &
#: Georg 2003, sec. 6.1: step control by the angle between consecutive tangents)
_MIN_COS = 0.95


def _run_branch(prob, z0, tangent, ds, max_ds, max_steps, zlo, zhi, margin, gscale, is_map):
    """Continue in one direction from z0; returns lists of points, tangents, stability,
    test values, eigenvalues."""
    z = z0.copy()
    t = tangent / np.linalg.norm(tangent)
    zs, ts, stab, tests, lams = [], [], [], [], []
    g, A, f = prob.Gy(z)
    t = prob.tangent(A, t)
    tv, lam = _tests(prob, z, t, is_map)
    zs.append(z.copy()); ts.append(t.copy()); tests.append(tv); lams.append(lam)
    stab.append(_stable(lam, is_map))
    h = ds
    steps = 0
    start = z.copy()
    while steps < max_steps:
        steps += 1
        z_pred = z + h * t
        zn, its = prob.correct(z_pred, t, gscale)
        if zn is None:
            h *= 0.5
            if h < 1e-7:
                break
            continue
        _, A, f = prob.Gy(zn)
        tn = prob.tangent(A, t)
        if tn @ t < _MIN_COS and h > 1e-6:
            # the tangent turned by more than ~18 degrees in one step: the corrector jumped onto
            # another curve (at a branch point) or the step cut a sharp turn; retry smaller
            h *= 0.5
            continue
        tvn, lamn = _tests(prob, zn, tn, is_map)
        z, t = zn, tn
        zs.append(z.copy()); ts.append(t.copy()); tests.append(tvn); lams.append(lamn)
        stab.append(_stable(lamn, is_map))
        if its <= 3:
            h = min(h * 1.5, max_ds)
        elif its >= 6:
            h *= 0.7
        if z[-1] < zlo - margin - 0.02 or z[-1] > zhi + margin + 0.02:
            break
        if np.max(np.abs(z[:-1])) > 1e3:
            break
        if steps > 10 and np.linalg.norm(z - start) < 0.5 * h:
            break  # a closed curve
    return zs, ts, stab, tests, lams


def _locate(prob, za, ta, zb, name, test_a, gscale, is_map, iters=40):
    """Bisection along the arc between za and zb on the sign of test ``name``."""
    ds_total = float(np.linalg.norm(zb - za))
    lo_s, hi_s = 0.0, ds_total
    sa = np.sign(test_a[name])
    z_best, lam_best = zb, None
    for _ in range(iters):
        mid = 0.5 * (lo_s + hi_s)
        zm, _ = prob.correct(za + mid * ta, ta, gscale)
        if zm is not None and np.linalg.norm(zm - za) > 1.5 * mid + 1e-12:
            zm = None  # jumped to another curve crossing the hyperplane
        if zm is None:  # exactly on a singular point: the bordered system is singular there
            zp = za + mid * ta
            if np.linalg.norm(prob.G(zp)) <= 1e-8 * gscale:
                x, p = prob.y(zp)
                return zp, _eigs(prob.h(p), x, prob.t)
            for off in (1e-6, -1e-6, 1e-3, -1e-3):
                zm, _ = prob.correct(za + (mid + off * (hi_s - lo_s)) * ta, ta, gscale)
                if zm is not None:
                    break
            if zm is None:
                break
        _, A, _ = prob.Gy(zm)
        tm = prob.tangent(A, ta)
        tv, lam = _tests(prob, zm, tm, is_map)
        z_best, lam_best = zm, lam
        if np.sign(tv[name]) == sa:
            lo_s = mid
        else:
            hi_s = mid
        if hi_s - lo_s < 1e-10 * max(1.0, ds_total):
            break
    if lam_best is None:
        x, p = prob.y(z_best)
        lam_best = _eigs(prob.h(p), x, prob.t)
    return z_best, lam_best


def _above_threshold(prob, zs):
    """Per point: does a threshold-reset unit's threshold condition hold there?"""
    out = []
    for z in zs:
        x, p = prob.y(z)
        out.append(bool(prob.h(p).threshold_crossed(x)))
    return out


def _locate_threshold(prob, za, zb, above_a, gscale, iters=50):
    """Bisection on the chord (each point corrected onto the curve) for the point where the
    equilibrium reaches the threshold."""
    lo, hi = 0.0, 1.0
    z_best = zb
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        pred = za + mid * (zb - za)
        d = (zb - za) / max(np.linalg.norm(zb - za), 1e-300)
        zm, _ = prob.correct(pred, d, gscale)
        zm = pred if zm is None else zm
        x, p = prob.y(zm)
        if bool(prob.h(p).threshold_crossed(x)) == above_a:
            lo = mid
        else:
            hi, z_best = mid, zm
    return z_best


def _sigma(prob, z):
    """``(smallest, largest)`` singular value of G_y = [G_x, G_p] (the smallest is 0 at
    branch points)."""
    _, A, _ = prob.Gy(z)
    sv = np.linalg.svd(A, compute_uv=False)
    return float(sv[-1]), float(sv[0])


def _rank_minimum(prob, za, zb, gscale, iters=48):
    """``(z, is_branch_point)``: the solution between ``za`` and ``zb`` where G_y is closest
    to losing rank, by golden-section search on the chord (each point corrected onto the
    solution set on the hyperplane orthogonal to the chord).

    The smallest singular value of :math:`G_y` vanishes at a branch point on every curve
    through it and grows linearly with the distance from it, so the search finds the point
    whichever curve the corrector lands on near the crossing. A branch point is accepted
    where the smallest singular value drops below 1/100 of its value at both ends (it
    varies smoothly and stays away from 0 through a fold, where G_y keeps full rank): a
    criterion free of the step and of the range's scaling.
    """
    d = zb - za
    L = float(np.linalg.norm(d))
    if L == 0:
        return za, False
    u = d / L
    cache = {}

    def value(s):
        if s not in cache:
            # near the branch point the bordered system is nearly singular and Newton converges
            # only linearly: allow it many iterations
            zm, _ = prob.correct(za + s * u, u, gscale, tol=1e-13, maxit=60)
            if zm is None or np.linalg.norm(zm - (za + s * u)) > 0.5 * L:
                cache[s] = (np.inf, None)
            else:
                cache[s] = (_sigma(prob, zm)[0], zm)
        return cache[s]

    ends = min(_sigma(prob, za)[0], _sigma(prob, zb)[0])
    g = (math.sqrt(5.0) - 1.0) / 2.0
    a, b = 0.0, L
    c, e = b - g * (b - a), a + g * (b - a)
    for _ in range(iters):
        if value(c)[0] <= value(e)[0]:
            b, e = e, c
            c = b - g * (b - a)
        else:
            a, c = c, e
            e = a + g * (b - a)
        if b - a < 1e-13 * L:
            break
    best = min((v for v in cache.values() if v[1] is not None), key=lambda v: v[0], default=None)
    if best is None:
        return za, False
    sig, z = best
    return z, bool(sig <= 1e-2 * ends)


def _fold_like(prob, z, za, zb):
    """A limit point: G_x singular, but [G_x, G_p] of full rank (else it is a branch point,
    where t_p turns too: the tip of a pitchfork), relative to the Jacobian's scale at the
    bracketing points."""
    scale = max(np.linalg.norm(prob.Gy(w)[1], 2) for w in (za, zb))
    _, A, _ = prob.Gy(z)
    s_gx = np.linalg.svd(A[:, :-1], compute_uv=False)
    s_a = np.linalg.svd(A, compute_uv=False)
    return bool(s_gx[-1] <= 1e-4 * scale and s_a[-1] >= 1e-3 * scale)


def _branch_like(prob, z, za, zb):
    """A branch point: [G_x, G_p] rank deficient (relative to the bracketing points)."""
    scale = max(np.linalg.norm(prob.Gy(w)[1], 2) for w in (za, zb))
    _, A, _ = prob.Gy(z)
    s_a = np.linalg.svd(A, compute_uv=False)
    return bool(s_a[-1] <= 1e-4 * scale)


def _hopf_like(lam):
    """A complex pair on the imaginary axis (not a neutral saddle, not a double zero)."""
    cplx = lam[np.abs(lam.imag) > 1e-7 * max(1.0, float(np.max(np.abs(lam))))]
    if cplx.size == 0:
        return False
    k = np.argmin(np.abs(cplx.real))
    return abs(cplx.real[k]) <= 1e-4 * max(1e-12, abs(cplx.imag[k]))


def _other_tangent(prob, z, t):
    """At a simple branch point: the null vector of G_y orthogonal to the branch's tangent."""
    _, A, _ = prob.Gy(z)
    _, s, vt = np.linalg.svd(A)
    null = vt[-2:] if A.shape[0] + 1 == vt.shape[0] else vt[-1:]
    if null.shape[0] < 2:
        return None
    # the combination of the two (approximate) null vectors orthogonal to t
    c = null @ t
    v = c[1] * null[0] - c[0] * null[1]
    norm = np.linalg.norm(v)
    return v / norm if norm > 0 else None
