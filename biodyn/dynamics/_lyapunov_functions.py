r"""Lyapunov functions: certificates of stability without solving the equations.

A function :math:`V` with :math:`V(x^*) = 0`, :math:`V > 0` elsewhere near :math:`x^*` and

.. math:: \dot V(x) = \nabla V(x)\cdot f(x) \le 0

proves :math:`x^*` stable (:math:`< 0` away from :math:`x^*`: asymptotically stable), and
every sublevel set :math:`\{V < c\}` on which :math:`\dot V < 0` (except at :math:`x^*`) and
that is bounded lies in its basin (Lyapunov 1892; Khalil 2002, theorems 4.1 and 8.2;
Strogatz 2015, section 7.2).

* :func:`quadratic_lyapunov` — at a hyperbolic stable fixed point, :math:`V = z^\top P z`
  with :math:`z = D^{-1}(x - x^*)` (``D`` the box sizes, so that variables of different units
  weigh alike) and :math:`P` the solution of the Lyapunov equation
  :math:`A^\top P + P A = -I`, :math:`A = D^{-1} J(x^*) D` (``scipy.linalg.solve_continuous_lyapunov``;
  :math:`P` is positive definite exactly when :math:`A` is Hurwitz). The **region of
  attraction estimate** is the largest sublevel set :math:`\{V < c\}` with :math:`\dot V < 0`
  at every sample in it (other than :math:`x^*`) and inside the box: :math:`c` is the smallest
  :math:`V` over the samples where :math:`\dot V \ge 0` and over the box's faces, refined by
  minimising :math:`V` subject to :math:`\dot V \ge 0` (SLSQP) from the five lowest offending
  samples. Checked on samples, this is an estimate, not a proof (a sum-of-squares program
  would prove it): a thin region of :math:`\dot V \ge 0` missed by every sample can make it
  too large.
* :func:`check_lyapunov_function` — a user's candidate :math:`V` (an expression in the
  model's state variables, its parameters and Brian2 unit names, evaluated in SI): :math:`\dot V`
  is formed symbolically from the same sympy equations the Jacobian is derived from
  (:math:`\dot V = \sum_a \partial V/\partial x_a\, f_a`, per the model's time unit; float
  coefficients within ``1e-12`` of simple rationals are made exact, so cancellations are
  exact), its sign decided by sympy where it can (``nonpositive`` for :math:`-2x^4` over real
  :math:`x`), and evaluated on samples: where it is negative, zero or positive. The
  candidate's **units** are checked first (:func:`candidate_dimensions`: the terms of a sum
  alike, ``exp``/``log``/trigonometric functions of dimensionless arguments, numeric
  exponents of quantities with units) and reported: :math:`V` in its unit (``V_unit``),
  :math:`\dot V` in that unit per second (per time unit of the model, which is one second
  for neurons and synapses; ``Vdot_per_second`` converts for abstract systems). An
  inconsistent candidate is refused before anything is evaluated.

Only single-unit models (systems, one neuron, one synapse rule) are read symbolically.

References
----------
Khalil HK (2002) Nonlinear Systems, 3rd ed. Prentice Hall (sections 4.1, 4.3, 8.2).
Strogatz SH (2015) Nonlinear Dynamics and Chaos, 2nd ed. Westview Press (section 7.2).
Lyapunov AM (1892/1992) The general problem of the stability of motion. Int J Control
55:531-773. doi:10.1080/00207179208934253
"""

from __future__ import annotations

from dataclasses import dataclass, field as dc_field

import numpy as np

from ..errors import BiodynError, SpecError, suggest

__all__ = ["LyapunovFunction", "quadratic_lyapunov", "check_lyapunov_function", "symbolic_field"]


@dataclass
class LyapunovFunction:
    """A Lyapunov function (candidate) checked on a model.

    Attributes
    ----------
    V, Vdot : str
        The function and :math:`\\dot V` (per time unit), as sympy prints them.
    symbolic : str
        ``"negative"``, ``"nonpositive"``, ``"zero"``, ``"positive"``, ``"nonnegative"`` (for
        every real state, as sympy decides) or ``"undecided"``.
    samples : (M, n) array
        States where it was evaluated (SI).
    values, derivative : (M,) arrays
        :math:`V` and :math:`\\dot V` there.
    sign : (M,) int array
        -1, 0, +1 for :math:`\\dot V` negative, zero (within rounding of its terms), positive.
    fixed_point : (n,) array or None
    level : float or None
        The region-of-attraction estimate :math:`\\{V < c\\}`.
    P : (n, n) array or None
        Of a quadratic certificate (in box-scaled variables ``z``; ``scale`` gives ``D``).
    """

    V: str
    Vdot: str
    symbolic: str
    samples: np.ndarray
    values: np.ndarray
    derivative: np.ndarray
    sign: np.ndarray
    fixed_point: np.ndarray | None = None
    level: float | None = None
    P: np.ndarray | None = None
    scale: np.ndarray | None = None
    extra: dict = dc_field(default_factory=dict)

    @property
    def fractions(self):
        m = max(len(self.sign), 1)
        return {"negative": float(np.sum(self.sign < 0) / m), "zero": float(np.sum(self.sign == 0) / m),
                "positive": float(np.sum(self.sign > 0) / m)}

    def as_dict(self, field=None, max_samples=3000):
        n = self.samples.shape[1]
        names = field.names if field is not None else [f"x{k}" for k in range(n)]
        k = min(len(self.sign), max_samples)
        d = {"V": self.V, "Vdot": self.Vdot, "symbolic": self.symbolic, "fractions": self.fractions,
             "n_samples": int(len(self.sign)),
             "samples": {**{names[j]: [float(v) for v in self.samples[:k, j]] for j in range(n)},
                         "V": [float(v) for v in self.values[:k]],
                         "Vdot": [float(v) for v in self.derivative[:k]],
                         "sign": [int(v) for v in self.sign[:k]]}}
        if self.fixed_point is not None:
            d["fixed_point"] = {"state": {names[j]: float(self.fixed_point[j]) for j in range(n)}}
        if self.level is not None:
            inside = self.values < self.level
            d["region_of_attraction"] = {"level": float(self.level),
                                         "fraction_of_samples_inside": float(np.mean(inside)),
                                         "method": "largest sublevel set of V with dV/dt < 0 at every "
                                                   "sample in it, inside the box (a sampled estimate)"}
        if self.P is not None:
            d["P"] = [[float(v) for v in row] for row in self.P]
            d["scale"] = [float(v) for v in self.scale]
        d.update(self.extra)
        return d


def _clean(expr):
    """Floats within 1e-12 (relative) of rationals p/q with q <= 10^6 made exact, then expanded."""
    import sympy

    from fractions import Fraction

    rep = {}
    for a in expr.atoms(sympy.Float):
        v = float(a)
        fr = Fraction(v).limit_denominator(10 ** 6)     # p/q with q <= 10^6
        if abs(float(fr) - v) <= 1e-12 * abs(v):
            rep[a] = sympy.Rational(fr.numerator, fr.denominator)
    return sympy.expand(expr.xreplace(rep))


def symbolic_field(field):
    """``(symbols, exprs)``: the state symbols and the sympy right-hand sides :math:`f_a` of a
    single-unit flow, parameters substituted (SI), per the model's time unit."""
    import sympy

    if field.is_map:
        raise BiodynError(f"{field.name} is a map: Lyapunov functions are checked for flows")
    if not field._single:
        raise BiodynError(f"{field.name}: Lyapunov functions are checked symbolically for single-unit "
                          "models (systems, one neuron, one synapse rule), not networks")
    if not field.autonomous:
        raise BiodynError(f"{field.name}: the field depends on time (forcing); use parameters without "
                          "forcing")
    grp = field.groups[0]
    c = grp.compiled
    S = lambda n: sympy.Symbol(n, real=True)  # noqa: E731
    values = {S(n): float(v) for n, v in zip(c.uvars + c.params, field._tail[:len(c.uvars) + len(c.params)])}
    values.update({S("i"): 0, S("N"): 1, S("t"): 0})
    syms = [S(s) for s in c.states]
    exprs = [_clean(e.xreplace(values) * field._T) for e in c.exprs]
    return syms, exprs


def _parse_candidate(field, text, syms):
    import sympy

    from ._sympy import units_si

    if not isinstance(text, str) or not text.strip():
        raise SpecError("<command line>", "--candidate", "an expression in the state variables "
                        f"({', '.join(map(str, syms))})", repr(text))
    local = {str(s): s for s in syms}
    spec_params = {}
    for n in field.plan.spec.parameters:
        if n in field.plan.namespace:
            spec_params[n] = float(np.asarray(field.plan.namespace[n]))
    units = units_si()
    for n in list(spec_params) + [k for k in units if k.isidentifier()]:
        local.setdefault(n, sympy.Symbol(n, real=True))
    try:
        expr = sympy.sympify(text.replace("^", "**"), locals=local)
    except (sympy.SympifyError, SyntaxError, TypeError) as exc:
        raise SpecError("<command line>", "--candidate", "a valid expression (Python syntax, ** for powers)",
                        repr(text), str(exc).splitlines()[0] if str(exc) else None) from None
    free = {str(s) for s in expr.free_symbols}
    states = {str(s) for s in syms}
    unknown = sorted(free - states - set(spec_params) - set(units))
    if unknown:
        raise SpecError("<command line>", "--candidate", "state variables (" + ", ".join(sorted(states))
                        + "), parameters or unit names", repr(unknown[0]),
                        suggest(unknown[0], sorted(states) + sorted(spec_params)))
    dim = candidate_dimensions(field, expr, text)
    subs = {sympy.Symbol(n, real=True): v for n, v in {**units, **spec_params}.items()
            if n in free and n not in states}
    expr = expr.xreplace(subs)
    if not (expr.free_symbols & set(syms)):
        raise SpecError("<command line>", "--candidate", "an expression that depends on the state",
                        repr(text))
    return _clean(expr), dim


def _unit_text(dim):
    from ._field import _si_unit_text

    return _si_unit_text(dim)


def candidate_dimensions(field, expr, text):
    """The physical dimensions of a candidate :math:`V` (a Brian2 ``Dimension``).

    Every symbol carries its dimension (states their declared unit, parameters their value's,
    unit names their own); a sum needs terms of one dimension, ``exp``/``log``/trigonometric
    functions dimensionless arguments, a power of a dimensioned base a number as exponent.
    Anything else is a :class:`~biodyn.errors.SpecError` naming ``--candidate``, the expression
    and the two offending parts with their units.
    """
    import sympy
    from brian2 import get_dimensions
    from brian2.units.fundamentalunits import DIMENSIONLESS

    from .._quantity import units_namespace

    grp = field.groups[0]
    known = {s: grp.dims.get(s) or DIMENSIONLESS for s in grp.states}
    ns = field.plan.namespace
    units = units_namespace()

    def of_symbol(name):
        if name in known:
            return known[name]
        if name in ns:
            return get_dimensions(ns[name])
        if name in units:
            return get_dimensions(units[name])
        return DIMENSIONLESS

    def fail(expected, found):
        raise SpecError("<command line>", "--candidate", expected, f"{found} in {text!r}",
                        "give the terms one unit, e.g. by dividing by unit names: "
                        "'(v/mV)**2 + (w/pA)**2' is dimensionless")

    def walk(e):
        if e.is_Symbol:
            return of_symbol(str(e))
        if e.is_Number or e.is_NumberSymbol:
            return DIMENSIONLESS
        if e.is_Add:
            dims = [(a, walk(a)) for a in e.args]
            a0, d0 = dims[0]
            for a, d in dims[1:]:
                if d != d0:
                    fail("terms of a sum with the same units",
                         f"{a0} in {_unit_text(d0)} added to {a} in {_unit_text(d)}")
            return d0
        if e.is_Mul:
            d = DIMENSIONLESS
            for a in e.args:
                d = d * walk(a)
            return d
        if e.is_Pow:
            base, ex = e.args
            db, de = walk(base), walk(ex)
            if de is not DIMENSIONLESS:
                fail("a dimensionless exponent", f"{ex} in {_unit_text(de)}")
            if db is DIMENSIONLESS:
                return DIMENSIONLESS
            if not ex.is_Number:
                fail("a number as the exponent of a quantity with units",
                     f"{base} (in {_unit_text(db)}) to the power {ex}")
            return db ** float(ex)
        if isinstance(e, (sympy.Abs, sympy.Min, sympy.Max)):
            dims = [(a, walk(a)) for a in e.args]
            for a, d in dims[1:]:
                if d != dims[0][1]:
                    fail(f"arguments of {e.func.__name__} with the same units",
                         f"{dims[0][0]} in {_unit_text(dims[0][1])} and {a} in {_unit_text(d)}")
            return dims[0][1]
        if isinstance(e, (sympy.sign, sympy.Heaviside)):
            return DIMENSIONLESS
        if isinstance(e, sympy.Function):
            for a in e.args:
                d = walk(a)
                if d is not DIMENSIONLESS:
                    fail(f"a dimensionless argument of {e.func.__name__}",
                         f"{a} in {_unit_text(d)}")
            return DIMENSIONLESS
        return DIMENSIONLESS

    return walk(expr)


def _sign_of(expr):
    if expr == 0:
        return "zero"
    for prop in ("negative", "nonpositive", "positive", "nonnegative"):
        if getattr(expr, "is_" + prop):
            return prop
    return "undecided"


def _samples(field, samples, box, seed, center=None):
    from ._fixed_points import search_box

    lo, hi = box if box is not None else search_box(field)
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    if np.ndim(samples) == 0:
        rng = np.random.default_rng([int(seed), 4242])
        X = lo + rng.random((int(samples), field.n)) * (hi - lo)
    else:
        X = np.atleast_2d(np.asarray(samples, float))
    return X, (lo, hi)


def _evaluate(field, syms, V, Vdot, X):
    import sympy

    from ._sympy import lambdify_numpy

    grad = [sympy.diff(V, s) for s in syms]
    names = [str(s) for s in syms]
    fv = lambdify_numpy(names, [V, Vdot])
    with np.errstate(all="ignore"):
        vals = [np.broadcast_to(np.asarray(v, float), (len(X),)) for v in fv(*X.T)]
        g = lambdify_numpy(names, grad)(*X.T)
        g = np.stack([np.broadcast_to(np.asarray(v, float), (len(X),)) for v in g], axis=1)
    F = np.array([field.f(x) for x in X])
    mag = np.sum(np.abs(g * F), axis=1)   # size of the terms of grad V . f: the rounding scale
    d = vals[1]
    if not np.all(np.isfinite(d)):
        bad = np.where(~np.isfinite(d))[0][0]
        raise BiodynError(f"{field.name}: dV/dt is not finite at a sampled state "
                          f"({field.state_dict(X[bad])}); narrow the box (the spec's [ranges])")
    sign = np.where(np.abs(d) <= 1e-12 * mag, 0, np.sign(d)).astype(int)
    return vals[0], d, sign


def check_lyapunov_function(field, candidate, *, samples=2000, box=None, seed=0, fixed_point=None):
    """Check a candidate Lyapunov function symbolically and on samples (module docstring).

    Parameters
    ----------
    field : Field
        A single-unit autonomous flow.
    candidate : str
        :math:`V` in the state variables (SI values), parameters and unit names, e.g.
        ``"x**2 + y**2"`` or ``"(v - E_L)**2/mV**2"``.
    samples : int or (M, n) array
        States drawn uniformly in ``box`` (default the spec's ranges), or the states.
    fixed_point : (n,) array, optional
        Recorded with the result (and drawn).

    Returns
    -------
    LyapunovFunction
    """
    import sympy

    syms, f = symbolic_field(field)
    V, dim = _parse_candidate(field, candidate, syms)
    Vdot = _clean(sum(sympy.diff(V, s) * fa for s, fa in zip(syms, f)))
    Vdot = sympy.simplify(Vdot) if sympy.count_ops(Vdot) < 200 else Vdot
    X, _ = _samples(field, samples, box, seed)
    vals, d, sign = _evaluate(field, syms, V, Vdot, X)
    res = LyapunovFunction(str(V), str(Vdot), _sign_of(Vdot), X, vals, d, sign,
                           None if fixed_point is None else np.asarray(fixed_point, float))
    # units: V in its own; dV/dt (expression and samples) per time unit of the model, which is
    # one second for neurons and synapses; "Vdot_per_second" is the factor to V's unit per second
    unit = _unit_text(dim)
    T = float(field._T)
    res.extra["V_unit"] = unit
    per_s = "1/s" if unit == "1" else f"{unit}/s"
    res.extra["Vdot_unit"] = per_s if T == 1.0 else f"{unit} per {field.time_unit_text}"
    res.extra["Vdot_per_second"] = 1.0 / T
    res.extra["Vdot_unit_per_second"] = per_s
    return res


def quadratic_lyapunov(field, fixed_point, *, samples=4000, box=None, seed=0):
    """The quadratic certificate at a stable fixed point and its region-of-attraction estimate
    (module docstring).

    Parameters
    ----------
    field : Field
    fixed_point : FixedPoint or (n,) array
        A hyperbolic stable fixed point.
    samples : int or (M, n) array
        States where :math:`\\dot V` is checked (uniform in ``box``).

    Returns
    -------
    LyapunovFunction
        With ``P``, ``scale`` and ``level`` (the largest certified sublevel set on the samples).
    """
    import sympy
    from scipy.linalg import solve_continuous_lyapunov

    from ._fixed_points import search_box

    x_s = np.asarray(getattr(fixed_point, "state", fixed_point), float)
    J = field.jacobian(x_s)
    lam = np.linalg.eigvals(J)
    if not np.all(lam.real < -1e-9 * max(np.max(np.abs(lam)), 1e-300)):
        raise BiodynError(f"{field.name}: the fixed point is not a hyperbolic attractor (eigenvalues "
                          f"{np.round(lam, 6)}): the Lyapunov equation has no positive-definite solution")
    lo, hi = box if box is not None else search_box(field)
    D = np.maximum(np.asarray(hi, float) - np.asarray(lo, float), 1e-300)
    A = J * D[None, :] / D[:, None]          # D^-1 J D
    P = solve_continuous_lyapunov(A.T, -np.eye(field.n))
    P = 0.5 * (P + P.T)
    syms, f = symbolic_field(field)
    z = [(s - float(c)) / float(d) for s, c, d in zip(syms, x_s, D)]
    # not expanded: in SI the expanded polynomial cancels catastrophically (w ~ 1e-10 A)
    V = sum(sympy.Float(P[a, b]) * z[a] * z[b] for a in range(field.n) for b in range(field.n))
    Vdot = sum(sympy.diff(V, s) * fa for s, fa in zip(syms, f))
    X, (lo, hi) = _samples(field, samples, (lo, hi), seed)
    vals, d, sign = _evaluate(field, syms, V, Vdot, X)
    # the box's faces: V's minimum there bounds the level from above (the set stays inside)
    rng = np.random.default_rng([int(seed), 777])
    faces = []
    for k in range(field.n):
        for side in (lo[k], hi[k]):
            F = lo + rng.random((200, field.n)) * (hi - lo)
            F[:, k] = side
            faces.append(F)
    Fc = np.concatenate(faces)
    Zc = (Fc - x_s) / D
    v_face = float(np.min(np.einsum("ij,jk,ik->i", Zc, P, Zc)))
    tiny = 1e-12 * float(np.max(vals)) if len(vals) else 0.0
    bad = (sign >= 0) & (vals > tiny)
    from_samples = float(np.min(vals[bad])) if np.any(bad) else np.inf
    if np.any(bad):   # refine: min V subject to dV/dt >= 0, from the lowest offending samples
        from scipy.optimize import minimize

        from ._sympy import lambdify_numpy

        names = [str(s) for s in syms]
        fv = lambdify_numpy(names, [V])
        fd = lambdify_numpy(names, [Vdot])
        Vn = lambda x: float(np.asarray(fv(*x)[0]))                    # noqa: E731
        Dn = lambda x: float(np.asarray(fd(*x)[0])) / dscale          # noqa: E731
        dscale = max(float(np.max(np.abs(d))), 1e-300)
        for k in np.where(bad)[0][np.argsort(vals[bad])[:5]]:
            try:
                with np.errstate(all="ignore"):
                    r = minimize(Vn, X[k], method="SLSQP", constraints=[{"type": "ineq", "fun": Dn}],
                                 options={"maxiter": 200, "ftol": 1e-14})
            except (ValueError, FloatingPointError):
                continue
            xr = r.x
            if (np.all(np.isfinite(xr)) and Dn(xr) >= -1e-9 and np.max(np.abs(xr - x_s) / D) > 1e-6
                    and np.all(xr >= lo) and np.all(xr <= hi)):
                from_samples = min(from_samples, Vn(xr))
    level = min(from_samples, v_face)
    res = LyapunovFunction(str(V), str(Vdot), _sign_of(Vdot), X, vals, d, sign, x_s,
                           level, P, D)
    # relative to the size of the terms: ||A'P + PA + I|| / (2 ||A|| ||P||)
    res.extra["lyapunov_equation_residual"] = float(np.max(np.abs(A.T @ P + P @ A + np.eye(field.n)))
                                                    / max(2 * np.max(np.abs(A)) * np.max(np.abs(P)), 1.0))
    res.extra["level_limited_by"] = "box" if v_face < from_samples else "samples"
    return res
