r"""Drift of pair STDP under correlated inputs (Kempter, Gerstner & van Hemmen 1999).

The learning window :math:`W(s)`, :math:`s = t_{post} - t_{pre}`, is *derived* from the rule
spec: its ``on_pre``/``on_post`` code is executed symbolically (sympy) on one isolated pair
from zero traces, the traces decaying between the two spikes by their own event-driven
equations (:func:`pair_window`). For a rule whose changes add up over all pairs (all-to-all
traces that jump by 1: the rate reduction is bilinear in the two rates) the expected drift of
synapse i is

.. math::

    \frac{dw_i}{dt} = \int W(s)\, \langle S_i(t)\, S_{post}(t+s)\rangle\, ds.

With a *linear Poisson neuron* (Kempter et al. 1999: the postsynaptic rate is
:math:`\lambda(t) = \nu_0 + g\sum_j w_j \sum_f \epsilon(t - t_j^f)`, with the normalised
kernel :math:`\epsilon(t) = e^{-t/\tau_\epsilon}/\tau_\epsilon`), and inputs of rates
:math:`\nu_j` and cross-covariances :math:`c_{ij}(u)` (:math:`c_{ii}(u) = \nu_i\delta(u)`),

.. math::

    \langle S_i(t) S_{post}(t+s)\rangle = \nu_i\bar\nu_{post}
        + g\sum_j w_j\,(\epsilon * c_{ij})(s), \qquad \bar\nu_{post} = \nu_0 + g\sum_j w_j\nu_j,

so that

.. math::

    f_i(w) = \underbrace{\nu_i\bar\nu_{post}\int W}_{\text{rate reduction}}
        + g \sum_j w_j Q_{ij}, \qquad Q_{ij} = \int W(s)\,(\epsilon * c_{ij})(s)\,ds,

whose first term is the spec's rate reduction (:func:`~biodyn.flow.rate_reduction`) at the
mean postsynaptic rate, and whose diagonal :math:`Q_{ii} = \nu_i\int W(s)\epsilon(s)ds` is the
spike-triggered ("causal") term. The Jacobian is :math:`g(\int W)\,\nu\nu^\top + gQ`
(additive rules): symmetric — a gradient flow of the quadratic energy
:math:`L = \tfrac12 w^\top M w + b^\top w` (Linsker 1986; Kempter et al. 1999) — exactly when
:math:`Q` is, which holds for lag-symmetric correlations :math:`c_{ij}(u) = c_{ij}(-u)`
(then :math:`(\epsilon * c_{ji})(s) = \int\epsilon(r)c_{ij}(r - s)dr` and :math:`Q_{ji} = Q_{ij}`),
and fails for temporally asymmetric ones (input j following input i).

The window is a sum of exponentials :math:`a_k(w)\,e^{c_k s}` on each side; each term's
integral against :math:`\epsilon * c_{ij}` (an exponentially modified Gaussian for jittered
mixture correlations) is taken by adaptive quadrature (:func:`scipy.integrate.quad`).

References
----------
Kempter R, Gerstner W, van Hemmen JL (1999) Hebbian learning and spiking neurons. Phys Rev E
59:4498-4514. doi:10.1103/PhysRevE.59.4498
Linsker R (1986) From basic network principles to neural architecture: emergence of
spatial-opponent cells. Proc Natl Acad Sci USA 83:7508-7512. doi:10.1073/pnas.83.19.7508
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._reduction import (ReductionError, _execute, _parameters, _split_advance, _statements, _sym,
                         _to_sympy)

__all__ = ["PairWindow", "pair_window", "correlation_matrix"]


@dataclass
class PairWindow:
    """The pair window :math:`W(s; w)` of a rule, derived from its code.

    Attributes
    ----------
    positive, negative : sympy.Expr
        :math:`W(s)` in the symbol ``s`` for :math:`s > 0` (pre before post) and for
        :math:`s < 0` (post before pre), parameters substituted, ``lr = 1``.
    terms : dict
        ``{"positive": [(a_k(w), c_k)], "negative": [...]}``: :math:`W = \\sum_k a_k(w)e^{c_k s}`.
    """

    model: str
    weight: str
    positive: object
    negative: object
    terms: dict

    def __call__(self, s, w=0.0):
        """:math:`W(s; w)` at lags ``s`` (seconds)."""
        s = np.asarray(s, dtype=float)
        out = np.zeros(np.broadcast(s, np.asarray(w)).shape)
        for side, mask in (("positive", s > 0), ("negative", s < 0)):
            for a, c in self.terms[side]:
                out = out + np.where(mask, a(w) * np.exp(c * s), 0.0)
        return out

    def integral(self, w=0.0):
        """:math:`\\int W(s; w)\\,ds`."""
        total = 0.0
        for a, c in self.terms["positive"]:
            total = total + a(w) / (-c)
        for a, c in self.terms["negative"]:
            total = total + a(w) / c
        return total


def _decays(resolved):
    """Event-driven traces and their linear decay rates ``{name: alpha}`` (dX/dt = alpha X)."""
    import sympy

    eqs = resolved.equations
    params = _parameters(resolved)
    out = {}
    for name in eqs.names:
        eq = eqs[name]
        if eq.type != "differential equation":
            continue
        if "event-driven" not in eq.flags:
            raise ReductionError(f"{resolved.spec.name}: {name} is not event-driven; the pair "
                                 "window needs traces that evolve only between spikes")
        rhs = _to_sympy(str(eq.expr))
        x = _sym(name)
        alpha = sympy.diff(rhs, x)
        if sympy.simplify(rhs - alpha * x) != 0 or x in alpha.free_symbols:
            raise ReductionError(f"{resolved.spec.name}: d{name}/dt = {rhs} is not a linear decay")
        out[name] = float(alpha.subs({_sym(k): v for k, v in params.items()}))
    return out


def pair_window(resolved):
    """The pair window of a spike-based rule (see :class:`PairWindow`), derived from its code."""
    import sympy

    spec = resolved.spec
    weight = spec.data.get("weight", "w")
    pre, post = resolved.code.get("on_pre"), resolved.code.get("on_post")
    if not (pre and post):
        raise ReductionError(f"{spec.name}: a pair window needs on_pre and on_post code")
    decays = _decays(resolved)
    params = _parameters(resolved)
    psub = {_sym(k): v for k, v in params.items()}
    psub[_sym("lr")] = 1
    s = sympy.Symbol("s", positive=True)
    code = {"pre": _statements(pre), "post": _statements(post)}
    for e, st in code.items():
        if _split_advance(st)[0]:
            raise ReductionError(f"{spec.name}: closed-form advance blocks are not supported by "
                                 "the pair window")

    def run(first, second):
        state = {v: sympy.Integer(0) for v in decays}
        state[weight] = _sym(weight)
        state = _execute(code[first], state, _sym("t"))
        w_mid = state[weight]
        for v, alpha in decays.items():
            state[v] = state[v] * sympy.exp(alpha * s)
        # the weight is frozen (a change of w at the first spike is the rule's own business;
        # the window is the change caused by the pair): read w as before at the second spike
        state[weight] = _sym(weight)
        state = _execute(code[second], state, _sym("t"))
        change = (w_mid - _sym(weight)) + (state[weight] - _sym(weight))
        return sympy.expand(sympy.simplify(change.xreplace(psub)))

    positive = run("pre", "post")      # s > 0: pre at 0, post at s
    negative_abs = run("post", "pre")  # post at 0, pre at |s|
    sneg = sympy.Symbol("s", negative=True)
    negative = sympy.expand(negative_abs.xreplace({s: -sneg}))
    terms = {"positive": _exponential_terms(positive, s, weight, spec.name),
             "negative": _exponential_terms(negative, sneg, weight, spec.name)}
    for side, t in terms.items():
        for _, c in t:
            if (side == "positive" and not c < 0) or (side == "negative" and not c > 0):
                raise ReductionError(f"{spec.name}: the {side}-lag window does not decay")
    return PairWindow(spec.name, weight, positive.xreplace({s: _sym("s")}),
                      negative.xreplace({sneg: _sym("s")}), terms)


def _exponential_terms(expr, s, weight, name):
    """``[(a_k(w) callable, c_k)]`` with ``expr = sum_k a_k(w) exp(c_k s)``."""
    import sympy

    groups = {}
    for term in sympy.Add.make_args(sympy.expand(sympy.powsimp(expr))):
        if term == 0:
            continue
        coeff, dep = term.as_independent(s, as_Add=False)
        if dep == 1:
            raise ReductionError(f"{name}: the pair window has a term {term} that does not decay with the lag")
        if not (isinstance(dep, sympy.exp) or (dep.is_Pow and dep.base == sympy.E)):
            raise ReductionError(f"{name}: the pair window term {term} is not an exponential of the lag")
        c = sympy.simplify(sympy.log(dep).expand(force=True) / s)
        if s in c.free_symbols:
            raise ReductionError(f"{name}: the pair window term {term} is not an exponential of the lag")
        groups[float(c)] = groups.get(float(c), 0) + coeff
    out = []
    for c, coeff in sorted(groups.items()):
        fn = sympy.lambdify([_sym(weight)], coeff, "numpy")
        out.append((lambda w, fn=fn: np.asarray(fn(w), dtype=float) + 0.0 * np.asarray(w), c))
    return out


# --------------------------------------------------------------------------
# Correlation integrals
# --------------------------------------------------------------------------


def _kernel(inputs, i, j, tau_eps):
    """:math:`(\\epsilon * c_{ij})(s)` as ``(function, breakpoints)``."""
    from scipy.special import erfc, erfcx

    if i == j:
        nu = float(inputs.rates[i])
        return (lambda s: np.where(s >= 0, nu * np.exp(-np.maximum(s, 0) / tau_eps) / tau_eps, 0.0)), [0.0]
    kappa = float(inputs.amplitude()[i, j]) if hasattr(inputs, "amplitude") else 0.0
    if kappa == 0.0:
        return None, []
    m = float(inputs.lag()[i, j])
    sigma = float(np.sqrt(2.0) * inputs.jitter)
    if sigma == 0.0:
        return (lambda s: np.where(s >= m, kappa * np.exp(-np.maximum(s - m, 0) / tau_eps) / tau_eps,
                                   0.0)), [m]

    def emg(s):
        x = np.asarray(s, dtype=float) - m
        B = (sigma / tau_eps - x / sigma) / np.sqrt(2.0)
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            stable = np.exp(-0.5 * (x / sigma) ** 2) * erfcx(B)
            direct = np.exp(0.5 * (sigma / tau_eps) ** 2 - x / tau_eps) * erfc(B)
        return kappa * np.where(B > 0, stable, direct) / (2.0 * tau_eps)

    return emg, [m - 6 * sigma, m, m + 6 * sigma]


def correlation_matrix(window, inputs, tau_eps):
    """Per exponential term k of the window: :math:`\\Lambda^{(k)}_{ij} = \\int_{side}
    e^{c_k s}(\\epsilon * c_{ij})(s)\\,ds`, so that :math:`Q_{ij}(w_i) = \\sum_k a_k(w_i)
    \\Lambda^{(k)}_{ij}`.

    Returns ``[(a_k, Lambda_k)]`` (``Lambda_k`` of shape ``(n, n)``, in Hz).
    """
    from scipy.integrate import quad

    n = inputs.n
    out = []
    for side, terms in window.terms.items():
        for a, c in terms:
            L = np.zeros((n, n))
            for i in range(n):
                for j in range(n):
                    K, points = _kernel(inputs, i, j, tau_eps)
                    if K is None:
                        continue
                    scale = 1.0 / abs(c)
                    if side == "positive":
                        lo, hi = 0.0, 0.0 + 60 * max(scale, tau_eps) + max(points + [0.0])
                    else:
                        lo, hi = min(points + [0.0]) - 60 * scale, 0.0
                    pts = [p for p in points if lo < p < hi]
                    val, _ = quad(lambda u: float(np.exp(c * u) * K(u)), lo, hi, points=pts or None,
                                  limit=400, epsabs=0.0, epsrel=1e-11)
                    L[i, j] = val
            out.append((a, L))
    return out
