r"""Averaged fields of rate-based rules, derived from the rule's and the neuron's own equations.

A rate rule between presynaptic rates :math:`x_i` and a postsynaptic rate :math:`y` reads (the
rule spec's Brian2 equations, parsed by sympy, clipping dropped: weights inside their bounds)

.. math::

    \frac{dw_i}{dt} = D(x_i, y, w_i, z), \qquad \frac{dz}{dt} = R(x_i, y, z),

where :math:`z` are the rule's other clock-driven variables (BCM's sliding threshold
:math:`\theta_M`). The postsynaptic rate is the neuron spec's instantaneous rate
:math:`y = F(I)` of the summed input :math:`I = \sum_j w_j x_j` (the rule's own ``(summed)``
transmission). With a new input draw every time step and the weights slow compared with the
input statistics, the averaged field is

.. math::

    f_i(w) = \mathrm E_x\,[D(x_i, F(w^\top x), w_i, z)],

an average over the pair :math:`(x_i, I)` (see :mod:`biodyn.flow._inputs`). The other variables
are read one of two ways (``aux``):

* ``"adiabatic"`` (default) — fast compared with the weights and slow compared with the inputs,
  :math:`z` sits at the root of its own average, :math:`\mathrm E_x[R(x_i, y, z^*)] = 0`
  (:math:`R` must be affine in :math:`z`); for BCM :math:`\theta_M^* = \mathrm E[y^2]`
  (Intrator & Cooper 1992);
* ``"state"`` — :math:`z` is a state variable of the flow, :math:`\dot z = \mathrm E_x[R]`
  (a threshold that is not faster than the weights). A variable whose :math:`R` reads neither
  :math:`x_i` nor :math:`w_i` (all copies of a postsynaptic variable obey one equation) is one
  state variable, shared by the synapses of the neuron.

The learning rate ``lr`` is 1 (the flow of the published rule); a simulation with ``lr`` moves
:math:`lr` times as fast.
"""

from __future__ import annotations

import numpy as np

from .. import build
from ..errors import SpecError
from ._reduction import ReductionError, _parameters, _sym, _to_sympy

__all__ = ["RateRule"]


def _lambdify(args, expr):
    import sympy

    fn = sympy.lambdify(args, expr, "numpy")

    def call(*values):
        out = fn(*values)
        return np.asarray(out, dtype=float) + np.zeros(np.broadcast(*values).shape)

    return call


class RateRule:
    """A rate rule and its postsynaptic rate neuron, read as sympy and compiled to numpy.

    Parameters
    ----------
    rule : Resolved
        The synapse model (clock-driven weight equation reading ``r_pre`` and ``r_post``).
    neuron : Resolved
        The postsynaptic rate neuron; its rate ``r`` must be a function of its input ``I``
        (the ``instantaneous`` dynamics of the catalog's ``rate`` neuron).

    Attributes
    ----------
    drift, aux_rhs : sympy.Expr, dict
        :math:`D` and :math:`R` per other variable, parameters as symbols.
    gain : sympy.Expr
        :math:`F(I)`.
    """

    def __init__(self, rule, neuron):
        import sympy

        self.rule, self.neuron = rule, neuron
        spec = rule.spec
        eqs = rule.equations
        self.weight = weight = spec.data.get("weight", "w")
        if weight not in eqs.names or eqs[weight].type != "differential equation":
            raise ReductionError(f"{spec.name}: the weight {weight} has no differential equation "
                                 "(not a rate rule)")
        lr = {_sym("lr"): 1}
        params = _parameters(rule)
        psub = {_sym(k): v for k, v in params.items()}
        self.drift = _to_sympy(str(eqs[weight].expr)).xreplace(lr)
        self.drift = sympy.simplify(self.drift)
        self.aux = [n for n in eqs.names if n != weight and eqs[n].type == "differential equation"]
        self.aux_rhs = {n: _to_sympy(str(eqs[n].expr)).xreplace(lr) for n in self.aux}
        self.summed = None
        for n in eqs.names:
            if eqs[n].type == "subexpression" and "summed" in eqs[n].flags:
                self.summed = (n, _to_sympy(str(eqs[n].expr)))
        if self.summed is not None:
            target, expr = self.summed
            if sympy.simplify(expr - _sym(weight) * _sym("r_pre")) != 0:
                raise ReductionError(f"{spec.name}: the summed input {target} = {expr} is not "
                                     f"{weight}*r_pre (the flow assumes I = sum_j w_j x_j)")
        known = {"r_pre", "r_post", weight, *self.aux}
        for name, expr in [(weight, self.drift)] + list(self.aux_rhs.items()):
            free = {s.name for s in expr.free_symbols} - known - set(params)
            if free:
                raise ReductionError(f"{spec.name}: d{name}/dt reads {sorted(free)}, which the "
                                     "averaged flow cannot supply (it knows r_pre, r_post, the "
                                     "rule's variables and parameters)")
        # the neuron: r = F(I)
        neqs = neuron.equations
        if "r" not in neqs.names or neqs["r"].type != "subexpression":
            raise ReductionError(
                f"{neuron.spec.name}: the averaged flow needs an instantaneous rate r = F(I) "
                "(the rate neuron's variant dynamics = instantaneous); a rate with dynamics "
                "would low-pass the inputs")
        nparams = _parameters(neuron)
        self.gain = _to_sympy(str(neqs["r"].expr))
        free = {s.name for s in self.gain.free_symbols} - {"I"} - set(nparams)
        if free:
            raise ReductionError(f"{neuron.spec.name}: r = {self.gain} reads {sorted(free)} "
                                 "besides its input I")
        self.parameters = params
        self.neuron_parameters = nparams
        # compiled pieces (parameters substituted)
        x, y, w = _sym("r_pre"), _sym("r_post"), _sym(weight)
        zs = [_sym(n) for n in self.aux]
        self._args = [x, y, w] + zs
        self._D = _lambdify(self._args, self.drift.xreplace(psub))
        self._F = _lambdify([_sym("I")], self.gain.xreplace({_sym(k): v for k, v in nparams.items()}))
        self._aux_fn, self._aux_affine, self.shared = {}, {}, {}
        for n in self.aux:
            R = self.aux_rhs[n].xreplace(psub)
            z = _sym(n)
            self._aux_fn[n] = _lambdify(self._args, R)
            if sympy.diff(R, z, 2) == 0:
                a = R.xreplace({z: 0})
                b = sympy.diff(R, z)
                self._aux_affine[n] = (_lambdify(self._args, a), _lambdify(self._args, b))
            self.shared[n] = not ({s.name for s in R.free_symbols} & {"r_pre", weight})

    @classmethod
    def applies(cls, rule):
        """Whether ``rule`` (Resolved) is a rate rule (its weight is clock-driven, reading r_pre)."""
        eqs = rule.equations
        weight = rule.spec.data.get("weight", "w")
        if weight not in eqs.names or eqs[weight].type != "differential equation":
            return False
        names = {s.name for s in _to_sympy(str(eqs[weight].expr)).free_symbols}
        return "r_pre" in names

    # -- evaluation -------------------------------------------------------------
    def output(self, I):
        """The postsynaptic rate :math:`F(I)`."""
        return self._F(I)

    def adiabatic(self, inputs, w):
        """``{z: z*}`` at weight vectors ``w`` (``(B, n)``): shape ``(B,)`` for shared
        variables, ``(B, n)`` for per-synapse ones."""
        X, I, q = inputs.pair_nodes(w)
        Y = self._F(I)
        W = np.broadcast_to(w[:, :, None], X.shape)
        zeros = [np.zeros(X.shape) for _ in self.aux]
        out = {}
        for n in self.aux:
            if n not in self._aux_affine:
                raise ReductionError(f"{self.rule.spec.name}: d{n}/dt is not affine in {n}; its "
                                     "adiabatic value has no closed form (use aux='state')")
            a_fn, b_fn = self._aux_affine[n]
            a = (a_fn(X, Y, W, *zeros) * q).sum(-1)
            b = (b_fn(X, Y, W, *zeros) * q).sum(-1)
            if np.any(b >= 0):
                raise ReductionError(f"{self.rule.spec.name}: {n} does not relax to a fixed point "
                                     f"(d(d{n}/dt)/d{n} >= 0)")
            z = -a / b
            out[n] = z[:, 0] if self.shared[n] else z
        return out

    def field(self, inputs, w, z=None):
        """:math:`f(w)` (``(B, n)``) with the other variables at ``z`` (``{name: array}``;
        adiabatic values if ``None``)."""
        w = np.atleast_2d(np.asarray(w, dtype=float))
        if z is None:
            z = self.adiabatic(inputs, w) if self.aux else {}
        X, I, q = inputs.pair_nodes(w)
        Y = self._F(I)
        W = np.broadcast_to(w[:, :, None], X.shape)
        Z = [self._broadcast(z[n], X.shape) for n in self.aux]
        return (self._D(X, Y, W, *Z) * q).sum(-1)

    def aux_field(self, inputs, w, z):
        """:math:`\\dot z = \\mathrm E[R]` per other variable (``{name: (B,) or (B, n)}``)."""
        w = np.atleast_2d(np.asarray(w, dtype=float))
        X, I, q = inputs.pair_nodes(w)
        Y = self._F(I)
        W = np.broadcast_to(w[:, :, None], X.shape)
        Z = [self._broadcast(z[n], X.shape) for n in self.aux]
        out = {}
        for n in self.aux:
            r = (self._aux_fn[n](X, Y, W, *Z) * q).sum(-1)
            out[n] = r[:, 0] if self.shared[n] else r
        return out

    @staticmethod
    def _broadcast(value, shape):
        v = np.asarray(value, dtype=float)
        if v.ndim == 1:      # (B,): shared by the synapses
            v = v[:, None, None]
        elif v.ndim == 2:    # (B, n)
            v = v[:, :, None]
        return np.broadcast_to(v, shape)

    def describe(self):
        return (f"d{self.weight}/dt = {self.drift}" + "".join(
            f"; d{n}/dt = {r}" for n, r in self.aux_rhs.items()) + f"; r_post = {self.gain}")


def rate_neuron(network, file="<protocol>"):
    """The postsynaptic rate neuron of a scenario (``network.neuron`` etc.), instantaneous."""
    name = network.get("neuron", "rate")
    variants = dict(network.get("neuron_variants", {}) or {})
    variants.setdefault("dynamics", "instantaneous")
    try:
        return build.resolve(name, network.get("neuron_params"), network.get("neuron_set"), variants)
    except SpecError as exc:
        raise SpecError(file, "network.neuron", exc.expected, exc.found, exc.hint) from None
