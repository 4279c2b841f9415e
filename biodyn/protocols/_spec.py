"""Protocol specs: an experiment as data (stimulus, conditions, published data)."""

from __future__ import annotations

import copy
import itertools
import math
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

import numpy as np

from .. import catalog
from ..errors import SpecError, display_path, suggest
from ..spec import Citation, Key, _citation, check_table, parse_quantity, read_toml
from .._quantity import QuantityError, parse_unit

__all__ = ["ProtocolSpec", "load", "PROTOCOL_KEYS", "Condition"]

PROTOCOL_KEYS = {
    "kind": Key((str,), True, "'protocol'"),
    "description": Key((str,), True, "the experiment, with its origin"),
    "notes": Key((str,), False, "free text"),
    "engine": Key((str,), True, "how the protocol is simulated (e.g. 'spike_pattern')"),
    "model": Key((str,), True, "the default model"),
    "parameter_set": Key((str,), False, "the default parameter set of the model"),
    "variants": Key((dict,), False, "variant options of the model: axis -> option"),
    "set": Key((dict,), False, "parameter values the protocol imposes on the model"),
    "citations": Key((dict,), False, "citations referred to by key"),
    "citation": Key((str, dict), True, "the experiment's citation (key of [citations] or table)"),
    "dt": Key((str,), False, "simulation time step (default '0.1 ms')"),
    "record_dt": Key((str,), False, "interval of recorded state (default '10 ms')"),
    "initial": Key((dict,), False, "initial values of model variables (e.g. w = '0.5')"),
    "observable": Key((str,), False, "what is reported per condition"),
    "conditions": Key((dict,), True, "labels with units and their values (grid or list)"),
    "stimulus": Key((dict,), False, "the stimulus; keys depend on the engine"),
    "network": Key((dict,), False, "the network; keys depend on the engine"),
    "data": Key((dict,), False, "published measurements: citation, source, points"),
    "figure": Key((dict,), False, "how the result is drawn"),
    "targets": Key((list,), False, "code-generation targets the protocol supports"),
    "flow": Key((dict,), False, "settings of the averaged-flow analysis (biodyn analyze flow; "
                "see biodyn.flow)"),
}

_CONDITION_KEYS = {
    "units": Key((dict,), True, "label -> unit ('ms', 'Hz', '1')"),
    "grid": Key((dict,), False, "label -> {values = [...]} or {start, stop, step}: all combinations"),
    "list": Key((list,), False, "explicit conditions: tables of labels (and per-condition stimulus)"),
    "doc": Key((str,), False, "what the conditions are"),
    "from_engine": Key((bool,), False, "the engine makes the conditions from its input "
                       "(spike_trains: one per pair of the input file)"),
}

_DATA_KEYS = {
    "citation": Key((str, dict), False, "where the data come from (key of [citations] or table)"),
    "source": Key((str,), False, "figure or table of the source"),
    "note": Key((str,), False, "how the values were obtained (digitisation, ...)"),
    "points": Key((list,), False, "measurements: tables of labels, value and error"),
    "value_label": Key((str,), False, "what the value is (axis label)"),
}

_FIGURE_KEYS = {
    "x": Key((str,), False, "the label on the x axis"),
    "group": Key((str,), False, "the label that separates curves"),
    "xlabel": Key((str,), False, "x axis label"),
    "ylabel": Key((str,), False, "y axis label"),
    "title": Key((str,), False, "title"),
    "curves": Key((list,), False, "reference curves: {label, expression, citation}"),
    "xscale": Key((str,), False, "'linear' or 'log'"),
    "kind": Key((str,), False, "figure type: conditions (default), patterns, weight_distribution, "
                "weight_trajectories, voltage_traces"),
    "trajectory_title": Key((str,), False, "title of the trajectory panel (weight_trajectories)"),
}


@dataclass(frozen=True)
class Condition:
    """One condition: its labels (numbers in the declared units) and any extra entries."""

    index: int
    labels: Mapping[str, float]
    extra: Mapping[str, Any]

    def quantities(self, units):
        """Labels as Brian2 quantities (``delta_t`` -> ``10*ms``)."""
        out = {}
        for name, value in self.labels.items():
            _, scale = units[name]
            dim = units[name][0]
            out[name] = _quantity(value * scale, dim)
        return out


def _quantity(value_si, dim):
    from brian2.units.fundamentalunits import DIMENSIONLESS, Quantity

    if dim is DIMENSIONLESS:
        return float(value_si)
    return Quantity(value_si, dim=dim)


class ProtocolSpec:
    """A validated protocol spec. Get one from :func:`load`.

    Attributes
    ----------
    name, path, description, engine, model, parameter_set
    citation : Citation
    units : Mapping[str, str]
        label -> unit text, as written.
    conditions : tuple of Condition
    data : Mapping or None
        ``citation``, ``source``, ``note`` and ``points``.
    """

    def __init__(self, name, path, data):
        self.name = name
        self.path = path
        self.raw = MappingProxyType(data)
        self.description = data["description"].strip()
        self.notes = data.get("notes", "").strip()
        self.engine = data["engine"]
        self.model = data["model"]
        self.parameter_set = data.get("parameter_set")
        self.variants = MappingProxyType(dict(data.get("variants", {})))
        self.set = MappingProxyType(dict(data.get("set", {})))
        self.stimulus = MappingProxyType(dict(data.get("stimulus", {})))
        self.network = MappingProxyType(dict(data.get("network", {})))
        self.figure = MappingProxyType(dict(data.get("figure", {})))
        self.initial = MappingProxyType(dict(data.get("initial", {})))
        self.observable = data.get("observable", "relative_weight_change")
        self.targets = tuple(data.get("targets", ("numpy", "cython", "cpp_standalone")))
        file = self.file
        self.citations = {k: _citation(v, file, f"citations.{k}") for k, v in data.get("citations", {}).items()}
        self.citation = self._citation_ref(data["citation"], "citation")
        self.dt = parse_quantity(data.get("dt", "0.1 ms"), _second_dim(), file=file, key="dt", unit="ms")
        self.record_dt = parse_quantity(data.get("record_dt", "10 ms"), _second_dim(), file=file,
                                        key="record_dt", unit="ms")
        self._read_conditions(data["conditions"])
        self._read_data(data.get("data"))
        self._check_figure()

    @property
    def file(self):
        return display_path(self.path) if self.path else f"<protocol {self.name}>"

    def __repr__(self):
        return f"<ProtocolSpec {self.name!r} ({self.engine}) from {self.file}>"

    def _citation_ref(self, value, key):
        if isinstance(value, str):
            if value not in self.citations:
                raise SpecError(self.file, key, "a key of [citations] (" + (", ".join(self.citations) or "none") + ")",
                                repr(value), suggest(value, self.citations))
            return self.citations[value]
        return _citation(value, self.file, key)

    # -- conditions ------------------------------------------------------------
    def _read_conditions(self, table):
        file = self.file
        check_table(table, _CONDITION_KEYS, file=file, prefix="conditions.")
        self.units = MappingProxyType({k: str(v) for k, v in table["units"].items()})
        parsed_units = {}
        for label, unit in self.units.items():
            try:
                parsed_units[label] = parse_unit(unit)
            except QuantityError as exc:
                raise SpecError(file, f"conditions.units.{label}", "a unit ('ms', 'Hz', '1')",
                                f"{unit!r} ({exc})") from None
        self._units_parsed = parsed_units
        rows = []
        if "grid" in table and "list" in table:
            raise SpecError(file, "conditions", "either grid or list", "both")
        if "grid" in table:
            axes = []
            for label, spec in table["grid"].items():
                key = f"conditions.grid.{label}"
                self._check_label(label, key)
                axes.append((label, _grid_values(spec, file, key)))
            for combo in itertools.product(*(vals for _, vals in axes)):
                rows.append(({label: v for (label, _), v in zip(axes, combo)}, {}))
        elif "list" in table:
            for k, entry in enumerate(table["list"]):
                key = f"conditions.list[{k}]"
                if not isinstance(entry, dict):
                    raise SpecError(file, key, "a table of labels", repr(entry))
                labels = entry.get("labels", {k2: v for k2, v in entry.items()
                                              if k2 in self.units})
                extra = {k2: v for k2, v in entry.items() if k2 != "labels" and k2 not in self.units}
                for label, value in labels.items():
                    self._check_label(label, f"{key}.{label}")
                    if isinstance(value, bool) or not isinstance(value, (int, float)):
                        raise SpecError(file, f"{key}.{label}", f"a number (in {self.units[label]})",
                                        repr(value))
                missing = [u for u in self.units if u not in labels]
                if missing:
                    raise SpecError(file, key, "a value for every label (" + ", ".join(self.units) + ")",
                                    "no value for " + ", ".join(missing))
                rows.append(({l: float(v) for l, v in labels.items()}, extra))
        elif table.get("from_engine"):
            rows = []
        else:
            raise SpecError(file, "conditions", "a grid or a list of conditions", "neither")
        if not rows and not table.get("from_engine"):
            raise SpecError(file, "conditions", "at least one condition", "none")
        self.from_engine = bool(table.get("from_engine"))
        self.conditions = tuple(Condition(i, MappingProxyType(dict(l)), MappingProxyType(dict(e)))
                                for i, (l, e) in enumerate(rows))

    def with_conditions(self, rows, note=None):
        """A copy of this spec whose conditions are ``rows`` (label dicts), made by an engine
        from its input (``conditions.from_engine``); such conditions have no published data."""
        import copy

        other = copy.copy(self)
        for row in rows:
            for label in row:
                self._check_label(label, f"conditions.{label}")
        other.conditions = tuple(Condition(i, MappingProxyType({k: float(v) for k, v in row.items()}),
                                           MappingProxyType({})) for i, row in enumerate(rows))
        if self.data:
            other.data = MappingProxyType({**dict(self.data), "points": ()})
        return other

    def select(self, which):
        """A copy of this spec holding only some conditions (with their data).

        ``which``: condition indices, or a function of a condition's labels
        (``lambda labels: labels["frequency"] > 1``).
        """
        import copy

        if callable(which):
            keep = [c for c in self.conditions if which(dict(c.labels))]
        else:
            idx = list(which)
            bad = [i for i in idx if not 0 <= int(i) < len(self.conditions)]
            if bad:
                raise SpecError(self.file, "conditions", f"indices below {len(self.conditions)}",
                                repr(bad))
            keep = [self.conditions[int(i)] for i in idx]
        if not keep:
            raise SpecError(self.file, "conditions", "at least one selected condition", "none")
        other = copy.copy(self)
        old_to_new = {c.index: k for k, c in enumerate(keep)}
        other.conditions = tuple(Condition(k, c.labels, c.extra) for k, c in enumerate(keep))
        if self.data:
            points = tuple((old_to_new[i], v, e) for i, v, e in self.data["points"] if i in old_to_new)
            other.data = MappingProxyType({**dict(self.data), "points": points})
        return other

    def selection(self, items, *, file="<arguments>", key="select"):
        """The condition indices that ``items`` name, checked before any work.

        ``items``: condition indices (``0``, ``"2"``) and label terms ``"label=value"``
        (the value a number in the label's unit of ``conditions.units``: ``input_rate=10``
        for 10 Hz); a label term names every condition with that label value. A condition is
        selected if any item names it; the indices keep the order of the items, without
        repeats. Errors (a :class:`SpecError` naming ``file`` and ``key``, e.g. the flag
        ``--select``): an index outside ``0..N-1`` (the valid range in the message), an
        unknown label, a label value no condition has, nothing selected.
        """
        n = len(self.conditions)
        if isinstance(items, (str, int, np.integer)):
            items = [items]
        labels = sorted({name for c in self.conditions for name in c.labels})

        def listing():
            if n > 8:
                return None
            return "the conditions are " + "; ".join(
                f"{c.index}: " + ", ".join(f"{k}={v:g}" for k, v in c.labels.items())
                for c in self.conditions)

        out = []
        for item in items:
            text = str(item).strip()
            if "=" in text:
                name, _, value = (s.strip() for s in text.partition("="))
                if name not in labels:
                    raise SpecError(file, key, "condition indices 0.." f"{n - 1} or label=value with a "
                                    "label of " + ", ".join(labels), repr(text),
                                    suggest(name, labels))
                try:
                    number = float(value)
                except ValueError:
                    unit = self.units.get(name, "1")
                    raise SpecError(file, key, f"{name}=NUMBER (in {unit}, the unit of "
                                    "conditions.units)", repr(text)) from None
                hits = [c.index for c in self.conditions
                        if name in c.labels and math.isclose(float(c.labels[name]), number,
                                                             rel_tol=1e-9, abs_tol=1e-12)]
                if not hits:
                    have = sorted({float(c.labels[name]) for c in self.conditions if name in c.labels})
                    raise SpecError(file, key, f"a value of {name} that a condition has (" +
                                    ", ".join(f"{v:g}" for v in have) + ")", repr(text))
                out.extend(hits)
                continue
            try:
                index = int(text)
            except ValueError:
                raise SpecError(file, key, f"condition indices 0..{n - 1} (or label=value)",
                                repr(text), listing()) from None
            if not 0 <= index < n:
                raise SpecError(file, key, f"condition indices in 0..{n - 1} (the protocol "
                                f"{self.name} has {n} conditions)", str(index), listing())
            out.append(index)
        out = list(dict.fromkeys(out))
        if not out:
            raise SpecError(file, key, "at least one condition", "nothing")
        return out

    def _check_label(self, label, key):
        if label not in self.units:
            raise SpecError(self.file, key, "a label declared in conditions.units (" +
                            ", ".join(self.units) + ")", repr(label), suggest(label, self.units))

    def label_units(self):
        """label -> (dimension, scale to SI)."""
        return self._units_parsed

    # -- data --------------------------------------------------------------------
    def _read_data(self, table):
        self.data = None
        self.data_citation = None
        if table is None:
            return
        file = self.file
        check_table(table, _DATA_KEYS, file=file, prefix="data.")
        if "citation" in table:
            self.data_citation = self._citation_ref(table["citation"], "data.citation")
        points = []
        for k, point in enumerate(table.get("points", []) or []):
            key = f"data.points[{k}]"
            if not isinstance(point, dict):
                raise SpecError(file, key, "a table of labels, value and error", repr(point))
            labels = {}
            for name, value in point.items():
                if name in ("value", "error"):
                    continue
                self._check_label(name, f"{key}.{name}")
                labels[name] = float(value)
            for req in ("value", "error"):
                if req not in point:
                    raise SpecError(file, f"{key}.{req}", "a number (use null data, not a point, "
                                    "where a value is unknown)", "nothing")
                if isinstance(point[req], bool) or not isinstance(point[req], (int, float)):
                    raise SpecError(file, f"{key}.{req}", "a number", repr(point[req]))
            if point["error"] <= 0:
                raise SpecError(file, f"{key}.error", "a positive SEM", repr(point["error"]))
            match = self._match(labels)
            if match is None:
                raise SpecError(file, key, "labels of one of the protocol's conditions",
                                repr(labels))
            points.append((match, float(point["value"]), float(point["error"])))
        self.data = MappingProxyType({
            "source": table.get("source"),
            "note": table.get("note"),
            "value_label": table.get("value_label"),
            "points": tuple(points),
        })

    def _match(self, labels):
        for cond in self.conditions:
            if set(labels) == set(cond.labels) and all(
                    math.isclose(labels[l], cond.labels[l], rel_tol=1e-9, abs_tol=1e-9) for l in labels):
                return cond.index
        return None

    def data_for(self, index):
        """``(value, error)`` published for condition ``index``, or ``(None, None)``."""
        if self.data:
            for cond, value, error in self.data["points"]:
                if cond == index:
                    return value, error
        return None, None

    def _check_figure(self):
        check_table(dict(self.figure), _FIGURE_KEYS, file=self.file, prefix="figure.")
        for key in ("x", "group"):
            if key in self.figure:
                self._check_label(self.figure[key], f"figure.{key}")

    def describe(self):
        lines = [f"{self.name} (protocol, engine {self.engine}) — {self.file}", "", self.description, "",
                 f"citation: {self.citation}",
                 f"default model: {self.model}" + (f", parameter set {self.parameter_set}" if self.parameter_set else ""),
                 "conditions: " + f"{len(self.conditions)} (" + ", ".join(
                     f"{l} [{u}]" for l, u in self.units.items()) + ")"]
        if self.data and self.data["points"]:
            lines.append(f"data: {len(self.data['points'])} points"
                         + (f" from {self.data_citation.short()}" if self.data_citation else "")
                         + (f", {self.data['source']}" if self.data.get("source") else ""))
        else:
            lines.append("data: none" + (f" ({self.data['note']})" if self.data and self.data.get("note") else ""))
        if self.notes:
            lines += ["", self.notes]
        return "\n".join(lines)


def _second_dim():
    from brian2.units.allunits import second

    return second.dim


def _grid_values(spec, file, key):
    if isinstance(spec, list):
        values = spec
    elif isinstance(spec, dict):
        if "values" in spec:
            values = spec["values"]
        elif {"start", "stop", "step"} <= set(spec):
            start, stop, step = (float(spec[k]) for k in ("start", "stop", "step"))
            if step <= 0 or stop < start:
                raise SpecError(file, key, "start <= stop and step > 0", repr(spec))
            n = int(math.floor((stop - start) / step + 1e-9)) + 1
            values = [round(start + k * step, 12) for k in range(n)]
        else:
            raise SpecError(file, key, "{values = [...]} or {start, stop, step}", repr(spec))
    else:
        raise SpecError(file, key, "a list of numbers or a table", repr(spec))
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise SpecError(file, key, "numbers", repr(v))
    return [float(v) for v in values]


#: Protocols read in this process, by file content: (path as found, real path, bytes) ->
#: (ProtocolSpec, its engine class); newest last.
_LOADED: "OrderedDict[tuple, tuple]" = OrderedDict()
_MAX_LOADED = 32
_LOADED_LOCK = threading.Lock()


def load(name):
    """Load and validate the protocol named ``name`` (or at path ``name``).

    A file read before, whose bytes are the same and whose engine is still the registered
    one, is not parsed and validated again: the spec comes back as a (shallow) copy of
    the first. The key is the file's content, not its modification time: a file edited
    between two loads is read anew however quickly it changed."""
    if isinstance(name, ProtocolSpec):
        return name
    path = catalog.find(name, "protocols")
    try:
        content = Path(path).read_bytes()
    except OSError:
        content = None  # read_toml says what is wrong
    key = None if content is None else (os.fspath(path), os.path.realpath(path), content)
    hit = _LOADED.get(key) if key is not None else None
    if hit is not None:
        from . import ENGINES

        if ENGINES.get(hit[0].engine) is hit[1]:
            with _LOADED_LOCK:  # sweeps may load in threads
                if key in _LOADED:
                    _LOADED.move_to_end(key)
            return copy.copy(hit[0])
    spec = _load(path, content)
    if key is not None:
        from . import ENGINES

        with _LOADED_LOCK:
            _LOADED[key] = (spec, ENGINES[spec.engine])
            while len(_LOADED) > _MAX_LOADED:
                _LOADED.popitem(last=False)
        return copy.copy(spec)
    return spec


def _load(path, content=None):
    data = read_toml(path, content)
    file = display_path(path)
    if data.get("kind") != "protocol":
        kind = data.get("kind")
        hint = (f"this file is {'an' if str(kind)[:1] in 'aeiou' else 'a'} {kind} spec, not a "
                "protocol" if isinstance(kind, str) else None)
        raise SpecError(file, "kind", "'protocol'", repr(kind) if kind is not None else "no 'kind' key",
                        hint)
    check_table(data, PROTOCOL_KEYS, file=file)
    from . import ENGINES

    if data["engine"] not in ENGINES:
        raise SpecError(file, "engine", "one of " + ", ".join(sorted(ENGINES)), repr(data["engine"]),
                        suggest(data["engine"], ENGINES))
    spec = ProtocolSpec(Path(path).stem, path, data)
    ENGINES[spec.engine].validate(spec)
    return spec
