"""Rate reductions of plasticity rules: the expected drift of w under stationary inputs.

For a spike-based rule driven by independent, stationary Poisson trains at rates
``nu_pre``, ``nu_post`` (and ``nu_mod`` for a neuromodulator), the expected weight drift is

.. math::

    \\Big\\langle \\frac{dw}{dt} \\Big\\rangle = \\mathrm{E}[f_w]
        + \\sum_{e \\in \\{pre, post, mod\\}} \\nu_e \\, \\mathrm{E}[\\Delta w_e]

where :math:`f_w` is the continuous drift of w between events and :math:`\\Delta w_e` the
jump at an event of type e, both read from the spec's own code (Brian2 equations and
``on_pre``/``on_post``/``on_modulator`` statements, parsed into sympy with
``brian2.parsing.sympytools.str_to_sympy`` and executed symbolically). Expectations at an
event of a Poisson train equal stationary expectations (Poisson arrivals see time averages),
so for each trace X with linear relaxation :math:`dX/dt = (X_\\infty - X)/\\tau` and affine
jumps :math:`X \\to a_e X + b_e`, the stationary mean solves

.. math::

    0 = (X_\\infty - m_X)/\\tau + \\sum_e \\nu_e \\big((a_e - 1)\\, m_X + \\mathrm{E}[b_e]\\big),

which gives, e.g., :math:`m = \\nu\\tau` for an all-to-all trace (jump +1) and
:math:`m = \\nu\\tau/(1 + \\nu\\tau)` for a nearest-spike trace (set to 1); a trace read at its
own neuron's spike before its update has the stationary mean, after it :math:`a m + b`.
Products of random variables factorise when the variables are driven by disjoint,
independent event trains (a presynaptic with a postsynaptic trace); anything else would need
second moments and is refused (``closure="exact"``) or factorised with ``exact = False``
(``closure="mean_field"``; the default ``"auto"`` does so only where needed and says so).

For the pair rule (all-to-all, additive) this gives
:math:`\\nu_{pre}\\nu_{post}(A_+\\tau_+ - A_-\\tau_-)`; for the triplet rule a BCM-like
rule with a threshold on :math:`\\nu_{post}` (Pfister & Gerstner 2006, Eq. 5).

Assumptions (recorded in every :class:`Reduction`): independent stationary Poisson trains;
the weight frozen during the averaging (its value ``w`` is an argument) and inside its
bounds (clipping ignored); ``lr = 1``; continuous time (on the simulation grid, coincident
pre and post spikes in one step add a bias of order ``nu_pre*nu_post*dt``).

For rate-based rules the reduction is the rule's own drift at constant rates
``r_pre``, ``r_post`` (other clock-driven variables, such as BCM's threshold, at their
fixed point). For the voltage-based rule of Clopath et al. (2010) it is an
isolated-spike approximation built from the postsynaptic neuron spec's own spike response
(see :func:`_voltage_reduction`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from .. import build
from ..errors import BiodynError

__all__ = ["rate_reduction", "Reduction", "ReductionError", "REDUCERS"]

_EVENTS = ("pre", "post", "mod")
_EVENT_KEYS = {"pre": "on_pre", "post": "on_post", "mod": "on_modulator"}
_RATE_NAMES = {"pre": "nu_pre", "post": "nu_post", "mod": "nu_mod"}


class ReductionError(BiodynError, NotImplementedError):
    """A rule whose average cannot be derived under the stated assumptions."""


@dataclass(frozen=True)
class Reduction:
    """The rate reduction of one rule with one parameter set.

    Attributes
    ----------
    model, parameter_set : str
    variants : Mapping[str, str]
    arguments : Mapping[str, str]
        Argument name -> unit (``"Hz"`` for rates of spike trains, ``"1"`` otherwise).
    expression : sympy.Expr
        The drift ``<dw/dt>`` in 1/second, parameters substituted (SI values).
    symbolic : sympy.Expr
        The same with the parameters as symbols.
    means : Mapping[str, sympy.Expr]
        Stationary means of the rule's state variables (symbolic in the arguments).
    event_means : Mapping[str, Mapping[str, sympy.Expr]]
        Means of variables just after an event (``event_means["pre"]["r"]`` is the mean
        release of a short-term plasticity synapse per presynaptic spike).
    exact : bool
        ``False`` where an approximation beyond the stated assumptions was made.
    assumptions : tuple of str
    """

    model: str
    parameter_set: str | None
    variants: Mapping[str, str]
    arguments: Mapping[str, str]
    expression: Any
    symbolic: Any
    parameters: Mapping[str, float]
    means: Mapping[str, Any] = field(default_factory=dict)
    event_means: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    exact: bool = True
    assumptions: tuple = ()
    conditional: Any = None
    conditional_arguments: Mapping[str, str] = field(default_factory=dict)

    def drift(self, **arguments):
        """``<dw/dt>`` (a Brian2 quantity in 1/second) at the given arguments.

        Rates of spike trains are quantities in Hz (``nu_pre=10*Hz``); rates of rate
        neurons and the weight are numbers. Arrays broadcast.
        """
        from brian2 import Hz

        return self._evaluate(self.expression, arguments) * Hz

    __call__ = drift

    def drift_given(self, **arguments):
        """The drift given measured statistics (``conditional_arguments``), where the rule
        has an exact average conditional on them (the voltage-based rule: presynaptic
        averaging given the postsynaptic voltage statistics). Numbers are SI."""
        from brian2 import Hz

        if self.conditional is None:
            raise ReductionError(f"{self.model}: no conditional average")
        return self._evaluate(self.conditional, arguments, self.conditional_arguments) * Hz

    def mean(self, variable, **arguments):
        """The stationary mean of a state variable (a number) at the given arguments."""
        return self._evaluate(self.means[variable], arguments)

    def event_mean(self, event, variable, **arguments):
        """The mean of ``variable`` just after an event of type ``event``."""
        return self._evaluate(self.event_means[event][variable], arguments)

    def _evaluate(self, expr, arguments, declared=None):
        import sympy

        declared = self.arguments if declared is None else declared
        values = []
        for name, unit in declared.items():
            if name not in arguments:
                if name == "w" or sympy.Symbol(name) not in expr.free_symbols:
                    if sympy.Symbol(name) in expr.free_symbols:
                        raise TypeError(f"drift of {self.model} needs {name}=")
                    values.append(0.0)
                    continue
                raise TypeError(f"drift of {self.model} needs {name}= ({unit})")
            values.append(_as_float(arguments[name], unit, name))
        extra = set(arguments) - set(declared)
        if extra:
            raise TypeError(f"unknown argument(s) {sorted(extra)} for {self.model}; "
                            f"expected {list(declared)}")
        expr = expr.subs({sympy.Symbol(k): v for k, v in self.parameters.items()})
        fn = sympy.lambdify([sympy.Symbol(n) for n in declared], expr, "numpy")
        return np.asarray(fn(*values), dtype=float) + 0.0 * np.asarray(values[0] if values else 0.0)


def _as_float(value, unit, name):
    from brian2.units.fundamentalunits import DIMENSIONLESS, Quantity, get_dimensions

    if unit == "Hz":
        if not isinstance(value, Quantity) or get_dimensions(value) != get_dimensions(1.0 / _second()):
            raise BiodynError(f"{name}: expected a rate in Hz (e.g. 10*Hz), found {value!r}")
        return np.asarray(value, dtype=float)
    if unit == "1":
        if isinstance(value, Quantity) and get_dimensions(value) is not DIMENSIONLESS:
            raise BiodynError(f"{name}: expected a dimensionless number, found {value!r}")
        return np.asarray(value, dtype=float)
    if isinstance(value, Quantity):  # a statistic with a unit: check it, use SI
        from .._quantity import parse_unit

        if get_dimensions(value) != parse_unit(unit)[0]:
            raise BiodynError(f"{name}: expected a quantity in {unit}, found {value!r}")
    return np.asarray(value, dtype=float)


def _second():
    from brian2 import second

    return second


# --------------------------------------------------------------------------
# Entry point and registry
# --------------------------------------------------------------------------

#: Reducers by model name (the default is chosen from the spec's form).
REDUCERS: dict[str, Callable] = {}


def rate_reduction(model, params=None, *, overrides=None, variants=None, closure="auto",
                   **options):
    """The expected drift of a plasticity rule as a function of input statistics.

    Parameters
    ----------
    model : str or ModelSpec or Resolved
        A synapse model of the catalog (``"stdp_pair"``, ``"stdp_triplet"``, ``"oja"``...).
    params, overrides, variants
        As in :func:`biodyn.build.resolve`.
    closure : {"auto", "exact", "mean_field"}
        How products of dependent random variables are averaged: refused
        (``"exact"``), factorised (``"mean_field"``), or factorised only where needed with
        ``exact = False`` (``"auto"``).
    **options
        Reducer-specific options (the voltage-based rule takes ``neuron``,
        ``neuron_params``, ``dt``).

    Returns
    -------
    Reduction
        ``reduction.drift(nu_pre=10*Hz, nu_post=20*Hz, w=0.5)`` and its sympy
        ``reduction.expression``.

    Examples
    --------
    >>> from brian2 import Hz
    >>> red = rate_reduction("stdp_pair", "song_2000")
    >>> float(red.drift(nu_pre=10*Hz, nu_post=10*Hz))  # 100 * (0.005*0.02 - 0.00525*0.02)
    -0.0005
    """
    if closure not in ("auto", "exact", "mean_field"):
        raise ValueError("closure must be 'auto', 'exact' or 'mean_field'")
    resolved = build.resolve(model, params, overrides, variants)
    spec = resolved.spec
    if spec.kind != "synapse":
        raise BiodynError(f"rate_reduction needs a synapse (plasticity) model, not the "
                          f"{spec.kind} {spec.name!r}")
    reducer = REDUCERS.get(spec.name)
    if reducer is None:
        reducer = _rate_rule_reduction if _is_rate_rule(resolved) else _event_reduction
    return reducer(resolved, closure=closure, **options)


def _parameters(resolved):
    from brian2.units.fundamentalunits import Quantity

    return {k: float(np.asarray(v)) if isinstance(v, Quantity) else float(v)
            for k, v in resolved.namespace.items()}


def _sym(name):
    import sympy

    return sympy.Symbol(name, real=True)


def _to_sympy(text):
    """Brian2 code text -> sympy, with real symbols and clip() dropped (inside bounds)."""
    import sympy
    from brian2.parsing.sympytools import str_to_sympy

    expr = str_to_sympy(text)
    expr = expr.replace(lambda e: getattr(e.func, "__name__", "") == "clip", lambda e: e.args[0])
    # a same-step indicator int(t < t_mark) (e.g. stdp_pair's coincidence = "nest") is 0 in
    # continuous time: no two events share an instant
    expr = expr.replace(lambda e: getattr(e.func, "__name__", "") == "int_" and len(e.args) == 1
                        and isinstance(e.args[0], sympy.core.relational.Relational)
                        and any(s.name == "t" for s in e.args[0].free_symbols),
                        lambda e: sympy.Integer(0))
    return expr.xreplace({s: _sym(s.name) for s in expr.free_symbols})


def _finish(resolved, arguments, symbolic, means, event_means, exact, assumptions):
    import sympy

    params = _parameters(resolved)
    numeric = sympy.simplify(symbolic.subs({_sym(k): v for k, v in params.items()}))
    numeric = numeric.xreplace({s: sympy.Symbol(s.name) for s in numeric.free_symbols})
    plain = {}
    for k, v in params.items():
        plain[k] = v

    def unreal(expr):
        return expr.xreplace({s: sympy.Symbol(s.name) for s in expr.free_symbols})

    return Reduction(
        model=resolved.spec.name, parameter_set=resolved.parameter_set,
        variants=dict(resolved.variants), arguments=arguments, expression=numeric,
        symbolic=unreal(symbolic), parameters=plain,
        means={k: unreal(v) for k, v in means.items()},
        event_means={e: {k: unreal(v) for k, v in d.items()} for e, d in event_means.items()},
        exact=exact, assumptions=tuple(assumptions))


# --------------------------------------------------------------------------
# Spike-based rules: symbolic execution of the event code
# --------------------------------------------------------------------------

_STATEMENT = re.compile(r"^\s*([A-Za-z_]\w*)\s*(\+=|-=|\*=|/=|=)\s*(.+?)\s*$")


def _statements(code):
    out = []
    for line in (code or "").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        m = _STATEMENT.match(line)
        if not m:
            raise ReductionError(f"cannot read the statement {line!r}")
        out.append(m.groups())
    return out


def _execute(statements, state, t_value):
    """Run statements on a dict var -> sympy expr (values before the event)."""
    state = dict(state)
    for var, op, text in statements:
        expr = _to_sympy(text).xreplace({**{_sym(k): v for k, v in state.items()},
                                         _sym("t"): t_value})
        old = state.get(var, _sym(var))
        if op == "=":
            state[var] = expr
        elif op == "+=":
            state[var] = old + expr
        elif op == "-=":
            state[var] = old - expr
        elif op == "*=":
            state[var] = old * expr
        else:
            state[var] = old / expr
    return state


def _split_advance(statements):
    """(advance, rest): the leading block that ends with ``<clock> = t`` (if any)."""
    for k, (var, op, text) in enumerate(statements):
        if op == "=" and text.strip() == "t":
            return statements[:k + 1], statements[k + 1:], var
    return [], statements, None


def _event_reduction(resolved, closure="auto"):
    import sympy

    spec = resolved.spec
    eqs = resolved.equations
    weight = spec.data.get("weight", "w")
    codes = {e: resolved.code.get(_EVENT_KEYS[e]) for e in _EVENTS}
    codes = {e: c for e, c in codes.items() if c and c.strip()}
    if not codes:
        raise ReductionError(f"{spec.name}: no event code to average")
    variables = [n for n in eqs.names if eqs[n].type in ("differential equation", "parameter")]
    rates = {e: _sym(_RATE_NAMES[e]) for e in codes}
    delta = sympy.Symbol("Delta", positive=True)

    # continuous dynamics: event-driven ODEs, or derived from a closed-form advance block
    flow = {}
    for name in variables:
        eq = eqs[name]
        if eq.type == "differential equation":
            if "clock-driven" in eq.flags or "event-driven" not in eq.flags:
                raise ReductionError(f"{spec.name}: {name} is integrated every time step; the "
                                     "event reduction needs event-driven variables")
            flow[name] = _to_sympy(str(eq.expr))
    clock = None
    jumps = {}
    for e, code in codes.items():
        advance, rest, clk = _split_advance(_statements(code))
        state0 = {v: _sym(v) for v in variables}
        if advance:
            clock = clk
            moved = _execute(advance, state0, _sym(clk) + delta)
            for v in variables:
                if v == clk:
                    continue
                d = sympy.diff(moved[v], delta).subs(delta, 0)
                if d != 0:
                    flow.setdefault(v, sympy.simplify(d))
            after = _execute(advance + rest, state0, _sym(clk))
        else:
            after = _execute(rest, state0, _sym("t"))
        jumps[e] = {v: sympy.simplify(after[v] - _sym(v)) for v in after if v != clk}
    lr_subs = {_sym("lr"): 1}
    flow = {k: v.xreplace(lr_subs) for k, v in flow.items()}
    jumps = {e: {k: v.xreplace(lr_subs) for k, v in d.items()} for e, d in jumps.items()}

    frozen = {weight, "lr"} | ({clock} if clock else set())
    random = [v for v in variables if v not in frozen and v in
              set(flow) | {k for d in jumps.values() for k, j in d.items() if j != 0}]
    rsyms = {v: _sym(v) for v in random}

    # drivers: the event trains a variable depends on
    drivers = {v: {e for e in jumps if jumps[e].get(v, 0) != 0} for v in random}
    changed = True
    while changed:
        changed = False
        for v in random:
            deps = set()
            for expr in [flow.get(v, 0)] + [jumps[e].get(v, 0) for e in jumps]:
                deps |= {s.name for s in sympy.sympify(expr).free_symbols if s.name in rsyms and s.name != v}
            new = set().union(drivers[v], *(drivers[d] for d in deps))
            if new != drivers[v]:
                drivers[v] = new
                changed = True

    approximations = []
    msym = {v: sympy.Symbol(f"m_{v}", real=True) for v in random}

    def expect(expr, where):
        expr = sympy.expand(sympy.sympify(expr))
        total = 0
        for term in sympy.Add.make_args(expr):
            powers = term.as_powers_dict()
            rv = {s.name: p for s, p in powers.items() if isinstance(s, sympy.Symbol) and s.name in rsyms}
            rest = term
            for name, p in rv.items():
                rest = rest / rsyms[name] ** p
            if any(s.name in rsyms for s in sympy.sympify(rest).free_symbols):
                raise ReductionError(f"{spec.name}: {term} in {where} is not a polynomial in the "
                                     "rule's state variables")
            names = sorted(rv)
            dependent = [(a, b) for i, a in enumerate(names) for b in names[i + 1:]
                         if drivers[a] & drivers[b]]
            squared = [a for a, p in rv.items() if p != 1]
            if dependent or squared:
                what = ", ".join([f"{a}*{b}" for a, b in dependent] + [f"{a}**{rv[a]}" for a in squared])
                if closure == "exact":
                    raise ReductionError(f"{spec.name}: the average of {what} in {where} needs "
                                         "second moments (the variables share an event train)")
                approximations.append(f"E[{what}] in {where} factorised (mean field)")
            prod = 1
            for name, p in rv.items():
                prod *= msym[name] ** p
            total += rest * prod
        return total

    # stationary means
    equations = []
    for v in random:
        x = rsyms[v]
        f = sympy.expand(flow.get(v, 0))
        alpha = sympy.diff(f, x)
        if alpha.free_symbols & set(rsyms.values()) or sympy.diff(f, x, 2) != 0:
            raise ReductionError(f"{spec.name}: the dynamics of {v} between events are not a "
                                 "linear relaxation")
        eq_ = alpha * msym[v] + expect(f - alpha * x, f"d{v}/dt")
        for e in jumps:
            j = sympy.expand(jumps[e].get(v, 0))
            eq_ += rates[e] * expect(j, f"the jump of {v} at a {e} event")
        equations.append(sympy.Eq(eq_, 0))
    solution = sympy.solve(equations, list(msym.values()), dict=True) if equations else [{}]
    if not solution:
        raise ReductionError(f"{spec.name}: no stationary means")
    if len(solution) > 1:  # mean-field can have several roots: the one with all means finite >= -inf
        solution = [s for s in solution if all(val.is_real is not False for val in s.values())]
        approximations.append("several stationary solutions of the mean-field equations; the first kept")
    sol = solution[0]
    means = {v: sympy.simplify(sol[msym[v]]) for v in random}

    def average(expr, where):
        return sympy.simplify(expect(expr, where).xreplace({msym[v]: means[v] for v in random}))

    drift = average(flow.get(weight, 0), f"d{weight}/dt")
    for e in jumps:
        drift += rates[e] * average(jumps[e].get(weight, 0), f"the jump of {weight} at a {e} event")
    event_means = {}
    for e in jumps:
        event_means[e] = {}
        for v, j in jumps[e].items():
            if v in frozen:
                continue
            event_means[e][v] = average(_sym(v) + j, f"{v} after a {e} event")
    arguments = {_RATE_NAMES[e]: "Hz" for e in codes}
    if _sym(weight) in sympy.sympify(drift).free_symbols:
        arguments[weight] = "1"
    assumptions = ["independent stationary Poisson trains at " + ", ".join(
        _RATE_NAMES[e] for e in codes), f"{weight} frozen during the averaging and inside its "
        "bounds (clipping ignored)", "lr = 1 (the drift scales with lr)",
        "continuous time (same-step coincidences on the grid add O(nu_pre*nu_post*dt))"]
    assumptions += sorted(set(approximations))
    return _finish(resolved, arguments, sympy.simplify(drift), means, event_means,
                   not approximations, assumptions)


# --------------------------------------------------------------------------
# Rate-based rules: the drift itself at constant rates
# --------------------------------------------------------------------------


def _is_rate_rule(resolved):
    eqs = resolved.equations
    weight = resolved.spec.data.get("weight", "w")
    return (weight in eqs.names and eqs[weight].type == "differential equation"
            and "clock-driven" in eqs[weight].flags
            and "r_pre" in {s.name for s in _to_sympy(str(eqs[weight].expr)).free_symbols})


def _rate_rule_reduction(resolved, closure="auto"):
    import sympy

    eqs = resolved.equations
    weight = resolved.spec.data.get("weight", "w")
    subs = {_sym("lr"): 1}
    drift = sympy.simplify(_to_sympy(str(eqs[weight].expr)).xreplace(subs))
    others = [n for n in eqs.names if n != weight and eqs[n].type == "differential equation"]
    means = {}
    for name in others:
        rhs = _to_sympy(str(eqs[name].expr)).xreplace(subs)
        roots = sympy.solve(sympy.Eq(rhs, 0), _sym(name))
        if len(roots) != 1:
            raise ReductionError(f"{resolved.spec.name}: {name} has no unique fixed point")
        means[name] = roots[0]
    drift = sympy.simplify(drift.xreplace({_sym(k): v for k, v in means.items()}))
    arguments = {"r_pre": "1", "r_post": "1"}
    if _sym(weight) in drift.free_symbols:
        arguments[weight] = "1"
    leftover = {s.name for s in drift.free_symbols} - set(arguments) - set(resolved.namespace)
    if leftover:
        raise ReductionError(f"{resolved.spec.name}: the drift depends on {sorted(leftover)}")
    assumptions = ["constant presynaptic and postsynaptic rates r_pre, r_post",
                   f"{weight} inside its bounds (clipping ignored)", "lr = 1"]
    if others:
        assumptions.append(", ".join(others) + " at the fixed point for these rates")
    return _finish(resolved, arguments, drift, means, {}, True, assumptions)


# --------------------------------------------------------------------------
# The voltage-based rule of Clopath et al. (2010)
# --------------------------------------------------------------------------


_RESPONSES = {}


def _spike_response(neuron, neuron_params, dt, duration, kick):
    """What a synapse reads from one postsynaptic neuron after one forced spike from rest.

    Cached per (neuron, parameter values, dt, duration): the run takes seconds.
    """
    key = (neuron.spec.name, str(neuron.spec.path), tuple(sorted((k, repr(v)) for k, v in
                                                          neuron.namespace.items())),
           tuple(sorted(neuron.variants.items())), repr(dt), repr(duration), repr(kick))
    if key not in _RESPONSES:
        _RESPONSES[key] = _simulate_response(neuron, neuron_params, dt, duration, kick)
    return {k: v.copy() for k, v in _RESPONSES[key].items()}


def _simulate_response(neuron, neuron_params, dt, duration, kick):
    from brian2 import SpikeGeneratorGroup, StateMonitor, Synapses, ms, second, volt

    from ..build import Simulation

    with Simulation("numpy", dt=dt, seed=0, check_finite=False) as sim:
        post = build.neurons(neuron, 1, neuron_params, name="neuron")
        v_spike = float(build.resolved_of(post).namespace["v_spike"] / volt)
        gen = SpikeGeneratorGroup(1, [0], [kick], name="kick_source")
        kick_syn = Synapses(gen, post, on_pre=f"vm_post = {v_spike + 1e-3!r}*volt", name="kick")
        kick_syn.connect()
        names = ["v", "u_minus_read", "u_plus_read", "u_plus", "u_homeo"]
        mon = StateMonitor(post, names, record=0, when="thresholds", order=-1, name="reads")
        sim.run(duration, post, gen, kick_syn, mon)
        trace = {n: np.asarray(getattr(mon, n)[0], dtype=float) for n in names}
        t = np.asarray(mon.t / second)
    keep = t >= float(kick / second)
    return {n: a[keep] for n, a in trace.items()}


def _voltage_reduction(resolved, closure="auto", neuron="adex_clopath", neuron_params=None,
                       dt=None, duration=None):
    """Clopath et al. (2010) averaged over independent presynaptic and postsynaptic trains.

    With presynaptic Poisson spikes at ``nu_pre`` independent of the postsynaptic voltage,
    E[xbar] = nu_pre exactly and LTD samples the voltage at independent times, so

    .. math::

        \\langle \\dot w \\rangle = \\nu_{pre}\\big(A_{LTP}\\langle[v-\\theta_+]_+
        [\\bar u_+ - \\theta_-]_+\\rangle - A_{LTD} H \\langle[\\bar u_- - \\theta_-]_+\\rangle\\big).

    The voltage averages are taken in an isolated-spike approximation: postsynaptic spikes
    at Poisson times ``nu_post``, each forced from rest by setting vm just above v_spike,
    each followed by the neuron spec's own response (simulated once), responses adding
    linearly (Campbell's theorem), to second order in ``nu_post``:
    :math:`\\langle[\\bar u_- - \\theta_-]_+\\rangle = \\nu K_-`,
    :math:`\\langle[v-\\theta_+]_+[\\bar u_+ - \\theta_-]_+\\rangle = \\nu K_s + \\nu^2 K_v K_+`
    (the held filtered voltage at a spike is the rest value plus the other spikes' filtered
    voltages, mean :math:`\\nu K_+`), and for the sliding homeostasis
    :math:`\\langle u_{homeo}[\\bar u_- - \\theta_-]_+\\rangle = \\nu K_{hm} + \\nu^2 K_h K_-`
    (a spike's own homeostatic rise seen by its own LTD window, plus the other spikes'),
    divided by :math:`u_{ref}^2`. Valid for rates low enough that responses (adaptation
    tau_w = 144 ms) barely overlap; requires theta_minus <= E_L. The exact part is
    available as :meth:`Reduction.drift_given` (the presynaptic average given measured
    voltage statistics ``P_ltp`` and ``P_ltd``).
    """
    import sympy
    from brian2 import ms, second, volt

    spec = resolved.spec
    p = _parameters(resolved)
    nres = build.resolve(neuron, neuron_params)
    E_L = float(nres.namespace["E_L"] / volt)
    if p["theta_minus"] > E_L + 1e-12:
        raise ReductionError(f"{spec.name}: the reduction assumes theta_minus <= E_L of {neuron}")
    dt = dt if dt is not None else 0.1 * ms
    duration = duration if duration is not None else 1.0 * second
    kick = 5 * ms
    tr = _spike_response(nres, None, dt, duration, kick)
    h = float(dt / second)
    Km = h * np.sum(np.maximum(tr["u_minus_read"] - p["theta_minus"], 0.0))
    Ks = h * np.sum(np.maximum(tr["v"] - p["theta_plus"], 0.0)
                    * np.maximum(tr["u_plus_read"] - p["theta_minus"], 0.0))
    Kv = h * np.sum(np.maximum(tr["v"] - p["theta_plus"], 0.0))
    Kp = h * np.sum(tr["u_plus"] - E_L)
    Kh = h * np.sum((tr["v"] - E_L) ** 2)
    # a spike's own homeostatic rise, seen by its own LTD window (the self term of
    # E[u_homeo * [u_minus - theta_minus]+]); the response starts from u_homeo = 0
    Khm = h * np.sum(tr["u_homeo"] * np.maximum(tr["u_minus_read"] - p["theta_minus"], 0.0))
    nu_pre, nu_post = _sym("nu_pre"), _sym("nu_post")
    A_LTP, A_LTD, u_ref2 = _sym("A_LTP"), _sym("A_LTD"), _sym("u_ref2")
    Ks_, Kv_, Kp_, Km_, Kh_, Khm_ = (sympy.Symbol(n, real=True) for n in (
        "K_s", "K_v", "K_plus", "K_minus", "K_h", "K_hm"))
    sliding = resolved.variants.get("homeostasis") == "sliding"
    if sliding:
        ltd = (Khm_ + nu_post * Kh_ * Km_) / u_ref2
    else:
        ltd = Km_
    drift = nu_pre * nu_post * (A_LTP * (Ks_ + nu_post * Kv_ * Kp_) - A_LTD * ltd)
    P_ltp, P_ltd = sympy.Symbol("P_ltp"), sympy.Symbol("P_ltd")
    conditional = nu_pre * (A_LTP * P_ltp - A_LTD * P_ltd / (u_ref2 if sliding else 1))
    kernels = {"K_s": Ks, "K_v": Kv, "K_plus": Kp, "K_minus": Km, "K_h": Kh, "K_hm": Khm}
    res = _finish(resolved, {"nu_pre": "Hz", "nu_post": "Hz"}, drift, {"xbar": nu_pre},
                  {}, False,
                  ["presynaptic Poisson spikes at nu_pre independent of the postsynaptic voltage "
                   "(exact part: E[xbar] = nu_pre)",
                   f"postsynaptic spikes at Poisson times nu_post, each forced from rest in the "
                   f"{neuron} neuron (vm set just above v_spike), responses adding linearly "
                   "(second order in nu_post; low rates)",
                   "weight frozen during the averaging and inside its bounds", "lr = 1"])
    sub = {sympy.Symbol(k): v for k, v in kernels.items()}
    object.__setattr__(res, "parameters", {**res.parameters, **kernels})
    object.__setattr__(res, "expression", sympy.simplify(res.expression.subs(sub)))
    object.__setattr__(res, "conditional", conditional.xreplace(
        {s: sympy.Symbol(s.name) for s in conditional.free_symbols}))
    object.__setattr__(res, "conditional_arguments", {
        "nu_pre": "Hz", "P_ltp": "volt**2",
        "P_ltd": "volt**3" if sliding else "volt"})
    return res


REDUCERS["clopath_2010"] = _voltage_reduction
