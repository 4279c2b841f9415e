r"""Objectives of learning rules from the literature, checked against the averaged field.

Each entry of :data:`OBJECTIVES` builds, for a scenario's averaged field, the objective
:math:`L(w)` that the literature says the rule climbs (:math:`f = +\nabla L`) or descends
(:math:`f = -\nabla L`), as code independent of the rule spec (the objective is a *claim* about
the rule; the field is derived from the rule's own equations — the check compares the two):

=================  ===========================================================  ==================
key                objective                                                    source
=================  ===========================================================  ==================
``hebb_decay``     :math:`\tfrac12 w^\top(\eta C - \gamma I)w`, :math:`C = E[xx^\top]`  Dayan & Abbott 2001, 8.2
``covariance``     :math:`\tfrac{\eta}{2}\mathrm{Var}(y) = \tfrac{\eta}{2}w^\top\Sigma w`   Sejnowski 1977
``oja``            :math:`\tfrac{\eta}{2}\,w^\top C w / w^\top w` on the unit sphere   Oja 1982
``bcm``            :math:`\eta\,(\tfrac13 E[y^3] - \tfrac14 E[y^2]^2)`                  Intrator & Cooper 1992
``kempter``        :math:`b^\top w + \tfrac12 w^\top M w` (quadratic energy)          Kempter et al. 1999; Linsker 1986
=================  ===========================================================  ==================

with :math:`y = w^\top x` (the linear unit these theories assume). :func:`check_objective`
evaluates :math:`\max_k |f(w_k) - \nabla L(w_k)|` over sample points (on the unit sphere, the
Riemannian gradient :math:`(I - ww^\top)\nabla L` for ``oja``), the gradient taken by the
complex step (:math:`\partial_j L = \mathrm{Im}\,L(w + ih e_j)/h`, exact to rounding), and
whether :math:`L` grows monotonically along simulated trajectories.

An objective of a gradient flow is a Lyapunov function: with :math:`V = -\mathrm{sign}\,L`,
:math:`\dot V = \nabla V\cdot f = -\mathrm{sign}\,\nabla L\cdot f`, which is
:math:`-|\nabla L|^2 \le 0` where :math:`f = \mathrm{sign}\,\nabla L` (Riemannian gradient
on the sphere: :math:`-|(I - ww^\top)\nabla L|^2`). :func:`check_objective` checks it the
same way as :func:`biodyn.dynamics.check_lyapunov_function` checks a user's :math:`V`: the
fractions of sample points where :math:`\dot V` is negative, zero (within ``1e-12`` of the
size of its terms) or positive (``lyapunov``). Stable states of the rule are then local
minima of :math:`V` and every sublevel set is forward invariant (Khalil 2002, section 4.1).

References
----------
Dayan P, Abbott LF (2001) Theoretical Neuroscience. MIT Press (section 8.2).
Sejnowski TJ (1977) Storing covariance with nonlinearly interacting neurons. J Math Biol
4:303-321. doi:10.1007/BF00275079
Oja E (1982) Simplified neuron model as a principal component analyzer. J Math Biol 15:267-273.
doi:10.1007/BF00275687
Intrator N, Cooper LN (1992) Objective function formulation of the BCM theory of visual cortical
plasticity. Neural Netw 5:3-17. doi:10.1016/S0893-6080(05)80003-6
Kempter R, Gerstner W, van Hemmen JL (1999) Hebbian learning and spiking neurons. Phys Rev E
59:4498-4514. doi:10.1103/PhysRevE.59.4498
Linsker R (1986) From basic network principles to neural architecture. Proc Natl Acad Sci USA
83:7508-7512. doi:10.1073/pnas.83.19.7508
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..errors import SpecError, suggest

__all__ = ["Objective", "OBJECTIVES", "objective_for", "check_objective", "monotone",
           "register_objective", "DEFAULT_OBJECTIVES"]


@dataclass
class Objective:
    """An objective :math:`L(w)` and how the rule relates to it.

    Attributes
    ----------
    key, text, citation : str
    sign : {+1, -1}
        :math:`f = \\mathrm{sign}\\,\\nabla L`.
    manifold : None or "sphere"
        Where the relation holds (``"sphere"``: the unit sphere, Riemannian gradient).
    value : callable
        ``value(W)`` for ``W`` of shape ``(B, n)`` (complex-safe) -> ``(B,)``.
    """

    key: str
    text: str
    citation: str
    value: Callable
    sign: int = 1
    manifold: str | None = None

    def __call__(self, w):
        w = np.asarray(w)
        single = w.ndim == 1
        out = self.value(np.atleast_2d(w))
        return out[0] if single else out

    def gradient(self, W, h=1e-30):
        """:math:`\\nabla L` by the complex step (``(B, n)``)."""
        W = np.atleast_2d(np.asarray(W, dtype=float))
        B, n = W.shape
        G = np.empty((B, n))
        for j in range(n):
            Z = W.astype(complex)
            Z[:, j] += 1j * h
            G[:, j] = np.imag(self.value(Z)) / h
        return G


#: Objective builders by key: ``builder(field) -> Objective`` (``None``: not applicable).
OBJECTIVES: dict[str, Callable] = {}

#: The default objective of a rule (by model name).
DEFAULT_OBJECTIVES = {"hebb": "hebb_decay", "covariance": "covariance", "oja": "oja", "bcm": "bcm",
                      "stdp_pair": "kempter"}


def register_objective(key):
    def deco(fn):
        OBJECTIVES[key] = fn
        return fn

    return deco


def _p(field, name):
    return float(field.scenario.rule.namespace[name])


def _gaussian_or_patterns(inputs):
    return hasattr(inputs, "pair_nodes")


@register_objective("hebb_decay")
def _hebb(field):
    inputs = field.scenario.inputs
    if not _gaussian_or_patterns(inputs) or field.n != field.n_weights:
        return None
    eta = _p(field, "eta")
    gamma = _p(field, "gamma") if "gamma" in field.scenario.rule.namespace else 0.0
    A = eta * inputs.second_moment() - gamma * np.eye(inputs.n)
    return Objective("hebb_decay", "L(w) = 1/2 w'(eta C - gamma I) w with C = E[x x'] (Hebb with "
                     "decay)", "Dayan & Abbott 2001, Theoretical Neuroscience, sec. 8.2",
                     lambda W: 0.5 * np.einsum("bi,ij,bj->b", W, A, W))


@register_objective("covariance")
def _covariance(field):
    inputs = field.scenario.inputs
    if not _gaussian_or_patterns(inputs) or field.n != field.n_weights:
        return None
    eta = _p(field, "eta")
    S = inputs.covariance
    return Objective("covariance", "L(w) = eta/2 Var(y) = eta/2 w' Cov(x) w (covariance rule with "
                     "theta_x = E[x])", "Sejnowski 1977, J Math Biol 4:303-321",
                     lambda W: 0.5 * eta * np.einsum("bi,ij,bj->b", W, S, W))


@register_objective("oja")
def _oja(field):
    inputs = field.scenario.inputs
    if not _gaussian_or_patterns(inputs) or field.n != field.n_weights:
        return None
    eta = _p(field, "eta")
    C = inputs.second_moment()
    return Objective("oja", "L(w) = eta/2 w'Cw / w'w (the Rayleigh quotient of C = E[x x']): f is its "
                     "Riemannian gradient on the unit sphere, which the flow leaves invariant",
                     "Oja 1982, J Math Biol 15:267-273",
                     lambda W: 0.5 * eta * np.einsum("bi,ij,bj->b", W, C, W) / np.einsum("bi,bi->b", W, W),
                     manifold="sphere")


@register_objective("bcm")
def _bcm(field):
    from ._inputs import GaussianRates, PatternRates

    inputs = field.scenario.inputs
    if field.n != field.n_weights:
        return None
    eta = _p(field, "eta")
    if isinstance(inputs, PatternRates):
        P, p = inputs.patterns, inputs.probabilities

        def moments(W):
            Y = W @ P.T
            return (Y ** 2) @ p, (Y ** 3) @ p
    elif isinstance(inputs, GaussianRates):
        mu, C = inputs.mean, inputs.covariance

        def moments(W):
            m = W @ mu
            s2 = np.einsum("bi,ij,bj->b", W, C, W)
            return s2 + m ** 2, m ** 3 + 3 * m * s2
    else:
        return None

    def value(W):
        m2, m3 = moments(W)
        return eta * (m3 / 3.0 - m2 ** 2 / 4.0)

    return Objective("bcm", "R(w) = eta (1/3 E[y^3] - 1/4 E[y^2]^2) with theta_M = E[y^2] "
                     "(BCM objective)", "Intrator & Cooper 1992, Neural Netw 5:3-17", value)


@register_objective("kempter")
def _kempter(field):
    sc = field.scenario
    if sc.kind != "spike" or sc.post.get("kind") != "linear" or "terms" not in field.parts:
        return None
    terms = field.parts["terms"]
    red = field.parts["reduction"]
    import sympy

    if sympy.Symbol(sc.rule.spec.data.get("weight", "w")) in red.expression.free_symbols:
        return None          # weight-dependent window: the drift is not quadratic-energy form
    a_w = [float(a(0.0)) for a, _ in terms]
    if any(abs(float(a(1.0)) - v) > 1e-15 * max(1.0, abs(v)) for (a, _), v in zip(terms, a_w)):
        return None
    nu = np.asarray(sc.inputs.rates, dtype=float)
    g, nu0 = float(sc.post["gain"]), float(sc.post["baseline"])
    Wint = float(red.expression.subs({sympy.Symbol("nu_pre"): 1, sympy.Symbol("nu_post"): 1}))
    M = Wint * g * np.outer(nu, nu) + g * sum(a * L for a, (_, L) in zip(a_w, terms))
    b = Wint * nu * nu0
    Ms = 0.5 * (M + M.T)
    return Objective("kempter", "L(w) = b'w + 1/2 w'Mw with M = g (int W) nu nu' + g Q (the "
                     "quadratic energy; symmetric part of M)",
                     "Kempter, Gerstner & van Hemmen 1999, Phys Rev E 59:4498; Linsker 1986",
                     lambda W: W @ b + 0.5 * np.einsum("bi,ij,bj->b", W, Ms, W))


def objective_for(field, key=None):
    """The objective of a field's rule (``key`` or the protocol's ``flow.objective`` or the
    rule's default), or ``None`` where the literature gives none (or it does not apply)."""
    sc = field.scenario
    key = key or sc.settings.get("objective") or DEFAULT_OBJECTIVES.get(sc.model)
    if key is None or key == "none":
        return None
    if key not in OBJECTIVES:
        raise SpecError(sc.file, "flow.objective", "one of " + ", ".join(sorted(OBJECTIVES)) + " or 'none'",
                        repr(key), suggest(key, OBJECTIVES))
    return OBJECTIVES[key](field)


@dataclass
class ObjectiveCheck:
    """:math:`\\max_k|f - \\mathrm{sign}\\,\\nabla L|` over sample points and monotonicity."""

    max_abs_error: float
    max_abs_field: float
    points: int
    monotone: bool | None
    drawdown: float | None = None
    #: fractions of the points where dV/dt (V = -sign L) is negative / zero / positive
    lyapunov: dict | None = None


def check_objective(field, objective, points, trajectories=()):
    """Compare ``field`` with ``objective`` on ``points`` (projected onto the unit sphere for a
    ``"sphere"`` objective) and check monotonicity along ``trajectories`` (arrays ``(T, n)``)."""
    P = np.atleast_2d(np.asarray(points, dtype=float))
    if objective.manifold == "sphere":
        norms = np.linalg.norm(P, axis=1)
        P = P[norms > 1e-9] / norms[norms > 1e-9, None]
    F = field.f(P)[:, :field.n_weights]
    G = objective.sign * objective.gradient(P)
    if objective.manifold == "sphere":
        G = G - np.sum(G * P, axis=1)[:, None] * P
    err = float(np.max(np.abs(F - G))) if len(P) else 0.0
    mono, draw = None, None
    if len(trajectories):
        mono, draw = monotone(objective, trajectories)
    lyap = None
    if len(P):   # V = -sign L: dV/dt = -sign grad L . f (on the sphere, the tangent part)
        vdot = -np.sum(G * F, axis=1)
        mag = np.sum(np.abs(G * F), axis=1)
        sign = np.where(np.abs(vdot) <= 1e-12 * np.maximum(mag, 1e-300), 0, np.sign(vdot))
        lyap = {"negative": float(np.mean(sign < 0)), "zero": float(np.mean(sign == 0)),
                "positive": float(np.mean(sign > 0))}
    return ObjectiveCheck(err, float(np.max(np.abs(F))) if len(P) else 0.0, len(P), mono, draw, lyap)


def monotone(objective, trajectories, tolerance=0.1):
    """Whether :math:`\\mathrm{sign}\\,L` grows along every trajectory.

    A simulated trajectory fluctuates around the averaged flow, so :math:`L` is first smoothed
    by a running median over a tenth of the trajectory (at least 3 samples); the trajectory
    is monotone if the largest drop of the smoothed :math:`L` below its running maximum (the
    drawdown) is at most ``tolerance`` of the range it covers. A rule climbing another
    objective, or rotating, shows drops of the order of the range. Returns
    ``(monotone, worst relative drawdown)``."""
    worst = 0.0
    for traj in trajectories:
        W = np.atleast_2d(np.asarray(traj, dtype=float))
        if len(W) < 2:
            continue
        L = objective.sign * np.real(objective.value(W.astype(float)))
        k = max(3, len(L) // 10) | 1
        if len(L) >= k:
            pad = np.concatenate([np.full(k // 2, L[0]), L, np.full(k // 2, L[-1])])
            L = np.median(np.lib.stride_tricks.sliding_window_view(pad, k), axis=1)
        span = float(np.max(L) - np.min(L))
        if span <= 1e-15 * max(1.0, float(np.max(np.abs(L)))):
            continue
        draw = float(np.max(np.maximum.accumulate(L) - L)) / span
        worst = max(worst, draw)
    return bool(worst <= tolerance), worst
