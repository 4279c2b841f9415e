r"""The differentiable reading of a catalog neuron spec: a discrete-time JAX step.

A network of ``N`` catalog neurons with exponential synapses is read into the map that Brian2
iterates, step by step, so that the same spike trains come out (the forward identity, tested
against Brian2's numpy and cpp_standalone targets) and the map can be differentiated.

**Synapses.** ``synapse="current"``: an exponentially decaying synaptic current
:math:`\dot I_{syn} = -I_{syn}/\tau_{syn}` is added to the spec's input current ``I`` (a
parameter ``I : amp`` of the model, as in ``lif`` and ``adex``), which becomes the
subexpression :math:`I = I_{ext} + I_{syn}` (:math:`I_{ext}`, a constant current per neuron,
default 0); a presynaptic spike makes :math:`I_{syn} \mathrel{+}= w` (``w`` in amp, signed).
``synapse="conductance"``: the spec's own exponentially decaying conductances (``g_e`` and
``g_i`` of ``lif_cond``) receive the spikes; a weight :math:`w > 0` makes
:math:`g_e \mathrel{+}= w`, :math:`w < 0` makes :math:`g_i \mathrel{+}= |w|` (one signed matrix,
Dale's law not imposed).

**Integration.** The step is the one Brian2 derives for the spec's ``method`` (``exact`` for
``lif``: the closed-form propagator of the linear system :math:`(v, I_{syn})`; ``rk4`` for
``lif_cond``; ``euler`` for ``adex``): Brian2's own state updater
(:meth:`brian2.StateUpdateMethod.apply_stateupdater`, which solves linear systems with sympy)
turns the composed equations into update statements; each right-hand side is parsed to sympy
and compiled to ``jax.numpy`` (``sympy.lambdify``). Nothing is hand-written per model.

**One step** :math:`n` (time :math:`t_n = n\,dt`), in Brian2's order of a time step (default
schedule: state update, thresholds, synapses, resets):

1. ``not_refractory`` :math:`= (n - n_{last}) \ge` ``timestep(t_ref, dt)`` (Brian2's
   ``timestep``: :math:`\lfloor (t + 10^{-3}dt)/dt \rfloor`); variables marked
   ``(unless refractory)`` have their derivative multiplied by ``int(not_refractory)``
   (Brian2's ``add_refractoriness``);
2. the state update;
3. the threshold (the spec's ``a > b``, ``a >= b``, ``a < b`` or ``a <= b``), and
   ``not_refractory``: spikes :math:`s_n \in \{0, 1\}`, and :math:`n_{last} = n` where
   :math:`s_n = 1`;
4. the synapses: input spikes and the network's own spikes of this step (no delay) add to the
   synaptic variables, :math:`I_{syn} \mathrel{+}= W_{in}^\top x_n + W_{rec}^\top s_n`;
5. the reset (statements ``x = expr``, ``x += expr``, ... of the spec) where :math:`s_n = 1`.

**Gradient.** :math:`s_n = \Theta(h_n)` of the threshold margin :math:`h` (``v - v_th``), with
the surrogate derivative of :mod:`biodyn.snn._surrogate`; the reset is
:math:`x \leftarrow x + s_n(\mathrm{new}(x) - x)`, computed exactly as Brian2's assignment in
the forward pass; by default the membrane's reset (``v = v_reset``, of the margin's variable
:attr:`Reading.membrane`) is not differentiated in :math:`s_n` (the "detached reset" of Zenke &
Vogels 2021: without it the gradient of a neuron that hovers just below threshold grows by about
:math:`\sigma'(0)|v_{th} - v_{reset}|` per step and explodes; ``detach_reset=False``
differentiates it), while the other reset statements — an adaptation's jump, ``a += 1`` of
``alif``, ``w += b`` of ``adex`` — are: the spike's effect on the neuron's later threshold or
current is the adaptive term :math:`\epsilon^a` of Bellec et al.'s (2018, 2020) ALIF gradient
(``detach_reset=True`` detaches every reset statement). The refractory clock is not differentiated (it is an
integer). ``smooth=True`` replaces :math:`\Theta` by the surrogate's own smooth step
:math:`\sigma` forward and backward (a network with an exact gradient; refractory periods are
refused then).

**Supported.** Neuron specs whose model holds differential equations, parameters and
subexpressions; a threshold that is one comparison; a reset of assignment statements;
``refractory`` a duration (not a condition); any integration method of Brian2 that returns
update statements (``exact``/``linear``, ``euler``, ``rk2``, ``rk4``, ``milstein`` is refused:
noise terms ``xi`` are not read). Refused, with an error naming the spec file and key: stochastic
equations, event-driven or ``(clock-driven)`` flags other than ``unless refractory``,
conditional resets, boolean refractoriness, a model without the synaptic target variable,
``method = "gsl"``.

References
----------
Stimberg M, Brette R, Goodman DFM (2019) Brian 2, an intuitive and efficient neural
simulator. eLife 8:e47314. doi:10.7554/eLife.47314
Zenke F, Vogels TP (2021) The remarkable robustness of surrogate gradient learning for
instilling complex function in spiking neural networks. Neural Comput 33:899-925.
doi:10.1162/neco_a_01367
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from ..errors import SpecError

__all__ = ["Reading", "read", "SYNAPSES"]

SYNAPSES = ("current", "conductance")

_RESET = re.compile(r"^\s*([A-Za-z_]\w*)\s*(=|\+=|-=|\*=|/=)\s*(.+?)\s*$")


def _timestep(t, dt):
    """Brian2's ``timestep(t, dt)``: ``int((t + 1e-3*dt)/dt)``."""
    return int(np.array((t + 1e-3 * dt) / dt, dtype=np.int64))


@dataclass
class Reading:
    r"""A catalog neuron model with exponential synapses, read into a JAX step (see module doc).

    Attributes
    ----------
    name : str
        The model's name.
    resolved : biodyn.spec.Resolved
        The spec with its parameter set.
    equations : brian2.Equations
        The composed equations (the spec's, with the synaptic current for ``"current"``),
        as the Brian2 network of :func:`biodyn.snn.brian_network` uses them.
    namespace : dict
        Parameter name -> Brian2 quantity (the set's values, plus ``tau_syn``).
    method, dt : str, float
        Brian2's integration method and the time step in seconds.
    state : tuple of str
        The state variables (differential equations), in the order of ``equations``.
    membrane : str
        The threshold's membrane variable: the state variable of the threshold margin
        :math:`h` with :math:`\partial h/\partial x > 0` (``v`` in ``v > v_th + beta*a``, where
        the adaptation ``a`` raises the threshold); the surrogate's width is in its unit, and
        its reset is the one detached by default.
    targets : dict
        ``{"exc": var, "inh": var}``: where positive and negative weights act (the same
        variable for ``"current"``).
    code : str
        Brian2's update statements (abstract code) the step is compiled from.
    ref_steps : int or None
        The refractory period in steps (``timestep(t_ref, dt)``), ``None`` without one.
    """

    name: str
    resolved: object
    synapse: str
    equations: object
    namespace: dict
    method: str
    dt: float
    state: tuple
    units: dict
    initial: dict
    targets: dict
    code: str
    statements: list
    threshold: tuple
    threshold_text: str
    reset: list
    reset_text: str
    ref_steps: int | None
    refractory_text: str | None
    external: tuple
    constants: dict = field(repr=False)
    membrane: str = ""

    # -- the JAX step ----------------------------------------------------------------
    def compile(self):
        """Compiled JAX functions ``(update, margin, reset)`` (cached on the reading)."""
        if getattr(self, "_compiled", None) is None:
            self._compiled = _compile(self)
        return self._compiled

    def weight_unit(self):
        """The Brian2 unit of a synaptic weight (that of the target variable)."""
        return self.units[self.targets["exc"]]

    def describe(self):
        return (f"{self.name} ({self.synapse} synapses), method {self.method}, dt = {self.dt * 1e3:g} ms; "
                f"state {', '.join(self.state)}; threshold {self.threshold_text}; reset "
                f"{'; '.join(self.reset_text.strip().splitlines())}; refractory "
                f"{self.ref_steps if self.ref_steps is not None else 'none'} steps")


def _has_parameter(model, name):
    from brian2 import Equations
    from brian2.equations.equations import PARAMETER

    eqs = Equations(model)
    return name in eqs and eqs[name].type == PARAMETER


def _fail(file, key, expected, found, hint=None):
    raise SpecError(file, key, expected, found, hint)


def read(model, params=None, *, overrides=None, synapse=None, tau_syn="5 ms", dt="0.1 ms",
         method=None, current="I", conductances=("g_e", "g_i")):
    """Read a catalog neuron model into a differentiable step (see module doc).

    Parameters
    ----------
    model : str or ModelSpec or Resolved
        A neuron model of the catalog (``lif``, ``adex``, ``lif_cond``, ...).
    params : str, optional
        Parameter set (the spec's default if not given); ``overrides`` change values.
    synapse : {"current", "conductance"}, optional
        Exponential synaptic currents added to the input current ``current`` (a parameter
        ``I : amp`` of the model), or the model's own conductances ``conductances``
        (excitatory, inhibitory). Default: ``"current"`` if the model has the input
        current ``current``, else ``"conductance"``.
    tau_syn : str or Quantity
        Decay time of the synaptic current (``"current"`` only).
    dt : str or Quantity
        The time step.
    method : str, optional
        Brian2's integration method; the spec's ``method`` if not given.

    Returns
    -------
    Reading
    """
    from brian2 import Equations, second
    from brian2.equations.equations import DIFFERENTIAL_EQUATION, PARAMETER, SUBEXPRESSION, SingleEquation, Expression
    from brian2.equations.refractory import add_refractoriness
    from brian2.parsing.sympytools import str_to_sympy
    from brian2.stateupdaters.base import StateUpdateMethod
    from brian2.units.fundamentalunits import get_dimensions

    from .. import build
    from .._quantity import QuantityError, evaluate

    resolved = build.resolve(model, params, overrides)
    spec = resolved.spec
    file = spec.file
    if spec.kind != "neuron":
        _fail(file, "kind", "a neuron model for the differentiable reading", repr(spec.kind))
    if synapse is None:
        synapse = "current" if current in resolved.code["model"].replace(" ", "") and _has_parameter(
            resolved.code["model"], current) else "conductance"
    if synapse not in SYNAPSES:
        from ..errors import suggest
        _fail("<snn>", "synapse", "one of " + ", ".join(SYNAPSES), repr(synapse), suggest(synapse, SYNAPSES))
    dt_q = evaluate(dt) if isinstance(dt, str) else dt
    if get_dimensions(dt_q) is not second.dim or float(dt_q) <= 0:
        _fail("<snn>", "dt", "a positive duration", repr(dt))
    dt_s = float(dt_q)
    try:
        eqs = Equations(resolved.code["model"])
    except Exception as exc:  # pragma: no cover - specs are checked when they load
        _fail(file, "model", "Brian2 equations", str(exc))
    for eq in eqs.values():
        bad = set(eq.flags) - {"unless refractory", "constant", "shared"}
        if bad:
            _fail(file, "model", "equations whose flags the differentiable reading supports "
                  "('unless refractory', 'constant')", f"{eq.varname} with flags {sorted(bad)}")
        if eq.type == DIFFERENTIAL_EQUATION and eq.expr is not None and "xi" in str(eq.expr.code):
            _fail(file, "model", "deterministic equations", f"noise in d{eq.varname}/dt",
                  "the differentiable reading does not integrate stochastic equations")
    namespace = dict(resolved.namespace)
    new_eqs = []
    if synapse == "current":
        for name in ("I_syn", "I_ext", "tau_syn"):
            if name in eqs or name in namespace:
                _fail(file, "model", f"no variable or parameter named {name!r} (the reading adds it)",
                      f"{name!r} in the spec")
        if current not in eqs or eqs[current].type != PARAMETER:
            _fail(file, "model", f"an input current parameter '{current} : amp' for current synapses",
                  "none" if current not in eqs else f"{current!r} is a {eqs[current].type}",
                  "use synapse='conductance' for a conductance-based model")
        from brian2 import amp
        if eqs[current].dim is not amp.dim:
            _fail(file, "model", f"{current!r} in amp", f"{current!r} in {eqs[current].unit}")
        tq = evaluate(tau_syn) if isinstance(tau_syn, str) else tau_syn
        if get_dimensions(tq) is not second.dim or float(tq) <= 0:
            _fail("<snn>", "tau_syn", "a positive duration", repr(tau_syn))
        namespace["tau_syn"] = tq
        for eq in eqs.values():
            if eq.varname == current:
                new_eqs.append(SingleEquation(SUBEXPRESSION, current, amp.dim, expr=Expression("I_ext + I_syn")))
                new_eqs.append(SingleEquation(PARAMETER, "I_ext", amp.dim))
                new_eqs.append(SingleEquation(DIFFERENTIAL_EQUATION, "I_syn", amp.dim,
                                              expr=Expression("-I_syn/tau_syn")))
            else:
                new_eqs.append(eq)
        targets = {"exc": "I_syn", "inh": "I_syn"}
    else:
        for role, var in zip(("excitatory", "inhibitory"), conductances):
            if var not in eqs or eqs[var].type != DIFFERENTIAL_EQUATION:
                _fail(file, "model", f"an {role} conductance {var!r} (a differential equation) for "
                      "conductance synapses", "none",
                      "use synapse='current' for a current-based model")
        new_eqs = list(eqs.values())
        targets = {"exc": conductances[0], "inh": conductances[1]}
    equations = Equations(new_eqs)
    ref_text = resolved.code.get("refractory") or None
    ref_steps = None
    if ref_text is not None:
        try:
            ref_q = evaluate(ref_text, namespace) if isinstance(ref_text, str) else ref_text
        except QuantityError:
            ref_q = None
        if ref_q is None or get_dimensions(ref_q) is not second.dim:
            _fail(file, "refractory", "a refractory duration (e.g. 't_ref')", repr(ref_text),
                  "a refractory condition is not supported by the differentiable reading")
        ref_steps = _timestep(float(ref_q), dt_s)
        equations_ref = add_refractoriness(equations)
    else:
        equations_ref = equations
    build._check_step(resolved, dt_s, method)  # AccuracyWarning above the spec's max_dt, as biodyn.neurons
    method = method or spec.data.get("method", "euler")
    if method in ("gsl", "milstein", "heun") or method.startswith("gsl"):
        _fail(file, "method", "a deterministic Brian2 state updater (exact, euler, rk2, rk4, exponential_euler)",
              repr(method))
    try:
        code = StateUpdateMethod.apply_stateupdater(equations_ref, {}, method, group_name=resolved.spec.name
                                                    if hasattr(resolved.spec, "name") else "neurons")
    except Exception as exc:
        _fail(file, "method", f"a method Brian2 can apply to these equations", f"{method!r}: {exc}")
    if not isinstance(code, str):
        _fail(file, "method", "a state updater that returns update statements", repr(method))
    statements = []
    for line in code.strip().splitlines():
        m = _RESET.match(line)
        if m is None or m.group(2) != "=":
            _fail(file, "method", "update statements 'x = expr'", repr(line))
        statements.append((m.group(1), str_to_sympy(m.group(3))))
    # threshold: one comparison
    thr_text = resolved.code.get("threshold")
    if not thr_text:
        _fail(file, "threshold", "a threshold condition", "none")
    import sympy
    thr = str_to_sympy(thr_text)
    ops = {sympy.StrictGreaterThan: (">", 1), sympy.GreaterThan: (">=", 1),
           sympy.StrictLessThan: ("<", -1), sympy.LessThan: ("<=", -1)}
    if type(thr) not in ops:
        _fail(file, "threshold", "one comparison such as 'v > v_th'", repr(thr_text))
    op, sign = ops[type(thr)]
    margin = sign * (thr.lhs - thr.rhs)
    reset = []
    reset_text = resolved.code.get("reset") or ""
    for line in reset_text.strip().splitlines():
        if not line.strip() or line.strip().startswith("#"):
            continue
        m = _RESET.match(line)
        if m is None or m.group(1) not in equations:
            _fail(file, "reset", "assignment statements to state variables ('v = v_reset', 'w += b')", repr(line))
        var, aop, expr = m.groups()
        rhs = str_to_sympy(expr)
        x = sympy.Symbol(var, real=True)
        if aop != "=":
            rhs = {"+=": x + rhs, "-=": x - rhs, "*=": x * rhs, "/=": x / rhs}[aop]
        reset.append((var, rhs))
    state = tuple(eq.varname for eq in equations.ordered if eq.type == DIFFERENTIAL_EQUATION)
    external = tuple(eq.varname for eq in equations.ordered if eq.type == PARAMETER)
    units = {eq.varname: eq.unit for eq in equations.ordered}
    initial = {}
    for var in state:
        text = spec.initial.get(var, "0")
        try:
            q = evaluate(text, namespace) if isinstance(text, str) else text
        except QuantityError:
            _fail(file, f"initial.{var}", "a value computed from the parameters", repr(text),
                  "per-neuron initial values are given with init= in the differentiable reading")
        initial[var] = float(q)
    constants = {}
    for k, v in namespace.items():
        try:
            constants[k] = float(v)
        except (TypeError, ValueError):
            pass
    known = set(state) | set(external) | set(constants) | {"dt", "t", "not_refractory"}
    known |= {v for v, _ in statements}
    for what, exprs in (("method", [e for _, e in statements]), ("threshold", [margin]),
                        ("reset", [e for _, e in reset])):
        for e in exprs:
            unknown = {str(s) for s in e.free_symbols} - known
            if unknown:
                _fail(file, what, "expressions of state variables and parameters", ", ".join(sorted(unknown)),
                      "give the missing values with overrides")
    membrane = _membrane(margin, state, constants, file, thr_text)
    return Reading(name=getattr(spec, "name", str(model)), resolved=resolved, synapse=synapse, equations=equations,
                   namespace=namespace, method=method, dt=dt_s, state=state, units=units, initial=initial,
                   targets=targets, code=code, statements=statements, threshold=(margin, op),
                   threshold_text=thr_text, reset=reset, reset_text=reset_text, ref_steps=ref_steps,
                   refractory_text=ref_text, external=external, constants=constants, membrane=membrane)


def _membrane(margin, state, constants, file, thr_text):
    r"""The state variable of the threshold margin whose increase brings the spike closer
    (:math:`\partial h/\partial x > 0` with the parameters' values; the others, such as an
    adaptive threshold's ``a``, raise the threshold). Alphabetically first if several."""
    import sympy

    names = sorted(str(s) for s in margin.free_symbols if str(s) in state)
    if not names:
        _fail(file, "threshold", "a condition on a state variable", repr(thr_text))
    subs = {s: constants[str(s)] for s in margin.free_symbols if str(s) in constants}
    up = []
    for name in names:
        d = sympy.diff(margin, next(s for s in margin.free_symbols if str(s) == name))
        try:
            value = float(d.xreplace(subs).subs({s: 0 for s in d.free_symbols}))
        except (TypeError, ValueError):
            value = 0.0
        if value > 0:
            up.append(name)
    return (up or names)[0]


def _compile(reading):
    """JAX functions of the reading: ``update(state, ext, nr, t)``, ``margin(state, ext)``,
    ``reset_values(state, ext)``; ``state``/``ext`` dicts of arrays, ``nr`` a float array."""
    import jax.numpy as jnp
    import sympy

    modules = [{"int_": lambda x: jnp.asarray(x, dtype=jnp.float64)}, "jax"]

    def lam(expr, names):
        syms = sorted(expr.free_symbols, key=str)
        args = [str(s) for s in syms]
        f = sympy.lambdify(syms, expr, modules=modules)
        return f, args

    consts = dict(reading.constants)
    consts["dt"] = reading.dt
    nr_sym = sympy.Symbol("not_refractory")

    def at(expr, value):
        """``expr`` with ``not_refractory`` (and ``int(not_refractory)``) set to 0 or 1: the
        refractory factor of Brian2's equations becomes a constant, so that XLA folds the
        propagator's exponentials instead of evaluating them per neuron and step."""
        for f in [a for a in expr.atoms(sympy.Function) if a.func.__name__ == "int_" and a.args[0] == nr_sym]:
            expr = expr.xreplace({f: sympy.Integer(value)})
        return expr.xreplace({s: sympy.Integer(value) for s in expr.free_symbols if str(s) == "not_refractory"})

    compiled = []
    for var, expr in reading.statements:
        if any(str(s) == "not_refractory" for s in expr.free_symbols):
            compiled.append((var, lam(at(expr, 1), None), lam(at(expr, 0), None)))
        else:
            compiled.append((var, lam(expr, None), None))
    margin_f, margin_args = lam(sympy.sympify(reading.threshold[0]), None)
    reset_f = [(var, *lam(sympy.sympify(expr), None)) for var, expr in reading.reset]

    def env(state, ext):
        d = dict(consts)
        d.update(ext)
        d.update(state)
        return d

    def update(state, ext, nr, t):
        d = env(state, ext)
        d["not_refractory"] = nr
        d["t"] = t
        active = nr > 0
        for var, (f, args), frozen in compiled:
            value = f(*[d[a] for a in args])
            if frozen is not None:
                value = jnp.where(active, value, frozen[0](*[d[a] for a in frozen[1]]))
            d[var] = value
        return {k: jnp.broadcast_to(d[k], state[k].shape) for k in state}

    def margin(state, ext):
        d = env(state, ext)
        return margin_f(*[d[a] for a in margin_args])

    def reset_values(state, ext):
        d = env(state, ext)
        out = {}
        for var, f, args in reset_f:  # sequential, as Brian2 runs the reset's statements
            d[var] = out[var] = f(*[d[a] for a in args])
        return out

    return update, margin, reset_values
