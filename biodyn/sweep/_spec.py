"""Sweep specs: what to run, over which points, with which seeds.

A sweep spec is a TOML file with ``kind = "sweep"``; see :mod:`biodyn.sweep`
for the format. This module reads it into a :class:`SweepSpec` whose
:attr:`~SweepSpec.points` are the points to compute, each with its stable key,
its file name and its seed.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

import numpy as np

from .. import catalog
from ..errors import SpecError, display_path, suggest
from ..spec import Key, check_table, read_toml

__all__ = ["SweepSpec", "Point", "load", "from_dict", "point_seed", "point_key", "SWEEP_KEYS",
           "RESERVED_NAMES"]

SWEEP_KEYS = {
    "kind": Key((str,), True, "'sweep'"),
    "description": Key((str,), True, "what the sweep computes and why"),
    "notes": Key((str,), False, "free text"),
    "seed": Key((int,), True, "the sweep's seed: every point's seed is derived from it"),
    "seeds": Key((list,), False, "replicate labels (integers): every point is run once per label"),
    "n_seeds": Key((int,), False, "number of replicates (labels 0 .. n_seeds-1)"),
    "combine": Key((str,), False, "how grid axes combine: 'product' (default) or 'zip'"),
    "out": Key((str,), False, "output folder (default results/NAME)"),
    "run": Key((dict,), True, "what to run: {job = 'replay' | 'callable' | ..., and its settings}"),
    "grid": Key((dict,), False, "parameter -> list of values or {start, stop, num, scale}"),
    "points": Key((list,), False, "explicit points: tables parameter -> value"),
}

_RANGE_KEYS = {
    "start": Key((str, int, float), True, "first value, with its unit"),
    "stop": Key((str, int, float), True, "last value (included), with its unit"),
    "num": Key((int,), True, "number of values (>= 1)"),
    "scale": Key((str,), False, "'linear' (default) or 'log'"),
}

#: Names a grid may not use: they label every point already.
RESERVED_NAMES = ("replicate", "seed", "status", "point", "error")

_NUMERIC_START = re.compile(r"^\s*[-+]?(\d|\.\d)")
_SIG = 12  # significant digits of a value in a point's key


# --------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------


def _dimension(value):
    from brian2.units.fundamentalunits import DIMENSIONLESS, get_dimensions

    try:
        return get_dimensions(value)
    except Exception:  # pragma: no cover - not a number
        return DIMENSIONLESS


def _is_quantity(value):
    from brian2.units.fundamentalunits import DIMENSIONLESS, Quantity

    return isinstance(value, Quantity) and _dimension(value) is not DIMENSIONLESS


def _round(x):
    """``x`` rounded to 12 significant digits (as its key shows it)."""
    return float(f"{float(x):.{_SIG}g}")


def _si_unit(dim):
    from brian2.units.fundamentalunits import get_unit

    return str(get_unit(dim))


def canonical(value):
    """The text a value contributes to a point's key: unit-independent and stable.

    A quantity is written in SI units with 12 significant digits
    (``"16.8 ms"`` and ``"0.0168 second"`` both give ``0.0168 s``), a number with 12
    significant digits (``5`` and ``5.0`` both give ``5``), a text value as
    JSON text (quoted), a boolean as ``true``/``false``.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if _is_quantity(value):
        return f"{float(np.asarray(value)):.{_SIG}g} {_si_unit(_dimension(value))}"
    return f"{float(value):.{_SIG}g}"


def display(value, unit=None):
    """A value as a user reads it, as text :func:`biodyn.spec.parse_quantity` reads back.

    Quantities in their best unit (``"16.8 ms"``, ``"2 second"``), or in ``unit``
    if given; numbers with 12 significant digits; text as it is.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if _is_quantity(value):
        unit = unit if unit is not None else _best_unit(value)
        return f"{float(value / unit):.{_SIG}g} {unit_text(unit)}"
    return f"{float(value):.{_SIG}g}"


def unit_text(unit):
    """Text of a Brian2 unit that biodyn's quantity parser reads back (``ms``, ``second``)."""
    from .._quantity import units_namespace

    names = units_namespace()
    for text in (str(unit), getattr(unit, "name", None), repr(unit)):
        if text and text in names and _same_unit(names[text], unit):
            return text
    return f"({repr(unit)})"


def _same_unit(a, b):
    try:
        return _dimension(a) == _dimension(b) and float(np.asarray(a)) == float(np.asarray(b))
    except Exception:  # pragma: no cover
        return False


def _best_unit(value):
    """The unit Brian2 shows ``value`` in; the SI unit where no named unit fits."""
    from brian2.units.fundamentalunits import Quantity, Unit, get_unit

    q = value if isinstance(value, Quantity) else Quantity(value)
    unit = q.get_best_unit()
    return unit if isinstance(unit, Unit) else get_unit(_dimension(q))


def axis_unit(values):
    """The unit a CSV column of ``values`` (quantities of one dimension) is written in."""
    from brian2.units.fundamentalunits import get_unit

    qs = [v for v in values if _is_quantity(v)]
    if not qs:
        return None
    biggest = max(qs, key=lambda q: abs(float(np.asarray(q))))
    if float(np.asarray(biggest)) == 0:
        return get_unit(_dimension(biggest))
    return _best_unit(biggest)


# --------------------------------------------------------------------------
# Points
# --------------------------------------------------------------------------


def point_key(params, replicate=None):
    """The stable key of a point: JSON text of its sorted ``[name, canonical value]`` pairs.

    The key depends on the point's parameter values only (not on its position in
    the grid, nor on the unit a value was written in); the replicate label,
    when the sweep has replicates, is the pair ``["replicate", "N"]``.
    """
    pairs = [[name, canonical(value)] for name, value in params.items()]
    if replicate is not None:
        pairs.append(["replicate", str(int(replicate))])
    pairs.sort()
    return json.dumps(pairs, separators=(",", ":"), ensure_ascii=False)


def key_digest(key):
    """SHA-256 digest (hex) of a point key."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def point_seed(sweep_seed, key):
    """The seed a point runs with, derived from the sweep's seed and the point's key.

    .. math::

        h = \\mathrm{int}_{LE}(\\mathrm{SHA256}(\\mathrm{key})[0:8]), \\qquad
        s = \\mathrm{SeedSequence}(\\mathrm{sweep\\_seed}, \\mathrm{spawn\\_key}=(h,))
            .\\mathrm{generate\\_state}(1, \\mathrm{uint32})[0] \\bmod 2^{31}

    In Python, to reproduce a point's seed by hand::

        import hashlib, numpy as np
        h = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "little")
        seed = int(np.random.SeedSequence(sweep_seed, spawn_key=(h,))
                   .generate_state(1, dtype=np.uint32)[0]) % 2**31

    ``key`` is the point's key as recorded in its result file (``"key"``). The
    seed is below 2**31 so that every tool (Brian2's C++ code, numpy) takes it.
    Numpy's ``SeedSequence`` gives independent streams for different spawn keys
    (O'Neill 2015, PCG: A family of simple fast space-efficient statistically
    good algorithms for random number generation, HMC-CS-2014-0905).
    """
    h = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "little")
    state = np.random.SeedSequence(int(sweep_seed), spawn_key=(h,)).generate_state(1, dtype=np.uint32)
    return int(state[0]) % 2 ** 31


def _file_name(params, replicate, key):
    parts = [f"{name}={display(value)}" for name, value in sorted(params.items())]
    if replicate is not None:
        parts.append(f"replicate={int(replicate)}")
    text = "_".join(parts).replace(" ", "")
    text = re.sub(r"[^A-Za-z0-9_.=+-]+", "-", text)[:60].strip("-_.") or "point"
    return f"{text}-{key_digest(key)[:10]}"


@dataclass(frozen=True)
class Point:
    """One point of a sweep.

    Attributes
    ----------
    index : int
        Its position in the sweep as currently written (display only; the
        identity of a point is its ``key``).
    params : Mapping[str, Any]
        Parameter name -> value: Brian2 quantity, number (``float``/``int``),
        text or boolean.
    replicate : int or None
        The replicate label (``None`` if the sweep has no ``seeds``/``n_seeds``).
    key : str
        Stable key (:func:`point_key`).
    name : str
        File name stem of its result: readable values + 10 hex digits of the
        key's SHA-256 (a function of the key only).
    seed : int
        Its seed (:func:`point_seed` of the sweep seed and the key).
    """

    index: int
    params: Mapping[str, Any]
    replicate: int | None
    key: str
    name: str
    seed: int

    def label(self):
        """``"tau_plus=16.8 ms, replicate=0"``."""
        parts = [f"{k}={display(v)}" for k, v in self.params.items()]
        if self.replicate is not None:
            parts.append(f"replicate={self.replicate}")
        return ", ".join(parts) or "(no parameters)"

    def params_text(self):
        """Parameters as text that reads back to the same values (for result files)."""
        return {k: (v if isinstance(v, (bool, int)) and not isinstance(v, np.integer) else display(v))
                for k, v in self.params.items()}


# --------------------------------------------------------------------------
# Reading values
# --------------------------------------------------------------------------


def _parse_value(value, file, key):
    """A grid value: a quantity (string starting with a number), number, text or boolean."""
    from ..spec import parse_quantity

    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise SpecError(file, key, "a finite number", repr(value))
        return value
    if isinstance(value, str):
        if _NUMERIC_START.match(value):
            q = parse_quantity(value, None, file=file, key=key)
            if not math.isfinite(float(np.asarray(q))):
                raise SpecError(file, key, "a finite value", repr(value))
            return q
        if not value.strip():
            raise SpecError(file, key, "a value", "empty text")
        return value
    raise SpecError(file, key, "a value: a quantity as text ('16.8 ms'), a number, text or "
                    "true/false", f"{type(value).__name__} {value!r}"[:200])


def _kind(value):
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, str):
        return "text"
    return "number"


def _check_axis(values, file, key):
    """All values of one parameter: of one kind, and quantities of one dimension."""
    from .._quantity import dimension_name

    kinds = {_kind(v) for v in values}
    if len(kinds) > 1:
        raise SpecError(file, key, "values of one kind (all quantities, all text or all booleans)",
                        "a mix of " + " and ".join(sorted(kinds)))
    dims = {}
    for v in values:
        if not isinstance(v, (str, bool)):
            dims.setdefault(_dimension(v), v)
    if len(dims) > 1:
        (d1, v1), (d2, v2) = list(dims.items())[:2]
        raise SpecError(file, key, "quantities of one dimension",
                        f"{display(v1)!r} ({dimension_name(d1)}) and {display(v2)!r} "
                        f"({dimension_name(d2)})")


def _range_values(table, file, key):
    from brian2.units.fundamentalunits import DIMENSIONLESS, Quantity

    check_table(table, _RANGE_KEYS, file=file, prefix=f"{key}.")
    start = _parse_value(table["start"], file, f"{key}.start")
    stop = _parse_value(table["stop"], file, f"{key}.stop")
    for name, v in (("start", start), ("stop", stop)):
        if isinstance(v, (str, bool)):
            raise SpecError(file, f"{key}.{name}", "a number or quantity ('10 ms')", repr(table[name]))
    _check_axis([start, stop], file, key)
    num = table["num"]
    if num < 1:
        raise SpecError(file, f"{key}.num", "an integer >= 1", repr(num))
    scale = table.get("scale", "linear")
    if scale not in ("linear", "log"):
        raise SpecError(file, f"{key}.scale", "'linear' or 'log'", repr(scale),
                        suggest(scale, ("linear", "log")))
    dim = _dimension(start)
    a, b = float(np.asarray(start)), float(np.asarray(stop))
    if scale == "log":
        if a == 0 or b == 0 or (a > 0) != (b > 0):
            raise SpecError(file, key, "start and stop of one sign and not zero for scale = 'log'",
                            f"start = {table['start']!r}, stop = {table['stop']!r}")
        xs = np.geomspace(a, b, num)
    else:
        xs = np.linspace(a, b, num)
    xs = [_round(x) for x in xs]
    if dim is DIMENSIONLESS:
        return xs
    return [Quantity(x, dim=dim) for x in xs]


def _is_range(table):
    return isinstance(table, dict) and "start" in table and not isinstance(table["start"], (list, dict))


def _flatten(table, prefix, file, what):
    """``{"stimulus": {"repetitions": [...]}}`` -> ``{"stimulus.repetitions": [...]}``."""
    out = {}
    for name, value in table.items():
        full = f"{prefix}{name}"
        if isinstance(value, dict) and not _is_range(value):
            if not value:
                raise SpecError(file, f"{what}.{full}", "values or a table of parameters", "an empty table")
            out.update(_flatten(value, f"{full}.", file, what))
        else:
            out[full] = value
    return out


def _axes(grid, file):
    axes = {}
    for name, spec in _flatten(grid, "", file, "grid").items():
        key = f"grid.{name}"
        _check_name(name, file, key)
        if isinstance(spec, list):
            if not spec:
                raise SpecError(file, key, "at least one value", "an empty list")
            values = [_parse_value(v, file, f"{key}[{k}]") for k, v in enumerate(spec)]
        elif _is_range(spec):
            values = _range_values(spec, file, key)
        else:
            values = [_parse_value(spec, file, key)]  # a single value: a fixed parameter
        _check_axis(values, file, key)
        axes[name] = values
    return axes


def _check_name(name, file, key):
    if name in RESERVED_NAMES:
        raise SpecError(file, key, "a parameter name other than " + ", ".join(RESERVED_NAMES),
                        repr(name), "replicates are given with seeds = [...] or n_seeds = N")
    if not all(part.isidentifier() for part in name.split(".")):
        raise SpecError(file, key, "a parameter name (identifiers joined by '.')", repr(name))


# --------------------------------------------------------------------------
# The spec
# --------------------------------------------------------------------------


class SweepSpec:
    """A validated sweep spec. Get one from :func:`load` (or :func:`from_dict`).

    Attributes
    ----------
    name, path, description, notes
    seed : int
        The sweep's seed.
    job : str
        The runner's name (``"replay"``, ``"callable"``, ``"analyze lyapunov"``, ...).
    settings : Mapping
        The ``[run]`` table without ``job`` (the runner's fixed arguments).
    replicates : tuple of int or None
    combine : {"product", "zip"}
    out : str or None
    points : tuple of Point
    """

    def __init__(self, name, path, data, *, folder=None, check_runner=True):
        file = display_path(path) if path else f"<sweep {name}>"
        self.name = name
        self.path = Path(path) if path else None
        self._folder = Path(folder).resolve() if folder is not None else None
        self.file = file
        self.raw = MappingProxyType(data)
        if data.get("kind") != "sweep":
            raise SpecError(file, "kind", "'sweep'", repr(data.get("kind", "nothing")))
        check_table(data, SWEEP_KEYS, file=file)
        self.description = data["description"].strip()
        self.notes = data.get("notes", "").strip()
        self.seed = int(data["seed"])
        if self.seed < 0:
            raise SpecError(file, "seed", "an integer >= 0", repr(self.seed))
        self.out = data.get("out")
        self.combine = data.get("combine", "product")
        if self.combine not in ("product", "zip"):
            raise SpecError(file, "combine", "'product' or 'zip'", repr(self.combine),
                            suggest(self.combine, ("product", "zip")))
        self.replicates = self._read_replicates(data, file)
        run = dict(data["run"])
        if "job" not in run:
            from ._runners import RUNNERS

            raise SpecError(file, "run.job", "the job to run: one of " + ", ".join(sorted(RUNNERS)),
                            "nothing")
        self.job = run.pop("job")
        self.settings = MappingProxyType(run)
        self.points = self._read_points(data, file)
        if check_runner:
            from ._runners import get_runner

            runner = get_runner(self.job, file=file)
            self.settings = MappingProxyType(runner.prepare(self))

    def __repr__(self):
        return f"<SweepSpec {self.name!r} ({self.job}, {len(self.points)} points) from {self.file}>"

    @property
    def folder(self):
        """The folder relative paths in the spec are read from (the spec's own)."""
        if self._folder is not None:
            return self._folder
        return self.path.resolve().parent if self.path else Path.cwd()

    @staticmethod
    def _read_replicates(data, file):
        if "seeds" in data and "n_seeds" in data:
            raise SpecError(file, "seeds", "either seeds or n_seeds", "both")
        if "n_seeds" in data:
            n = data["n_seeds"]
            if n < 1:
                raise SpecError(file, "n_seeds", "an integer >= 1", repr(n))
            return tuple(range(n))
        if "seeds" in data:
            labels = data["seeds"]
            for k, s in enumerate(labels):
                if isinstance(s, bool) or not isinstance(s, int) or s < 0:
                    raise SpecError(file, f"seeds[{k}]", "an integer >= 0", repr(s))
            if len(set(labels)) != len(labels) or not labels:
                raise SpecError(file, "seeds", "distinct integers (at least one)", repr(labels))
            return tuple(labels)
        return None

    def _read_points(self, data, file):
        rows = [{}]
        if "grid" in data:
            axes = _axes(data["grid"], file)
            if self.combine == "zip" and axes:
                lengths = {name: len(v) for name, v in axes.items() if len(v) != 1}
                if len(set(lengths.values())) > 1:
                    raise SpecError(file, "grid", "axes of equal length for combine = 'zip'",
                                    ", ".join(f"{n}: {k}" for n, k in lengths.items()))
                n = max((len(v) for v in axes.values()), default=1)
                rows = [{name: (v[k] if len(v) > 1 else v[0]) for name, v in axes.items()}
                        for k in range(n)]
            else:
                names = list(axes)
                rows = [dict(zip(names, combo)) for combo in itertools.product(*axes.values())]
        if "points" in data:
            listed = []
            for k, entry in enumerate(data["points"]):
                key = f"points[{k}]"
                if not isinstance(entry, dict):
                    raise SpecError(file, key, "a table parameter -> value", repr(entry))
                point = {}
                for name, value in _flatten(entry, "", file, key).items():
                    _check_name(name, file, f"{key}.{name}")
                    if isinstance(value, (list, dict)):
                        raise SpecError(file, f"{key}.{name}", "one value (use [grid] for lists)",
                                        repr(value))
                    point[name] = _parse_value(value, file, f"{key}.{name}")
                listed.append(point)
            both = set().union(*listed) & set(rows[0]) if listed else set()
            if both:
                raise SpecError(file, "points", "parameters not also in [grid]",
                                "both give " + ", ".join(sorted(both)))
            rows = [dict(p, **g) for p in listed for g in rows]
        for name in set().union(*rows):
            _check_axis([r[name] for r in rows if name in r], file, f"grid.{name}")
        replicates = self.replicates if self.replicates is not None else (None,)
        points, seen = [], {}
        for row in rows:
            for rep in replicates:
                key = point_key(row, rep)
                if key in seen:
                    raise SpecError(file, "grid", "distinct points",
                                    f"the point {seen[key].label()} twice")
                point = Point(len(points), MappingProxyType(dict(row)), rep, key,
                              _file_name(row, rep, key), point_seed(self.seed, key))
                seen[key] = point
                points.append(point)
        return tuple(points)

    def parameter_names(self):
        """Every parameter name, in order of first appearance."""
        names = {}
        for p in self.points:
            for n in p.params:
                names.setdefault(n, None)
        return list(names)

    def fingerprint_data(self):
        """What a finished point's result depends on besides its own parameters.

        A replay's ``batch`` is not part of it: a point's result is the same batched or
        alone."""
        run = dict(self.raw["run"])
        if self.job == "replay":
            run.pop("batch", None)
        return {"job": self.job, "run": _jsonable(run), "seed": self.seed}

    def fingerprint(self):
        """SHA-256 of :meth:`fingerprint_data` (the job, its settings, the sweep seed)."""
        text = json.dumps(self.fingerprint_data(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def describe(self):
        lines = [f"{self.name} (sweep, job {self.job}) — {self.file}", "", self.description, "",
                 f"seed: {self.seed}", f"points: {len(self.points)}"
                 + (f" ({len(self.replicates)} replicates each)" if self.replicates else "")]
        for p in self.points:
            lines.append(f"  {p.name}: {p.label()}  seed {p.seed}")
        return "\n".join(lines)


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)  # TOML dates


def load(name):
    """Load and validate the sweep named ``name`` (catalog group ``sweeps``) or at path ``name``."""
    if isinstance(name, SweepSpec):
        return name
    path = catalog.find(name, "sweeps")
    data = read_toml(path)
    return SweepSpec(_stem(path), path, data)


def from_dict(data, name="sweep", folder=None):
    """A sweep spec from a dict (as TOML would give it); relative paths resolve in ``folder``."""
    return SweepSpec(name, None, dict(data), folder=folder)


def _stem(path):
    name = Path(path).name
    for suffix in (".sweep.toml", ".toml"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return Path(path).stem
