r"""The averaged field :math:`\dot w = f(w) = \mathrm E[\Delta w \mid w]` of a learning scenario.

:func:`averaged_field` derives the field of a :class:`~biodyn.flow.Scenario` from the rule
spec's own code — never written by hand:

* rate rules: :class:`~biodyn.flow._rate.RateRule` (the rule's equations, averaged over the
  input distribution with the neuron's gain; other variables adiabatic or dynamic);
* spike rules with a rate-driven Poisson neuron (:math:`\nu_{post}(w) = \nu_0 + g\,w^\top\nu`,
  spikes independent of the input spike times): the rule's rate reduction
  (:func:`~biodyn.flow.rate_reduction`) at :math:`(\nu_i, \nu_{post}(w), w_i)`;
* spike rules with Kempter's linear Poisson neuron: the rate reduction at the mean output rate
  plus the correlation terms :math:`g\sum_j w_j Q_{ij}` built from the rule's pair window
  (:mod:`biodyn.flow._kempter`).

Time is in seconds: :math:`f` is in 1/second (weights are dimensionless), for ``lr = 1``.
The Jacobian is taken by fourth-order central differences (steps of 1e-4 of the domain's
width: relative error ~1e-12 for the catalog's polynomial fields).
"""

from __future__ import annotations

import numpy as np

from ..errors import BiodynError
from ._reduction import ReductionError, rate_reduction
from ._scenario import check_settings_value

__all__ = ["AveragedField", "averaged_field"]


class AveragedField:
    """The averaged field of a scenario (get one from :func:`averaged_field`).

    Attributes
    ----------
    scenario : Scenario
    n : int
        Dimension of the state (the weights, plus dynamic other variables).
    n_weights : int
    names : list of str
        ``["w[0]", ..., "theta_M"]``.
    description : str
        The averaged rule in words and symbols.
    assumptions : list of str
    exact : bool
        Whether the average is exact under the stated assumptions.
    """

    kind = "analytic"

    def __init__(self, scenario, f, names, description, assumptions, exact=True, aux_domain=None,
                 parts=None):
        self.scenario = scenario
        self._f = f
        self.names = list(names)
        self.n = len(self.names)
        self.n_weights = scenario.n
        self.description = description
        self.assumptions = list(assumptions)
        self.exact = bool(exact)
        self.parts = dict(parts or {})
        lo, hi = scenario.domain
        if aux_domain is not None:
            lo = np.concatenate([lo, aux_domain[0]])
            hi = np.concatenate([hi, aux_domain[1]])
        self.domain = (np.asarray(lo, float), np.asarray(hi, float))

    def __repr__(self):
        return f"<AveragedField {self.scenario.name}: {self.scenario.model}, n = {self.n}>"

    def f(self, x):
        """:math:`f(x)` in 1/second; ``x`` of shape ``(n,)`` or ``(B, n)``."""
        x = np.asarray(x, dtype=float)
        single = x.ndim == 1
        out = self._f(np.atleast_2d(x))
        return out[0] if single else out

    __call__ = f

    def jacobian(self, x, steps=None):
        """:math:`\\partial f/\\partial x` at ``x`` (``(n, n)``, or ``(B, n, n)`` for ``(B, n)``)."""
        x = np.asarray(x, dtype=float)
        single = x.ndim == 1
        X = np.atleast_2d(x)
        B, n = X.shape
        lo, hi = self.domain
        h = 1e-4 * np.maximum(hi - lo, 1e-12) if steps is None else np.broadcast_to(steps, (n,))
        J = np.empty((B, n, n))
        for j in range(n):
            e = np.zeros(n)
            e[j] = h[j]
            stack = np.concatenate([X + 2 * e, X + e, X - e, X - 2 * e])
            F = self._f(stack).reshape(4, B, n)
            J[:, :, j] = (-F[0] + 8 * F[1] - 8 * F[2] + F[3]) / (12 * h[j])
        return J[0] if single else J

    def dynamics(self):
        """This field as a :mod:`biodyn.dynamics` system (for ``find_fixed_points``)."""
        return _DynamicsView(self)


class _DynamicsView:
    """The duck-typed interface of :class:`biodyn.dynamics.Field` that the fixed-point search
    and trajectories use (time unit: one second)."""

    is_map = False
    autonomous = True
    time_unit_text = "s"

    def __init__(self, field):
        self.field = field
        self.n = field.n
        self.names = field.names
        self.name = field.scenario.name
        self.units = ["1"] * field.n
        from brian2 import second

        self.time_unit = 1 * second

    def f(self, x, t=0.0):
        return self.field.f(x)

    __call__ = f

    def jacobian(self, x, t=0.0):
        return self.field.jacobian(x)

    def f_and_jvp(self, x, Q, t=0.0):
        return self.field.f(x), self.field.jacobian(x) @ Q

    def jvp(self, x, Q, t=0.0):
        return self.field.jacobian(x) @ Q

    def residual(self, x, t=0.0):
        return self.field.f(x)

    def residual_jacobian(self, x, t=0.0):
        return self.field.jacobian(x)

    def x0(self, seed=None):
        lo, hi = self.field.domain
        return 0.5 * (lo + hi)

    def ranges(self):
        return self.field.domain


# --------------------------------------------------------------------------
# Construction
# --------------------------------------------------------------------------


def averaged_field(scenario, *, aux=None):
    """The :class:`AveragedField` of a scenario.

    Parameters
    ----------
    scenario : Scenario
    aux : {"adiabatic", "state"}, optional
        Rate rules with other variables (BCM's threshold): at their average for the current
        weights (``"adiabatic"``, default, or the protocol's ``flow.aux``), or dynamic state
        variables of the flow (``"state"``).
    """
    if scenario.kind == "rate":
        return _rate_field(scenario, aux)
    if scenario.kind == "spike":
        return _spike_field(scenario)
    raise BiodynError(f"{scenario.name}: unknown scenario kind {scenario.kind!r}")


def _rate_field(sc, aux):
    from ._rate import RateRule

    aux = aux or check_settings_value(sc, "aux", ("adiabatic", "state")) or "adiabatic"
    rule = RateRule(sc.rule, sc.post["neuron"])
    inputs = sc.inputs
    n = sc.n
    weight = rule.weight
    names = [f"{weight}[{i}]" for i in range(n)]
    assumptions = [f"inputs: {inputs.describe()}, a new draw every time step",
                   "the weights change slowly compared with the input draws (lr*eta*dt small)",
                   f"{weight} inside its bounds (clipping ignored)", "lr = 1 (a run with lr moves lr times as fast)",
                   f"postsynaptic rate r_post = {rule.gain} of I = sum_j {weight}_j r_pre_j"]
    parts = {"rule": rule}
    if not rule.aux or aux == "adiabatic":
        def f(W):
            return rule.field(inputs, W)

        for z in rule.aux:
            assumptions.append(f"{z} at the root of its averaged equation (fast compared with the "
                               "weights, slow compared with the input draws)")
        return AveragedField(sc, f, names, rule.describe(), assumptions, parts=parts)
    # dynamic other variables: the state is [w, z...]
    layout = []
    for z in rule.aux:
        size = 1 if rule.shared[z] else n
        layout.append((z, size))
        names += [z] if size == 1 else [f"{z}[{i}]" for i in range(n)]
    lo, hi = sc.domain
    grid = np.stack(np.meshgrid(*[np.linspace(a, b, 5) for a, b in zip(lo, hi)], indexing="ij"),
                    -1).reshape(-1, n) if n <= 4 else np.vstack([lo, hi, 0.5 * (lo + hi)])
    zstar = rule.adiabatic(inputs, grid)
    alo, ahi = [], []
    for z, size in layout:
        v = np.asarray(zstar[z]).reshape(len(grid), -1)
        a, b = float(v.min()), float(v.max())
        pad = 0.25 * max(b - a, abs(b), 1e-3)
        alo += [a - pad] * size
        ahi += [b + pad] * size

    def f(X):
        W = X[:, :n]
        Z, k = {}, n
        for z, size in layout:
            Z[z] = X[:, k] if size == 1 else X[:, k:k + size]
            k += size
        out = [rule.field(inputs, W, Z)]
        dz = rule.aux_field(inputs, W, Z)
        for z, size in layout:
            out.append(np.asarray(dz[z]).reshape(len(X), size))
        return np.concatenate(out, axis=1)

    assumptions.append(", ".join(rule.aux) + " dynamic (state variables of the averaged flow)")
    return AveragedField(sc, f, names, rule.describe(), assumptions, aux_domain=(np.array(alo), np.array(ahi)),
                         parts=parts)


def _spike_field(sc):
    import sympy

    if sc.post.get("kind") == "neuron":
        raise ReductionError(f"{sc.model} drives a model neuron ({sc.post['neuron'].spec.name}): "
                             "no reduction averages the rule over its voltage for these inputs")

    red = rate_reduction(sc.rule)
    weight = sc.rule.spec.data.get("weight", "w")
    nu = np.asarray(sc.inputs.rates, dtype=float)
    post = sc.post
    g, nu0 = float(post["gain"]), float(post["baseline"])
    args = [sympy.Symbol("nu_pre"), sympy.Symbol("nu_post"), sympy.Symbol(weight)]
    drift = sympy.lambdify(args, red.expression, "numpy")
    n = sc.n
    names = [f"{weight}[{i}]" for i in range(n)]
    assumptions = list(red.assumptions)
    parts = {"reduction": red}

    def independent(W):
        nu_post = nu0 + g * W @ nu                       # (B,)
        out = drift(nu[None, :], nu_post[:, None], W)
        return np.asarray(out, dtype=float) + np.zeros_like(W)

    description = f"<dw_i/dt> = {red.expression} at nu_pre = nu_i, nu_post = nu_0 + g sum_j w_j nu_j"
    if post["kind"] == "rate":
        assumptions.append("rate-driven Poisson neuron: nu_post = nu_0 + g sum_j w_j nu_j, its spikes "
                           "independent of the input spike times (input correlations do not enter)")
        return AveragedField(sc, independent, names, description, assumptions, red.exact, parts=parts)
    # Kempter's linear Poisson neuron: correlation terms from the pair window
    from ._kempter import correlation_matrix, pair_window

    nu_pre, nu_post = sympy.Symbol("nu_pre"), sympy.Symbol("nu_post")
    poly = sympy.Poly(sympy.expand(red.expression), nu_pre, nu_post)
    if any(a > 1 or b > 1 for a, b in poly.monoms()) or not red.exact:
        raise ReductionError(
            f"{sc.model}: Kempter's drift under correlated inputs covers pair rules whose changes add "
            "over all pairs (a rate reduction bilinear in nu_pre and nu_post); this rule's is "
            f"{red.expression}")
    window = pair_window(sc.rule)
    terms = correlation_matrix(window, sc.inputs, float(post["tau_eps"]))
    parts.update(window=window, terms=terms)

    def kempter(W):
        out = independent(W)
        for a, L in terms:
            A = a(W)                                       # (B, n): a_k(w_i)
            out = out + g * A * (W @ L.T)                  # sum_j L_ij w_j
        return out

    assumptions.append("Kempter, Gerstner & van Hemmen (1999): linear Poisson neuron lambda(t) = nu_0 "
                       "+ g sum_j w_j sum_f eps(t - t_j^f), eps(t) = exp(-t/tau_eps)/tau_eps; the "
                       "input cross-correlations enter through Q_ij = int W(s) (eps * c_ij)(s) ds")
    return AveragedField(sc, kempter, names, description + " + g sum_j w_j Q_ij (pair window "
                         f"W(s>0) = {window.positive}, W(s<0) = {window.negative})", assumptions,
                         red.exact, parts=parts)
