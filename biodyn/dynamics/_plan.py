r"""From a spec to a *plan*: groups of units, couplings with their connectivity, inputs.

A plan is the one description of a model that both readings use: :mod:`._field` compiles
it into a numeric vector field (with its Jacobian derived by sympy), :mod:`._brian` builds
it into Brian2 objects. The connectivity and the random weights are drawn here, once, from
``numpy.random.default_rng`` with the spec's seed, so the network Brian2 simulates and the
network biodyn analyses are the same matrix.

Schema of the kinds (``system``, ``map``, ``population``; checked at load time by
:mod:`biodyn.spec`)::

    kind = "population"            # or "system" (ODEs) / "map" (x_next = ...)
    model = '''                    # Brian2 equations of ONE unit
    dh/dt = (-h + I_rec)/tau : 1   # (a map: 'h_next = I_rec : 1' and 'h : 1')
    phi = tanh(h) : 1
    I_rec : 1                      # fed by a coupling (a summed variable)
    '''
    size = "N"                     # number of units: an expression of parameters
    time_unit = "tau"              # what one unit of the model's time is
    method = "euler"               # Brian2 integration method

    [couplings.recurrent]          # Brian2 Synapses code between units
    model = '''
    w : 1
    I_rec_post = w*phi_pre : 1 (summed)
    '''
    connect = "i != j"             # a condition on i, j; or {j = "..."} (one target per
                                   # source), {p = "..."} (probability, optional condition),
                                   # {in_degree = "C"} (fixed number of sources per target)
    weights = { w = { distribution = "normal", mean = "0", std = "g/sqrt(N)" } }
    seed = "seed"                  # parameter (or number) seeding connectivity and weights
    # source / target = group names; on_pre / on_post / delay for spiking couplings;
    # autapses = false forbids i -> i within a group

    [groups.E]                     # several groups instead of model/size:
    size = "N_E"
    neuron = "lif"                 # a catalog neuron (or model = "..." inline)
    params = "brunel_2000"         # its parameter set
    values = { tau_m = "tau" }     # its parameters as expressions of this spec's
    initial = { v = "rand()*theta" }

    [inputs.external]              # independent Poisson trains per unit
    kind = "poisson"
    target = ["E", "I"]
    variable = "v"
    count = "C_E"
    rate = "nu_ext"
    weight = "J"

    [mean_field]                   # a reduction (population rates), read as a system
    description = "..."
    model = "..."                  # may call biodyn.dynamics.FUNCTIONS (siegert_lif)

Neuron specs are read as their subthreshold equations (threshold and reset ignored);
synapse specs as their clock-driven equations (event-driven ones ignored), with the
partner variables they read (``r_pre``, ``v_post``) as inputs set by the user.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import build, catalog
from ..errors import SpecError, suggest
from ..spec import Resolved, map_state_variables, parse_quantity

__all__ = ["Plan", "GroupPlan", "CouplingPlan", "InputPlan", "make_plan", "READINGS",
           "evaluate_array", "initial_values"]

#: How a spec can be read as a dynamical system.
READINGS = ("auto", "network", "mean_field")


@dataclass
class GroupPlan:
    """One group of identical units (a Brian2 NeuronGroup)."""

    name: str
    size: int
    code: dict            # model, threshold, reset, refractory (filled Brian2 code)
    namespace: dict       # parameter values (Brian2 quantities)
    initial: dict         # variable -> expression text (SI evaluation, rand()/randn() allowed)
    method: str
    file: str
    key: str              # where the code comes from in the file ("model", "groups.E")
    resolved: Any = None  # the Resolved model the code comes from
    spiking: bool = False
    initial_ns: dict = field(default_factory=dict)  # variable -> namespace of its expression


@dataclass
class CouplingPlan:
    """One coupling (a Brian2 Synapses) with its drawn connectivity and weights."""

    name: str
    source: str
    target: str
    model: str
    on_pre: str
    on_post: str
    delay: Any
    i: np.ndarray
    j: np.ndarray
    weights: dict         # synaptic variable -> (n_syn,) array (SI)
    namespace: dict
    key: str


@dataclass
class InputPlan:
    """An external Poisson drive: ``count`` trains of ``rate`` per unit, jump ``weight``."""

    name: str
    targets: list
    variable: str
    count: int
    rate: float           # Hz
    weight: Any           # quantity
    when_refractory: str
    key: str


@dataclass
class Plan:
    """A model as groups, couplings and inputs, ready to compile or to build."""

    spec: Any
    resolved: Resolved
    reading: str
    groups: list
    couplings: list
    inputs: list
    namespace: dict       # the spec's parameter values (quantities)
    time_unit: Any        # a Brian2 quantity (seconds) or None for maps
    time_unit_text: str
    is_map: bool
    unit_values: dict = field(default_factory=dict)   # model variables set by the user
    seed: int = 0
    ranges: dict = field(default_factory=dict)        # variable -> (lo, hi) in SI

    @property
    def spiking(self):
        return any(g.spiking for g in self.groups)

    def group(self, name):
        for g in self.groups:
            if g.name == name:
                return g
        raise KeyError(name)


# --------------------------------------------------------------------------
# Evaluating expressions of parameters (and of i, N, rand() per unit) with numpy
# --------------------------------------------------------------------------


def _sym(name):
    import sympy

    return sympy.Symbol(name, real=True)


def evaluate_array(text, namespace, size=1, rng=None, extra=None, *, file=None, key="value",
                   subexpressions=None):
    """Evaluate a Brian2 expression for ``size`` units in SI: parameters, units, ``i``, ``N``,
    ``rand()``, ``randn()``, the values in ``extra`` and the model's ``subexpressions``
    (name -> sympy expression, e.g. ``alpha_m`` of v); returns a float array ``(size,)``.
    """
    from brian2.parsing.sympytools import str_to_sympy

    from ._sympy import brian_to_sympy, lambdify_numpy, si_namespace

    text = str(text)
    from .._quantity import QuantityError, evaluate

    try:  # a quantity written as text ("10 Hz", "E_L", "0.5*theta")
        value = np.asarray(evaluate(text, {**dict(namespace), **(extra or {})}), dtype=float)
        return np.broadcast_to(value, (size,)).astype(float)
    except (QuantityError, TypeError, ValueError):
        pass
    try:
        expr = brian_to_sympy(str_to_sympy(text))
    except Exception as exc:
        raise SpecError(file, key, "a Brian2 expression", f"{text!r} ({exc})") from None
    if subexpressions:
        for _ in range(20):
            subs = {s: subexpressions[str(s)] for s in expr.free_symbols if str(s) in subexpressions}
            if not subs:
                break
            expr = expr.xreplace(subs)
    values = si_namespace(namespace)
    values.update({"i": np.arange(size, dtype=float), "N": float(size)})
    values.update(extra or {})
    names = sorted(str(s) for s in expr.free_symbols if str(s) != "_placeholder_arg")
    unknown = [n for n in names if n not in values]
    if unknown:
        raise SpecError(file, key, "an expression of parameters, units, i, N, rand(), randn()",
                        f"unknown {unknown[0]!r} in {text!r}", suggest(unknown[0], values))
    rng = rng if rng is not None else np.random.default_rng(0)
    fn = lambdify_numpy(names, expr, random=(rng, size))
    out = np.asarray(fn(*[values[n] for n in names]), dtype=float)
    return np.broadcast_to(out, (size,)).copy()


def _subexpressions(g):
    """The group model's subexpressions as sympy (for initial values such as
    ``m = alpha_m/(alpha_m + beta_m)``)."""
    from brian2 import Equations
    from brian2.equations.equations import SUBEXPRESSION
    from brian2.parsing.sympytools import str_to_sympy

    from ._sympy import brian_to_sympy

    try:
        eqs = Equations(g.code["model"])
    except Exception:
        return {}
    return {n: brian_to_sympy(str_to_sympy(eq.expr.code)) for n, eq in eqs.items()
            if eq.type == SUBEXPRESSION}


def initial_values(plan, seed=None):
    """Initial values of every group variable (SI arrays), drawn with ``seed``."""
    seed = plan.seed if seed is None else seed
    out = {}
    for k, g in enumerate(plan.groups):
        rng = np.random.default_rng([int(seed), 7919, k])
        out[g.name] = {}
        subs = _subexpressions(g)
        for var, text in g.initial.items():  # in order: later values may use earlier ones
            out[g.name][var] = evaluate_array(text, g.initial_ns.get(var, g.namespace), g.size, rng,
                                              extra=out[g.name], file=g.file,
                                              key=f"{g.key}.initial.{var}", subexpressions=subs)
    return out


# --------------------------------------------------------------------------
# Building a plan
# --------------------------------------------------------------------------


def _split_overrides(spec, overrides):
    spec_over, other = {}, {}
    for name, value in (overrides or {}).items():
        (spec_over if name in spec.parameters else other)[name] = value
    return spec_over, other


def _int_of(value, file, key, text):
    v = float(np.asarray(value))
    if v < 1 or abs(v - round(v)) > 1e-9:
        raise SpecError(file, key, "a positive whole number", f"{text!r} = {v:g}")
    return int(round(v))


def _time_unit(spec, namespace, default=None):
    from brian2.units.allunits import second

    text = spec.data.get("time_unit")
    if text is None:
        if default is None:
            return None, "iteration"
        return default, "1 second"
    value = parse_quantity(str(text), second.dim, file=spec.file, key="time_unit", names=namespace)
    import re

    nice = re.sub(r"\.(?=\s|$)", "", str(value.in_best_unit(precision=6)))
    shown = nice if str(text) not in namespace else f"{text} ({nice})"
    return value, shown


def _ranges(spec, table, namespace, key):
    out = {}
    for var, (lo, hi) in (table or {}).items():
        out[var] = tuple(float(np.asarray(parse_quantity(str(b), None, file=spec.file,
                                                            key=f"{key}.{var}", names=namespace)))
                         for b in (lo, hi))
    return out


def make_plan(model, params=None, overrides=None, variants=None, *, reading="auto", seed=0):
    """Read a catalog model (name, path, spec or Resolved) into a :class:`Plan`.

    Parameters
    ----------
    model : str or ModelSpec or Resolved
    params : str, optional
        Parameter set name (or a parameter-set file).
    overrides : dict, optional
        Values with units: spec parameters (``{"g": "1.5"}``) and model variables that
        are parameters of the equations (``{"I": "100 pA"}``, ``{"r_pre": "1"}``).
    variants : dict, optional
    reading : {"auto", "network", "mean_field"}
        For populations with a ``[mean_field]``: which system to read. ``auto`` reads
        the network, except for spiking populations, which are read as their mean field.
    seed : int
        Seed of connectivity/weights for couplings that do not name their own seed, and of
        random initial values.
    """
    if reading not in READINGS:
        raise SpecError("<arguments>", "reading", "one of " + ", ".join(READINGS), repr(reading),
                        suggest(reading, READINGS))
    spec = model.spec if isinstance(model, Resolved) else catalog.load(model)
    spec_over, unit_over = _split_overrides(spec, overrides)
    if isinstance(model, Resolved) and params is None and not spec_over and not variants:
        resolved = model
    else:
        resolved = build.resolve(spec, params, spec_over, variants)
    ns = dict(resolved.namespace)
    kind = spec.kind
    if kind in ("neuron", "synapse"):
        return _check_unit_overrides(_plan_single(spec, resolved, ns, unit_over, seed))
    if kind == "population" and "mean_field" in spec.data:
        spiking = _population_spiking(spec, resolved)
        if reading == "mean_field" or (reading == "auto" and spiking):
            return _check_unit_overrides(_plan_mean_field(spec, resolved, ns, unit_over, seed))
    elif reading == "mean_field":
        raise SpecError(spec.file, "mean_field", "a [mean_field] table for reading='mean_field'",
                        "none", "use reading='network'")
    return _check_unit_overrides(_plan_network(spec, resolved, ns, unit_over, seed))


def _check_unit_overrides(plan):
    """Every override that is not a spec parameter must name a model variable.

    A variable that is a parameter of the equations (``I : amp``) takes the value; a state
    variable takes it as its initial value (``--set x=0.11``, ``--set v='-70 mV'``); anything
    else is an error naming the key (it was silently ignored: ``--set rr=3.8``).
    """
    from brian2 import Equations

    from ..spec import map_state_variables

    names, states, dims, couplings = set(), {}, {}, set()
    for g in plan.groups:
        eqs = Equations(g.code["model"])
        maps = map_state_variables(eqs)
        g_states = maps or [n for n, eq in eqs.items() if eq.type == "differential equation"]
        for n in eqs.names:
            names.add(n)
            dims.setdefault(n, eqs.dimensions[n])
        for n in g_states:
            states.setdefault(n, []).append(g)
    for cp in plan.couplings:
        if cp.model.strip():
            couplings.update(Equations(cp.model).names)
    for name, text in plan.unit_values.items():
        if name in states:
            from ..spec import parse_quantity

            value = np.asarray(parse_quantity(str(text), dims[name], file="<overrides>", key=name), float)
            if value.ndim:
                raise SpecError("<overrides>", name, "one value for the initial state", repr(text))
            for g in states[name]:
                g.initial = {**g.initial, name: repr(float(value))}
            continue
        if name in names or name in couplings or name.endswith(("_pre", "_post")):
            continue
        spec = plan.spec
        known = sorted(set(spec.parameters) | names)
        raise SpecError("<overrides>", name, f"a parameter or model variable of {spec.name} ("
                        + ", ".join(known) + ")", repr(name), suggest(name, known))
    return plan


def _population_spiking(spec, resolved):
    if spec.data.get("groups"):
        for table in spec.data["groups"].values():
            if "threshold" in table:
                return True
            if "neuron" in table:
                nspec = catalog.load(table["neuron"])
                if nspec.templates.get("threshold"):
                    return True
        return False
    return bool(resolved.code.get("threshold"))


def _plan_single(spec, resolved, ns, unit_over, seed):
    """A neuron (subthreshold) or a synapse (clock-driven equations) as a system of one unit."""
    from brian2.units.allunits import second

    code = {"model": resolved.code["model"]}
    if spec.kind == "neuron":
        for k in ("threshold", "reset", "refractory"):
            if resolved.code.get(k):
                code[k] = resolved.code[k]
    time_unit, text = _time_unit(spec, ns, default=1 * second)
    group = GroupPlan("units", 1, code, ns, dict(spec.initial), spec.data.get("method", "euler"),
                      spec.file, "model", resolved, spiking=bool(code.get("threshold")))
    return Plan(spec, resolved, "network", [group], [], [], ns, time_unit, text, False,
                dict(unit_over), int(seed), _ranges(spec, spec.data.get("ranges"), ns, "ranges"))


def _plan_mean_field(spec, resolved, ns, unit_over, seed):
    mf = spec.data["mean_field"]
    time_unit, text = _time_unit(spec, ns)
    initial = {k: str(v) for k, v in mf.get("initial", {}).items()}
    group = GroupPlan("mean_field", 1, {"model": mf["model"]}, ns, initial, "euler", spec.file,
                      "mean_field", resolved)
    return Plan(spec, resolved, "mean_field", [group], [], [], ns, time_unit, text, False,
                dict(unit_over), int(seed), _ranges(spec, mf.get("ranges"), ns, "mean_field.ranges"))


def _plan_network(spec, resolved, ns, unit_over, seed):
    from brian2 import Equations

    data = spec.data
    groups = []
    default_method = "rk4" if spec.kind == "system" else "euler"
    if data.get("groups"):
        for gname, table in data["groups"].items():
            key = f"groups.{gname}"
            size = _int_of(parse_quantity(str(table["size"]), None, file=spec.file, key=f"{key}.size",
                                          names=ns), spec.file, f"{key}.size", table["size"])
            initial = {}
            if "neuron" in table:
                values = {}
                for p, text in table.get("values", {}).items():
                    values[p] = parse_quantity(str(text), None, file=spec.file,
                                               key=f"{key}.values.{p}", names=ns)
                nspec = catalog.load(table["neuron"])
                for p in values:
                    if p not in nspec.parameters:
                        raise SpecError(spec.file, f"{key}.values.{p}", f"a parameter of {nspec.name} ("
                                        + ", ".join(nspec.parameters) + ")", repr(p),
                                        suggest(p, nspec.parameters))
                gres = nspec.resolve(table.get("params"), values)
                code = {k: v for k, v in gres.code.items() if isinstance(v, str) and v.strip()}
                gns = dict(gres.namespace)
                initial.update(nspec.initial)
                method = table.get("method", nspec.data.get("method", "euler"))
            else:
                code = {k: table[k] for k in ("model", "threshold", "reset", "refractory") if k in table}
                gns, gres = ns, resolved
                initial.update(spec.initial)
                method = table.get("method", data.get("method", default_method))
            own = {k: str(v) for k, v in table.get("initial", {}).items()}
            initial.update(own)
            # the group's own initial values are written in this spec's parameters
            initial_ns = {k: {**gns, **ns} for k in own} if gns is not ns else {}
            groups.append(GroupPlan(gname, size, code, gns, initial, method, spec.file, key, gres,
                                    spiking=bool(code.get("threshold")), initial_ns=initial_ns))
    else:
        size = 1
        if "size" in data:
            size = _int_of(parse_quantity(str(data["size"]), None, file=spec.file, key="size", names=ns),
                           spec.file, "size", data["size"])
        code = {k: resolved.code[k] for k in ("model", "threshold", "reset", "refractory")
                if resolved.code.get(k)}
        groups.append(GroupPlan("units", size, code, ns, dict(spec.initial),
                                data.get("method", default_method), spec.file, "model", resolved,
                                spiking=bool(code.get("threshold"))))
    is_map = False
    for g in groups:
        eqs = Equations(g.code["model"])
        if map_state_variables(eqs):
            is_map = True
    time_unit, text = _time_unit(spec, ns) if not is_map else (None, "iteration")
    couplings = [_coupling_plan(spec, name, table, groups, ns, seed)
                 for name, table in data.get("couplings", {}).items()]
    couplings = [c for group_list in couplings for c in group_list]
    inputs = [_input_plan(spec, name, table, groups, ns) for name, table in data.get("inputs", {}).items()]
    return Plan(spec, resolved, "network", groups, couplings, inputs, ns, time_unit, text, is_map,
                dict(unit_over), int(seed), _ranges(spec, data.get("ranges"), ns, "ranges"))


# --------------------------------------------------------------------------
# Connectivity and weights
# --------------------------------------------------------------------------

_CONNECTIVITY_CACHE: dict = {}


def _coupling_seed(spec, table, ns, seed, key):
    if "seed" not in table:
        return int(seed)
    value = parse_quantity(str(table["seed"]), None, file=spec.file, key=f"{key}.seed", names=ns)
    v = float(np.asarray(value))
    if v < 0 or v != int(v):
        raise SpecError(spec.file, f"{key}.seed", "a non-negative whole number", f"{v:g}")
    return int(v)


def _condition_mask(text, ns, n_pre, n_post, rows, file, key):
    """Boolean (len(rows), n_post) mask of a Brian2 condition on i (rows) and j."""
    from brian2.parsing.sympytools import str_to_sympy

    from ._sympy import brian_to_sympy, lambdify_numpy, si_namespace

    expr = brian_to_sympy(str_to_sympy(str(text)))
    values = si_namespace(ns)
    values.update({"i": rows[:, None].astype(float), "j": np.arange(n_post, dtype=float)[None, :],
                   "N_pre": float(n_pre), "N_post": float(n_post), "N": float(n_pre)})
    names = sorted(str(s) for s in expr.free_symbols)
    unknown = [n for n in names if n not in values]
    if unknown:
        raise SpecError(file, key, "a condition on i, j, N_pre, N_post and parameters",
                        f"unknown {unknown[0]!r}", suggest(unknown[0], values))
    fn = lambdify_numpy(names, expr)
    out = np.asarray(fn(*[values[n] for n in names]))
    return np.broadcast_to(out.astype(bool), (len(rows), n_post))


def _connectivity(spec, key, connect, ns, n_pre, n_post, same_group, autapses, rng):
    file = spec.file
    if isinstance(connect, str):
        connect = {"condition": connect}
    ii, jj = [], []
    if "j" in connect:
        rows = np.arange(n_pre)
        targets = evaluate_array(connect["j"], ns, n_pre, rng, extra={"N_pre": float(n_pre),
                                 "N_post": float(n_post)}, file=file, key=f"{key}.connect.j")
        if np.any(targets != np.round(targets)) or np.any(targets < 0) or np.any(targets >= n_post):
            raise SpecError(file, f"{key}.connect.j", f"whole numbers in [0, {n_post})",
                            f"values from {targets.min():g} to {targets.max():g}")
        i, j = rows, targets.astype(np.int64)
        if "condition" in connect:
            keep = _condition_mask(connect["condition"], ns, n_pre, n_post, rows, file,
                                   f"{key}.connect.condition")[rows, j]
            i, j = i[keep], j[keep]
    elif "in_degree" in connect:
        c = _int_of(parse_quantity(str(connect["in_degree"]), None, file=file,
                                   key=f"{key}.connect.in_degree", names=ns),
                    file, f"{key}.connect.in_degree", connect["in_degree"])
        pool = n_pre - (1 if same_group and not autapses else 0)
        if c > pool:
            raise SpecError(file, f"{key}.connect.in_degree", f"at most {pool} (the sources available)",
                            str(c))
        i = np.empty(c * n_post, dtype=np.int64)
        for t in range(n_post):
            src = rng.choice(pool, size=c, replace=False)
            if same_group and not autapses:
                src = src + (src >= t)
            i[t * c:(t + 1) * c] = np.sort(src)
        j = np.repeat(np.arange(n_post, dtype=np.int64), c)
    else:
        chunk = max(1, 2_000_000 // max(n_post, 1))
        for start in range(0, n_pre, chunk):
            rows = np.arange(start, min(n_pre, start + chunk))
            if "condition" in connect:
                mask = _condition_mask(connect["condition"], ns, n_pre, n_post, rows, file,
                                       f"{key}.connect").copy()
            else:
                mask = np.ones((len(rows), n_post), dtype=bool)
            if "p" in connect:
                p = evaluate_array(str(connect["p"]), ns, 1, rng, file=file, key=f"{key}.connect.p")[0]
                mask &= rng.random(mask.shape) < p
            r, cidx = np.nonzero(mask)
            ii.append(rows[r])
            jj.append(cidx)
        i = np.concatenate(ii) if ii else np.zeros(0, np.int64)
        j = np.concatenate(jj) if jj else np.zeros(0, np.int64)
    if same_group and not autapses:
        keep = i != j
        i, j = i[keep], j[keep]
    return i.astype(np.int64), j.astype(np.int64)


def _weights(spec, key, table, ns, i, j, n_pre, n_post, rng):
    out = {}
    extra = {"i": i.astype(float), "j": j.astype(float), "N_pre": float(n_pre), "N_post": float(n_post)}
    n = len(i)
    for var, w in table.get("weights", {}).items():
        wkey = f"{key}.weights.{var}"
        if isinstance(w, dict):
            def val(name, default):
                text = w.get(name, default)
                return evaluate_array(str(text), ns, 1, rng, extra={"N_pre": float(n_pre),
                                      "N_post": float(n_post)}, file=spec.file, key=f"{wkey}.{name}")[0]
            dist = w["distribution"]
            if dist == "normal":
                out[var] = val("mean", 0) + val("std", 1) * rng.standard_normal(n)
            elif dist == "lognormal":
                out[var] = np.exp(val("mean", 0) + val("std", 1) * rng.standard_normal(n))
            else:
                lo, hi = val("low", 0), val("high", 1)
                out[var] = lo + (hi - lo) * rng.random(n)
        else:
            from brian2.parsing.sympytools import str_to_sympy

            from ._sympy import brian_to_sympy, lambdify_numpy, si_namespace

            expr = brian_to_sympy(str_to_sympy(str(w)))
            values = si_namespace(ns)
            values.update(extra)
            names = sorted(str(s) for s in expr.free_symbols if str(s) != "_placeholder_arg")
            unknown = [nm for nm in names if nm not in values]
            if unknown:
                raise SpecError(spec.file, wkey, "an expression of parameters, i, j",
                                f"unknown {unknown[0]!r}", suggest(unknown[0], values))
            fn = lambdify_numpy(names, expr, random=(rng, n))
            out[var] = np.broadcast_to(np.asarray(fn(*[values[nm] for nm in names]), float), (n,)).copy()
    return out


def _coupling_plan(spec, name, table, groups, ns, seed):
    key = f"couplings.{name}"
    names = [g.name for g in groups]
    source = table.get("source", names[0])
    targets = table.get("target", names[0])
    targets = targets if isinstance(targets, list) else [targets]
    src = next(g for g in groups if g.name == source)
    cseed = _coupling_seed(spec, table, ns, seed, key)
    delay = None
    if "delay" in table:
        from brian2.units.allunits import second

        delay = parse_quantity(str(table["delay"]), second.dim, file=spec.file, key=f"{key}.delay",
                               names=ns)
    out = []
    for target in targets:
        tgt = next(g for g in groups if g.name == target)
        tag = zlib.crc32(f"{name}->{target}".encode())
        rng = np.random.default_rng([cseed, tag])
        cache_key = (spec.name, name, target, cseed, src.size, tgt.size, repr(table.get("connect")),
                     repr(table.get("weights")), tuple(sorted((k, str(v)) for k, v in ns.items())))
        cached = _CONNECTIVITY_CACHE.get(cache_key)
        if cached is None:
            i, j = _connectivity(spec, key, table["connect"], ns, src.size, tgt.size, source == target,
                                 table.get("autapses", True), rng)
            weights = _weights(spec, key, table, ns, i, j, src.size, tgt.size, rng)
            if len(_CONNECTIVITY_CACHE) > 32:
                _CONNECTIVITY_CACHE.clear()
            _CONNECTIVITY_CACHE[cache_key] = cached = (i, j, weights)
        i, j, weights = cached
        out.append(CouplingPlan(name if len(targets) == 1 else f"{name}_{target}", source, target,
                                table.get("model", ""), table.get("on_pre", ""), table.get("on_post", ""),
                                delay, i, j, weights, ns, key))
    return out


def _input_plan(spec, name, table, groups, ns):
    from brian2.units.allunits import hertz

    key = f"inputs.{name}"
    targets = table.get("target", [g.name for g in groups])
    targets = targets if isinstance(targets, list) else [targets]
    count = _int_of(parse_quantity(str(table["count"]), None, file=spec.file, key=f"{key}.count",
                                   names=ns), spec.file, f"{key}.count", table["count"])
    rate = float(parse_quantity(str(table["rate"]), hertz.dim, file=spec.file, key=f"{key}.rate",
                                names=ns) / hertz)
    weight = parse_quantity(str(table["weight"]), None, file=spec.file, key=f"{key}.weight", names=ns)
    return InputPlan(name, targets, table["variable"], count, rate, weight,
                     table.get("when_refractory", "ignore"), key)
