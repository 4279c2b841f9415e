r"""Periodic orbits: limit cycles of flows (multiple shooting, Floquet multipliers, continuation
with folds of cycles, period doublings and Neimark–Sacker points, switching onto period-doubled
branches), Poincaré sections, and period-k orbits of maps.

Flows: the method
-----------------
A periodic orbit of :math:`\dot x = f(x)` with period :math:`T` is found by **multiple
shooting** (Keller 1968; Seydel 2010, ch. 7): :math:`m` points :math:`x_0,\dots,x_{m-1}` on the
orbit and :math:`T` solve

.. math::

    \varphi_{T/m}(x_i) - x_{(i+1) \bmod m} = 0 \quad (i = 0..m-1), \qquad
    f(\hat x_0)^\top (x_0 - \hat x_0) = 0,

where :math:`\varphi_\tau` is the flow and the last line is the (Poincaré) phase condition
against a reference point :math:`\hat x_0` (the previous iterate or the previous point on a
branch), which removes the shift along the orbit. Newton's method needs
:math:`\partial\varphi_\tau/\partial x = M_i`, integrated with the **variational equations**
:math:`\dot\Phi = J(x)\Phi`, :math:`\Phi(0) = I`, beside :math:`x` (the Jacobian :math:`J`
derived by sympy from the spec, as everywhere in biodyn); :math:`\partial\varphi/\partial T =
f(\varphi)/m`. The monodromy matrix is :math:`M = M_{m-1}\cdots M_0`; its eigenvalues are the
**Floquet multipliers** (one is 1, along the flow: it is reported as ``trivial`` and checked).
The cycle is stable when every other multiplier has modulus below 1.

Why shooting and not orthogonal collocation (AUTO, MatCont): with an adaptive implicit
integrator (LSODA, Petzold 1983: it switches to BDF when the problem is stiff) the time mesh
follows relaxation oscillations and the fast upstrokes of spiking models without a mesh
adaptation of our own, the multipliers come straight from the monodromy matrix (collocation
gets them from a cyclic block factorisation), and the Newton systems are small
(:math:`mn + 2`) for the low-dimensional models the command serves. Multiple rather than single
shooting (default :math:`m = 4`, adapted along a branch) keeps the integration intervals short, so that unstable
cycles (multipliers :math:`\gg 1`, the unstable branch of Hodgkin–Huxley) still converge
(Seydel 2010, 7.3; Kuznetsov 2004, 10.3). The cost: each Newton step integrates
:math:`n + n^2` equations over one period, so large networks (n of hundreds) are out of reach
— use collocation tools there.

Starting points: a trajectory from the spec's initial state (or ``x0``), integrated until its
upward crossings of a Poincaré section (the hyperplane through the mean of the orbit, normal to
its direction of largest scaled variance) repeat; or a Hopf point (from
:func:`biodyn.dynamics.continuation`), where the orbit is :math:`x_H + \varepsilon\,
\mathrm{Re}(q e^{i\omega t})` with the critical eigenvector :math:`q`, :math:`T = 2\pi/\omega`, and
the parameter is solved for (the first step of the continuation fixes the amplitude
:math:`\varepsilon`, not the parameter, so the side of the Hopf point — sub- or supercritical —
comes out of the equations, as with the normal-form amplitude :math:`\varepsilon \propto
\sqrt{|p - p_H|}`).

A family of cycles (a linear centre, a Hamiltonian system) has no isolated cycle: a second
multiplier at 1 (or a singular Newton matrix) is refused with a :class:`BiodynError`.

Continuation: pseudo-arclength (Keller 1977; Allgower & Georg 2003) over
:math:`(x_0..x_{m-1}, T, p)`, with the phase condition against the previous point. Special
points by sign changes between consecutive points, located by bisection along the arc
(Kuznetsov 2004, 10.3.2):

===============  ==========================================================
type             test function
===============  ==========================================================
cycle_fold       :math:`t_p`, the parameter component of the tangent (a second multiplier
                 reaches 1: the fold, or limit point, of cycles)
period_doubling  :math:`\det(M + I)` (a real multiplier crosses :math:`-1`)
neimark_sacker   :math:`|\mu| - 1` of the non-trivial complex pair nearest the unit circle
===============  ==========================================================

Accuracy: the multipliers are computed from the segment matrices without forming their
product (:func:`floquet_multipliers`: eigenvalues of the cyclic block matrix, as accurate as a
periodic Schur factorisation; Bojanczyk, Golub & Van Dooren 1992; Lust 2001), so a cycle with
multipliers :math:`10^{9}` and :math:`10^{-30}` (the unstable Hodgkin–Huxley branch) still has
its trivial multiplier at 1 to :math:`10^{-6}`. The parameter column of Newton's matrix is the
sensitivity :math:`\partial\varphi/\partial p` integrated with the flow (a difference of two
integrations would carry the integrator's step-selection noise and make Newton linear). The
number of segments doubles along a branch when the most unstable multiplier grows by more than
20 per segment, or when the corrector fails at small steps (the point is re-meshed by
integrating from the old nodes). Where the trivial multiplier is still off 1 by more than
:math:`10^{-3}`, bifurcations located there are not reported (a note says so).

Hodgkin–Huxley in :math:`I` (6.3 C): the unstable cycles born at the subcritical Hopf point
(9.775 uA/cm**2) do not go straight to the fold of cycles at 6.2603 (Rinzel & Miller 1980):
the branch first wiggles between folds at 7.8423 and 7.9178, where its leading multiplier
reaches :math:`\sim 10^{9}`, and a second multiplier crosses :math:`-1` twice there (period
doublings at 7.8453 and 7.9178, with the trivial multiplier at 1 to :math:`10^{-6}`: unstable
period-doubled cycles, in line with the horseshoes Guckenheimer & Oliva 2002 found in the model
with its original parameters). The plain scipy shooting loop of ``benchmarks/cycles.py``
(its own equations, finite-difference segment matrices) finds the same folds (7.8424, 7.9176,
6.2605) and :math:`\det(M + I)` changing sign twice on the wiggle.

Threshold-reset models (integrate-and-fire) are not smooth flows: their cycles pass through a
reset, which the vector field does not contain (biodyn reads neurons as their subthreshold
flow). :func:`find_cycle` refuses them with a message; their cycles through the reset, with
multipliers from saltation matrices (Müller 1995; Bizzarri et al. 2016), are found by
:func:`biodyn.dynamics.hybrid_cycle` (``biodyn analyze cycles`` picks it for them).

Maps: a period-:math:`k` orbit is a fixed point of :math:`F^k`, built here by composition
(:class:`IteratedMap`, Jacobian :math:`DF^k(x) = DF(x_{k-1})\cdots DF(x_0)` by the chain rule) —
no hand-written spec of :math:`F\circ F`. :func:`periodic_orbits` finds them, with their
multipliers; :func:`biodyn.dynamics.continuation` continues them (pass an
:class:`IteratedMap`); :func:`period_doubling_cascade` follows the cascade and estimates
Feigenbaum's :math:`\delta` (Feigenbaum 1978).

References
----------
Keller HB (1968) Numerical Methods for Two-Point Boundary-Value Problems. Blaisdell, Waltham.
Keller HB (1977) Numerical solution of bifurcation and nonlinear eigenvalue problems. In:
Rabinowitz P (ed) Applications of Bifurcation Theory, Academic Press, pp 359-384.
Allgower EL, Georg K (2003) Introduction to Numerical Continuation Methods. SIAM.
doi:10.1137/1.9780898719154
Kuznetsov YA (2004) Elements of Applied Bifurcation Theory, 3rd ed. Springer.
doi:10.1007/978-1-4757-3978-7
Seydel R (2010) Practical Bifurcation and Stability Analysis, 3rd ed. Springer.
doi:10.1007/978-1-4419-1740-9
Petzold L (1983) Automatic selection of methods for solving stiff and nonstiff systems of
ordinary differential equations. SIAM J Sci Stat Comput 4:136-148. doi:10.1137/0904010
Feigenbaum MJ (1978) Quantitative universality for a class of nonlinear transformations.
J Stat Phys 19:25-52. doi:10.1007/BF01020332
Bojanczyk A, Golub G, Van Dooren P (1992) The periodic Schur decomposition: algorithms and
applications. Proc SPIE 1770:31-42. doi:10.1117/12.130915
Lust K (2001) Improved numerical Floquet multipliers. Int J Bifurc Chaos 11:2389-2410.
doi:10.1142/S0218127401003486
Guckenheimer J, Oliva RA (2002) Chaos in the Hodgkin–Huxley model. SIAM J Appl Dyn Syst
1:105-114. doi:10.1137/S1111111101394040
Rinzel J, Miller RN (1980) Numerical calculation of stable and unstable periodic solutions to
the Hodgkin–Huxley equations. Math Biosci 49:27-59. doi:10.1016/0025-5564(80)90109-1
Müller PC (1995) Calculation of Lyapunov exponents for dynamic systems with discontinuities.
Chaos Solitons Fractals 5:1671-1681. doi:10.1016/0960-0779(94)00170-U
"""

from __future__ import annotations

from dataclasses import dataclass, field as dc_field

import numpy as np

from ..errors import BiodynError, SpecError

__all__ = ["floquet_multipliers", "Cycle", "CycleBranch", "CyclePoint", "CycleContinuation", "find_cycle",
           "continue_cycles", "IteratedMap", "PeriodicOrbit", "periodic_orbits",
           "period_doubling_cascade", "Cascade", "poincare_section", "Section"]


# --------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------


def _check_flow(field):
    if field.is_map:
        raise BiodynError(f"{field.name} is a map: its periodic orbits are fixed points of an "
                          "iterate (use periodic_orbits(field, k))")
    if not field.autonomous:
        raise BiodynError(f"{field.name}: the field depends on time (forcing); limit cycles of "
                          "autonomous flows only (set the forcing to zero)")
    plan = getattr(field, "plan", None)
    for g in getattr(plan, "groups", []) or []:
        reset = str(getattr(g, "code", {}).get("reset", "") or "").strip()
        if reset:
            raise BiodynError(
                f"{field.name} has a threshold and reset ({reset!r}): its oscillations pass "
                "through a reset, which is not a smooth flow. Limit cycles (multiple shooting with "
                "variational equations) need smooth flows; biodyn reads this neuron as its "
                "subthreshold flow, which has no smooth cycle. Use biodyn.dynamics.hybrid_cycle "
                "(cycles through the reset, saltation matrices; `biodyn analyze cycles` uses it)")


# --------------------------------------------------------------------------
# Integration of the flow and its variational equations
# --------------------------------------------------------------------------


class _Flow:
    """Integrates x and Phi (dPhi/dt = J Phi) with LSODA (``scipy.integrate.odeint``); states in
    SI, time in time units. One unit without coupling (most systems and neurons) takes a fast
    path: the lambdified f and Jacobian of the spec in one call."""

    def __init__(self, field, sx, rtol=1e-9):
        self.field = field
        self.n = n = field.n
        self.sx = np.asarray(sx, float)
        self.rtol = rtol
        self.atol_x = 1e-11 * self.sx
        self.atol_v = (1e-10 * self.sx[:, None] / self.sx[None, :]).ravel()
        self.fp = None
        if getattr(field, "_single", False) and not field.is_map:
            fj = field.groups[0].compiled.fj
            tail = list(field._tail)
            Ts = field._T

            def fJ(x):
                vals = fj(*x, *tail, 0.0)
                f = np.array(vals[:n], dtype=float) * Ts
                J = np.array(vals[n:n + n * n], dtype=float).reshape(n, n) * Ts
                return f, J
        else:
            def fJ(x):
                return np.asarray(field.f(x), float), field.jacobian(x)
        self.fJ = fJ
        if getattr(field, "_single", False) and not field.is_map:
            fc = field.groups[0].compiled.f

            def f_only(x):
                return np.array(fc(*x, *tail, 0.0), dtype=float) * Ts
        else:
            def f_only(x):
                return np.asarray(field.f(x), float)
        self.f_only = f_only

    def _rhs_var(self, t, y):
        n = self.n
        f, J = self.fJ(y[:n])
        out = np.concatenate([f, (J @ y[n:].reshape(n, -1)).ravel()])
        if self.fp is not None:      # the parameter sensitivity is the last column of Phi
            out[n:].reshape(n, -1)[:, -1] += self.fp(y[:n], f)
        return out

    def _jac_var(self, t, y):
        n = self.n
        k = (len(y) - n) // n                # columns of Phi (n, or n + 1 with the sensitivity)
        J = self.fJ(y[:n])[1]
        out = np.zeros((n + n * k, n + n * k))
        out[:n, :n] = J
        out[n:, n:] = np.kron(J, np.eye(k))   # row-major vec(J Phi) = (J kron I) vec(Phi)
        return out

    def _rhs(self, t, x):
        return self.f_only(x)

    def _jac(self, t, x):
        return self.fJ(x)[1]

    def run(self, x, tau, variational=True, t_eval=None, fp=None):
        """``(x(tau), M or None, samples (k, n) at t_eval or None)``; with ``fp`` (a function
        ``(x, f(x)) -> df/dp``) also the sensitivity :math:`\\partial x(\\tau)/\\partial p`, as the
        last column of ``M`` (``(n, n + 1)``)."""
        from scipy.integrate import odeint

        n = self.n
        if not tau > 0 or not np.isfinite(tau):
            raise _IntegrationFailed(f"{self.field.name}: a non-positive period ({tau!r}) in the shooting")
        t = np.array([0.0, tau]) if t_eval is None else np.asarray(t_eval, float)
        self.fp = fp if variational else None
        if variational:
            P0 = np.eye(n) if fp is None else np.hstack([np.eye(n), np.zeros((n, 1))])
            y0 = np.concatenate([np.asarray(x, float), P0.ravel()])
            atol_v = self.atol_v if fp is None else np.hstack(
                [self.atol_v.reshape(n, n), 1e-10 * self.sx[:, None]]).ravel()
            fun, jac, atol = self._rhs_var, self._jac_var, np.concatenate([self.atol_x, atol_v])
        else:
            y0, fun, jac, atol = np.asarray(x, float), self._rhs, self._jac, self.atol_x
        import warnings

        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")   # failures are reported through info below
            Y, info = odeint(fun, y0, t, Dfun=jac, rtol=self.rtol, atol=atol, tfirst=True,
                             mxstep=200000, full_output=True)
        if info["message"] != "Integration successful." or not np.all(np.isfinite(Y)):
            raise _IntegrationFailed(f"{self.field.name}: the integration failed ({info['message']})")
        end = Y[-1]
        M = end[n:].reshape(n, -1) if variational else None
        return end[:n], M, (Y[:, :n] if t_eval is not None else None)


class _IntegrationFailed(BiodynError):
    """An integration of the flow failed (caught where a smaller step can help)."""


# --------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------


def _split_multipliers(mu):
    """(trivial, others): the multiplier nearest 1 and the rest sorted by modulus, descending."""
    mu = np.asarray(mu, complex)
    k = int(np.argmin(np.abs(mu - 1.0)))
    others = np.delete(mu, k)
    others = others[np.argsort(-np.abs(others), kind="stable")]
    return mu[k], others


@dataclass
class Cycle:
    r"""A periodic orbit of a flow.

    Attributes
    ----------
    state : (n,) array
        A point of the orbit (SI), on the phase condition's section.
    period : float
        In the field's time unit.
    multipliers : (n,) complex array
        Floquet multipliers, the trivial one (nearest 1) first, then by modulus.
    trivial : complex
        The multiplier along the flow (1 in exact arithmetic: its distance from 1 is a check).
    stable : bool
        Every non-trivial multiplier inside the unit circle.
    residual : float
        Max scaled mismatch of the shooting equations at the solution.
    amplitude_max, amplitude_min : (n,) arrays
        Max and min of each component over the orbit (SI).
    times, orbit : arrays
        The orbit sampled over one period (for figures).
    exponents : (n,) array
        :math:`\log|\mu|/T`: the Lyapunov exponents of the cycle (per time unit).
    """

    state: np.ndarray
    period: float
    multipliers: np.ndarray
    trivial: complex
    stable: bool
    residual: float
    amplitude_max: np.ndarray
    amplitude_min: np.ndarray
    times: np.ndarray = None
    orbit: np.ndarray = None
    parameter: float = None

    @property
    def exponents(self):
        return np.log(np.abs(self.multipliers)) / self.period

    def as_dict(self, field):
        names = field.names
        return {"period": float(self.period), "time_unit": field.time_unit_text,
                "state": {n: float(v) for n, v in zip(names, self.state)},
                "max": {n: float(v) for n, v in zip(names, self.amplitude_max)},
                "min": {n: float(v) for n, v in zip(names, self.amplitude_min)},
                "multipliers": [[float(m.real), float(m.imag)] for m in self.multipliers],
                "trivial_multiplier_error": float(abs(self.trivial - 1.0)),
                "exponents": [float(e) for e in self.exponents],
                "stable": bool(self.stable), "residual": float(self.residual)}


# --------------------------------------------------------------------------
# The shooting problem
# --------------------------------------------------------------------------


class _Shooting:
    """Multiple shooting in scaled variables z = (x_0/sx, ..., x_{m-1}/sx, T/sT[, p/sp])."""

    def __init__(self, field_at, n, m, sx, sT, sp=1.0, rtol=1e-9):
        self.field_at = field_at      # p -> Field (or a constant field: p ignored)
        self.n, self.m = n, m
        self.sx, self.sT, self.sp = np.asarray(sx, float), float(sT), float(sp)
        self.rtol = rtol

    def unpack(self, z, with_p):
        n, m = self.n, self.m
        X = z[:n * m].reshape(m, n) * self.sx
        T = z[n * m] * self.sT
        p = z[n * m + 1] * self.sp if with_p else None
        return X, T, p

    def _fp(self, p):
        """``(x, f(x)) -> df/dz_p`` (the derivative in the scaled parameter) by a difference
        quotient of the vector field (not of the flow: f is smooth in p and cheap, so the step
        can be tiny without integration noise: relative error ~1e-6, exact for parameters that
        enter f linearly, as an injected current)."""
        h = 1e-6 * max(abs(p), self.sp)
        fl = _Flow(self.field_at(p + h), self.sx, self.rtol)
        c = self.sp / h

        def fp(x, f0):
            return (fl.f_only(x) - f0) * c
        return fp

    def evaluate(self, z, xref, with_p, jac=True):
        """(G, dG/dz, segment matrices [M_0..M_{m-1}]) with G of size m n + 1 (scaled rows).

        The parameter column of dG/dz is the sensitivity :math:`\\partial\\varphi/\\partial p`,
        integrated with the flow (:math:`\\dot s = J s + \\partial f/\\partial p`, s(0) = 0), so
        that Newton converges quadratically (a finite difference of two integrations carries
        the integrator's step-selection noise, about rtol/dp)."""
        n, m = self.n, self.m
        X, T, p = self.unpack(z, with_p)
        field = self.field_at(p)
        flow = _Flow(field, self.sx, self.rtol)
        fp = self._fp(p) if (jac and with_p) else None
        G = np.zeros(m * n + 1)
        ncol = m * n + 1 + (1 if with_p else 0)
        A = np.zeros((m * n + 1, ncol)) if jac else None
        Ms = []
        for i in range(m):
            xe, M, _ = flow.run(X[i], T / m, variational=jac, fp=fp)
            j = (i + 1) % m
            G[i * n:(i + 1) * n] = (xe - X[j]) / self.sx
            if jac:
                if fp is not None:
                    A[i * n:(i + 1) * n, -1] = M[:, -1] / self.sx
                    M = M[:, :n]
                Ms.append(M)
                A[i * n:(i + 1) * n, i * n:(i + 1) * n] += M * self.sx[None, :] / self.sx[:, None]
                A[i * n:(i + 1) * n, j * n:(j + 1) * n] -= np.eye(n)
                A[i * n:(i + 1) * n, m * n] = np.asarray(field.f(xe), float) / m * self.sT / self.sx
        fr = np.asarray(field.f(xref), float)
        fr_s = fr * self.sx
        nrm = max(np.linalg.norm(fr_s), 1e-300)
        G[-1] = fr_s @ ((X[0] - xref) / self.sx) / nrm
        if jac:
            A[-1, :n] = fr_s / nrm
        return G, A, (Ms if jac else None)


def floquet_multipliers(Ms, vectors=False):
    r"""Eigenvalues of the product :math:`M_{m-1}\cdots M_0` computed from the factors.

    The product of the segment matrices of a strongly unstable or stiff cycle spans many
    orders of magnitude (multipliers :math:`10^{8}` and :math:`10^{-20}` on one orbit of
    Hodgkin–Huxley): formed explicitly, its rounding error :math:`\epsilon\,\|M_{m-1}\cdots M_0\|`
    swamps every multiplier much smaller than the largest, the trivial one included. Here
    the factors are never multiplied: the multipliers are the :math:`m`-th powers of the
    eigenvalues :math:`\lambda` of the cyclic block matrix

    .. math::

        C = \begin{pmatrix} 0 & & & M_{m-1} \\ M_0 & 0 & & \\ & \ddots & \ddots & \\
        & & M_{m-2} & 0 \end{pmatrix}, \qquad C^m = \mathrm{diag}(\text{cyclic products}),

    each multiplier :math:`\mu` appearing as the :math:`m` roots :math:`\lambda = \mu^{1/m}
    e^{2\pi i k/m}`, which are grouped back (by the distance of their :math:`m`-th powers).
    Backward stable QR on :math:`C` perturbs each factor by :math:`\epsilon\|M_i\|` rather
    than the product by :math:`\epsilon\prod\|M_i\|`: the accuracy of the periodic Schur
    decomposition (Bojanczyk, Golub & Van Dooren 1992; Hench & Laub 1994), which is what
    AUTO/MatCont-style solvers use (Lust 2001 compares it with the cyclic-matrix form and
    finds the two equally accurate; the cyclic form costs :math:`O((mn)^3)` instead of
    :math:`O(m n^3)`, negligible for the :math:`mn \le 500` used here, and needs only LAPACK).
    Above :math:`mn = 600` the explicit product is used.

    Parameters
    ----------
    Ms : list of (n, n) arrays
        :math:`M_0, \dots, M_{m-1}` (:math:`M_i` maps the start of segment :math:`i` to its end).
    vectors : bool
        Also return, per multiplier, an eigenvector of the product (the first block of the
        eigenvector of :math:`C`).

    Returns
    -------
    (n,) complex array [, (n, n) complex array of eigenvectors in columns]

    References
    ----------
    Bojanczyk A, Golub G, Van Dooren P (1992) The periodic Schur decomposition: algorithms and
    applications. Proc SPIE 1770:31-42. doi:10.1117/12.130915
    Lust K (2001) Improved numerical Floquet multipliers. Int J Bifurc Chaos 11:2389-2410.
    doi:10.1142/S0218127401003486
    """
    Ms = [np.asarray(M, float) for M in Ms]
    m = len(Ms)
    n = Ms[0].shape[0]
    if m == 1 or m * n > 600:
        P = np.eye(n)
        for M in Ms:
            P = M @ P
        if vectors:
            return np.linalg.eig(P)
        return np.linalg.eigvals(P)
    # balance the factors (scale M_i by 1/||M_i|| and restore the product's scale after)
    norms = np.array([max(np.linalg.norm(M, 2), 1e-300) for M in Ms])
    logscale = float(np.sum(np.log(norms)))
    C = np.zeros((m * n, m * n))
    for i, M in enumerate(Ms):
        r = ((i + 1) % m) * n
        C[r:r + n, i * n:(i + 1) * n] = M / norms[i]
    if vectors:
        lam, V = np.linalg.eig(C)
    else:
        lam, V = np.linalg.eigvals(C), None
    with np.errstate(all="ignore"):
        mu = lam ** m * np.exp(logscale)
    mu = np.where(np.isfinite(mu), mu, 0.0)
    # group the m n values into n multipliers: the most accurate first (largest |lambda|);
    # each takes the m - 1 values nearest to it
    left = list(np.argsort(-np.abs(lam), kind="stable"))
    out, vec = [], []
    while left and len(out) < n:
        k = left[0]
        d = np.abs(mu[left] - mu[k]) / max(abs(mu[k]), 1e-300)
        take = [left[j] for j in np.argsort(d, kind="stable")[:m]]
        v = mu[k]
        if abs(v.imag) <= 1e-9 * abs(v):
            v = complex(v.real, 0.0)
        out.append(v)
        if vectors:
            vec.append(V[:n, k])
        left = [j for j in left if j not in take]
    out = np.array(out, complex)
    if vectors:
        return out, np.array(vec).T
    return out


def _extrema(S):
    """Max and min per column of periodic samples (first row = last row), refined by the
    parabola through the extreme sample and its neighbours (error O(h^4) instead of O(h^2))."""
    P = S[:-1]
    k = len(P)
    out = []
    for sign in (1.0, -1.0):
        V = sign * P
        i = np.argmax(V, axis=0)
        c = np.arange(P.shape[1])
        a, b, d = V[(i - 1) % k, c], V[i, c], V[(i + 1) % k, c]
        den = a - 2 * b + d
        with np.errstate(all="ignore"):
            corr = np.where(den < 0, -(d - a) ** 2 / (8 * den), 0.0)
        out.append(sign * (b + corr))
    return out[0], out[1]


def _orbit_samples(field, x, T, sx, rtol, k=800):
    flow = _Flow(field, sx, rtol)
    t = np.linspace(0.0, T, k + 1)
    _, _, S = flow.run(x, T, variational=False, t_eval=t)
    return t, S


def _orbit_samples_nodes(field, X, T, sx, rtol, k=800):
    """The orbit sampled segment by segment, each from its own shooting node (an unstable
    cycle integrated over a whole period from one point leaves it by the factor of its
    largest multiplier, 1e9 on the unstable Hodgkin–Huxley branch)."""
    m = len(X)
    flow = _Flow(field, sx, rtol)
    q = max(2, int(np.ceil(k / m)))
    ts, Ss = [], []
    for i in range(m):
        t = np.linspace(0.0, T / m, q + 1)
        _, _, S = flow.run(X[i], T / m, variational=False, t_eval=t)
        ts.append(i * T / m + t[:-1])
        Ss.append(S[:-1])
    ts.append([T])
    Ss.append(X[:1])
    return np.concatenate(ts), np.concatenate(Ss)


def _finish(field, shoot, z, xref, G, mono, with_p=False):
    X, T, p = shoot.unpack(z, with_p)
    if np.max((X.max(axis=0) - X.min(axis=0)) / shoot.sx) < 1e-7:
        raise BiodynError(
            f"{field.name}: the shooting converged to an equilibrium (zero amplitude), not a cycle: "
            "no isolated cycle near this start (at a centre the cycles form a family and none is "
            "isolated)")
    mu = floquet_multipliers(mono)
    trivial, others = _split_multipliers(mu)
    near = np.sort(np.abs(mu - 1.0))
    if abs(trivial - 1.0) > 1e-3 and len(near) > 1 and near[1] < 1e-2:
        raise BiodynError(
            f"{field.name}: two Floquet multipliers near 1 and no converged isolated cycle (a "
            "family of cycles, e.g. a linear or Hamiltonian centre): no limit cycle to report")
    if abs(trivial - 1.0) > 1e-3:
        raise BiodynError(f"{field.name}: the shooting converged but no Floquet multiplier is near 1 "
                          f"(nearest {trivial:.4g}): the integration is not accurate enough")
    if others.size and np.min(np.abs(others - 1.0)) < 1e-5:
        raise BiodynError(
            f"{field.name}: a second Floquet multiplier at 1 (a family of cycles, e.g. a linear or "
            "Hamiltonian centre): the cycle through this point is not isolated, so there is no "
            "limit cycle to report")
    fld = shoot.field_at(p)
    t, S = _orbit_samples_nodes(fld, X, T, shoot.sx, shoot.rtol)
    return Cycle(X[0].copy(), float(T), np.concatenate([[trivial], others]), complex(trivial),
                 bool(np.all(np.abs(others) < 1.0)), float(np.max(np.abs(G))),
                 *_extrema(S), t, S, p)


def _newton(shoot, z, xref, with_p=False, tol=1e-10, maxit=30, field_name=""):
    """Damped Newton for the square shooting system (p fixed)."""
    last = None
    tol_eff = max(tol, 100.0 * shoot.rtol)   # the integration's accuracy bounds the residual
    for it in range(maxit):
        try:
            G, A, mono = shoot.evaluate(z, xref, with_p)
        except _IntegrationFailed as exc:
            raise BiodynError(f"{field_name}: integration failed during the shooting ({exc})")
        if it > 0 and np.max(np.abs(G)) < tol_eff:
            return z, G, mono    # converged (the residual of the integration Newton uses)
        cond = np.linalg.cond(A)
        if not np.isfinite(cond) or cond > 1e13:
            raise BiodynError(
                f"{field_name}: the shooting Newton matrix is singular (condition {cond:.2g}): a "
                "family of cycles (a centre: a second Floquet multiplier at 1) or a degenerate "
                "cycle; no isolated limit cycle")
        dz = np.linalg.solve(A, -G)
        norm0 = np.max(np.abs(G))
        alpha = 1.0
        while alpha > 1e-3:
            zn = z + alpha * dz
            try:
                Gn, _, _ = shoot.evaluate(zn, xref, with_p, jac=False)
            except _IntegrationFailed:
                alpha *= 0.5
                continue
            if np.max(np.abs(Gn)) < max(norm0, 1e-14) * (1 - 1e-4 * alpha) or norm0 < tol:
                break
            alpha *= 0.5
        z = zn
        res = np.max(np.abs(Gn))
        if res < tol_eff or (np.max(np.abs(alpha * dz)) < 1e-9 and res < 1e-6):
            G, A, mono = shoot.evaluate(z, xref, with_p)
            return z, G, mono
        last = Gn
    raise BiodynError(f"{field_name}: the shooting Newton iteration did not converge in {maxit} "
                      f"iterations (residual {np.max(np.abs(last)):.2g}); try another start")


# --------------------------------------------------------------------------
# Finding a cycle from a trajectory
# --------------------------------------------------------------------------


def _typical(field, x):
    """Typical size of each component: the spec's ``[ranges]``, else 100 mV for voltages, 1 for
    dimensionless components, else twice the component's value (or 1)."""
    lo, hi = field.ranges()
    w = hi - lo
    x = np.asarray(x, float)
    for k, unit in enumerate(field.units):
        if not np.isfinite(w[k]) or w[k] <= 0:
            w[k] = 0.1 if unit == "V" else 1.0 if unit in ("1", "") else (2 * abs(x[k]) or 1.0)
    return w


def _scales(field, samples=None):
    """Scales of the components: the box of ``samples`` (an orbit), floored by 1e-3 of the
    typical size, or the typical size."""
    if samples is None or len(samples) < 2:
        return _typical(field, field.x0() if samples is None else samples[0])
    samples = np.asarray(samples, float)
    typ = _typical(field, samples.mean(axis=0))
    width = samples.max(axis=0) - samples.min(axis=0)
    lo, hi = field.ranges()
    given = np.isfinite(hi - lo) & (hi - lo > 0)
    return np.where(given, hi - lo, np.maximum(width, 1e-3 * typ))


def _timescale(field, x):
    lam = np.linalg.eigvals(field.jacobian(x))
    r = float(np.max(np.abs(lam))) if lam.size else 1.0
    return 1.0 / r if r > 0 and np.isfinite(r) else 1.0


def _returns(field, x0, sx, rtol=1e-7, max_doublings=8, duration=None):
    """Integrate until the upward crossings of a Poincaré section repeat (after 1 to 4 returns);
    returns (x on the section, period guess, the solution, the last crossing time)."""
    from scipy.integrate import solve_ivp

    flow = _Flow(field, sx, rtol)
    x = np.array(x0, float)
    D = duration if duration is not None else 100.0 * _timescale(field, x)
    for _ in range(max_doublings):
        sol = solve_ivp(flow._rhs, (0.0, D), x, method="LSODA", rtol=rtol, atol=1e-10 * sx,
                        jac=flow._jac, dense_output=True)
        if sol.status != 0 or not np.all(np.isfinite(sol.y)):
            raise BiodynError(f"{field.name}: the trajectory from the initial state diverges or "
                              f"fails ({sol.message}): no limit cycle found from there")
        t, Y = sol.t, sol.y.T
        half = Y[len(Y) // 2:]
        th = t[len(t) // 2:]
        spread = (half.max(axis=0) - half.min(axis=0)) / sx
        if np.max(spread) < 1e-6:
            raise BiodynError(f"{field.name}: the trajectory from the initial state settles at an "
                              "equilibrium: no limit cycle there (change the parameters or the "
                              "initial state, or start from a Hopf point)")
        c = half.mean(axis=0)
        Zs = (half - c) / sx
        _, _, vt = np.linalg.svd(Zs, full_matrices=False)
        normal = vt[0] / sx
        s = (half - c) @ normal
        up = np.nonzero((s[:-1] < 0) & (s[1:] >= 0))[0]
        if len(up) >= 4:
            # refine the crossing times on the dense output
            times = []
            for k in up[-9:]:
                a, b = th[k], th[k + 1]
                for _ in range(40):
                    mid = 0.5 * (a + b)
                    if (sol.sol(mid) - c) @ normal < 0:
                        a = mid
                    else:
                        b = mid
                times.append(0.5 * (a + b))
            times = np.array(times)
            pts = np.array([sol.sol(tc) for tc in times])
            # the orbit closes after j returns (j > 1: a cycle crossing the section j times,
            # e.g. after a period doubling); the smallest such j
            for j in range(1, (len(times) - 1) // 2 + 1):
                T1 = times[-1] - times[-1 - j]
                T2 = times[-1 - j] - times[-1 - 2 * j]
                if (abs(T1 - T2) <= 1e-3 * T1
                        and np.max(np.abs(pts[-1] - pts[-1 - j]) / sx) <= 1e-3
                        and np.max(np.abs(pts[-1 - j] - pts[-1 - 2 * j]) / sx) <= 1e-3):
                    return pts[-1], float(T1), sol, times[-1]
        x = sol.y[:, -1]
        D *= 2.0
    raise BiodynError(f"{field.name}: the returns to a Poincaré section do not repeat (no attracting "
                      "cycle reached: chaotic, quasi-periodic, or a very slow transient); give a "
                      "start near the cycle (x0=...) or start from a Hopf point")


def find_cycle(field, x0=None, *, period=None, segments=4, rtol=1e-9, tol=1e-9, duration=None):
    r"""A limit cycle of a flow by multiple shooting (see the module docstring).

    Parameters
    ----------
    field : Field
        An autonomous flow.
    x0 : array, optional
        A start (SI). With ``period``: taken as a point of the cycle; without: the start of a
        trajectory that should reach an attracting cycle (default: the spec's initial state).
    period : float, optional
        A guess of the period (time units); if not given, from returns to a Poincaré section.
    segments : int
        Shooting segments :math:`m`.
    rtol : float
        Relative tolerance of the integration (LSODA).
    tol : float
        Newton's tolerance on the scaled residual.
    duration : float, optional
        First integration time of the return search (default 300 times the fastest time scale
        at the start; doubled until the returns repeat).

    Returns
    -------
    Cycle

    Raises
    ------
    BiodynError
        A map, a forced field, a threshold-reset model; no cycle reached; a family of cycles
        (centre); Newton failing.
    """
    _check_flow(field)
    x0 = field.x0() if x0 is None else np.asarray(x0, float)
    sx = _scales(field)
    if period is None:
        xs, T, sol, tc = _returns(field, x0, sx, duration=duration)
        starts = [sol.sol(tc - T + i * T / segments) for i in range(segments)]
        sx = _scales(field, sol.sol(np.linspace(tc - T, tc, 200)).T)
    else:
        T = float(period)
        flow = _Flow(field, sx, rtol)
        starts = [np.asarray(x0, float)]
        for i in range(1, segments):
            starts.append(flow.run(starts[-1], T / segments, variational=False)[0])
    shoot = _Shooting(lambda p: field, field.n, segments, sx, T)
    z = np.concatenate([np.ravel(np.array(starts) / sx), [1.0]])
    xref = np.array(starts[0])
    if period is None:
        # the returns repeat: if a second multiplier is at 1 already, the orbit is one of a family
        try:
            _, _, mono0 = shoot.evaluate(z, xref, False)
        except _IntegrationFailed as exc:
            raise BiodynError(f"{field.name}: integration failed ({exc})")
        near = np.sort(np.abs(floquet_multipliers(mono0) - 1.0))
        if len(near) > 1 and near[1] < 1e-4:
            raise BiodynError(
                f"{field.name}: the orbit from the initial state returns with two Floquet multipliers "
                f"at 1 ({near[0]:.1e}, {near[1]:.1e} from 1): it is one of a family of cycles (a "
                "linear or Hamiltonian centre), not an isolated limit cycle")
    z, G, mono = _newton(shoot, z, xref, tol=tol, field_name=field.name)
    if z[field.n * segments] <= 0:
        raise BiodynError(f"{field.name}: the shooting converged to a non-positive period")
    return _finish(field, shoot, z, xref, G, mono)


# --------------------------------------------------------------------------
# Continuation of cycles
# --------------------------------------------------------------------------


@dataclass
class CyclePoint:
    """A bifurcation of cycles: ``cycle_fold``, ``period_doubling`` or ``neimark_sacker``."""

    type: str
    value: float
    period: float
    state: np.ndarray
    multipliers: np.ndarray
    branch: int
    amplitude_max: np.ndarray = None
    amplitude_min: np.ndarray = None

    def as_dict(self, field):
        names = field.names
        out = {"type": self.type, "value": float(self.value), "period": float(self.period),
               "state": {n: float(v) for n, v in zip(names, self.state)},
               "multipliers": [[float(m.real), float(m.imag)] for m in self.multipliers],
               "branch": int(self.branch)}
        if self.amplitude_max is not None:
            out["max"] = {n: float(v) for n, v in zip(names, self.amplitude_max)}
            out["min"] = {n: float(v) for n, v in zip(names, self.amplitude_min)}
        return out


@dataclass
class CycleBranch:
    """A continued family of cycles: per point the parameter, period, max/min per component,
    multipliers (trivial first) and stability."""

    values: np.ndarray
    periods: np.ndarray
    maxima: np.ndarray
    minima: np.ndarray
    states: np.ndarray
    multipliers: list
    stable: np.ndarray
    start: str = ""
    end: str = ""

    def as_dict(self, field, max_points=400):
        idx = np.arange(len(self.values))
        if len(idx) > max_points:
            idx = np.unique(np.linspace(0, len(idx) - 1, max_points).round().astype(int))
        names = field.names
        return {"values": [float(v) for v in self.values[idx]],
                "periods": [float(v) for v in self.periods[idx]],
                "max": {n: [float(v) for v in self.maxima[idx, c]] for c, n in enumerate(names)},
                "min": {n: [float(v) for v in self.minima[idx, c]] for c, n in enumerate(names)},
                "stable": [bool(s) for s in self.stable[idx]],
                "start": self.start, "end": self.end}


@dataclass
class CycleContinuation:
    param: str
    unit: str
    range: tuple
    branches: list
    points: list
    field: object = None
    notes: list = dc_field(default_factory=list)

    def as_dict(self):
        f = self.field
        return {"param": self.param, "param_unit": self.unit,
                "range": [float(r) for r in self.range],
                "cycle_branches": [b.as_dict(f) for b in self.branches],
                "cycle_points": [p.as_dict(f) for p in self.points], "notes": list(self.notes)}


class _CycleProblem:
    def __init__(self, shoot):
        self.s = shoot

    def Gy(self, z, xref):
        return self.s.evaluate(z, xref, True)

    def correct(self, z_pred, t, xref, tol=1e-9, maxit=12):
        """Newton on {G = 0, t.(z - z_pred) = 0}; returns (z, iterations, (A, monodromy) at z)."""
        z = z_pred.copy()
        tol_eff = max(tol, 100.0 * self.s.rtol)
        step = np.inf
        for it in range(1, maxit + 1):
            try:
                G, A, mono = self.Gy(z, xref)
            except _IntegrationFailed:
                return None, it, None
            if not np.all(np.isfinite(A)):
                return None, it, None
            if np.max(np.abs(G)) < tol_eff and (step < 1e-5 or np.max(np.abs(G)) < 1e-2 * tol_eff):
                return z, it, (A, mono)
            H = np.concatenate([G, [t @ (z - z_pred)]])
            M = np.vstack([A, t[None, :]])
            try:
                dz = np.linalg.solve(M, -H)
            except np.linalg.LinAlgError:
                return None, it, None
            if not np.all(np.isfinite(dz)):
                return None, it, None
            z = z + dz
            step = np.max(np.abs(dz))
        return None, maxit, None

    def tangent(self, A, t_prev):
        M = np.vstack([A, t_prev[None, :]])
        rhs = np.zeros(M.shape[0])
        rhs[-1] = 1.0
        try:
            t = np.linalg.solve(M, rhs)
        except np.linalg.LinAlgError:
            t = np.linalg.svd(A)[2][-1]
        t /= np.linalg.norm(t)
        return -t if t @ t_prev < 0 else t


def _cycle_tests(tvec, mono):
    mu = floquet_multipliers(mono)
    trivial, others = _split_multipliers(mu)
    out = {"cycle_fold": tvec[-1]}
    out["period_doubling"] = float(np.real(np.prod(others + 1.0))) if others.size else np.nan
    cplx = others[np.abs(others.imag) > 1e-7]
    out["neimark_sacker"] = (float(np.abs(cplx)[np.argmin(np.abs(np.abs(cplx) - 1))] - 1.0)
                             if cplx.size else np.nan)
    return out, np.concatenate([[trivial], others])


def continue_cycles(field, param, lo, hi, *, hopf=None, cycle=None, period_doubling=None,
                    segments=4, ds=None, max_ds=None, max_steps=200, amplitude=0.01, rtol=1e-9,
                    max_period_factor=20.0):
    r"""Continue a family of limit cycles in parameter ``param`` over ``[lo, hi]``.

    Parameters
    ----------
    field : Field
    param : str
        Parameter (in its unit, as :func:`biodyn.dynamics.continuation`).
    lo, hi : float
    hopf : SpecialPoint, optional
        A ``"hopf"`` point of :func:`biodyn.dynamics.continuation`: the branch starts there with
        a cycle of scaled amplitude ``amplitude``.
    cycle : Cycle, optional
        Or a cycle found at ``field``'s parameter value (:func:`find_cycle`): continued both ways.
    period_doubling : CyclePoint, optional
        Or a ``period_doubling`` point of an earlier continuation: branch switching onto the
        doubled cycle (period :math:`2T`, :math:`2m` segments), which leaves the point along the
        eigenvector of the multiplier :math:`-1` transported twice around the orbit; the first
        step fixes its amplitude, as at a Hopf point (Kuznetsov 2004, 10.3.3).
    segments : int
        Shooting segments at the start; doubled along the branch where the cycle grows very
        unstable (:math:`|\mu_{max}|^{1/m} > 20`) or the corrector stalls.
    ds, max_ds : float, optional
        First and largest step along the scaled arc (default 0.02 and 0.05).
    max_steps : int
        Steps per direction.
    max_period_factor : float
        Stop when the period exceeds this factor times the first one (approach to a homoclinic
        orbit: the period diverges).

    Returns
    -------
    CycleContinuation
    """
    from ._continuation import ParameterHandle

    _check_flow(field)
    lo, hi = float(lo), float(hi)
    if not hi > lo:
        raise SpecError("<arguments>", "range", "LO < HI", f"{lo:g} {hi:g}")
    if sum(a is not None for a in (hopf, cycle, period_doubling)) != 1:
        raise BiodynError("continue_cycles: give one start: a Hopf point (hopf=), a cycle (cycle=) "
                          "or a period-doubling point (period_doubling=)")
    handle = ParameterHandle(field, param)
    n, m = field.n, segments
    sp = hi - lo
    ds = 0.02 if ds is None else ds
    max_ds = 0.05 if max_ds is None else max_ds
    notes = []
    if hopf is not None:
        pH, xH = float(hopf.value), np.asarray(hopf.state, float)
        fH = handle(pH)
        sx = _typical(fH, xH)
        lam, V = np.linalg.eig(fH.jacobian(xH))
        cand = [k for k in range(n) if lam[k].imag > 1e-12]
        if not cand:
            raise BiodynError(f"{field.name}: no complex pair at the Hopf point {param} = {pH:g}")
        k = min(cand, key=lambda j: abs(lam[j].real))
        w = lam[k].imag
        q = V[:, k]
        T0 = 2 * np.pi / w
        ts = np.arange(m) * T0 / m
        U = np.array([np.real(q * np.exp(1j * w * t)) for t in ts])
        U /= np.max(np.abs(U) / sx)
        shoot = _Shooting(handle, n, m, sx, T0, sp)
        zH = np.concatenate([np.ravel(np.tile(xH, (m, 1)) / sx), [1.0, pH / sp]])
        tdir = np.concatenate([np.ravel(U / sx), [0.0, 0.0]])
        tdir /= np.linalg.norm(tdir)
        scale_dir = np.linalg.norm(np.ravel(U / sx))
        z_pred = zH + amplitude * scale_dir * tdir
        xref = (xH + amplitude * U[0])
        prob = _CycleProblem(shoot)
        z1, _, _ = prob.correct(z_pred, tdir, xref)
        if z1 is None:
            raise BiodynError(f"{field.name}: no small cycle found near the Hopf point "
                              f"{param} = {pH:g}")
        _, A, _ = prob.Gy(z1, shoot.unpack(z1, True)[0][0])
        t1 = prob.tangent(A, tdir)
        if t1 @ (z1 - zH) < 0:
            t1 = -t1
        starts = [(z1, t1, f"Hopf point at {param} = {pH:.6g}", (1,))]
    elif period_doubling is not None:
        # branch switching: the doubled cycle leaves the PD point along the eigenvector v of the
        # multiplier -1, transported around the orbit twice (w_{i+1} = M_i w_i, w_m = -v)
        pd = period_doubling
        p0, x0, T0 = float(pd.value), np.asarray(pd.state, float), float(pd.period)
        f0 = handle(p0)
        m = 2 * segments
        sx0 = _typical(f0, x0)
        flow = _Flow(f0, sx0, rtol)
        X, Ms = [x0], []
        for i in range(m):
            xe, Mi, _ = flow.run(X[-1], 2 * T0 / m)
            Ms.append(Mi)
            X.append(xe)
        X = np.array(X[:m])
        sx = _scales(f0, np.concatenate([X, _orbit_samples(f0, x0, T0, sx0, rtol, 200)[1]]))
        lam, V = floquet_multipliers(Ms[: m // 2], vectors=True)
        v = np.real(V[:, int(np.argmin(np.abs(lam + 1.0)))])
        W = [v]
        for Mi in Ms[:-1]:
            W.append(Mi @ W[-1])
        W = np.array(W)
        W /= np.max(np.abs(W) / sx)
        shoot = _Shooting(handle, n, m, sx, 2 * T0, sp)
        zP = np.concatenate([np.ravel(X / sx), [1.0, p0 / sp]])
        tdir = np.concatenate([np.ravel(W / sx), [0.0, 0.0]])
        scale_dir = np.linalg.norm(tdir)
        tdir /= scale_dir
        prob = _CycleProblem(shoot)
        z1, _, _ = prob.correct(zP + amplitude * scale_dir * tdir, tdir, X[0] + amplitude * W[0])
        if z1 is None:
            raise BiodynError(f"{field.name}: no period-doubled cycle found near {param} = {p0:g}")
        _, A, _ = prob.Gy(z1, shoot.unpack(z1, True)[0][0])
        t1 = prob.tangent(A, tdir)
        if t1 @ (z1 - zP) < 0:
            t1 = -t1
        starts = [(z1, t1, f"period doubling at {param} = {p0:.6g}", (1,))]
    else:
        p0 = handle.value
        sx = _scales(field, cycle.orbit)
        shoot = _Shooting(handle, n, m, sx, cycle.period, sp)
        flow = _Flow(field, sx, rtol)
        X = [cycle.state]
        for i in range(1, m):
            X.append(flow.run(X[-1], cycle.period / m, variational=False)[0])
        z1 = np.concatenate([np.ravel(np.array(X) / sx), [1.0, p0 / sp]])
        prob = _CycleProblem(shoot)
        _, A, _ = prob.Gy(z1, cycle.state)
        t1 = np.linalg.svd(A)[2][-1]
        if t1[-1] < 0:
            t1 = -t1
        starts = [(z1, t1, f"cycle at {param} = {p0:.6g}", (1, -1))]
    branches, points = [], []
    for z0, t0, label, dirs in starts:
        halves = []
        for d in dirs:
            halves.append(_run_cycle_branch(prob, z0, d * t0, ds, max_ds, max_steps, lo / sp, hi / sp,
                                            max_period_factor, 0.5 * amplitude))
        if len(halves) == 2:
            a, b = halves[1], halves[0]
            zs = a["z"][::-1][:-1] + b["z"]
            ts = [-v for v in a["t"][::-1][:-1]] + b["t"]
            tests = [dict(v, cycle_fold=-v["cycle_fold"]) for v in a["tests"][::-1][:-1]] + b["tests"]
            mus = a["mu"][::-1][:-1] + b["mu"]
            ext = a["ext"][::-1][:-1] + b["ext"]
            probs = a["prob"][::-1][:-1] + b["prob"]
            end = "; ".join(x for x in (a["end"], b["end"]) if x)
        else:
            h = halves[0]
            zs, ts, tests, mus, ext, end = h["z"], h["t"], h["tests"], h["mu"], h["ext"], h["end"]
            probs = h["prob"]
        bidx = len(branches)
        vals = np.array([z[-1] for z in zs]) * sp
        per = np.array([z[-2] for z in zs]) * shoot.sT
        mx = np.array([e[0] for e in ext])
        mn = np.array([e[1] for e in ext])
        stab = np.array([bool(np.all(np.abs(mu[1:]) < 1.0)) for mu in mus])
        states = np.array([z[:n] for z in zs]) * sx
        branches.append(CycleBranch(vals, per, mx, mn, states, mus, stab, label, end))
        for k in range(1, len(zs)):
            if probs[k] is not probs[k - 1]:
                continue    # one cycle recorded on two meshes
            pk = probs[k]
            for name, v0 in tests[k - 1].items():
                v1 = tests[k][name]
                if not (np.isfinite(v0) and np.isfinite(v1)) or v0 == 0 or np.sign(v0) == np.sign(v1):
                    continue
                loc = _locate_cycle(pk, zs[k - 1], ts[k - 1], zs[k], name, v0, v1)
                if loc is None:
                    continue
                zp, mu = loc
                others = mu[1:]
                pval = pk.s.unpack(zp, True)[2]
                # at a fold the trivial multiplier is half of a double multiplier 1 (a Jordan
                # block): the pair splits by ~sqrt(error); their mean is the well-conditioned check
                trivial_err = abs(mu[0] - 1.0)
                if name == "cycle_fold" and len(mu) > 1:
                    k2 = 1 + int(np.argmin(np.abs(others - 1.0)))
                    trivial_err = abs(0.5 * (mu[0] + mu[k2]) - 1.0)
                if trivial_err > 1e-3:
                    if any(f"a {name} near {param} = {pval:.6g} " in q for q in notes):
                        continue
                    what = (f"the pair of multipliers at 1 has mean {complex(0.5 * (mu[0] + mu[k2])):.4g}"
                            if name == "cycle_fold" and len(mu) > 1 else
                            f"the trivial multiplier is {complex(mu[0]):.4g}")
                    notes.append(f"a {name} near {param} = {pval:.6g} is not confirmed: {what}, not 1 "
                                 "(the integration is not accurate enough there: a very unstable or "
                                 "stiff cycle, or two bifurcations too close to separate)")
                    continue
                if name == "cycle_fold" and not np.min(np.abs(others - 1.0)) < 0.05:
                    continue
                if any(q.type == name and q.branch == len(branches) - 1
                       and abs(q.value - pval) <= 1e-7 * sp for q in points):
                    continue
                if name == "period_doubling" and not np.min(np.abs(others + 1.0)) < 1e-3:
                    continue
                if name == "neimark_sacker":
                    c = others[np.abs(others.imag) > 1e-4]
                    if not c.size or np.min(np.abs(np.abs(c) - 1.0)) > 1e-3:
                        continue
                X, T, p = pk.s.unpack(zp, True)
                if np.max((X.max(axis=0) - X.min(axis=0)) / sx) < amplitude:
                    continue  # at a Hopf point (zero amplitude): the tangent turns there too
                if (period_doubling is not None and name == "cycle_fold"
                        and abs(p - float(period_doubling.value)) < 1e-5 * sp):
                    continue  # the doubled branch leaves the PD point tangent to p = const
                try:
                    tt, S = _orbit_samples_nodes(handle(p), X, T, sx, rtol, 400)
                    amax, amin = _extrema(S)
                except _IntegrationFailed:
                    amax = amin = None
                if lo - 1e-9 * sp <= p <= hi + 1e-9 * sp:
                    points.append(CyclePoint(name, float(p), float(T), X[0].copy(), mu, bidx, amax, amin))
    points.sort(key=lambda q: (q.value, q.type))
    return CycleContinuation(param, handle.unit, (lo, hi), branches, points, field, notes)


def _extent(shoot, z):
    X, T, p = shoot.unpack(z, True)
    try:
        _, S = _orbit_samples_nodes(shoot.field_at(p), X, T, shoot.sx, shoot.rtol, 100)
        return _extrema(S)
    except _IntegrationFailed:
        return X.max(axis=0), X.min(axis=0)


def _segment_growth(s, mu):
    """Growth of the most unstable direction per segment, :math:`\\max|\\mu|^{1/m}`."""
    return float(np.max(np.abs(mu))) ** (1.0 / s.m)


def _remesh(prob, z, t, m_new):
    """The same cycle on ``m_new`` segments: each new node integrated from the old node just
    before it (never over a whole period: an unstable cycle would amplify the error by its
    multiplier); the tangent re-solved on the new mesh and oriented as the old one in (T, p)."""
    s = prob.s
    n, m = s.n, s.m
    X, T, p = s.unpack(z, True)
    flow = _Flow(s.field_at(p), s.sx, s.rtol)
    Xn = []
    for k in range(m_new):
        tau = k * T / m_new
        i = min(int(np.floor(tau / (T / m) + 1e-9)), m - 1)
        d = tau - i * T / m
        Xn.append(X[i] if d <= 1e-12 * T else flow.run(X[i], d, variational=False)[0])
    s2 = _Shooting(s.field_at, n, m_new, s.sx, s.sT, s.sp, s.rtol)
    prob2 = _CycleProblem(s2)
    z2 = np.concatenate([np.ravel(np.array(Xn) / s.sx), z[n * m:]])
    G, A, Ms = prob2.Gy(z2, Xn[0])
    t2 = np.linalg.svd(A)[2][-1]
    if t2[-2:] @ t[-2:] < 0:
        t2 = -t2
    t2 = prob2.tangent(A, t2)
    return prob2, z2, t2, Ms


def _run_cycle_branch(prob, z0, tangent, ds, max_ds, max_steps, zlo, zhi, max_period_factor,
                      min_spread, max_growth=20.0, max_segments=64):
    """Pseudo-arclength steps; per point the problem (its mesh) is recorded. The mesh adapts:
    when the most unstable multiplier would grow by more than ``max_growth`` per segment
    (:math:`|\\mu|^{1/m}`: Newton's matrix and the segment matrices grow ill-conditioned with
    it), or the corrector fails at a small step, the number of
    segments doubles (up to ``max_segments`` and ``m n <= 600``), the point is re-meshed and
    recorded again on the new mesh (the pair of records of one cycle is skipped by the
    detection of special points)."""
    s = prob.s
    n = s.n
    z = z0.copy()
    t = tangent / np.linalg.norm(tangent)
    xref = s.unpack(z, True)[0][0]
    G, A, Ms = prob.Gy(z, xref)
    t = prob.tangent(A, t)
    tv, mu = _cycle_tests(t, Ms)
    out = {"z": [z.copy()], "t": [t.copy()], "tests": [tv], "mu": [mu], "ext": [_extent(s, z)],
           "prob": [prob], "end": ""}
    T0 = z[n * s.m] * s.sT
    h = ds

    def can_grow():
        return 2 * prob.s.m <= max_segments and 2 * prob.s.m * n <= 600

    def grow():
        nonlocal prob, z, t, Ms, h, max_ds
        try:
            prob, z, t, Ms = _remesh(prob, z, t, 2 * prob.s.m)
        except _IntegrationFailed:
            return False
        tv2, mu2 = _cycle_tests(t, Ms)
        out["z"].append(z.copy()); out["t"].append(t.copy()); out["tests"].append(tv2)
        out["mu"].append(mu2); out["ext"].append(out["ext"][-1]); out["prob"].append(prob)
        h *= np.sqrt(2.0)
        max_ds *= np.sqrt(2.0)
        return True

    steps = 0
    while steps < max_steps:
        s = prob.s
        m = s.m
        if _segment_growth(s, out["mu"][-1]) > max_growth and can_grow():
            if grow():
                continue
        xref = s.unpack(z, True)[0][0]
        zn, its, jac = prob.correct(z + h * t, t, xref)
        if zn is None:
            h *= 0.5
            if h < ds / 16 and can_grow() and grow():
                continue
            if h < 1e-6:
                out["end"] = "the corrector failed (step too small)"
                break
            continue
        steps += 1
        A, Ms = jac
        tn = prob.tangent(A, t)
        tv, mu = _cycle_tests(tn, Ms)
        z, t = zn, tn
        out["z"].append(z.copy()); out["t"].append(t.copy()); out["tests"].append(tv)
        out["mu"].append(mu); out["ext"].append(_extent(s, z)); out["prob"].append(prob)
        if its <= 4:       # its counts the evaluation that confirms convergence
            h = min(1.5 * h, max_ds)
        elif its >= 7:
            h *= 0.7
        if z[-1] < zlo - 0.02 or z[-1] > zhi + 0.02:
            out["end"] = "left the range"
            break
        if z[n * m] * s.sT > max_period_factor * T0:
            out["end"] = "period diverging (approach to a homoclinic orbit?)"
            break
        X = z[:n * m].reshape(m, n)
        if np.max(X.max(axis=0) - X.min(axis=0)) < min_spread:
            out["end"] = "the cycle shrank to an equilibrium (a Hopf point)"
            break
    return out


def _locate_cycle(prob, za, ta, zb, name, test_a, test_b, iters=24):
    """Zero of test ``name`` along the arc from za (direction ta) to zb: regula falsi with the
    Illinois modification (superlinear; each evaluation is a corrector solve)."""
    s = prob.s
    L = float(np.linalg.norm(zb - za))
    a, fa, b, fb = 0.0, float(test_a), L, float(test_b)
    best, side = None, 0
    xref = s.unpack(za, True)[0][0]
    for _ in range(iters):
        c = b - fb * (b - a) / (fb - fa) if fb != fa else 0.5 * (a + b)
        if not (a < c < b) or not np.isfinite(c):
            c = 0.5 * (a + b)
        zm, _, jac = prob.correct(za + c * ta, ta, xref)
        if zm is None:
            return best
        A, mono = jac
        tm = prob.tangent(A, ta)
        tv, mu = _cycle_tests(tm, mono)
        best = (zm, mu)
        fc = float(tv[name])
        if fc == 0 or not np.isfinite(fc):
            break
        if np.sign(fc) == np.sign(fa):
            a, fa = c, fc
            if side == -1:
                fb *= 0.5
            side = -1
        else:
            b, fb = c, fc
            if side == 1:
                fa *= 0.5
            side = 1
        if b - a < 1e-8 * max(1.0, L) or abs(fc) < 1e-10:
            break
    return best


# --------------------------------------------------------------------------
# Maps: period-k orbits as fixed points of the k-th iterate
# --------------------------------------------------------------------------


class IteratedMap:
    r"""The :math:`k`-th iterate :math:`F^k` of a map, with :math:`DF^k` by the chain rule.

    It has the interface of a map :class:`Field` that :func:`find_fixed_points` and
    :func:`biodyn.dynamics.continuation` use, so period-:math:`k` orbits are found and continued
    (with fold, branch, period-doubling and Neimark–Sacker points of the orbit) without a
    hand-written spec of :math:`F\circ\cdots\circ F`. A fixed point of :math:`F^k` may have a
    smaller least period (a divisor of :math:`k`): :func:`periodic_orbits` sorts that out.
    """

    is_map = True
    autonomous = True
    time_unit = None
    time_unit_text = "1"

    def __init__(self, base, k):
        if not getattr(base, "is_map", False):
            raise BiodynError(f"{base.name} is a flow: iterates are for maps (use find_cycle)")
        k = int(k)
        if k < 1:
            raise SpecError("<arguments>", "period", "a positive integer", repr(k))
        self.base, self.k = base, k
        self.name = f"{base.name}^{k}"
        self.n, self.names, self.units = base.n, base.names, base.units
        self.var_of = base.var_of
        self.plan = base.plan

    def __repr__(self):
        return f"<IteratedMap {self.base.name}, k = {self.k}>"

    def orbit(self, x):
        """The k points x, F(x), ..., F^{k-1}(x)."""
        pts = [np.asarray(x, float)]
        for _ in range(self.k - 1):
            pts.append(np.asarray(self.base.f(pts[-1]), float))
        return np.array(pts)

    def f(self, x, t=0.0):
        x = np.asarray(x, float)
        for _ in range(self.k):
            x = np.asarray(self.base.f(x), float)
        return x

    def jacobian(self, x, t=0.0):
        x = np.asarray(x, float)
        D = np.eye(self.n)
        for _ in range(self.k):
            D = self.base.jacobian(x) @ D
            x = np.asarray(self.base.f(x), float)
        return D

    def f_and_jvp(self, x, Q, t=0.0, alpha=1.0, base=None, overwrite=False):
        JQ = alpha * (self.jacobian(x) @ Q)
        return self.f(x), (JQ if base is None else base + JQ)

    def residual(self, x, t=0.0):
        return self.f(x) - x

    def residual_jacobian(self, x, t=0.0):
        return self.jacobian(x) - np.eye(self.n)

    def x0(self, seed=None):
        return self.base.x0(seed)

    def ranges(self):
        return self.base.ranges()

    def state_dict(self, x):
        return self.base.state_dict(x)

    def parameter(self, name):
        return self.base.parameter(name)

    def parameter_text(self, name, value):
        return self.base.parameter_text(name, value)

    def with_params(self, **values):
        return IteratedMap(self.base.with_params(**values), self.k)

    def parameter_handle(self, name):
        """A :class:`ParameterHandle`-like callable: ``p -> IteratedMap`` at ``p``."""
        from ._continuation import ParameterHandle

        inner = ParameterHandle(self.base, name)
        k = self.k

        class _Handle:
            value, unit, scale = inner.value, inner.unit, inner.scale

            def __call__(self, p):
                return IteratedMap(inner(p), k)

        return _Handle()


@dataclass
class PeriodicOrbit:
    """A period-k orbit of a map: its points, multipliers (eigenvalues of DF^k), stability."""

    points: np.ndarray
    period: int
    multipliers: np.ndarray
    stable: bool
    residual: float

    def as_dict(self, field):
        return {"period": int(self.period),
                "points": [{n: float(v) for n, v in zip(field.names, p)} for p in self.points],
                "multipliers": [[float(m.real), float(m.imag)] for m in self.multipliers],
                "stable": bool(self.stable), "residual": float(self.residual)}


def _least_period(F, x, k, tol):
    y = np.asarray(x, float)
    for j in range(1, k + 1):
        y = np.asarray(F.f(y), float)
        if k % j == 0 and np.max(np.abs(y - x)) <= tol:
            return j
    return k


def periodic_orbits(field, k, *, n_starts=None, seed=0, tol=1e-10):
    r"""The period-``k`` orbits of a map (least period exactly ``k``), with multipliers.

    Fixed points of :math:`F^k` (:class:`IteratedMap`) found by :func:`find_fixed_points`
    (multi-start in the spec's ``[ranges]`` box and on a trajectory), grouped into orbits (the
    :math:`k` points of one orbit count once), points of smaller least period dropped.

    Returns
    -------
    list of PeriodicOrbit
        Sorted by the first component of the orbit's first point.
    """
    from ._fixed_points import find_fixed_points, search_box

    if not field.is_map:
        raise BiodynError(f"{field.name} is a flow: use find_cycle for its periodic orbits")
    G = IteratedMap(field, k)
    n_starts = n_starts if n_starts is not None else max(48, 24 * k)
    lo, hi = search_box(field)
    scale = np.maximum(hi - lo, 1e-300)
    fps = find_fixed_points(G, n_starts=n_starts, seed=seed)
    orbits = []
    for fp in fps:
        if _least_period(field, fp.state, k, 1e-7 * np.max(scale)) != k:
            continue
        pts = G.orbit(fp.state)
        if any(np.min(np.max(np.abs(o.points - fp.state) / scale, axis=1)) < 1e-6 for o in orbits):
            continue
        i = int(np.argmin(pts[:, 0]))
        pts = np.roll(pts, -i, axis=0)
        mu = np.linalg.eigvals(G.jacobian(pts[0]))
        mu = mu[np.argsort(-np.abs(mu), kind="stable")]
        orbits.append(PeriodicOrbit(pts, k, mu, bool(np.all(np.abs(mu) < 1)), fp.residual))
    orbits.sort(key=lambda o: tuple(o.points[0][:1]))
    return orbits


@dataclass
class Cascade:
    r"""A period-doubling cascade: the parameter values :math:`r_j` where the period-:math:`2^{j-1}`
    orbit doubles, the orbit point there, and Feigenbaum ratios
    :math:`\delta_j = (r_j - r_{j-1})/(r_{j+1} - r_j)` (tending to 4.6692..., Feigenbaum 1978)."""

    param: str
    values: np.ndarray
    periods: list
    states: list
    deltas: np.ndarray

    def as_dict(self, field):
        return {"param": self.param, "values": [float(v) for v in self.values],
                "periods": list(self.periods),
                "states": [{n: float(v) for n, v in zip(field.names, s)} for s in self.states],
                "feigenbaum_deltas": [float(d) for d in self.deltas]}


def period_doubling_cascade(field, param, lo, hi, *, levels=4, direction=1, seed=0):
    r"""Follow the period-doubling cascade of a map in ``param`` from ``lo`` to ``hi``.

    Level 1 continues the fixed points of :math:`F` (:func:`biodyn.dynamics.continuation`) and
    takes the first period doubling in ``direction`` (+1: increasing parameter). At a doubling
    of the period-:math:`k` orbit at :math:`r_j` (a multiplier of :math:`DF^k` at :math:`-1`,
    eigenvector :math:`v`), the period-:math:`2k` orbit is found by Newton on :math:`F^{2k}(x) = x`
    from :math:`x^* \pm a v` just past :math:`r_j`, and continued (as a fixed point of
    :class:`IteratedMap` :math:`F^{2k}`) to its own doubling :math:`r_{j+1}`. The search window of
    a level is :math:`[r_j, r_j + 1.5 (r_j - r_{j-1})]` (the gaps shrink by :math:`\delta \approx 4.7`)
    clipped to the range.

    Returns
    -------
    Cascade
    """
    from scipy.optimize import root

    from ._continuation import continuation

    if not field.is_map:
        raise BiodynError(f"{field.name} is a flow: the cascade of a flow goes through its cycles")
    lo, hi = float(lo), float(hi)
    sgn = 1.0 if direction >= 0 else -1.0
    c = continuation(field, param, lo, hi, seed=seed)
    pds = [p for p in c.points if p.type == "period_doubling"]
    if not pds:
        raise BiodynError(f"{field.name}: no period doubling of a fixed point in {param} "
                          f"in [{lo:g}, {hi:g}]")
    first = min(pds, key=lambda p: sgn * p.value)
    values, states, periods = [first.value], [first.state], [1]
    k = 1
    handle = IteratedMap(field, 1).parameter_handle(param)
    box_lo, box_hi = field.ranges()
    scale = np.where(np.isfinite(box_hi - box_lo), box_hi - box_lo, 1.0)
    while len(values) < levels:
        r, x = values[-1], states[-1]
        gap = abs(values[-1] - values[-2]) if len(values) > 1 else abs(hi - lo)
        eps = 1e-4 * gap
        Fk = handle(r)
        Gk = IteratedMap(Fk.base, k)
        lam, V = np.linalg.eig(Gk.jacobian(x))
        v = np.real(V[:, int(np.argmin(np.abs(lam + 1.0)))])
        p1 = r + sgn * eps
        G2 = IteratedMap(handle(p1).base, 2 * k)
        x_new = None
        for a in (1e-2, 3e-2, 1e-1, 3e-3):
            for s in (1.0, -1.0):
                sol = root(G2.residual, x + s * a * v * np.max(scale), jac=G2.residual_jacobian,
                           method="hybr")
                if sol.success and _least_period(G2.base, sol.x, 2 * k, 1e-9 * np.max(scale)) == 2 * k:
                    x_new = sol.x
                    break
            if x_new is not None:
                break
        if x_new is None:
            break
        wlo, whi = (r, r + sgn * 1.5 * gap) if len(values) > 1 else (r, hi if sgn > 0 else lo)
        wlo, whi = min(wlo, whi), max(wlo, whi)
        wlo, whi = max(wlo, lo), min(whi, hi)
        cc = continuation(IteratedMap(field, 2 * k), param, wlo, whi, starts=[(p1, x_new)],
                          switch_branches=False, seed=seed)
        nxt = [p for p in cc.points if p.type == "period_doubling" and p.branch == 0
               and sgn * (p.value - r) > 10 * eps]
        if not nxt:
            break
        pd = min(nxt, key=lambda p: sgn * p.value)
        k *= 2
        values.append(pd.value); states.append(pd.state); periods.append(k)
    v = np.array(values)
    deltas = (v[1:-1] - v[:-2]) / (v[2:] - v[1:-1]) if len(v) >= 3 else np.array([])
    return Cascade(param, v, periods, states, deltas)


# --------------------------------------------------------------------------
# Poincaré sections
# --------------------------------------------------------------------------


@dataclass
class Section:
    r"""Crossings of a Poincaré section :math:`\{x: n^\top (x - c) = 0\}` in the direction of
    :math:`n`: the times (time units) and states (SI); ``returns`` are the successive states
    (the first-return map is ``states[k] -> states[k + 1]``)."""

    normal: np.ndarray
    point: np.ndarray
    times: np.ndarray
    states: np.ndarray

    @property
    def return_times(self):
        return np.diff(self.times)


def poincare_section(field, x0=None, *, duration, transient=0.0, normal=None, point=None,
                     rtol=1e-9):
    r"""The crossings of a Poincaré section by the trajectory from ``x0`` (first-return map).

    Parameters
    ----------
    field : Field
        An autonomous flow.
    x0 : array, optional
        Start (default the spec's initial state).
    duration, transient : float
        Time recorded after a transient (time units).
    normal, point : arrays, optional
        The section :math:`n^\top(x - c) = 0`, crossed with :math:`n^\top \dot x > 0`. Default:
        through the mean of the trajectory, normal to its direction of largest scaled variance
        (as :func:`find_cycle` chooses it).

    Returns
    -------
    Section
        Crossing times and states, located by the integrator's event finding (LSODA, dense
        output) to its tolerance.
    """
    from scipy.integrate import solve_ivp

    _check_flow(field)
    x = field.x0() if x0 is None else np.asarray(x0, float)
    sx = _scales(field)
    flow = _Flow(field, sx, rtol)
    if transient > 0:
        x = flow.run(x, float(transient), variational=False)[0]
    if normal is None or point is None:
        t = np.linspace(0.0, float(duration), 2001)
        _, _, S = flow.run(x, float(duration), variational=False, t_eval=t)
        c = S.mean(axis=0)
        vt = np.linalg.svd((S - c) / sx, full_matrices=False)[2]
        normal = vt[0] / sx if normal is None else normal
        point = c if point is None else point
    normal, point = np.asarray(normal, float), np.asarray(point, float)
    if normal.shape != (field.n,) or point.shape != (field.n,):
        raise SpecError("<arguments>", "normal/point", f"arrays of {field.n} numbers",
                        f"{normal.shape} and {point.shape}")

    def event(t, y):
        return float(normal @ (y - point))

    event.direction = 1.0
    sol = solve_ivp(flow._rhs, (0.0, float(duration)), x, method="LSODA", rtol=rtol,
                    atol=1e-11 * sx, jac=flow._jac, events=event)
    if sol.status < 0:
        raise BiodynError(f"{field.name}: the integration failed ({sol.message})")
    return Section(normal, point, np.asarray(sol.t_events[0]), np.asarray(sol.y_events[0]).reshape(-1, field.n))
