r"""The biological learner in Brian2: a rate rule from the catalog between input rates and
linear rate neurons, fed by a dataset sample by sample; and the rule's update read from its spec.

:func:`run_rate_rule` builds ``d`` input rates (a ``NeuronGroup`` whose ``r`` reads a
``TimedArray`` of the samples shown, one per time step, and a variable ``xhat`` for rules
that sum a back-projection onto it), ``m`` rate neurons of the catalog's ``rate`` model with
instantaneous linear dynamics (:math:`y = W x`), and the rule's synapses from every input to
every neuron. With a ``teacher`` the neurons' input is clamped to it instead (supervised
Hebbian learning: :math:`y` = the target) and the rule's own transmission is switched off.
Brian2 integrates the rule with Euler steps of ``dt``: a step is
:math:`W \leftarrow W + lr\,dt\,D(x_n, y_n, W)` with the sample :math:`x_n` of step ``n`` —
forward Euler with step :math:`lr\,\eta\,dt` on the averaged flow, up to the sampling noise.

:func:`rule_update` reads the rule's weight equation from its spec (sympy; clipping dropped,
weights inside their bounds; ``lr`` = 1) and evaluates the *expected* update
:math:`\mathrm E_n[D(x_n, y_n, W)]` over a dataset — the biological update of the
alignment measures, never written by hand next to the spec.
"""

from __future__ import annotations

import numpy as np

from .. import build
from ..errors import BiodynError

__all__ = ["run_rate_rule", "rule_update", "RuleUpdate"]


def run_rate_rule(rule, inputs, w0, *, dt, record_every=1, teacher=None, record=(), init=None,
                  lr=1.0, target="numpy", seed=0, build_key=None):
    """Run a catalog rate rule between ``d`` input rates and ``m`` linear rate neurons.

    Parameters
    ----------
    rule : Resolved
        The synapse model (``oja_subspace``, ``hebb``, ``bcm``, ...), resolved.
    inputs : array ``(steps, d)``
        Row ``n`` is the input shown during time step ``n``.
    w0 : array ``(m, d)``
        Initial weights (row: postsynaptic neuron).
    dt : Quantity
    record_every : int
        Record the weights every this many steps (and at the end).
    teacher : array ``(steps, m)``, optional
        Clamp the neurons' input (hence their rate) to these values.
    record : sequence of str
        Other synaptic variables to record (``"theta_M"``).
    init : dict, optional
        Initial values of other synaptic variables.

    Returns
    -------
    dict
        ``t`` (``(T,)`` seconds, the initial state included), ``w`` (``(T, m, d)``), one
        ``(T, m, d)`` array per recorded variable, ``timings``.
    """
    from brian2 import NeuronGroup, StateMonitor, TimedArray, second

    X = np.asarray(inputs, float)
    steps, d = X.shape
    W0 = np.atleast_2d(np.asarray(w0, float))
    m = W0.shape[0]
    if W0.shape[1] != d:
        raise BiodynError(f"run_rate_rule: weights of shape {W0.shape} for {d} inputs")
    stride = max(1, int(record_every))
    if steps % stride:
        raise BiodynError(f"run_rate_rule: {steps} steps is not a multiple of record_every = {stride}")
    dt_s = float(dt / second)
    weight = rule.spec.data.get("weight", "w")
    variants = {}
    if teacher is not None and "transmission" in rule.spec.data.get("variants", {}):
        variants["transmission"] = "none"
    if variants:  # the same parameter set and overrides, other variants
        rule = build.resolve(rule.spec, rule.parameter_set, dict(rule.overrides),
                             {**dict(rule.variants), **variants})
    pre_i = np.tile(np.arange(d), m)
    post_j = np.repeat(np.arange(m), d)
    values = {weight: W0.ravel()}
    for name, v in (init or {}).items():
        values[name] = np.broadcast_to(np.asarray(v, float), (m, d)).ravel()
    with build.Simulation(target, dt=dt, seed=int(seed),
                          build_key=build_key or f"compare-{rule.spec.name}") as sim:
        table = TimedArray(X, dt=dt, name="compare_inputs")
        pre = NeuronGroup(d, "r = compare_inputs(t, i) : 1\nxhat : 1", name="compare_pre",
                          namespace={"compare_inputs": table}, order=0)
        # the neurons' summed input before the presynaptic back-projection (order -2 < -1)
        post = build.neurons("rate", m, variants={"dynamics": "instantaneous", "gain": "linear"},
                             name="compare_post", order=-1)
        objects = [pre, post]
        if teacher is not None:
            T = np.asarray(teacher, float).reshape(steps, m)
            tt = TimedArray(T, dt=dt, name="compare_teacher")
            post.namespace["compare_teacher"] = tt
            post.run_regularly("I = compare_teacher(t, i)", when="start", name="compare_clamp")
        syn = build.synapses(rule, pre, post, connect={"i": pre_i, "j": post_j}, init=values,
                             name="compare_synapses")
        syn.lr = float(lr)
        names = [weight, *record]
        mon = StateMonitor(syn, names, record=np.arange(m * d), dt=stride * dt, name="compare_monitor")
        objects += [syn, mon]
        sim.run(steps * dt_s * second, *objects)
        out = {}
        for name in names:
            rec = np.asarray(getattr(mon, name)[:], float)          # (m*d, T-1)
            end = np.asarray(getattr(syn, name)[:], float)
            full = np.concatenate([rec, end[:, None]], axis=1)      # (m*d, T)
            out["w" if name == weight else name] = full.T.reshape(-1, m, d)
        out["t"] = np.arange(out["w"].shape[0]) * stride * dt_s
        out["timings"] = dict(sim.timings)
    return out


class RuleUpdate:
    r"""The update :math:`D` of a rate rule's weight, read from its spec, as a numpy function.

    ``D`` is the right-hand side of the spec's weight equation with ``lr = 1``, ``clip()``
    dropped and the parameters substituted; it reads the partner variables (``r_pre``,
    ``r_post``, ``xhat_pre``, ...) and the rule's own variables (``w``, ``theta_M``).

    Attributes
    ----------
    expression : sympy.Expr
    arguments : list of str
    """

    def __init__(self, rule):
        import sympy
        from brian2.parsing.sympytools import str_to_sympy

        self.rule = rule
        eqs = rule.equations
        self.weight = weight = rule.spec.data.get("weight", "w")
        if weight not in eqs.names or eqs[weight].type != "differential equation":
            raise BiodynError(f"{rule.spec.name}: the weight {weight} has no differential equation "
                              "(not a rate rule)")
        expr = str_to_sympy(str(eqs[weight].expr))
        expr = expr.replace(lambda e: getattr(e.func, "__name__", "") == "clip", lambda e: e.args[0])
        params = _floats(rule.namespace)
        sub = {s: params[s.name] for s in expr.free_symbols if s.name in params}
        sub.update({s: 1 for s in expr.free_symbols if s.name == "lr"})
        expr = sympy.simplify(expr.xreplace(sub))
        self.expression = expr
        self.arguments = sorted(s.name for s in expr.free_symbols)
        self._fn = sympy.lambdify([sympy.Symbol(a) for a in self.arguments],
                                  expr.xreplace({s: sympy.Symbol(s.name) for s in expr.free_symbols}),
                                  "numpy")

    def __call__(self, **values):
        missing = [a for a in self.arguments if a not in values]
        if missing:
            raise BiodynError(f"{self.rule.spec.name}: its update reads {missing}, not given")
        arrays = [np.asarray(values[a], float) for a in self.arguments]
        out = self._fn(*arrays)
        return np.asarray(out, float) + np.zeros(np.broadcast(*arrays).shape)

    def expected(self, X, W, Y=None, weights=None, **other):
        """:math:`\\mathrm E_n[D]` over the samples ``X`` (``(N, d)``) at weights ``W``
        (``(m, d)``), per synapse (``(m, d)``); ``weights`` (``(N,)``, summing to 1) are the
        samples' probabilities (default: equal).

        ``Y`` (``(N, m)``) are the postsynaptic rates (default :math:`y = Wx`, the linear
        neurons); ``xhat_pre`` is the back-projection :math:`W^{\\top}y`; ``other`` gives
        values of the rule's other variables (scalars or ``(m, d)``).
        """
        X = np.asarray(X, float)
        W = np.atleast_2d(np.asarray(W, float))
        Y = X @ W.T if Y is None else np.asarray(Y, float).reshape(len(X), -1)
        values = {"r_pre": X[:, None, :], "r_post": Y[:, :, None], self.weight: W[None],
                  "xhat_pre": (Y @ W)[:, None, :]}
        for name, v in other.items():
            values[name] = np.asarray(v, float)[None] if np.ndim(v) == 2 else np.asarray(v, float)
        D = self(**{a: values[a] for a in self.arguments})
        if weights is None:
            return D.mean(axis=0)
        return np.tensordot(np.asarray(weights, float), D, axes=1)


def _floats(namespace):
    return {k: float(np.asarray(v)) for k, v in namespace.items()
            if np.ndim(np.asarray(v)) == 0 and np.asarray(v).dtype.kind in "fiu"}


def rule_update(rule):
    """:class:`RuleUpdate` of a resolved rate rule."""
    return RuleUpdate(rule)
