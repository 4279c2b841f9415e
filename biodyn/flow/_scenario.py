"""Learning scenarios: a protocol spec read as a rule plus the statistics of its inputs.

A scenario is what the flow analysis needs from a protocol spec — the rule (resolved with
the protocol's parameter set, imposed values and variants), the postsynaptic neuron, the input
statistics, the initial weights of the replay's conditions, the weight box analysed and the
protocol's ``[flow]`` settings — read from the SAME spec the replay simulates, so that "does the
Brian2 simulation go where the flow says" compares like with like.

Readers are registered per protocol engine (:data:`READERS`): the ``poisson_inputs`` engine
(spike rules) and the ``rate_inputs`` engine (rate rules) are read here.

The ``[flow]`` table of a protocol (all keys optional)::

    [flow]
    domain = [[0.0, 0.0], [1.0, 1.0]]   # the weight box analysed: [low, high] (scalars or per weight)
    aux = "adiabatic"                   # rate rules: other variables at their average ("state": dynamic)
    objective = "hebb_decay"            # a key of biodyn.flow.OBJECTIVES (default: by rule)
    grid = 9                            # sample points per dimension (gradient test, potential)
    condition = 0                       # the condition whose input statistics are analysed
    measure = { copies = 40, duration = 10.0, warmup = 1.0 }   # measured fields (seconds)
    note = "..."                        # shown in reports

Protocols whose conditions differ in their input statistics (``oja_pca``: the angle of the
principal axis) are analysed one condition at a time (``condition``, default the first); the
simulated trajectories shown are those of the conditions with the same labels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from ..errors import BiodynError, SpecError, suggest
from ._inputs import Inputs, MixturePoisson, PoissonRates

__all__ = ["Scenario", "scenario", "READERS", "register_reader", "FLOW_KEYS"]

#: Keys of a protocol's ``[flow]`` table.
FLOW_KEYS = ("domain", "aux", "objective", "grid", "note", "condition", "measure")


@dataclass
class Scenario:
    """A rule, its neuron and its input statistics (see the module docstring).

    Attributes
    ----------
    name : str
        The protocol's name.
    rule : Resolved
        The plasticity rule.
    kind : {"rate", "spike"}
    inputs : Inputs
    post : dict
        Rate rules: ``{"neuron": Resolved}``; spike rules: ``{"kind": "rate" | "linear",
        "baseline": Hz, "gain": float, "tau_eps": s}``.
    initial : (conditions, n) array
        Initial weights of the replay's conditions.
    domain : (low, high)
        The weight box analysed (arrays of length n).
    settings : Mapping
        The protocol's ``[flow]`` table.
    bounds : (low, high) or None
        Hard bounds of the rule (``clip``), if any.
    """

    name: str
    rule: Any
    kind: str
    inputs: Inputs
    post: Mapping[str, Any]
    initial: np.ndarray
    domain: tuple
    settings: Mapping[str, Any] = field(default_factory=dict)
    bounds: tuple | None = None
    protocol: Any = None
    file: str = "<scenario>"
    dt: float = 1e-4
    lr: float = 1.0
    condition: int = 0
    #: condition indices whose runs share the analysed input statistics (their trajectories)
    same: tuple = (0,)
    #: how long a rate input sample is held (rate scenarios), seconds
    sample_interval: float | None = None
    #: whether the domain was given (``flow.domain``) or is a default that the analysis may widen
    domain_given: bool = False
    #: the changes to the protocol's stimulus and network tables (as the engine checked them)
    changes: Mapping[str, Any] = field(default_factory=dict)

    @property
    def n(self):
        return self.inputs.n

    @property
    def model(self):
        return self.rule.spec.name

    def describe(self):
        return f"{self.model} ({self.rule.parameter_set}); {self.inputs.describe()}"


#: Scenario readers by protocol engine: ``reader(protocol, resolved, engine) -> Scenario``.
READERS: dict[str, Callable] = {}


def register_reader(engine_name):
    """Decorator: register a scenario reader for protocols of an engine."""

    def deco(fn):
        READERS[engine_name] = fn
        return fn

    return deco


def scenario(protocol, model=None, params=None, overrides=None, variants=None, *, stimulus=None,
             network=None, condition=None, seed=0):
    """The :class:`Scenario` of a protocol spec (name, path or :class:`ProtocolSpec`).

    ``condition`` (index) chooses the condition whose input statistics are analysed (default:
    the protocol's ``flow.condition``, else 0); ``seed`` is the replay's seed (the initial
    weights of protocols that draw them).
    """
    from .. import protocols
    from ..protocols import RunOptions

    spec = protocols.load(protocol)
    settings = dict(spec.raw.get("flow", {}) or {})
    for key in settings:
        if key not in FLOW_KEYS:
            raise SpecError(spec.file, f"flow.{key}", "one of " + ", ".join(FLOW_KEYS), repr(key),
                            suggest(key, FLOW_KEYS))
    reader = READERS.get(spec.engine)
    if reader is None:
        raise SpecError(spec.file, "engine", "an engine whose protocols the flow analysis can read ("
                        + ", ".join(sorted(READERS)) + ")", repr(spec.engine))
    resolved = protocols.resolve_model(spec, model, params, overrides, variants)
    engine = protocols.ENGINES[spec.engine](spec, resolved, RunOptions(
        stimulus=dict(stimulus or {}), network=dict(network or {}), seed=int(seed)))
    if condition is None:
        condition = settings.get("condition", 0)
    if isinstance(condition, bool) or not isinstance(condition, int) or not (
            0 <= condition < max(len(spec.conditions), 1)):
        raise SpecError(spec.file, "flow.condition", f"a condition index in [0, {len(spec.conditions) - 1}]",
                        repr(condition))
    sc = reader(spec, resolved, engine, condition)
    sc.condition = condition
    sc.settings = settings
    sc.protocol = spec
    sc.file = spec.file
    sc.changes = dict(engine.changes)  # the stimulus/network changes, checked and normalised
    from brian2 import second

    sc.dt = float(spec.dt / second)
    sc.domain = _domain(sc, settings.get("domain"))
    sc.domain_given = settings.get("domain") is not None
    return sc


def rule_bounds(resolved):
    """``(low, high)`` hard bounds of a rule (``bounds`` of its spec), or ``None``."""
    b = resolved.spec.data.get("bounds")
    if not b:
        return None
    ns = resolved.namespace
    try:
        return float(ns[b["low"]]), float(ns[b["high"]])
    except KeyError:
        return None


def _domain(sc, given):
    n = sc.n
    if given is not None:
        if not (isinstance(given, list) and len(given) == 2):
            raise SpecError(sc.file, "flow.domain", "[low, high] (numbers, or lists of one number per "
                            "weight)", repr(given))
        lo = np.broadcast_to(np.asarray(given[0], dtype=float), (n,)).copy()
        hi = np.broadcast_to(np.asarray(given[1], dtype=float), (n,)).copy()
        if np.any(hi <= lo):
            raise SpecError(sc.file, "flow.domain", "high > low for every weight", repr(given))
        return lo, hi
    if sc.bounds is not None and np.isfinite(sc.bounds).all() and sc.bounds[1] - sc.bounds[0] < 1e3:
        return np.full(n, float(sc.bounds[0])), np.full(n, float(sc.bounds[1]))
    R = 1.5 * max(1.0, float(np.max(np.abs(sc.initial))) if np.size(sc.initial) else 1.0)
    return np.full(n, -R), np.full(n, R)


# --------------------------------------------------------------------------
# The poisson_inputs engine (spike rules)
# --------------------------------------------------------------------------


@register_reader("poisson_inputs")
def _read_poisson_inputs(spec, resolved, engine, condition):
    from ..protocols._poisson_inputs import initial_weights, read_setup

    setup = read_setup(engine)
    if setup.mother_rate > 0 and np.any(setup.share > 0):
        inputs = MixturePoisson(setup.rates, mother_rate=setup.mother_rate, share=setup.share,
                                delays=setup.delays, jitter=setup.jitter)
    else:
        inputs = PoissonRates(setup.rates)
    post = {"kind": setup.post, "baseline": setup.baseline, "gain": setup.gain,
            "tau_eps": setup.tau_eps, "neuron": setup.neuron, "transmit": setup.transmit,
            "neuron_initial": setup.neuron_initial}
    w0 = initial_weights(engine, setup.n)
    return Scenario(spec.name, resolved, "spike", inputs, post, w0, (None, None),
                    bounds=rule_bounds(resolved), same=tuple(range(len(w0))))


# --------------------------------------------------------------------------
# The rate_inputs engine (rate rules)
# --------------------------------------------------------------------------


@register_reader("rate_inputs")
def _read_rate_inputs(spec, resolved, engine, condition):
    """Gaussian inputs (2-D, ``std`` along principal axes at ``angle``) or patterns, as the
    engine draws them for the chosen condition; the engine's own plan gives the covariance,
    the patterns and the initial weights."""
    from ..protocols._rate import RateInputsEngine  # noqa: F401  (the engine this reads)
    from ._inputs import GaussianRates, PatternRates
    from ._rate import RateRule

    if not RateRule.applies(resolved):
        raise SpecError(spec.file, "model", "a rate-based rule (its weight equation reads r_pre)",
                        repr(resolved.spec.name))
    plan = engine.plan()
    d = plan.data
    n = d["n_in"]
    k = condition
    if d["kind"] == "gaussian":
        mean = np.array([float(engine.quantity(str(m), None, f"stimulus.mean[{j}]",
                                               spec.conditions[k].quantities(spec.label_units())))
                         for j, m in enumerate(engine.stimulus.get("mean", [0] * n))])
        inputs = GaussianRates(mean, d["covariances"][k])
    else:
        inputs = PatternRates(d["patterns"][k], d["probabilities"][k])
    w0 = np.asarray(d["w0"], dtype=float).reshape(d["n_cond"], n)
    labels = dict(spec.conditions[k].labels)
    same = tuple(j for j, c in enumerate(spec.conditions) if dict(c.labels) == labels)
    from brian2 import second

    sc = Scenario(spec.name, resolved, "rate", inputs, {"neuron": d["neuron"]}, w0[list(same)],
                  (None, None), bounds=rule_bounds(resolved), same=same)
    sc.sample_interval = float(d["interval"] / second)
    return sc


def check_settings_value(sc, key, allowed):
    value = sc.settings.get(key)
    if value is not None and value not in allowed:
        raise SpecError(sc.file, f"flow.{key}", "one of " + ", ".join(map(str, allowed)), repr(value),
                        suggest(str(value), [str(a) for a in allowed]))
    return value


class ScenarioError(BiodynError):
    """A scenario the flow analysis cannot read."""
