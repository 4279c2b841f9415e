"""The protocol engine: run every condition of a protocol in one Brian2 run, and score it."""

from __future__ import annotations

import math
import os
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from .. import build, io
from .._quantity import exact_text
from ..errors import SimulationError, SpecError, suggest
from ..spec import Key, check_table, parse_quantity
from ._spec import ProtocolSpec, load

__all__ = ["Engine", "ENGINES", "register_engine", "RunOptions", "Outcome", "Plan", "ProtocolResult",
           "run", "summary", "score", "format_time", "clear_builds", "check_changes",
           "rerun_arguments", "sources", "record", "run_batch", "NotBatchable", "copy_values",
           "MonitorRows", "batch_memory", "TIMINGS", "TIMING_PARTS"]

#: Registry of protocol engines by name (``spike_pattern``, ...).
ENGINES: dict[str, type] = {}


def register_engine(cls):
    """Class decorator: register an :class:`Engine` under ``cls.name``."""
    ENGINES[cls.name] = cls
    return cls


@dataclass
class RunOptions:
    """How a protocol is run: target, seed, progress report, stimulus changes."""

    target: str = "auto"
    seed: int = 0
    report: Any = None
    stimulus: Mapping[str, Any] = field(default_factory=dict)
    network: Mapping[str, Any] = field(default_factory=dict)
    build_key: str | None = None
    record_dt: Any = None
    inputs: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Outcome:
    """What an engine's simulation gives back: one value per condition and the neo Block.

    ``conditions`` (optional): per condition, entries the summary's condition gets beside
    its value (``poisson_network``: ``settled`` and ``settling``, whether the output rate had
    settled by the end of the run); a condition with ``settled: false`` is listed in the
    summary's ``unsettled`` and named in a note (:func:`_finish`).
    """

    values: np.ndarray
    block: Any
    extra: Mapping[str, Any] = field(default_factory=dict)
    conditions: Any = None


@dataclass
class Plan:
    """What a run needs before any Brian2 object exists.

    ``signature`` holds everything that shapes the generated code (numbers of
    conditions and spikes, durations, time steps, model code): two plans with
    the same signature build identical projects, so a compiled build of one
    can rerun the other with new values. ``duration`` is the simulated time;
    ``data`` holds the engine's arrays (spike trains, currents, ...).
    """

    signature: tuple
    duration: Any
    data: dict = field(default_factory=dict)


class Engine:
    """Base class of protocol engines.

    An engine knows how to turn a protocol's stimulus and conditions into ONE
    Brian2 run (conditions as independent neurons or synapses), and what value
    to report per condition. Subclasses set ``name`` and ``stimulus_keys`` and
    implement either :meth:`simulate`, or — to compile once and rerun with
    other values — the four steps it is made of:

    * :meth:`plan` — stimulus arrays and the signature of the build (numpy only);
    * :meth:`build` — the Brian2 objects, created with ``parameters_as="variables"``
      and ``initialise=False`` so that no value enters the generated code;
    * :meth:`values` — every value the run starts from (parameters, initial
      states, and on a rerun the spike arrays), passed as ``Simulation.run(values=...)``;
    * :meth:`collect` — the value per condition and the neo Block.
    """

    name: str = ""
    stimulus_keys: Mapping[str, Key] = {}
    network_keys: Mapping[str, Key] = {}
    #: The inputs (not spec entries) the engine reads, with what each is (``{"file": ...}``).
    input_keys: Mapping[str, str] = {}
    condition_keys: tuple = ()  # stimulus keys a condition of a list may override
    observables: tuple = ("relative_weight_change",)

    def __init__(self, protocol: ProtocolSpec, resolved, options: RunOptions):
        self.protocol = protocol
        self.resolved = resolved
        self.options = options
        changes = check_changes(protocol, stimulus=options.stimulus, network=options.network,
                                inputs=options.inputs)
        self.changes = changes
        self.stimulus = dict(protocol.stimulus)
        self.stimulus.update(changes["stimulus"])
        self.network = dict(protocol.network)
        self.network.update(changes["network"])
        self.dt = protocol.dt
        self.record_dt = options.record_dt if options.record_dt is not None else protocol.record_dt
        self.inputs = dict(options.inputs or {})

    @classmethod
    def validate(cls, protocol: ProtocolSpec):
        """Check the engine-specific parts of a protocol spec."""
        check_table(dict(protocol.stimulus), cls.stimulus_keys, file=protocol.file, prefix="stimulus.")
        check_table(dict(protocol.network), cls.network_keys, file=protocol.file, prefix="network.")
        for cond in protocol.conditions:
            for key in cond.extra:
                if key not in cls.condition_keys:
                    raise SpecError(protocol.file, f"conditions.list[{cond.index}].{key}",
                                    "a label or one of " + (", ".join(cls.condition_keys) or "(none)"),
                                    repr(key), suggest(key, cls.condition_keys))
        if protocol.observable not in cls.observables:
            raise SpecError(protocol.file, "observable", "one of " + ", ".join(cls.observables),
                            repr(protocol.observable), suggest(protocol.observable, cls.observables))

    def quantity(self, text, dim, key, labels=None):
        """Evaluate a stimulus entry (may use the condition's labels and model parameters)."""
        names = self.resolved.namespace  # only read
        if labels:
            names = {**names, **labels}
        return parse_quantity(text, dim, file=self.protocol.file, key=key, names=names)

    #: Whether the engine implements plan/build/values/collect (and can rerun a build).
    reusable = False

    def plan(self) -> Plan:  # pragma: no cover - abstract
        raise NotImplementedError

    def build(self, sim: build.Simulation, plan: Plan) -> dict:  # pragma: no cover - abstract
        """Create the Brian2 objects; return handles with the list ``"objects"`` to run."""
        raise NotImplementedError

    def values(self, handles: dict, plan: Plan, rerun: bool = False) -> dict:  # pragma: no cover
        """The values the run starts from (``{group.var or (group, name): value}``)."""
        raise NotImplementedError

    def collect(self, handles: dict, plan: Plan, block: bool = True) -> Outcome:  # pragma: no cover
        raise NotImplementedError

    def simulate(self, sim: build.Simulation) -> Outcome:
        """Plan, build, run and collect (engines without these steps override this)."""
        plan = self.plan()
        handles = self.build(sim, plan)
        sim.run(plan.duration, *handles["objects"], values=self.values(handles, plan))
        return self.collect(handles, plan)

    def brian_random(self) -> bool:
        """Whether the run draws Brian2 random numbers (then Brian2 is seeded).

        Engines draw their stimuli with numpy (seeded); Brian2 is seeded only if
        the model's code uses ``rand``, ``randn``, ``xi`` or ``poisson``, because
        on ``cpp_standalone`` the seed is part of the generated code.
        """
        texts = tuple(t for t in list(self.resolved.code.values()) + list(self.extra_code())
                      if isinstance(t, str))
        return _draws_random(texts)

    def extra_code(self):
        """Code strings the engine adds to the model (checked by :meth:`brian_random`)."""
        return ()

    def block_annotations(self):
        return {}

    # -- batched runs: several points of a sweep as independent copies of one build ---------
    #: How points (other parameter values, seeds, or values of :attr:`batch_stimulus`, same
    #: code) run together: ``None`` — they cannot (each runs alone); ``"copies"`` — every
    #: point is an independent copy of the protocol's circuit (its conditions' neurons and
    #: synapses) in ONE Brian2 run, its inputs drawn from its own seed, the model parameters
    #: that differ between points per-element variables of the copies
    #: (:meth:`build_copies`, :meth:`values_copies`, :meth:`collect_copies`).
    batch: str | None = None
    #: Stimulus keys whose values may differ between the copies of one batch (they change
    #: the drawn arrays, not the code); points differing in other keys form other batches.
    batch_stimulus: tuple = ()
    #: Whether the engine checks that each condition's value settled by the end of the run
    #: (its conditions carry ``settled`` and ``settling``, the summary ``unsettled``): what a
    #: result of this engine reports, so that a sweep can tell a result written before the
    #: check (without ``unsettled``) from one of this version.
    checks_settled: bool = False

    def batch_signature(self, plan: Plan) -> tuple:
        """What must be equal for two points' plans to run as copies of one build."""
        return plan.signature

    def estimate_bytes(self) -> float:
        """Memory (bytes) one copy of this run needs, for sizing batches (a rough upper bound)."""
        return 0.0

    def copy_state_bytes(self) -> float:
        """Bytes of one copy's state that every input event touches (its plastic synapses'
        variables), for sizing batches to the cache (:func:`batch_copies_for_cache`); 0: no
        limit."""
        return 0.0

    def merge(self, plans, engines) -> Plan:  # pragma: no cover - abstract
        """One plan holding the copies of ``plans`` (one per point, ``engines`` theirs); its
        signature says everything that shapes the batch's code. ``data["varying"]`` is set
        by the caller: the model parameters that differ between the points."""
        raise NotImplementedError

    def build_copies(self, sim, merged):  # pragma: no cover - abstract
        raise NotImplementedError

    def values_copies(self, handles, merged, engines, rerun=False):  # pragma: no cover
        raise NotImplementedError

    def collect_copies(self, handles, merged, engines, block=True):  # pragma: no cover
        """One :class:`Outcome` per copy, each what the copy's point gives when run alone."""
        raise NotImplementedError


@lru_cache(maxsize=256)
def _draws_random(texts):
    """Whether code ``texts`` (a tuple of strings) use Brian2's random functions (by text:
    the same model code is checked once per process, not once per point)."""
    from brian2.utils.stringtools import get_identifiers

    ids = set()
    for text in texts:
        ids |= get_identifiers(text)
    return bool(ids & {"rand", "randn", "poisson"}) or any(i.startswith("xi") for i in ids)


class NotBatchable(Exception):
    """Raised while preparing a batch whose points cannot run as copies (they run alone)."""


def copy_values(group, starts, sizes):
    """The start values of a group holding copies: per-copy ``starts`` (``{var: value}``,
    each as :func:`biodyn.build.start_values` gives them) over ``sizes`` elements each.

    A per-element variable gets the concatenation of the copies' values (a scalar
    broadcast over its copy's elements); a shared variable must have one value in
    every copy. Values that are code (``"rand()"``, ``"i*mV"``) are evaluated by Brian2
    per element of the whole group, which no copy of a point run alone reproduces:
    :class:`NotBatchable`.
    """
    from brian2.units.fundamentalunits import Quantity, get_dimensions

    out = {}
    for var in starts[0]:
        vals = [s[var] for s in starts]
        if any(isinstance(v, str) for v in vals):
            raise NotBatchable(f"{var} of {group.name} starts from code {vals[0]!r}")
        if group.variables[var].scalar:
            if not all(np.array_equal(np.asarray(v), np.asarray(vals[0])) for v in vals[1:]):
                raise NotBatchable(f"the shared variable {var} of {group.name} differs between points")
            out[var] = vals[0]
            continue
        parts = [np.broadcast_to(np.asarray(v, dtype=float), (n,)) for v, n in zip(vals, sizes)]
        dim = get_dimensions(vals[0])
        out[var] = Quantity(np.concatenate(parts), dim=dim)
    return out


class MonitorRows:
    """Rows of a StateMonitor's recording, read like the monitor (for one copy's Block)."""

    def __init__(self, monitor, variable, rows):
        self._values = getattr(monitor, variable)[rows]
        self._variable = variable
        self.t = monitor.t
        self.clock = monitor.clock
        self.source = monitor.source
        self.record = np.asarray(monitor.record)[rows]

    def __getattr__(self, name):
        if name == self.__dict__.get("_variable"):
            return self._values
        raise AttributeError(name)


def cache_bytes():
    """The size of one core's L2 cache (bytes), from Linux's sysfs; 1 MiB if unknown."""
    try:
        text = Path("/sys/devices/system/cpu/cpu0/cache/index2/size").read_text().strip()
        scale = {"K": 2**10, "M": 2**20, "G": 2**30}.get(text[-1:].upper(), 1)
        return int(text.rstrip("KMGkmg")) * scale
    except (OSError, ValueError):
        return 2**20


def batch_copies_for_cache(state_bytes, cache=None):
    """Copies per batch whose per-event state fits one core's L2 cache (at least 1; ``None``
    when the engine sets no limit).

    A batch's copies share every time step's per-object costs, but each input event reads and
    writes its synapse's variables: when the batch's synapses outgrow the L2 cache, every
    event misses it. Measured on the 2-core test machine (1 MiB of L2 per core), song_2000
    points of 10 s, CPU per point in all: batches of 8 copies 0.033 s, 16 copies 0.032 s,
    32 copies 0.034 s, 64 copies 0.040 s (64 KB of synapse state per copy).
    """
    if not state_bytes or state_bytes <= 0:
        return None
    cache = cache_bytes() if cache is None else cache
    return max(1, int(cache // state_bytes))


def batch_memory(workers=1):
    """Bytes one batch may use: a quarter of the memory available now, shared by ``workers``
    processes (at most 4 GiB a batch)."""
    available = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    available = float(line.split()[1]) * 1024
    except OSError:
        pass
    if available is None:
        available = 4 * 2**30
    return min(available / 4 / max(1, workers), 4 * 2**30)


#: How :func:`check_changes` names each table in its errors: table -> (file, key prefix).
ARGUMENTS = {"stimulus": ("<arguments>", "stimulus."), "network": ("<arguments>", "network."),
             "inputs": ("<arguments>", "inputs.")}


def check_changes(protocol, stimulus=None, network=None, inputs=None, *, where=None):
    """Check changes to a protocol's ``stimulus`` and ``network`` tables, and its ``inputs``,
    against what its engine reads; return them normalised.

    Every engine declares the keys it reads (``Engine.stimulus_keys``,
    ``Engine.network_keys``: name -> :class:`~biodyn.spec.Key`, and ``Engine.input_keys``);
    this is the one place a change is checked against them, before anything is built.
    An unknown key (``repetition`` for ``repetitions``), a value of another type, a key
    that some of the protocol's conditions set themselves (the change would not reach them),
    or an input given to an engine that reads none raises :class:`~biodyn.errors.SpecError`
    naming where the change came from (``where``: table -> ``(file, key prefix)``, e.g.
    ``{"stimulus": ("<command line>", "--stimulus ")}``; default :data:`ARGUMENTS`), the
    key, what the engine reads, and the closest key.

    A number given for a key that takes text (a quantity such as ``duration``) becomes its
    text (``20`` -> ``"20"``), which the engine then parses with its unit check.

    Returns
    -------
    dict
        ``{"stimulus": {...}, "network": {...}, "inputs": {...}}``.
    """
    protocol = load(protocol)
    engine = ENGINES[protocol.engine]
    where = dict(ARGUMENTS, **(where or {}))
    out = {}
    for table, changes, keys in (("stimulus", stimulus, engine.stimulus_keys),
                                 ("network", network, engine.network_keys)):
        file, prefix = where[table]
        changes = dict(changes or {})
        for name, value in list(changes.items()):
            if name in keys and isinstance(value, (int, float)) and not isinstance(value, bool):
                types = keys[name].types
                if str in types and not any(t in types for t in (int, float)):
                    changes[name] = repr(value) if isinstance(value, float) else str(value)
        for name, value in changes.items():
            if (name in keys and isinstance(value, str) and value.strip().startswith("[")
                    and list in keys[name].types and str not in keys[name].types):
                raise SpecError(file, _key(prefix, name), f"{keys[name].type_name()} "
                                f"({keys[name].doc})",
                                f"text {value!r}", "write the array in TOML, text quoted: "
                                f"{name}=['0 ms', '10 ms'] or {name}=[[1, 0], [0, 1]]")
        if changes and not keys:
            raise SpecError(file, _key(prefix, next(iter(changes))), f"no {table} changes (the "
                            f"{engine.name} engine of {protocol.name} reads no {table} table)",
                            ", ".join(repr(k) for k in changes))
        check_table({k: v for k, v in changes.items()}, {k: Key(v.types, False, v.doc)
                                                        for k, v in keys.items()},
                    file=file, prefix=prefix)
        if table == "stimulus":
            _check_dimensions(protocol, changes, file, prefix)
        out[table] = changes
    file, prefix = where["inputs"]
    inputs = dict(inputs or {})
    for name in inputs:
        if name not in engine.input_keys:
            if not engine.input_keys:
                raise SpecError(file, _key(prefix, name),
                                f"no input (protocol {protocol.name}, engine {engine.name}, "
                                "reads none)", repr(str(inputs[name])),
                                "leave it out, or choose a protocol that replays recorded data "
                                "(biodyn list protocols)")
            raise SpecError(file, _key(prefix, name), "one of " + ", ".join(engine.input_keys),
                            repr(name), suggest(name, engine.input_keys))
    out["inputs"] = inputs
    return out


def _check_dimensions(protocol, changes, file, prefix):
    """A text change of a stimulus entry must have the dimension of the protocol's own value
    (evaluated with the first condition's labels): ``input_rate = "10"`` for a rate in Hz is an
    error here, before anything runs, not one per condition or sweep point later. Values that
    need the model's parameters to evaluate (either side) are left to the engine."""
    from brian2.units.fundamentalunits import get_dimensions

    from .._quantity import QuantityError

    names = protocol.conditions[0].quantities(protocol.label_units()) if protocol.conditions else {}
    for name, value in changes.items():
        own = protocol.stimulus.get(name)
        if not isinstance(value, str) or not isinstance(own, str):
            continue
        try:
            expected = get_dimensions(parse_quantity(own, None, names=names))
            found = parse_quantity(value, None, names=names)
        except (SpecError, QuantityError, KeyError, TypeError, ValueError, SyntaxError):
            continue  # not a quantity, or not without the model: the engine checks it
        if get_dimensions(found) != expected:
            parse_quantity(value, expected, file=file, key=_key(prefix, name), names=names)  # raises, naming both


def _key(prefix, name):
    """``stimulus.`` + ``duration``; a flag (``--input``) names itself."""
    return prefix + name if prefix.endswith((".", " ")) else prefix


#: What each key of :attr:`ProtocolResult.timings` measures: wall-clock seconds
#: (``time.perf_counter``; Brian2's own timers for ``standalone_*``). A key is present only
#: where its step happened (``build`` on a fresh ``cpp_standalone`` build, ``rerun`` on a
#: kept one, ``batch`` in a batch). Every part is at most the key it is part of
#: (:data:`TIMING_PARTS`); in a batch the Brian2 run is the batch's, shared by its copies.
TIMINGS = {
    "total": "the wall time of the Brian2 run that produced the result: from building its "
             "objects (or finding a kept build) to the values collected from the monitors; "
             "not the argument checks before, nor the summary and neo Block after. In a batch "
             "(run_batch): the whole batch's, shared by its copies",
    "per_point": "this point's share of total: total / the number of points run together "
                 "(total itself for a run alone); the figure to add up over the points of a "
                 "sweep",
    "batch": "in a batch only: the same as total (the batch's wall time; the name of files "
             "written before total meant it)",
    "run": "biodyn.build.Simulation.run: setting the start values and Brian2's Network.run "
           "(on numpy and cython its code generation, and cython's compilation or cache "
           "lookup, included); on cpp_standalone the whole of build as well",
    "rerun": "cpp_standalone, a kept build run again with new values: the binary's run only "
             "(no code generation, no compilation); in place of run and build",
    "build": "cpp_standalone, a fresh build: Brian2's code generation, compilation and the "
             "binary's first run (part of run)",
    "standalone_make": "cpp_standalone, a fresh build: Brian2's timer of 'make' (compilation; "
                       "part of build)",
    "standalone_run_binary": "cpp_standalone, a fresh build: Brian2's timer of the binary's run "
                             "(part of build)",
}
#: key -> the key whose time it is part of (or, for ``per_point``, a share of).
TIMING_PARTS = {"per_point": "total", "batch": "total", "run": "total", "rerun": "total",
                "build": "run", "standalone_make": "build", "standalone_run_binary": "build"}


@dataclass
class ProtocolResult:
    """A protocol run: the summary (JSON contract), the neo Block, and how long it took.

    ``timings`` maps the keys of :data:`TIMINGS` (seconds) to what they measure there:
    ``total`` the wall time of the Brian2 run behind the result (in a batch: the batch's),
    ``per_point`` this point's share of it, and the steps inside it (``run`` or ``rerun``,
    ``build``, ``standalone_*``), each at most the total it is part of. Sweeps copy them into
    a point's ``extra.timings``; the replay JSON does not hold them (its content depends only
    on what ran, not on how fast).
    """

    protocol: ProtocolSpec
    resolved: Any
    summary: dict
    block: Any
    timings: dict
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def values(self):
        return np.array([c["value"] for c in self.summary["conditions"]])

    @property
    def settled(self):
        """Per condition, whether its value had settled by the end of the run (a bool array),
        or ``None`` if the engine does not check (``poisson_network`` does: see
        ``summary["conditions"][k]["settling"]``)."""
        conds = self.summary["conditions"]
        if not any("settled" in c for c in conds):
            return None
        return np.array([bool(c.get("settled")) for c in conds])


def format_time(q):
    """A time quantity as text in ms (``"0.1 ms"``)."""
    from brian2 import ms

    return f"{float(q / ms):g} ms"


def score(conditions):
    """``{"chi": sqrt(mean(((value-data)/error)^2)), "n": n}`` over conditions with data."""
    terms = [((c["value"] - c["data"]) / c["error"]) ** 2 for c in conditions
             if c.get("data") is not None and c.get("error") not in (None, 0)]
    if not terms:
        return {"chi": None, "n": 0}
    return {"chi": float(math.sqrt(sum(terms) / len(terms))), "n": len(terms)}


def summary(protocol, resolved, values, seed, target, files=None, changes=None, *, _memo=None):
    """The JSON summary of a protocol run (the contract later tools rely on).

    Besides the values per condition and the score, it records everything that shaped
    the run, so that :func:`rerun_arguments` reruns it from the summary alone:
    ``model``, ``parameter_set`` (name, or file), ``parameters`` (every resolved value, as
    text that reads back to the same float: :func:`biodyn._quantity.exact_text`),
    ``overrides`` (as given, the protocol's imposed ``set`` included), ``variants`` (the
    option on every axis), ``stimulus`` and ``network`` (the changes to the protocol's
    tables), ``inputs`` (files replayed), ``select``, ``record_dt``, ``seed``, ``target``,
    ``dt``, ``versions``, and ``sources``: path and SHA-256 of the protocol, model,
    parameter-set and input files, so that a rerun can tell whether they changed since.
    ``changes`` holds the run's ``stimulus``, ``network``, ``inputs``, ``select`` and
    ``record_dt`` as given.
    """
    conditions = []
    replaced, notes = _replaced_labels(protocol, resolved, (changes or {}).get("stimulus"))
    for cond, value in zip(protocol.conditions, values):
        data, error = protocol.data_for(cond.index)
        value = float(value)
        if not math.isfinite(value):
            raise SpecError(protocol.file, "observable", "a finite value per condition",
                            f"{value} for condition {dict(cond.labels)}")
        conditions.append({"labels": {k: _number(replaced.get(k, v)) for k, v in cond.labels.items()},
                           "value": value, "data": data, "error": error})
    rec = record(protocol, resolved, seed, target, changes, _memo=_memo)
    out = {**rec, "units": dict(protocol.units), "conditions": conditions,
           "score": score(conditions), "files": dict(files or {"block": None, "figure": None})}
    if notes:
        out["notes"] = notes
    return out


def _replaced_labels(protocol, resolved, stimulus):
    """Condition labels a run's stimulus change makes false, with the value that ran instead.

    A protocol's stimulus entry that is just the name of a condition column (fi_curve's
    ``amplitude = "current"``, song_2000's ``input_rate = "input_rate"``) makes that column the
    condition variable. A run's change of the entry (``--stimulus amplitude='3 nA'``, a sweep's
    ``stimulus.input_rate``) applies to every condition, so each condition ran at the changed
    value and is labelled with it (in the column's unit): a figure, a CSV or a neo annotation
    then shows what ran, never the protocol's value. Returns ``({column: value}, notes)``.
    """
    units = protocol.label_units()
    replaced, notes = {}, []
    for key, value in (stimulus or {}).items():
        column = protocol.stimulus.get(key)
        if not isinstance(column, str) or column.strip() not in units or str(value).strip() == column.strip():
            continue
        column = column.strip()
        dim, scale = units[column]
        q = parse_quantity(str(value), dim, file="<arguments>", key=f"stimulus.{key}",
                           names=dict(resolved.namespace))
        number = float(f"{float(np.asarray(q, dtype=float)) / scale:.12g}")
        replaced[column] = number
        unit = protocol.units.get(column, "1")
        shown = f"{number:g}" + ("" if unit in ("1", "") else f" {unit}")
        notes.append(f"stimulus.{key} = {value} ran in every condition: the conditions' {column} labels "
                     f"are {shown} (the protocol's {column} values did not run)")
    return replaced, notes


def record(protocol, resolved, seed, target, changes=None, *, _memo=None):
    """What shaped a run of ``protocol`` on ``resolved`` (the head of :func:`summary`, for
    jobs that run a protocol and write their own JSON: ``biodyn analyze flow``)."""
    pset = resolved.parameter_set
    if pset is None and resolved.parameter_set_obj is not None:
        pset = resolved.parameter_set_obj.name
    changes = dict(changes or {})
    select = changes.get("select")
    record_dt = changes.get("record_dt")
    return {
        "protocol": protocol.name,
        "model": resolved.spec.name,
        "parameter_set": str(pset) if pset is not None else "",
        "overrides": resolved.overrides_text(),
        "variants": dict(resolved.variants),
        "parameters": {k: exact_text(v) for k, v in resolved.namespace.items()},
        "stimulus": _plain(changes.get("stimulus") or {}),
        "network": _plain(changes.get("network") or {}),
        "inputs": {k: (str(v) if isinstance(v, (str, os.PathLike)) else f"<{type(v).__name__}>")
                   for k, v in (changes.get("inputs") or {}).items()},
        "select": (None if select is None else
                   [int(i) for i in select] if not callable(select) else "<function>"),
        "record_dt": None if record_dt is None else exact_text(record_dt),
        "seed": int(seed),
        "target": target,
        "dt": format_time(protocol.dt),
        "versions": build.versions(),
        "sources": _sources(protocol, resolved, changes.get("inputs"), _memo),
    }


def _sources(protocol, resolved, inputs, memo):
    """:func:`sources`, read once for the points of one batch (``memo``: a dict the batch
    holds while it finishes its points; they read the same files at the same moment)."""
    if memo is None:
        return sources(protocol, resolved, inputs)
    pset = resolved.parameter_set_obj
    key = ("sources", str(protocol.path), str(resolved.spec.path), None if pset is None else pset.name,
           tuple((k, str(v)) for k, v in (inputs or {}).items()
                 if isinstance(v, (str, os.PathLike))))
    if key not in memo:
        memo[key] = sources(protocol, resolved, inputs)
    return {role: dict(entry) for role, entry in memo[key].items()}


def _plain(value):
    """Stimulus/network values as JSON data (quantities as exact text)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    return exact_text(value)


def sha256(path):
    """SHA-256 of a file's bytes (hex), or ``None`` if it cannot be read."""
    import hashlib

    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


def sources(protocol, resolved, inputs=None):
    """The files a run read: ``{role: {"path", "sha256"}}`` for the protocol, the model, a
    parameter set read from its own file, and input files."""
    out = {}

    def add(role, path):
        if path:
            path = Path(path).resolve()
            out[role] = {"path": str(path), "sha256": sha256(path)}

    add("protocol", protocol.path)
    add("model", resolved.spec.path)
    pset = resolved.parameter_set_obj
    if pset is not None and pset.name not in resolved.spec.parameter_sets and Path(pset.name).is_file():
        add("parameter_set", pset.name)
    for key, value in (inputs or {}).items():
        if isinstance(value, (str, os.PathLike)):
            add(f"input.{key}", value)
    return out


def rerun_arguments(summary):
    """The arguments of :func:`run` that rerun the run a summary records, and notes.

    Parameters are taken from the record, not from the spec files: the set is rebuilt
    from ``parameters`` (every resolved value, exact), with the recorded ``overrides``,
    ``variants`` (every axis), ``stimulus``/``network`` changes, ``inputs``, ``select``,
    ``record_dt``, ``seed`` and ``target``; the same numbers follow on the same target. The
    protocol (its stimulus, conditions, dt) and the model's code are read from their files:
    a note says so where a file's SHA-256 differs from the recorded one.

    Returns
    -------
    kwargs : dict
        For ``run(**kwargs)`` (``protocol`` included).
    notes : list of str
    """
    from ..spec import ParameterSet

    file = "<result JSON>"
    for key in ("protocol", "model", "parameters", "variants", "seed", "target"):
        if key not in summary:
            raise SpecError(file, key, "a result JSON written by biodyn replay (it records "
                            "what shaped the result)", "no such key",
                            "results written before biodyn recorded their parameters and "
                            "variants cannot be rerun from their JSON")
    recorded = summary.get("sources", {})
    notes = []

    def source(role, name):
        entry = recorded.get(role) or {}
        path = entry.get("path")
        if path and Path(path).is_file():
            if entry.get("sha256") and sha256(path) != entry["sha256"]:
                notes.append(f"{path} changed since the result was written (SHA-256 differs): "
                             "the rerun reads its current content")
            return path
        if path:
            notes.append(f"{path} (the {role} of the result) is gone: using {name!r} from the catalog")
        return name

    protocol = load(source("protocol", summary["protocol"]))
    model_name = summary["model"]
    model = None if model_name == protocol.model else source("model", model_name)
    if model is None:
        source("model", model_name)  # a note if the default model's file changed
    entry = recorded.get("parameter_set") or {}
    if entry.get("path") and sha256(entry["path"]) != entry.get("sha256"):
        notes.append(f"{entry['path']} changed since the result was written (or is gone): the "
                     "rerun uses the parameter values recorded in the result")
    values = {k: str(v) for k, v in summary["parameters"].items()}
    params = None
    if values or summary.get("parameter_set"):
        params = ParameterSet(summary.get("parameter_set") or "<recorded parameters>",
                              values, None, "parameters recorded in a result JSON")
    inputs = {}
    for key, value in (summary.get("inputs") or {}).items():
        if str(value).startswith("<"):
            raise SpecError(file, f"inputs.{key}", "an input file", f"{value} (given in code)",
                            "rerun it from the script that made it")
        inputs[key] = source(f"input.{key}", value)
    if summary.get("select") == "<function>":
        raise SpecError(file, "select", "condition indices", "a function",
                        "rerun it from the script that made it")
    record_dt = summary.get("record_dt")
    if record_dt is not None:
        record_dt = parse_quantity(record_dt, None, file=file, key="record_dt")
    kwargs = dict(protocol=protocol, model=model, params=params,
                  overrides=dict(summary.get("overrides") or {}),
                  variants=dict(summary["variants"]), target=summary["target"],
                  seed=int(summary["seed"]), stimulus=dict(summary.get("stimulus") or {}),
                  network=dict(summary.get("network") or {}), inputs=inputs or None,
                  select=summary.get("select"), record_dt=record_dt)
    return kwargs, notes


def _number(v):
    return int(v) if float(v).is_integer() else float(v)


def resolve_model(protocol, model=None, params=None, overrides=None, variants=None):
    """The model a protocol runs: its default (with its set, variants and imposed values)
    unless ``model`` names another one (which then starts from its own default set)."""
    default = model is None or model == protocol.model
    name = protocol.model if model is None else model
    merged = {}
    var = {}
    if default:
        merged.update(protocol.set)
        var.update(protocol.variants)
        if params is None:
            params = protocol.parameter_set
    merged.update(overrides or {})
    var.update(variants or {})
    return build.resolve(name, params, merged, var)


#: Kept standalone builds of this process: signature -> (Simulation, handles), newest last.
_BUILDS: "OrderedDict[tuple, tuple]" = OrderedDict()
#: How many kept builds a process holds (each is a compiled project and its small arrays).
MAX_KEPT_BUILDS = 8


def clear_builds():
    """Forget the kept standalone builds of this process (the next runs build again)."""
    _BUILDS.clear()


def run(protocol, model=None, params=None, overrides=None, variants=None, *, target="auto",
        seed=0, stimulus=None, network=None, report=None, record_dt=None, build_key=None,
        reuse=True, block=True, inputs=None, select=None):
    """Run a protocol: every condition in one Brian2 run, scored against the published data.

    Parameters
    ----------
    protocol : str or ProtocolSpec
        Catalog name (``"bi_poo_1998"``) or path of a protocol spec.
    model, params, overrides, variants
        The model (default: the protocol's), its parameter set (name or path),
        parameter overrides (``{"tau_plus": "16.8 ms"}``) and variant options.
    target : {"auto", "numpy", "cython", "cpp_standalone"}
    seed : int
        Seeds every random draw of the run; recorded in the results.
    stimulus, network : dict, optional
        Changes to the protocol's stimulus/network tables (e.g. ``{"repetitions": 5}``).
    report : Brian2 report argument, optional
    reuse : bool
        On ``cpp_standalone``, rerun a build kept from an earlier run of this
        process whose generated code is the same (same model code, same numbers
        of conditions and spikes, same durations) with the new values: no code
        generation, no compilation (see :class:`~biodyn.build.Simulation`).
    block : bool
        ``False`` skips assembling the neo Block (``result.block`` is ``None``):
        for fits, which need the values only.
    inputs : Mapping, optional
        Engine-specific inputs that are not spec entries (``spike_trains``: the
        recorded Block, ``{"block": ...}``, or file, ``{"file": path}``).
    select : list of int or callable, optional
        Run only some conditions (:meth:`ProtocolSpec.select`).

    Returns
    -------
    ProtocolResult
        ``timings`` (seconds, :data:`TIMINGS`) holds ``total`` (the Brian2 run: from
        building its objects to the values collected), ``per_point`` (the same, for a run
        alone), ``run`` (:meth:`biodyn.build.Simulation.run`) and, on ``cpp_standalone``,
        ``build`` (code generation, compilation and first run, part of ``run``) with Brian2's
        ``standalone_make`` and ``standalone_run_binary``, or ``rerun`` alone (a kept build).
    """
    spec, resolved, target, engine = _setup(protocol, model, params, overrides, variants, target,
                                            seed, stimulus, network, report, record_dt, inputs,
                                            select)
    key = build_key or _build_key(spec, resolved)
    t0 = time.perf_counter()
    brian_seed = seed if engine.brian_random() else None
    # On cpp_standalone the report never enters the generated code (replays with and without
    # it share one build): Simulation prints elapsed-time lines for compiling and running.
    if engine.reusable:
        plan = engine.plan()
        signature = _run_signature(spec, key, target, brian_seed, resolved, plan.signature)
        outcome, timings = _run_plan(engine, plan, signature, spec, target, brian_seed, key,
                                     report, reuse, block)
    else:
        with build.Simulation(target, dt=spec.dt, seed=brian_seed, build_key=key,
                              report=report) as sim:
            outcome = engine.simulate(sim)
            timings = dict(sim.timings)
    timings["total"] = timings["per_point"] = time.perf_counter() - t0
    return _finish(engine, resolved, outcome, seed, target, select, record_dt, block, timings)


def _setup(protocol, model, params, overrides, variants, target, seed, stimulus, network, report,
           record_dt, inputs, select):
    """The protocol (its selected conditions), the resolved model, the target and the engine
    of one run; every check of the arguments happens here, before anything is built."""
    spec = load(protocol)
    if select is not None:
        spec = spec.select(select)
    resolved = resolve_model(spec, model, params, overrides, variants)
    target = build.resolve_target(target)
    if target not in spec.targets:
        raise SpecError("<command line>", "--target", "one of " + ", ".join(spec.targets) +
                        f" for protocol {spec.name}", repr(target))
    options = RunOptions(target=target, seed=seed, report=report, stimulus=dict(stimulus or {}),
                         network=dict(network or {}), record_dt=record_dt, inputs=dict(inputs or {}))
    engine = ENGINES[spec.engine](spec, resolved, options)
    return spec, resolved, target, engine


def _build_key(spec, resolved):
    return f"{spec.name}-{resolved.spec.name}-" + "-".join(
        f"{a}.{o}" for a, o in sorted(resolved.variants.items()))


def copies_key(key, n_copies):
    """The standalone project folder's key of a batch of ``n_copies`` copies of the build
    ``key``: a batch's code depends on its number of copies (the arrays' sizes are compiled
    in), so batches of different sizes get a folder each (``song_2000-...-x64``,
    ``...-x8``). Sharing one, a sweep that alternates sizes (64 copies, then the remaining
    8) overwrote the other's project and recompiled it at every turn; each folder now
    keeps its build, and a kept build of each size reruns without compiling."""
    return f"{key}-x{int(n_copies)}"


def _run_signature(spec, key, target, brian_seed, resolved, plan_signature):
    """Everything that shapes a run's generated code (a kept build reruns an equal one)."""
    return (spec.name, str(spec.path), key, target, _dt_text(spec.dt), brian_seed,
            resolved.spec.name, str(resolved.spec.path),
            tuple(sorted((k, v) for k, v in resolved.code.items() if isinstance(v, str))),
            tuple(sorted(resolved.namespace)), plan_signature)


def _dt_text(dt):
    """``str(dt)`` of a time step (``dt``, ``record_dt``) for a signature: Brian2's best-unit
    text costs ~70 µs a call, once per point of a batch; cached by type, float and
    dimension, which decide it."""
    from brian2.units.fundamentalunits import get_dimensions

    if np.ndim(dt) != 0:
        return str(dt)
    try:
        key = (type(dt), float(dt).hex(), get_dimensions(dt))
    except (TypeError, ValueError):  # None, an array: as it is
        return str(dt)
    text = _DT_TEXTS.get(key)
    if text is None:
        text = _DT_TEXTS[key] = str(dt)
    return text


_DT_TEXTS: dict = {}


def _run_plan(engine, plan, signature, spec, target, brian_seed, key, report, reuse, block, *,
              build=None, values=None, collect=None):
    """Build (or rerun a kept build of the same signature), run and collect a plan.

    ``build``, ``values`` and ``collect`` replace the engine's own steps (batched copies)."""
    from .. import build as _build

    build_fn = build or engine.build
    values_fn = values or engine.values
    collect_fn = collect or engine.collect
    outcome, timings = None, {}
    kept = _BUILDS.get(signature) if (reuse and target == "cpp_standalone") else None
    if kept is not None:
        sim, handles = kept
        sim.report = report  # this run's progress setting, not the first run's
        try:
            sim.rerun(values_fn(handles, plan, rerun=True))
            outcome = collect_fn(handles, plan, block=block)
            timings = {"rerun": sim.timings["rerun"]}
            _BUILDS.move_to_end(signature)
        except _build.StaleBuild:
            _BUILDS.pop(signature, None)
            outcome = None
    if outcome is None:
        keep = reuse and target == "cpp_standalone"
        with _build.Simulation(target, dt=spec.dt, seed=brian_seed, build_key=key, report=report,
                               keep=keep) as sim:
            handles = build_fn(sim, plan)
            sim.run(plan.duration, *handles["objects"], values=values_fn(handles, plan))
            outcome = collect_fn(handles, plan, block=block)
            timings = dict(sim.timings)
        if keep:
            _BUILDS[signature] = (sim, handles)
            while len(_BUILDS) > MAX_KEPT_BUILDS:
                _BUILDS.popitem(last=False)
    return outcome, timings


def _finish(engine, resolved, outcome, seed, target, select, record_dt, block, timings, batch=None,
            memo=None):
    """The :class:`ProtocolResult` of an engine's outcome: summary, provenance, Block."""
    spec = engine.protocol  # an engine may make the conditions from its input
    result_summary = summary(spec, resolved, outcome.values, seed, target, changes={
        "stimulus": engine.changes["stimulus"], "network": engine.changes["network"],
        "inputs": engine.changes["inputs"], "select": select, "record_dt": record_dt}, _memo=memo)
    if getattr(engine, "notes", None):  # what the engine chose for the user (e.g. a Segment)
        result_summary["notes"] = list(engine.notes) + result_summary.get("notes", [])
    _add_condition_info(result_summary, outcome.conditions)
    if batch is not None:
        result_summary["batch"] = dict(batch)
    result_block = outcome.block if block else None
    if result_block is not None:
        result_block.annotate(**_provenance(result_summary))
        io.label_channels(result_block, [c["labels"] for c in result_summary["conditions"]],
                          result_summary["units"])
    return ProtocolResult(spec, resolved, result_summary, result_block, timings, dict(outcome.extra))


def _add_condition_info(summary, info):
    """Merge an engine's per-condition entries (:attr:`Outcome.conditions`) into the summary's
    conditions; conditions that had not settled by the end of the run (``settled: false``) are
    listed by index in ``unsettled`` (always present when the engine checks: ``[]`` if all
    settled) and named in a note, so that a transient never reads as a result."""
    if info is None:
        return
    conds = summary["conditions"]
    for cond, entries in zip(conds, info):
        cond.update(entries)
    if not any("settled" in c for c in conds):
        return
    units = summary.get("units", {})
    bad = [k for k, c in enumerate(conds) if c.get("settled") is False]
    summary["unsettled"] = bad
    if bad:
        names = "; ".join(condition_text(conds[k]["labels"], units) for k in bad)
        reasons = "; ".join(conds[k].get("settling", {}).get("reason", "") for k in bad)
        summary.setdefault("notes", []).append(
            f"NOT SETTLED in the run: {names} ({reasons}); its value is a transient, not a settled "
            "result: run longer (--stimulus duration=...) or see the protocol's notes")


def condition_text(labels, units):
    """``input_rate=10 Hz, correlation=0``: a condition's labels with their units."""
    return ", ".join(f"{k}={v:g}" + ("" if units.get(k) in (None, "", "1") else f" {units[k]}")
                     for k, v in labels.items())


def run_batch(protocol, points, *, target="auto", report=None, build_key=None, reuse=True,
              block=True, max_copies=None, select=None, varying=()):
    """Run several points of one protocol, as independent copies of ONE Brian2 run where they
    can; each point's result is the one :func:`run` gives it alone.

    Points whose runs share their code — the same model, variants and protocol structure
    (durations, numbers of conditions and inputs), other parameter values, seeds or
    values of the engine's :attr:`Engine.batch_stimulus` keys — run together: each point
    is a copy of the protocol's circuit with its own inputs, drawn from its own seed
    exactly as its own run draws them, and the model parameters that differ between
    the points are per-element variables of the copies (``build.synapses(...,
    varying=...)``), the others shared as in a run alone. Per-element and shared
    variables enter the same arithmetic, so the numbers agree to the last bit (tests:
    ``tests/test_protocols_batch.py``). Points that differ in code, engines that do not
    batch (``Engine.batch is None``), runs that draw Brian2 random numbers (one stream
    for the whole run: no copy would see its own point's stream) and runs whose start
    values are code evaluated per element run alone, one after the other.

    A batch whose run fails (a state gone NaN in one copy) is run again point by point,
    so that each point gets its own result or error.

    Parameters
    ----------
    protocol : str or ProtocolSpec
    points : list of dict
        Each with the keyword arguments of :func:`run` that may differ between points:
        ``model``, ``params``, ``overrides``, ``variants``, ``seed``, ``stimulus``,
        ``network``.
    target, report, build_key, reuse, block, select
        As in :func:`run`, for every point.
    max_copies : int, optional
        At most this many copies in one Brian2 run (default: all).
    varying : sequence of str, optional
        Model parameters made per-element variables of the copies even where all the
        points of a batch share their value, so that batches over the same names share
        one build (a fit's batches: the free parameters) whatever values they hold.

    Returns
    -------
    list
        Per point, in order, its :class:`ProtocolResult` or the exception its run raised
        (an error of the point's own input, e.g. a parameter value no model takes).
        ``result.summary["batch"]`` records ``{"size": B, "copy": k}`` (the batch's number
        of copies and this point's index among them; ``{"size": 1, ...}`` for a point run
        alone, with ``"alone"``: why). ``timings`` (:data:`TIMINGS`): ``total`` is the
        batch's wall time (also as ``batch``, its earlier name), ``per_point`` its share per
        copy (``total / B``: before 2026-12 this was called ``total``, smaller than the
        batch's ``run`` it held beside it), and ``run``/``rerun``/``build``/``standalone_*``
        the batch's Brian2 run, shared by its copies; a point run alone has its own.
    """
    points = [dict(p) for p in points]
    allowed = {"model", "params", "overrides", "variants", "seed", "stimulus", "network"}
    for k, p in enumerate(points):
        extra = set(p) - allowed
        if extra:
            raise TypeError(f"points[{k}]: unknown keys {sorted(extra)}")
    results = [None] * len(points)
    setups = {}
    # the protocol is read (and its conditions selected) once for all the points; if that
    # fails, each point's own setup reports the error
    try:
        spec, own_select = load(protocol), None
        if select is not None:
            spec = spec.select(select)
    except Exception:
        spec, own_select = protocol, select
    for k, p in enumerate(points):
        try:
            setups[k] = _setup(spec, p.get("model"), p.get("params"), p.get("overrides"),
                               p.get("variants"), target, p.get("seed", 0), p.get("stimulus"),
                               p.get("network"), report, None, None, own_select)
        except Exception as exc:  # this point's own input; the others run
            results[k] = exc
    groups, alone = OrderedDict(), {}

    def run_chunk(chunk):
        if len(chunk) == 1:
            alone[chunk[0][0]] = "no other point of the batch shares its code"
            return
        try:
            _run_copies(chunk, setups, points, results, target=target, report=report,
                        build_key=build_key, reuse=reuse, block=block, select=select,
                        force=tuple(varying or ()))
        except (NotBatchable, SimulationError) as exc:
            for k, _ in chunk:
                alone[k] = f"the batch ran point by point: {exc}"

    for k, (spec, resolved, tgt, engine) in setups.items():
        why = _why_alone(engine)
        if why:
            alone[k] = why
            continue
        try:
            plan = engine.plan()
        except Exception as exc:
            results[k] = exc
            continue
        key = build_key or _build_key(spec, resolved)
        sig = _run_signature(spec, key, tgt, None, resolved, engine.batch_signature(plan))
        members = groups.setdefault(sig, [])
        members.append((k, plan))
        if max_copies and len(members) >= max_copies:  # run it now: hold one batch's inputs
            run_chunk(groups.pop(sig))
    for members in groups.values():
        run_chunk(members)
    for k in sorted(alone):
        p = points[k]
        try:
            r = run(protocol, p.get("model"), p.get("params"), p.get("overrides"), p.get("variants"),
                    target=target, seed=p.get("seed", 0), stimulus=p.get("stimulus"),
                    network=p.get("network"), report=report, build_key=build_key, reuse=reuse,
                    block=block, select=select)
        except Exception as exc:
            results[k] = exc
            continue
        r.summary["batch"] = {"size": 1, "copy": 0, "alone": alone[k]}
        if r.block is not None:
            r.block.annotate(batch=_batch_text(r.summary["batch"]))
        results[k] = r
    return results


def _why_alone(engine):
    """Why a run cannot be a copy in a batch (empty: it can)."""
    if getattr(type(engine), "batch", None) is None or not engine.reusable:
        return f"the {engine.name} engine runs points alone"
    if engine.brian_random():
        return "the model draws Brian2 random numbers (one stream per run)"
    return ""


def _batch_text(batch):
    import json

    return json.dumps(batch, sort_keys=True)


def _run_copies(chunk, setups, points, results, *, target, report, build_key, reuse, block, select,
                force=()):
    """Run the points of ``chunk`` (``(index, plan)``) as copies of one build."""
    t0 = time.perf_counter()
    ks = [k for k, _ in chunk]
    plans = [plan for _, plan in chunk]
    engines = [setups[k][3] for k in ks]
    resolveds = [setups[k][1] for k in ks]
    spec, resolved, tgt, engine = setups[ks[0]]
    differ = [name for name in sorted(resolved.namespace)
              if any(not np.array_equal(np.asarray(r.namespace[name]),
                                        np.asarray(resolved.namespace[name]))
                     for r in resolveds[1:])]
    # the ones the model's code reads become per-element variables; the others shape only
    # what the engine computes per copy (e.g. the bounds of initial weights)
    used = set(build._used_parameters(resolved))
    varying = tuple(n for n in sorted(resolved.namespace)
                    if (n in differ or n in force) and n in used)
    constants = [n for n in varying if resolved.spec.kind == "synapse" and n.endswith(("_pre", "_post"))]
    if constants:
        raise NotBatchable(f"{', '.join(constants)} differ between points and cannot be "
                           "per-element variables")
    merged = engine.merge(plans, engines)
    merged.data["varying"] = varying
    key = copies_key(build_key or _build_key(spec, resolved), len(ks))
    signature = _run_signature(spec, key, tgt, None, resolved,
                               ("copies", len(ks), varying, merged.signature))
    outcomes, timings = _run_plan(
        engine, merged, signature, spec, tgt, None, key, report, reuse, block,
        build=engine.build_copies,
        values=lambda handles, plan, rerun=False: engine.values_copies(handles, plan, engines, rerun),
        collect=lambda handles, plan, block=True: engine.collect_copies(handles, plan, engines, block))
    elapsed = time.perf_counter() - t0
    memo = {}
    for j, k in enumerate(ks):
        batch = {"size": len(ks), "copy": j}
        t = dict(timings, total=elapsed, per_point=elapsed / len(ks), batch=elapsed)
        try:
            r = _finish(engines[j], resolveds[j], outcomes[j], points[k].get("seed", 0), tgt, select,
                        None, block, t, batch=batch, memo=memo)
        except Exception as exc:  # e.g. a non-finite value of this point's own condition
            results[k] = exc
            continue
        if r.block is not None:
            r.block.annotate(batch=_batch_text(batch))
        results[k] = r


def _dt_quantity(text):
    """``"0.1 ms"`` as a ``quantities`` quantity (neo's annotations keep units)."""
    import quantities as pq

    value, _, unit = str(text).partition(" ")
    try:
        return pq.Quantity(float(value), unit.strip() or "s")
    except (ValueError, LookupError):
        return str(text)


def _provenance(s):
    """A summary's record as neo annotations: text and numbers only (what NIX and NWB store);
    tables (``overrides``, ``variants``, ``parameters``, ``stimulus``, ...) as JSON text.
    (``record_dt`` is the engine's own annotation: the interval in effect.)"""
    import json

    return {
        "protocol": s["protocol"], "model": s["model"], "parameter_set": s["parameter_set"],
        "overrides": json.dumps(s["overrides"]), "seed": s["seed"], "target": s["target"],
        "variants": json.dumps(s["variants"]), "parameters": json.dumps(s["parameters"]),
        "stimulus": json.dumps(s["stimulus"]), "network": json.dumps(s["network"]),
        "inputs": json.dumps(s["inputs"]), "select": json.dumps(s["select"]),
        "sources": json.dumps(s["sources"]),
        "versions": json.dumps(s["versions"]),
        "dt": _dt_quantity(s["dt"]), "biodyn_version": s["versions"]["biodyn"],
        "brian2_version": s["versions"]["brian2"],
        "condition_labels": json.dumps([c["labels"] for c in s["conditions"]]),
        "units": json.dumps(s["units"]),
    }
