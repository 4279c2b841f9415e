"""Point runners: what one point of a sweep runs.

A runner is a small object registered under a name (the ``job`` of a sweep
spec's ``[run]`` table). It has two halves:

* :meth:`Runner.prepare` runs once, in the process that starts the sweep: it
  checks the ``[run]`` settings and every point's parameter names against the
  job (so a typo is one clear :class:`~biodyn.errors.SpecError` before any
  worker starts) and returns the settings the workers get (paths made absolute);
* :meth:`Runner.run` runs on a worker, once per point: it takes the point's
  parameters, its seed and its output folder, and returns a
  :class:`PointResult`: a flat dict of scalar results (one CSV column each)
  and the paths of the files it wrote.

Adding a job to sweeps is a few lines::

    from biodyn.sweep import Runner, PointResult, register_runner

    def _flow_point(params, seed, out, settings):
        result = jobs.flow(settings["model"], overrides=params, seed=seed, out=out)
        return PointResult({"n_fixed_points": ...}, result.paths)

    register_runner(Runner("analyze flow", _flow_point, settings={...}, doc="..."))
"""

from __future__ import annotations

import importlib
import importlib.util
import hashlib
import math
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..errors import BiodynError, SpecError, suggest
from ..spec import Key, check_table

__all__ = ["Runner", "PointResult", "PointTask", "RUNNERS", "register_runner", "get_runner",
           "load_callable"]


@dataclass(frozen=True)
class PointResult:
    """What a point produced.

    Attributes
    ----------
    values : Mapping[str, scalar]
        Flat results, one CSV column each: numbers, Brian2 quantities (written
        in SI units, the unit in the column name), text, booleans or ``None``.
    paths : Mapping[str, str or Path]
        Files the point wrote (recorded relative to the sweep's folder).
    extra : Mapping
        Anything else worth keeping in the point's result file (not in the
        CSV): timings of the job, the target it ran on, ...
    """

    values: Mapping[str, Any] = field(default_factory=dict)
    paths: Mapping[str, Any] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PointTask:
    """One point as a batched function receives it: parameters, seed, output folder, name."""

    params: Mapping[str, Any]
    seed: int
    out: Path
    name: str


def recorded_version(record):
    """What a point record says of its result columns: ``"values_version N"``, or ``"no
    values_version (version 1)"`` for a record written before the key existed."""
    v = record.get("values_version")
    return "no values_version (version 1)" if v is None else f"values_version {v}"


class Runner:
    """A job that sweeps run point by point.

    Parameters
    ----------
    name : str
        The ``job`` name in a sweep spec (``"replay"``, ``"analyze lyapunov"``).
    function : callable(params, seed, out, settings) -> PointResult or dict
        Runs one point on a worker. ``params`` maps parameter names to values
        (Brian2 quantities, numbers, text), ``seed`` is the point's seed,
        ``out`` its output folder (created), ``settings`` the prepared ``[run]``
        table (without ``job``).
    settings : Mapping[str, Key]
        The keys the ``[run]`` table may hold besides ``job``.
    prepare : callable(spec, settings) -> dict, optional
        Client-side check of settings and point parameters; returns the
        settings sent to the workers.
    doc : str
    """

    def __init__(self, name, function, settings=None, prepare=None, doc=""):
        self.name = name
        self.function = function
        self.settings = dict(settings or {})
        self._prepare = prepare
        self.doc = doc

    #: The version of the result columns this job writes (a point record's ``values``, the
    #: summary's result columns); bumped when they change. A record without
    #: ``values_version`` is version 1. A sweep resumed in a folder whose finished points
    #: have another version gets their values rebuilt (:meth:`rebuild_values`) or refuses.
    values_version = 1
    #: What each version changed (version -> text), named when a resume refuses.
    values_changes: Mapping[int, str] = {}

    def __repr__(self):
        return f"<Runner {self.name!r}>"

    def rebuild_values(self, record, point, settings, out):
        """The values this version writes for a finished point, from the files it wrote
        (``record["paths"]``, relative to the sweep's folder ``out``); raises
        :class:`~biodyn.errors.BiodynError` saying why not (by default: this job cannot)."""
        raise BiodynError(f"the {self.name!r} job does not rebuild a point's results from its files")

    def prepare(self, spec):
        """Check ``spec.settings`` and the points' parameters; return the workers' settings."""
        settings = dict(spec.settings)
        check_table(settings, self.settings, file=spec.file, prefix="run.")
        if self._prepare is not None:
            settings = self._prepare(spec, settings)
        return settings

    def batch_size(self, settings):
        """How many points one call of the function takes (1: one point per call)."""
        return 1

    def batches(self, spec, settings, todo, workers=1, batch=None):
        """The points of ``todo`` in tasks (lists of points): one task runs on one worker, in
        one call of :meth:`run_batch` if it holds more than one point. Returns ``(tasks, notes)``.

        ``batch`` (``--batch``) overrides the settings' own; jobs that do not batch take
        only ``1``."""
        self.check_batch(settings, batch)
        size = max(1, self.batch_size(settings))
        return [todo[k:k + size] for k in range(0, len(todo), size)], []

    def check_batch(self, settings, batch):
        """Refuse a ``--batch`` this job cannot take (the same error for a run and a dry run);
        jobs that do not batch take only ``1``."""
        if batch not in (None, 1, "1"):
            raise BiodynError(f"--batch: the {self.name!r} job runs its points one by one "
                              f"(found --batch {batch}); batched jobs: replay, callable with "
                              "batch = N in [run]")

    def run(self, params, seed, out, settings):
        return self.function(params, seed, out, settings)

    def run_batch(self, tasks, settings):
        """Run several points; returns one result (or exception) per task."""
        out = []
        for task in tasks:
            out.append(self.run(task.params, task.seed, task.out, settings))
        return out


#: Registry of point runners by job name.
RUNNERS: dict[str, Runner] = {}


def register_runner(runner):
    """Register ``runner`` under ``runner.name`` (replacing any runner of that name)."""
    RUNNERS[runner.name] = runner
    return runner


def get_runner(name, file=None):
    """The runner registered as ``name``; a clear :class:`SpecError` otherwise."""
    if name not in RUNNERS:
        raise SpecError(file, "run.job", "one of " + ", ".join(repr(n) for n in sorted(RUNNERS)),
                        repr(name), suggest(name, RUNNERS))
    return RUNNERS[name]


# --------------------------------------------------------------------------
# callable: any Python function
# --------------------------------------------------------------------------

_CALLABLE_SETTINGS = {
    "function": Key((str,), True, "'package.module:function' or 'file.py:function' (relative to "
                    "the sweep spec)"),
    "kwargs": Key((dict,), False, "keyword arguments passed to the function on every point"),
    "batch": Key((int,), False, "points per call: the function then takes a list of PointTask "
                 "and returns a list of results (vectorise points into one Brian2 run)"),
}

_LOADED = {}


def _split_target(text, file, key):
    if text.count(":") != 1:
        raise SpecError(file, key, "'package.module:function' or 'path/file.py:function'",
                        repr(text))
    where, func = text.rsplit(":", 1)
    if not where or not func.isidentifier():
        raise SpecError(file, key, "'package.module:function' or 'path/file.py:function'",
                        repr(text))
    return where, func


def _is_file(where):
    return where.endswith(".py") or "/" in where or os.sep in where


def load_callable(text, folder=None, *, file=None, key="run.function"):
    """The function named by ``'package.module:function'`` or ``'path/file.py:function'``.

    A file path is read relative to ``folder``. Modules loaded from a file are
    cached per process (and put in ``sys.modules`` under a name derived from
    the path, so their functions pickle).
    """
    where, func = _split_target(text, file, key)
    if _is_file(where):
        path = Path(where)
        if not path.is_absolute() and folder is not None:
            path = Path(folder) / path
        path = path.resolve()
        if not path.is_file():
            raise SpecError(file, key, "an existing Python file", f"no such file {str(path)!r}")
        modname = "biodyn_sweep_" + hashlib.sha1(str(path).encode()).hexdigest()[:12]
        module = _LOADED.get(modname) or sys.modules.get(modname)
        if module is None:
            spec = importlib.util.spec_from_file_location(modname, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[modname] = module
            try:
                spec.loader.exec_module(module)
            except Exception as exc:
                del sys.modules[modname]
                raise SpecError(file, key, "a Python file that imports",
                                f"{type(exc).__name__}: {exc}"[:300]) from exc
            _LOADED[modname] = module
    else:
        try:
            module = importlib.import_module(where)
        except ModuleNotFoundError as exc:
            raise SpecError(file, key, "an importable module (on sys.path of every worker)",
                            f"{where!r}: {exc}") from None
        except Exception as exc:
            raise SpecError(file, key, "a module that imports", f"{where!r}: "
                            f"{type(exc).__name__}: {exc}"[:300]) from exc
    fn = getattr(module, func, None)
    if not callable(fn):
        names = [n for n in dir(module) if not n.startswith("_") and callable(getattr(module, n))]
        raise SpecError(file, key, f"a function of {where}", f"no function {func!r}",
                        suggest(func, names))
    return fn


def _prepare_callable(spec, settings):
    where, func = _split_target(settings["function"], spec.file, "run.function")
    if _is_file(where):
        path = Path(where)
        if not path.is_absolute():
            path = spec.folder / path
        settings["function"] = f"{path.resolve()}:{func}"
    load_callable(settings["function"], spec.folder, file=spec.file)
    batch = settings.get("batch")
    if batch is not None and batch < 1:
        raise SpecError(spec.file, "run.batch", "an integer >= 1", repr(batch))
    settings.setdefault("kwargs", {})
    return settings


class CallableRunner(Runner):
    """``job = "callable"``: a Python function ``f(params, seed, out, **kwargs)`` per point.

    With ``batch = N`` the function takes a list of up to ``N``
    :class:`PointTask` objects and returns a list of results in the same order:
    this is how several points become ONE Brian2 run (e.g. one neuron group per
    coupling value), computed exactly as the function computes them.
    """

    def batch_size(self, settings):
        return int(settings.get("batch") or 1)

    def check_batch(self, settings, batch):
        if batch is not None and settings.get("batch"):
            check_batch(batch, "<command line>", "--batch")
        else:
            super().check_batch(settings, batch)

    def batches(self, spec, settings, todo, workers=1, batch=None):
        if batch is not None and settings.get("batch"):  # --batch N: N points per call
            n = check_batch(batch, "<command line>", "--batch")
            if n == "auto":
                n = int(settings["batch"])
            return [todo[k:k + n] for k in range(0, len(todo), n)], []
        return super().batches(spec, settings, todo, workers, batch)

    def run(self, params, seed, out, settings):
        fn = load_callable(settings["function"])
        return fn(params, seed, out, **settings.get("kwargs", {}))

    def run_batch(self, tasks, settings):
        if not settings.get("batch"):
            return super().run_batch(tasks, settings)
        fn = load_callable(settings["function"])
        results = fn(list(tasks), **settings.get("kwargs", {}))
        results = list(results) if results is not None else []
        if len(results) != len(tasks):
            raise BiodynError(f"the batched function {settings['function']} returned "
                              f"{len(results)} results for {len(tasks)} points")
        return results


register_runner(CallableRunner(
    "callable", None, settings=_CALLABLE_SETTINGS, prepare=_prepare_callable,
    doc="a Python function f(params, seed, out, **kwargs) -> dict of scalars"))


# --------------------------------------------------------------------------
# replay: a protocol on a model (biodyn.jobs.replay)
# --------------------------------------------------------------------------

_REPLAY_SETTINGS = {
    "protocol": Key((str,), True, "protocol name or spec path"),
    "model": Key((str,), False, "model name or path (default: the protocol's)"),
    "params": Key((str,), False, "parameter set: a name or a .toml file"),
    "set": Key((dict,), False, "fixed parameter overrides: name -> value with unit"),
    "variants": Key((dict,), False, "fixed variant options: axis -> option"),
    "stimulus": Key((dict,), False, "fixed changes to the protocol's stimulus"),
    "target": Key((str,), False, "numpy, cython, cpp_standalone or auto (default)"),
    "format": Key((str,), False, "file format of the neo Block: pkl (default), nwb or nix"),
    "batch": Key((int, str), False, "points per Brian2 run, as independent copies: 'auto' "
                 "(default: as many as memory allows, shared out among the workers), N, or 1 "
                 "(every point its own run)"),
}

#: Point parameters the replay runner reads besides model parameters.
REPLAY_NAMESPACES = ("stimulus.NAME", "variants.AXIS", "model", "parameter_set")


def _resolve_path(text, folder):
    if text.endswith(".toml") or "/" in text or os.sep in text:
        path = Path(text)
        return str((folder / path).resolve() if not path.is_absolute() else path)
    return text


def _point_arguments(params, settings, *, analysis=(), stimulus=False, model_param=False):
    """Split a point's parameters into a job's arguments: ``stimulus.NAME`` (if ``stimulus``),
    ``analysis.KEY`` for the keys in ``analysis``, ``variants.AXIS``, ``parameter_set``,
    ``model`` (if ``model_param``) and plain names (model parameter overrides), over the fixed
    ``settings``. Raises ``KeyError(name)`` for a name that fits none of them."""
    from ._spec import display

    args = {"model": settings.get("model"), "params": settings.get("params"),
            "overrides": dict(settings.get("set", {})), "variants": dict(settings.get("variants", {}))}
    if stimulus:
        args["stimulus"] = dict(settings.get("stimulus", {}))
    if analysis:
        args["analysis"] = {k: settings[k] for k in analysis if k in settings}
    for name, value in params.items():
        head, _, rest = name.partition(".")
        if head == "analysis" and rest in analysis:
            args["analysis"][rest] = value if isinstance(value, (int, float, str)) else display(value)
        elif head == "stimulus" and rest and stimulus:
            args["stimulus"][rest] = _stimulus_value(value)
        elif head == "variants" and rest and "." not in rest:
            args["variants"][rest] = value
        elif name == "model" and model_param:
            args["model"] = value
        elif name == "parameter_set":
            args["params"] = value
        elif not rest:
            args["overrides"][name] = value
        else:
            raise KeyError(name)
    return args


def _check_stimulus(protocol, stimulus, file, prefix):
    """``run.stimulus`` (or a point's ``stimulus.KEY``) checked against the keys the protocol's
    engine reads (:func:`biodyn.protocols.check_changes`); returned normalised."""
    from .. import protocols

    return protocols.check_changes(protocol, stimulus=stimulus,
                                   where={"stimulus": (file, prefix)})["stimulus"]


def _check_grid_stimulus(protocol, point, arguments, settings, file):
    """The ``stimulus.KEY`` values of a point, as the job gets them, checked."""
    names = [n.partition(".")[2] for n in point.params if n.startswith("stimulus.")]
    if names:
        stim = arguments({k: v for k, v in point.params.items() if k.startswith("stimulus.")},
                         dict(settings, stimulus={}))["stimulus"]
        _check_stimulus(protocol, {n: stim[n] for n in names}, file, "grid.stimulus.")


def _stimulus_value(value):
    """A point's ``stimulus.KEY`` value as the job gets it: numbers stay numbers (keys such
    as ``share`` take them; text keys get their text from the engine's check), quantities
    become text (``'20 second'``)."""
    import numpy as np

    from ._spec import display

    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return value.item() if isinstance(value, np.generic) else value
    return display(value)


def _replay_arguments(params, settings):
    """Split a point's parameters into jobs.replay's arguments."""
    return _point_arguments(params, settings, stimulus=True, model_param=True)


def _prepare_replay(spec, settings):
    from .. import build, io, protocols

    file = spec.file
    folder = spec.folder
    settings["protocol"] = _resolve_path(settings["protocol"], folder)
    for key in ("model", "params"):
        if key in settings:
            settings[key] = _resolve_path(settings[key], folder)
    try:
        protocol = protocols.load(settings["protocol"])
    except SpecError as exc:
        if exc.file == "catalog":
            raise SpecError(file, "run.protocol", exc.expected, exc.found, exc.hint) from None
        raise
    fmt = settings.setdefault("format", "pkl")
    if fmt not in io.FORMATS:
        raise SpecError(file, "run.format", "one of " + ", ".join(io.FORMATS), repr(fmt),
                        suggest(fmt, io.FORMATS))
    target = settings.setdefault("target", "auto")
    try:
        resolved_target = build.resolve_target(target)
    except SpecError as exc:
        raise SpecError(file, "run.target", exc.expected, exc.found, exc.hint) from None
    if resolved_target not in protocol.targets:
        raise SpecError(file, "run.target", "one of " + ", ".join(protocol.targets)
                        + f" for protocol {protocol.name}", repr(target))
    for table in ("set", "variants", "stimulus"):
        settings[table] = dict(settings.get(table, {}))
    settings["stimulus"] = _check_stimulus(protocol, settings["stimulus"], file, "run.stimulus.")
    settings["batch"] = check_batch(settings.get("batch", "auto"), file, "run.batch")
    checked = set()
    for point in spec.points:
        for name in point.params:
            try:
                _replay_arguments({name: point.params[name]}, settings)
            except KeyError:
                raise SpecError(file, f"grid.{name}", "a model parameter or one of "
                                + ", ".join(REPLAY_NAMESPACES), repr(name)) from None
        _check_grid_stimulus(protocol, point, _replay_arguments, settings, file)
        args = _replay_arguments({k: v for k, v in point.params.items()
                                  if not k.startswith("stimulus.")}, settings)
        model_key = repr(sorted((k, repr(v)) for k, v in args.items() if k != "stimulus"))
        if model_key in checked:
            continue
        checked.add(model_key)
        try:  # every model a point runs resolves (units, names, variants) before any worker starts
            protocols.resolve_model(protocol, args["model"], args["params"], args["overrides"],
                                    args["variants"])
        except SpecError as exc:
            raise _sweep_error(exc, spec, point) from None
    return settings


def _sweep_error(exc, spec, point):
    """A model's error while resolving a point, re-addressed to the sweep spec's key."""
    head, _, rest = (exc.key or "").partition(".")
    if exc.file == "<overrides>":
        key = f"grid.{exc.key}" if exc.key in point.params else f"run.set.{exc.key}"
    elif head == "variants" and rest:
        axis = rest.split(".")[0]
        key = f"grid.variants.{axis}" if f"variants.{axis}" in point.params else f"run.variants.{axis}"
    else:
        return SpecError(spec.file, f"run (point {point.label()})", "a model that resolves",
                         str(exc))
    return SpecError(spec.file, key, exc.expected, exc.found, exc.hint)


_SLOTS = {}


def worker_slot(base):
    """A slot number this process holds for ``base`` (0, 1, ...) as long as it lives.

    Slots are claimed with an exclusive ``fcntl`` lock on a file in biodyn's
    cache folder, so two processes (of one sweep or of two) never get the same
    slot, and a worker restarted later reuses a free slot (and its compiled
    standalone project) instead of making a new one.
    """
    if base in _SLOTS:
        return _SLOTS[base][0]
    from ..build import _safe_key, cache_dir

    folder = cache_dir() / "standalone" / "slots"
    folder.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: one slot per process id
        _SLOTS[base] = (os.getpid(), None)
        return os.getpid()
    for k in range(10_000):
        f = open(folder / f"{_safe_key(base)}-{k}.lock", "a+")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.close()
            continue
        _SLOTS[base] = (k, f)
        return k
    raise BiodynError("no free worker slot for standalone builds")  # pragma: no cover


def check_batch(value, file, key):
    """A batch setting: ``'auto'`` or an integer >= 1 (``"4"`` from the command line too)."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if value == "auto" or (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
        return value
    raise SpecError(file, key, "'auto' or a number of points >= 1 (1: every point its own run)",
                    repr(value), suggest(str(value), ("auto",)) if isinstance(value, str) else None)


def _standalone_key(settings, args):
    """One standalone project per model structure and per worker: never two processes in
    one folder, and a worker's next point recompiles only what changed."""
    protocol = Path(settings["protocol"]).stem
    model = args["model"] or "default"
    variants = "".join(f"-{a}.{o}" for a, o in sorted(args["variants"].items()))
    base = f"sweep-{protocol}-{Path(str(model)).stem}{variants}"
    return f"{base}-w{worker_slot(base)}"


def _replay_point(params, seed, out, settings):
    import inspect

    from .. import build, jobs

    args = _replay_arguments(params, settings)
    kwargs = dict(args, target=settings.get("target", "auto"), seed=seed,
                  fmt=settings.get("format", "pkl"), out=out)
    target = build.resolve_target(kwargs["target"])
    if target == "cpp_standalone" and "build_key" in inspect.signature(jobs.replay).parameters:
        kwargs["build_key"] = _standalone_key(settings, args)
    result = jobs.replay(settings["protocol"], **kwargs)
    return _replay_values(result, kwargs.get("build_key"), _swept_columns(params, settings))


def _swept_columns(params, settings):
    """The condition columns a point's swept stimulus keys set in every condition (a sweep
    axis ``stimulus.input_rate`` of song_2000, whose ``input_rate = "input_rate"`` makes it the
    condition variable; :func:`biodyn.protocols._engine._replaced_labels`)."""
    from .. import protocols

    keys = [k.split(".", 1)[1] for k in params if k.startswith("stimulus.")]
    if not keys:
        return ()
    try:
        spec = protocols.load(settings["protocol"])
    except Exception:  # the point's own error shows when it runs
        return ()
    units = spec.label_units()
    columns = [spec.stimulus.get(k) for k in keys]
    return tuple(c.strip() for c in columns if isinstance(c, str) and c.strip() in units)


def _summary_values(s, swept_columns=()):
    """A replay point's CSV values from its summary ``s`` (the replay JSON): ``chi``,
    ``n_scored`` and ``value(LABELS)`` per condition; for protocols whose engine checks
    whether each value settled (``summary["unsettled"]``), also ``n_unsettled`` and
    ``settled(LABELS)`` per condition.

    The labels are the conditions' own, less the columns the sweep's axes set in every
    condition (``swept_columns``: their value is the point's parameter, in its own CSV
    column): a song_2000 sweep over ``stimulus.input_rate`` has the columns
    ``value(correlation=0)``, ``value(correlation=0) #2``, ... for every point, so that each
    condition is one column across the input rates (they were ``value(input_rate=5
    Hz,correlation=0)`` for one point, ``value(input_rate=15 Hz,...)`` for the next: a
    table of disjoint columns, and a figure of one point per panel). A condition left with
    no label is ``value(condition K)``.
    """
    values = {"chi": s["score"]["chi"], "n_scored": s["score"]["n"]}
    units = s.get("units", {})
    names = []
    for i, cond in enumerate(s["conditions"]):
        labels = ",".join(f"{k}={v}{'' if units.get(k) in (None, '1', '') else ' ' + units[k]}"
                          for k, v in cond["labels"].items() if k not in swept_columns)
        name, k = (f"value({labels})" if labels else f"value(condition {i + 1})"), 2
        while name in values:  # conditions a stimulus change made alike (their labels: what ran)
            name, k = f"value({labels}) #{k}", k + 1
        values[name] = cond["value"]
        names.append(name)
    if "unsettled" in s:  # the engine checked: a transient never reads as a result
        # settled(LABELS) beside each value(LABELS): a boolean mask of its value column
        # (pandas reads true/false as booleans); n_unsettled: the point's conditions that
        # had not settled (0: every value is settled)
        values["n_unsettled"] = len(s["unsettled"])
        for name, cond in zip(names, s["conditions"]):
            values["settled" + name[len("value"):]] = cond.get("settled") is not False
    return values


def _replay_values(result, build_key, swept_columns=()):
    """A replay point's CSV values (:func:`_summary_values`), files and extras."""
    s = result.summary
    values = _summary_values(s, swept_columns)
    batch = s.get("batch") or {}
    if build_key is not None and batch.get("size", 1) > 1 and "alone" not in batch:
        from ..protocols._engine import copies_key

        build_key = copies_key(build_key, batch["size"])  # the folder the batch was built in
    extra = {"target": s.get("target"), "timings": dict(result.timings), "build_key": build_key}
    if s.get("batch") is not None:
        extra["batch"] = dict(s["batch"])
    return PointResult(values, {k: str(v) for k, v in result.paths.items()}, extra)


def _same(a, b):
    """Equal, NaN equal to NaN (JSON keeps floats exactly)."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


#: Points in one batch at most (the memory estimate decides below that).
MAX_BATCH = 256


class ReplayRunner(Runner):
    """``job = "replay"``: :func:`biodyn.jobs.replay` per point, or batched.

    Batched (``batch = "auto"``, the default, or ``N``): points whose replays share their
    code — the same model and variants and the same values of the stimulus keys that shape
    the code (every key but the engine's ``batch_stimulus``) — go to one task, which runs
    them as independent copies of ONE Brian2 run (:func:`biodyn.protocols.run_batch`); a
    task is one dask task. ``auto`` sizes the tasks to memory (the engine's estimate per
    copy against a quarter of the memory available, shared by the workers) and to one
    core's L2 cache (the copies' per-event state, :func:`~biodyn.protocols._engine.batch_copies_for_cache`:
    16 song_2000 neurons of 1000 plastic inputs on a 1-MiB cache), at most
    :data:`MAX_BATCH` points, and into at least as many tasks as workers (over all the
    groups: a group is split for the workers by its share of the points). ``batch = 1``,
    and engines that do not batch, run every point alone.
    """

    values_version = 2
    values_changes = {2: "a settled(CONDITION) column beside each value(CONDITION), and n_unsettled, "
                         "for protocols whose engine checks whether each value settled "
                         "(poisson_network: song_2000)"}

    def batch_size(self, settings):
        return 1

    def check_batch(self, settings, batch):
        if batch is not None:
            check_batch(batch, "<command line>", "--batch")

    def rebuild_values(self, record, point, settings, out):
        """A finished point's values from the replay JSON it wrote (``paths.json``): the
        columns this version writes (:func:`_summary_values`). Refused when the JSON is
        missing, lacks what this version reports (a replay of an engine that checks
        settledness, written before it did), or disagrees with the values recorded."""
        import json

        from .. import protocols
        from ..errors import display_path

        rel = (record.get("paths") or {}).get("json")
        if not rel:
            raise BiodynError("its record names no replay JSON (paths.json) to rebuild from")
        path = Path(out) / rel
        try:
            summary = json.loads(path.read_text())
            summary["conditions"], summary["score"]  # noqa: B018 - a replay's summary
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise BiodynError(f"its replay result {display_path(path)} cannot be read "
                              f"({type(exc).__name__}: {exc})") from None
        protocol = protocols.load(settings["protocol"])
        engine = protocols.ENGINES[protocol.engine]
        if getattr(engine, "checks_settled", False) and "unsettled" not in summary:
            # what is known: the record's values_version (or none), the version written now and
            # the JSON's own biodyn version — the version number did not change with the check,
            # so the number alone cannot say which biodyn wrote it
            from .. import __version__

            wrote = (summary.get("versions") or {}).get("biodyn")
            by = "" if wrote in (None, __version__) else f"; the JSON was written by biodyn {wrote}, this is " \
                f"{__version__}"
            raise BiodynError(f"its replay result {display_path(path)} has no settledness (no "
                              f"'unsettled'), which the settled(...) columns of values_version "
                              f"{self.values_version} (this biodyn's) are read from: the point's record "
                              f"has {recorded_version(record)}, a replay by a biodyn whose "
                              f"{engine.name} engine did not check yet whether each value settled{by}")
        values = _summary_values(summary, _swept_columns(point.params, settings))
        old = record.get("values") or {}
        differ = [k for k in old if k in values and not _same(old[k], values[k])]
        if differ:
            named = ", ".join(differ[:3]) + (f" and {len(differ) - 3} more" if len(differ) > 3 else "")
            raise BiodynError(f"its replay result {display_path(path)} disagrees with the "
                              f"recorded values ({named})")
        return values

    def batches(self, spec, settings, todo, workers=1, batch=None):
        from .. import protocols
        from ..protocols._engine import batch_copies_for_cache, batch_memory

        size = check_batch(batch, "<command line>", "--batch") if batch is not None else \
            settings.get("batch", "auto")
        protocol = protocols.load(settings["protocol"])
        engine_cls = protocols.ENGINES[protocol.engine]
        if size == 1 or len(todo) < 2:
            return [[p] for p in todo], []
        if engine_cls.batch is None:
            return [[p] for p in todo], [f"the {engine_cls.name} engine of {protocol.name} runs "
                                         "points alone: no batches"]
        groups, estimates = {}, {}
        for p in todo:
            args = _replay_arguments(p.params, settings)
            structural = tuple(sorted((k, repr(v)) for k, v in args["stimulus"].items()
                                      if k not in engine_cls.batch_stimulus))
            key = (repr(args["model"]), repr(sorted(args["variants"].items())), structural)
            groups.setdefault(key, []).append(p)
            if size == "auto":
                stim = repr(sorted(args["stimulus"].items()))
                if stim not in estimates:
                    estimates[stim] = _estimate(protocol, args)
                memory, state = estimates[stim]
                old_memory, old_state = estimates.get(key, (0.0, 0.0))
                estimates[key] = (max(old_memory, memory), max(old_state, state))
        tasks = []
        workers = max(1, int(workers or 1))
        for key, members in groups.items():
            if size == "auto":
                memory, state = estimates[key]
                by_memory = int(batch_memory(workers) // max(memory, 1.0))
                by_cache = batch_copies_for_cache(state) or MAX_BATCH
                # at least as many tasks as workers over all the groups: a group gets its
                # share of the workers (groups of other code are tasks of their own already)
                share = max(1, -(-workers * len(members) // len(todo)))
                n = max(1, min(by_memory, by_cache, MAX_BATCH, -(-len(members) // share)))
            else:
                n = int(size)
            n_tasks = -(-len(members) // n)
            bounds = np.linspace(0, len(members), n_tasks + 1).round().astype(int)  # equal shares
            tasks += [members[a:b] for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
        largest = max(len(t) for t in tasks)
        notes = [] if largest == 1 else [
            f"{len(todo)} points in {len(tasks)} batch{'es' if len(tasks) != 1 else ''} of up to "
            f"{largest} (each batch ONE Brian2 run of independent copies; --batch 1 runs every "
            "point alone)"]
        return tasks, notes

    def run_batch(self, tasks, settings):
        from .. import build, jobs

        points, build_key = [], None
        target = build.resolve_target(settings.get("target", "auto"))
        for t in tasks:
            args = _replay_arguments(t.params, settings)
            points.append(dict(model=args["model"], params=args["params"],
                               overrides=args["overrides"], variants=args["variants"],
                               stimulus=args["stimulus"], seed=t.seed, out=t.out))
            if target == "cpp_standalone" and build_key is None:
                build_key = _standalone_key(settings, args)
        results = jobs.replay_batch(settings["protocol"], points, target=settings.get("target", "auto"),
                                    fmt=settings.get("format", "pkl"), build_key=build_key)
        return [r if isinstance(r, BaseException) else
                _replay_values(r, build_key, _swept_columns(t.params, settings))
                for r, t in zip(results, tasks)]


def _estimate(protocol, args):
    """Bytes one copy of a replay needs and bytes of its per-event state (the engine's
    estimates)."""
    from .. import protocols
    from ..protocols._engine import RunOptions

    try:
        resolved = protocols.resolve_model(protocol, args["model"], args["params"], args["overrides"],
                                           args["variants"])
        engine = protocols.ENGINES[protocol.engine](protocol, resolved,
                                                    RunOptions(stimulus=args["stimulus"]))
        return float(engine.estimate_bytes()), float(engine.copy_state_bytes())
    except Exception:  # the point's own error shows when it runs
        return 0.0, 0.0


register_runner(ReplayRunner(
    "replay", _replay_point, settings=_REPLAY_SETTINGS, prepare=_prepare_replay,
    doc="replay a protocol (biodyn replay) with the point's parameters; one column per condition "
        "(and settled(...) per condition, n_unsettled, where the engine checks settledness)"))


# --------------------------------------------------------------------------
# Jobs not in this installation yet
# --------------------------------------------------------------------------


class MissingJob(Runner):
    """A job name sweeps know, whose job this installation of biodyn does not have yet."""

    def __init__(self, name, needs):
        super().__init__(name, None, doc=f"not available yet: needs {needs}")
        self.needs = needs

    def prepare(self, spec):
        raise SpecError(spec.file, "run.job", "a job available in this installation ("
                        + ", ".join(sorted(n for n, r in RUNNERS.items()
                                           if not isinstance(r, MissingJob))) + ")",
                        f"{self.name!r}, which is not available yet in this installation: the "
                        f"job it needs, {self.needs}, is missing")




# --------------------------------------------------------------------------
# analyze lyapunov: Lyapunov exponents of a model (biodyn.jobs.analyze_lyapunov)
# --------------------------------------------------------------------------

_LYAPUNOV_ANALYSIS = {
    "reading": Key((str,), False, "auto, network or mean_field"),
    "method": Key((str,), False, "auto, qr, two-trajectory or brian2"),
    "integrator": Key((str,), False, "rk4 (default) or euler"),
    "duration": Key((str, int, float), False, "measured time: a number in the model's time unit, "
                    "or a quantity ('2 s'); iterations for maps"),
    "dt": Key((str, int, float), False, "time step (number in time units, or a quantity)"),
    "transient": Key((str, int, float), False, "time discarded first (default 10 % of duration)"),
    "k": Key((int,), False, "number of exponents (default: all)"),
    "reorth_every": Key((int,), False, "steps between QR re-orthonormalisations"),
    "segments": Key((int,), False, "fixed segments for the standard error (default: batch means)"),
    "target": Key((str,), False, "Brian2 target for method = 'brian2' (default auto)"),
    "d0": Key((float,), False, "initial separation of the two trajectories"),
}

_LYAPUNOV_SETTINGS = {
    "model": Key((str,), True, "model name or spec path"),
    "params": Key((str,), False, "parameter set: a name or a .toml file"),
    "set": Key((dict,), False, "fixed parameter overrides: name -> value with unit"),
    "variants": Key((dict,), False, "fixed variant options: axis -> option"),
    **_LYAPUNOV_ANALYSIS,
}

#: Point parameters the Lyapunov runner reads besides model parameters.
LYAPUNOV_NAMESPACES = ("analysis.KEY", "variants.AXIS", "parameter_set")


def _lyapunov_job():
    """biodyn.jobs.analyze_lyapunov, or None where this installation lacks it."""
    try:
        from .. import jobs
    except ImportError:  # pragma: no cover - a broken jobs package
        return None
    return getattr(jobs, "analyze_lyapunov", None)


def _lyapunov_arguments(params, settings):
    return _point_arguments(params, settings, analysis=_LYAPUNOV_ANALYSIS)


def _prepare_lyapunov(spec, settings):
    from .. import build

    if _lyapunov_job() is None:
        raise SpecError(spec.file, "run.job", "a job available in this installation",
                        "'analyze lyapunov', which is not available yet in this installation: the "
                        "job it needs, `biodyn analyze lyapunov` (biodyn.jobs.analyze_lyapunov), "
                        "is missing")
    folder = spec.folder
    for key in ("model", "params"):
        if key in settings:
            settings[key] = _resolve_path(settings[key], folder)
    for table in ("set", "variants"):
        settings[table] = dict(settings.get(table, {}))
    checked = set()
    for point in spec.points:
        for name in point.params:
            try:
                _lyapunov_arguments({name: point.params[name]}, settings)
            except KeyError:
                head, _, rest = name.partition(".")
                hint = suggest(rest, _LYAPUNOV_ANALYSIS) if head == "analysis" else None
                raise SpecError(spec.file, f"grid.{name}", "a model parameter or one of "
                                + ", ".join(LYAPUNOV_NAMESPACES) + " (analysis keys: "
                                + ", ".join(_LYAPUNOV_ANALYSIS) + ")", repr(name), hint) from None
        args = _lyapunov_arguments({k: v for k, v in point.params.items()
                                    if not k.startswith("analysis.")}, settings)
        model_key = repr(sorted((k, repr(v)) for k, v in args.items() if k != "analysis"))
        if model_key in checked:
            continue
        checked.add(model_key)
        try:
            build.resolve(settings["model"], args["params"], args["overrides"], args["variants"])
        except SpecError as exc:
            if exc.file == "catalog":
                raise SpecError(spec.file, "run.model", exc.expected, exc.found, exc.hint) from None
            raise _sweep_error(exc, spec, point) from None
    return settings


def _lyapunov_point(params, seed, out, settings):
    job = _lyapunov_job()
    args = _lyapunov_arguments(params, settings)
    result = job(settings["model"], params=args["params"], overrides=args["overrides"],
                 variants=args["variants"], seed=seed, out=out, json=Path(out) / "lyapunov.json",
                 **args["analysis"])
    s = result.summary
    exponents = [v for v in s.get("exponents", [])]
    values = {"lambda_max": exponents[0] if exponents else None}
    for k, v in enumerate(exponents, 1):
        values[f"lambda_{k}"] = v
    se = s.get("standard_error") or [None]
    values.update({
        "lambda_max_se": se[0],
        "sum": sum(exponents) if exponents and None not in exponents else None,
        "kaplan_yorke": s.get("kaplan_yorke"),
        "entropy_rate": s.get("entropy_rate"),
        "time_unit": s.get("time_unit"),
        "method": s.get("method"),
        "duration": s.get("duration"),
    })
    return PointResult(values, {k: str(v) for k, v in result.paths.items()},
                       {"timings": dict(result.timings)})


register_runner(Runner(
    "analyze lyapunov", _lyapunov_point, settings=_LYAPUNOV_SETTINGS, prepare=_prepare_lyapunov,
    doc="Lyapunov exponents of a model (biodyn analyze lyapunov) at each point: lambda_1.. per "
        "time unit of the model"))


# --------------------------------------------------------------------------
# analyze flow: the averaged flow of a learning scenario (biodyn.jobs.analyze_flow)
# --------------------------------------------------------------------------

_FLOW_ANALYSIS = {
    "condition": Key((int,), False, "index of the condition whose input statistics are analysed"),
    "aux": Key((str,), False, "rate rules' other variables: adiabatic (default) or state"),
    "objective": Key((str,), False, "objective to check (a key of biodyn.flow.OBJECTIVES, or 'none')"),
    "simulate": Key((bool,), False, "replay the protocol in Brian2 (default true)"),
    "target": Key((str,), False, "Brian2 target of the replay (default auto)"),
    "field": Key((str,), False, "auto (default), analytic or measured"),
}

_FLOW_SETTINGS = {
    "protocol": Key((str,), True, "protocol name or spec path (a learning scenario)"),
    "model": Key((str,), False, "model name or path (default: the protocol's)"),
    "params": Key((str,), False, "parameter set: a name or a .toml file"),
    "set": Key((dict,), False, "fixed parameter overrides: name -> value with unit"),
    "variants": Key((dict,), False, "fixed variant options: axis -> option"),
    "stimulus": Key((dict,), False, "fixed changes to the protocol's stimulus"),
    **_FLOW_ANALYSIS,
}

#: Point parameters the flow runner reads besides model parameters.
FLOW_NAMESPACES = ("stimulus.NAME", "variants.AXIS", "parameter_set", "analysis.KEY")


def _flow_job():
    """biodyn.jobs.analyze_flow, or None where this installation lacks it."""
    try:
        from .. import jobs
    except ImportError:  # pragma: no cover
        return None
    return getattr(jobs, "analyze_flow", None)


def _flow_arguments(params, settings):
    return _point_arguments(params, settings, analysis=_FLOW_ANALYSIS, stimulus=True)


def _prepare_flow(spec, settings):
    from .. import protocols

    if _flow_job() is None:  # pragma: no cover - the job ships with this runner
        raise SpecError(spec.file, "run.job", "a job available in this installation",
                        "'analyze flow', whose job biodyn.jobs.analyze_flow is missing")
    folder = spec.folder
    settings["protocol"] = _resolve_path(settings["protocol"], folder)
    for key in ("model", "params"):
        if key in settings:
            settings[key] = _resolve_path(settings[key], folder)
    try:
        protocol = protocols.load(settings["protocol"])
    except SpecError as exc:
        if exc.file == "catalog":
            raise SpecError(spec.file, "run.protocol", exc.expected, exc.found, exc.hint) from None
        raise
    for table in ("set", "variants", "stimulus"):
        settings[table] = dict(settings.get(table, {}))
    settings["stimulus"] = _check_stimulus(protocol, settings["stimulus"], spec.file,
                                           "run.stimulus.")
    checked = set()
    for point in spec.points:
        for name in point.params:
            try:
                _flow_arguments({name: point.params[name]}, settings)
            except KeyError:
                head, _, rest = name.partition(".")
                hint = suggest(rest, _FLOW_ANALYSIS) if head == "analysis" else None
                raise SpecError(spec.file, f"grid.{name}", "a model parameter or one of "
                                + ", ".join(FLOW_NAMESPACES) + " (analysis keys: "
                                + ", ".join(_FLOW_ANALYSIS) + ")", repr(name), hint) from None
        _check_grid_stimulus(protocol, point, _flow_arguments, settings, spec.file)
        args = _flow_arguments({k: v for k, v in point.params.items()
                                if not k.startswith(("analysis.", "stimulus."))}, settings)
        model_key = repr(sorted((k, repr(v)) for k, v in args.items() if k not in ("analysis", "stimulus")))
        if model_key in checked:
            continue
        checked.add(model_key)
        try:
            protocols.resolve_model(protocol, args["model"], args["params"], args["overrides"],
                                    args["variants"])
        except SpecError as exc:
            raise _sweep_error(exc, spec, point) from None
    return settings


def _flow_point(params, seed, out, settings):
    job = _flow_job()
    args = _flow_arguments(params, settings)
    result = job(settings["protocol"], model=args["model"], params=args["params"],
                 overrides=args["overrides"], variants=args["variants"], stimulus=args["stimulus"],
                 seed=seed, out=out, json=Path(out) / "flow.json", **args["analysis"])
    s = result.summary
    sim = s.get("simulation") or {}
    check = s.get("objective_check") or {}
    values = {
        "gradient": s["gradient"], "asymmetry": s["asymmetry"],
        "gradient_fraction": s["gradient_fraction"],
        "objective_error": check.get("max_abs_error"), "monotone": check.get("monotone"),
        "n_fixed_points": len(s["fixed_points"]),
        "n_stable": sum(1 for f in s["fixed_points"] if f["stable"]),
        "nearest_stable_distance": sim.get("nearest_stable_distance"),
        "euler_limit": s["euler_limit"],
    }
    for k, v in enumerate(sim.get("final_w") or []):
        values[f"final_w{k}"] = v
    return PointResult(values, {k: str(v) for k, v in result.paths.items()},
                       {"timings": dict(result.timings)})


register_runner(Runner(
    "analyze flow", _flow_point, settings=_FLOW_SETTINGS, prepare=_prepare_flow,
    doc="the averaged flow of a learning scenario (biodyn analyze flow) at each point: gradient "
        "verdict, asymmetry, gradient fraction, objective error, rest points, where the replay ends"))


# --------------------------------------------------------------------------
# compare: a biological rule against its artificial counterpart (biodyn.jobs.compare)
# --------------------------------------------------------------------------

_COMPARE_SETTINGS = {
    "comparison": Key((str,), True, "a comparison of biodyn.compare (biodyn compare --help lists them)"),
    "settings": Key((dict,), False, "fixed settings of the comparison: name -> value (with unit)"),
    "target": Key((str,), False, "Brian2 target of the biological learner (default numpy)"),
    "figure": Key((bool,), False, "draw the figure of every point (default true)"),
}


def _compare_settings(params, settings):
    """The comparison's settings at a point: the fixed ones, then the point's parameters."""
    out = dict(settings.get("settings", {}))
    out.update(params)
    return out


def _prepare_compare(spec, settings):
    from .. import compare
    from ..compare._base import resolve_settings

    name = settings["comparison"]
    if name not in compare.COMPARISONS:
        raise SpecError(spec.file, "run.comparison", "one of " + ", ".join(compare.COMPARISONS),
                        repr(name), suggest(name, compare.COMPARISONS))
    table = compare.COMPARISONS[name].settings
    settings["settings"] = dict(settings.get("settings", {}))
    for point in spec.points:
        try:
            resolve_settings(name, table, _compare_settings(point.params, settings))
        except SpecError as exc:
            key = f"grid.{exc.key}" if exc.key in point.params else f"run.settings.{exc.key}"
            raise SpecError(spec.file, key, exc.expected, exc.found, exc.hint) from None
    return settings


def _compare_point(params, seed, out, settings):
    from .. import jobs

    result = jobs.compare(settings["comparison"], seed=seed, target=settings.get("target", "numpy"),
                          settings=_compare_settings(params, settings), out=out,
                          json=Path(out) / "compare.json", figure=settings.get("figure", True))
    values = {}
    for key, value in result.summary["summary"].items():
        if key in ("settings", "dataset", "timings"):  # the point's own parameters, inputs, wall times
            continue
        if isinstance(value, dict):
            for sub, v in value.items():
                if v is None or isinstance(v, (bool, int, float, str)):
                    values[f"{key}.{sub}"] = v
        elif value is None or isinstance(value, (bool, int, float, str)):
            values[key] = value
    return PointResult(values, {k: str(v) for k, v in result.paths.items()},
                       {"timings": dict(result.timings)})


register_runner(Runner(
    "compare", _compare_point, settings=_COMPARE_SETTINGS, prepare=_prepare_compare,
    doc="a biological rule against its artificial counterpart (biodyn compare) at each point: "
        "the comparison's settings on the grid, its summary's scalars as results"))


# --------------------------------------------------------------------------
# train: a network of biodyn's cells trained on a task (biodyn.jobs.train)
# --------------------------------------------------------------------------

#: Training options a point (or the [run] table) may set; others are task parameters.
_TRAIN_OPTIONS = ("net", "hidden", "epochs", "lr", "optimizer", "batch_size", "g", "lyapunov_every",
                  "lyapunov_k", "lyapunov_steps", "lstm_block", "floss", "floss_weight", "floss_epochs",
                  "floss_every", "floss_transient", "floss_fixed_trajectory", "clip_grad")
#: The flossing options other than ``floss`` itself: they apply to the points with ``floss >= 1``.
_FLOSS_OPTIONS = ("floss_weight", "floss_epochs", "floss_every", "floss_transient", "floss_fixed_trajectory")

_TRAIN_SETTINGS = {
    "task": Key((str,), True, "a task of the catalog (biodyn list tasks) or a task spec path"),
    "net": Key((str,), False, "rnn, gru or lstm (default rnn; spiking networks, biodyn train --net lif, "
               "are not a sweep job yet)"),
    "hidden": Key((int,), False, "hidden units (default: the task's [training] table, else 32)"),
    "epochs": Key((int,), False, "epochs (default: the task's, else 30)"),
    "lr": Key((float,), False, "learning rate (default: the task's, else 0.01)"),
    "optimizer": Key((str,), False, "a biodyn.ann optimiser (default adam)"),
    "batch_size": Key((int,), False, "sequences per update (default: the task's, else 64)"),
    "g": Key((float,), False, "recurrent gain of the initial weights (default 1)"),
    "lyapunov_every": Key((int,), False, "Lyapunov spectrum every K epochs (default: none)"),
    "lyapunov_k": Key((int,), False, "number of exponents (default all)"),
    "lyapunov_steps": Key((int,), False, "steps per spectrum (default 1000)"),
    "lstm_block": Key((str,), False, "LSTM spectra of the full (h, c) state ('full', default) or of the "
                      "h-block ('h', Vogt et al. 2022); the other cells' state is h, so they ignore it"),
    "floss": Key((int,), False, "gradient flossing of the first K exponents (Engelken 2023); 0 = no flossing "
                 "(default), so a grid floss = [0, 8] compares training without and with it"),
    "floss_weight": Key((float,), False, "weight of the flossing loss (default 1; points with floss >= 1)"),
    "floss_epochs": Key((int,), False, "passes of flossing alone before training (points with floss >= 1)"),
    "floss_every": Key((int,), False, "add the flossing loss in every M-th training epoch (points with floss >= 1)"),
    "floss_transient": Key((int,), False, "steps not counted in the flossed exponents (default n_steps // 4)"),
    "floss_fixed_trajectory": Key((bool,), False, "differentiate the exponents along the fixed trajectory "
                                  "(default false)"),
    "clip_grad": Key((float,), False, "clip every minibatch gradient to this global L2 norm (Pascanu et al. "
                     "2013; default: no clipping)"),
    "parameters": Key((dict,), False, "fixed task parameters: name -> value"),
    "figure": Key((bool,), False, "draw the learning curves of every point (default true)"),
}
# None: the task's training default (its [training] table, else biodyn.learn.TRAIN_DEFAULTS)
_TRAIN_DEFAULTS = {"net": "rnn", "hidden": None, "epochs": None, "lr": None, "optimizer": None, "batch_size": None,
                   "g": None, "lyapunov_every": None, "lyapunov_k": None, "lyapunov_steps": 1000,
                   "lstm_block": "full", "floss": 0, "floss_weight": None, "floss_epochs": None,
                   "floss_every": None, "floss_transient": None, "floss_fixed_trajectory": False, "clip_grad": None}


def _train_arguments(params, settings):
    """Training options and task parameters of a point: the [run] table's, then the point's.

    Options as :func:`biodyn.jobs.train` takes them: ``floss = 0`` (no flossing) becomes
    ``floss=None`` without the other flossing options (so a grid ``floss = [0, 8]`` with
    ``floss_epochs`` in ``[run]`` trains the 0-points plainly), and ``lstm_block`` is
    ``"full"`` for the cells whose state is h alone (rnn, gru: the two are the same).
    """
    options = {k: settings.get(k, v) for k, v in _TRAIN_DEFAULTS.items()}
    task_parameters = dict(settings.get("parameters", {}))
    for name, value in params.items():
        if name in _TRAIN_OPTIONS:
            options[name] = value
        else:
            task_parameters[name] = value
    if options["floss"] == 0 and not isinstance(options["floss"], bool):
        options["floss"] = None
        for name in _FLOSS_OPTIONS:
            options[name] = _TRAIN_DEFAULTS[name]
    if options["net"] != "lstm" and options["lstm_block"] in ("full", "h"):
        options["lstm_block"] = "full"
    options["lyapunov_block"] = options.pop("lstm_block")
    return options, task_parameters


def _prepare_train(spec, settings):
    from .. import learn
    from ..learn._floss import check_floss

    try:
        base = learn.load_task(settings["task"])
    except SpecError as exc:
        raise SpecError(spec.file, "run.task", exc.expected, exc.found, exc.hint) from None
    for point in spec.points:
        def where(name):
            return f"grid.{name}" if name in point.params else f"run.{name}"

        given = {k: v for k, v in point.params.items() if k in _TRAIN_OPTIONS}
        check_table(given, {k: _TRAIN_SETTINGS[k] for k in _TRAIN_OPTIONS}, file=spec.file, prefix="grid.")
        options, task_parameters = _train_arguments(point.params, settings)
        for name, value in options.items():  # what learn.train would refuse, before any point runs
            if value is None or name in ("net", "optimizer", "lyapunov_block") or name.startswith("floss"):
                continue  # the flossing options are checked below (check_floss), the block by name
            number = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
            if name == "lr":
                ok, expected = number and value > 0, "a positive learning rate"
            elif name == "clip_grad":
                ok, expected = number and value > 0, "a positive gradient norm"
            elif name == "g":
                ok, expected = number and value >= 0, "a gain >= 0 (W_hh ~ N(0, g^2/H))"
            elif name == "epochs":
                ok, expected = number and int(value) == value >= 0, "a non-negative integer"
            else:
                ok, expected = number and int(value) == value >= 1, "a positive integer"
            if not ok:
                raise SpecError(spec.file, ("grid." if name in point.params else "run.") + name, expected,
                                repr(value))
        if options["net"] == "lif":  # biodyn train --net lif is jobs.train_snn, with options of its own
            raise SpecError(spec.file, where("net"), "rnn, gru or lstm: spiking training (biodyn train --net lif) "
                            "is not a sweep job yet", "'lif'", "run biodyn train TASK --net lif per point, or "
                            "sweep job = \"compare\" with comparison = \"eprop_vs_bptt\" (its settings on the grid)")
        if options["net"] not in learn.NETS:
            raise SpecError(spec.file, where("net"), "one of " + ", ".join(learn.NETS), repr(options["net"]),
                            suggest(str(options["net"]), learn.NETS))
        block = {**settings, **point.params}.get("lstm_block", "full")
        if block not in ("full", "h"):
            raise SpecError(spec.file, where("lstm_block"), "'full' or 'h'", repr(block), suggest(str(block), ("full", "h")))
        floss = {**settings, **point.params}.get("floss", 0)
        if isinstance(floss, bool) or not isinstance(floss, int) or floss < 0:
            raise SpecError(spec.file, where("floss"), "a number of exponents K >= 1, or 0 for no flossing",
                            repr(floss))
        try:
            task = learn.load_task(settings["task"], **task_parameters)
        except SpecError as exc:
            name = re.split(r"[ .]", exc.key or "")[-1]  # "parameters.delay" or "--set delay"
            key = f"grid.{name}" if name in point.params else f"run.parameters.{name}"
            expected, hint = exc.expected, exc.hint
            if name in point.params and expected.startswith("a parameter of"):  # an unknown grid axis
                expected = f"a training option ({', '.join(_TRAIN_OPTIONS)}) or {expected}"
                hint = suggest(name, _TRAIN_OPTIONS + tuple(base.parameter_names)) or hint
            raise SpecError(spec.file, key, expected, exc.found, hint) from None
        if options["floss"] is not None:
            hidden = options["hidden"] if options["hidden"] is not None else task.training["hidden"]
            try:
                check_floss(*(options[k] for k in ("floss",) + _FLOSS_OPTIONS), net=options["net"],
                            hidden=hidden, n_steps=task.generate(1, 0).x.shape[1])
            except SpecError as exc:
                def key_names(text):  # the command line's flags as the sweep's keys
                    return text and re.sub(r"--(floss[a-z-]*)", lambda m: m.group(1).replace("-", "_"), text)

                name = key_names(exc.key)
                raise SpecError(spec.file, where(name), key_names(exc.expected), key_names(exc.found),
                                key_names(exc.hint)) from None
    return settings


def _train_point(params, seed, out, settings):
    from .. import jobs

    options, task_parameters = _train_arguments(params, settings)
    result = jobs.train(settings["task"], seed=seed, parameters=task_parameters, out=out,
                        json=Path(out) / "train.json", figure=settings.get("figure", True), **options)
    doc = result.summary
    values = dict(doc["final"])
    values["metric"] = doc["config"]["task"]["metric"]
    # the options that shaped the point, as it ran (floss 0: none; lstm_block: the spectra's state)
    floss = doc["config"].get("floss")
    values["floss"] = 0 if floss is None else floss["k"]
    for key in ("weight", "epochs", "every", "transient"):
        values[f"floss_{key}"] = None if floss is None else floss[key]
    values["floss_fixed_trajectory"] = None if floss is None else not floss["through_state"]
    values["lstm_block"] = options["lyapunov_block"]
    if doc["config"].get("clip_grad") is not None:  # how many of the point's gradients were clipped
        values["clipped_gradients"] = doc["config"]["clipped_gradients"]
    curves = doc["curves"]
    if curves.get("lyapunov_epoch"):
        lam = curves["lyapunov_exponents"][-1]
        values["lambda_max"] = lam[0]
        for k, v in enumerate(lam, 1):
            values[f"lambda_{k}"] = v
        values["kaplan_yorke"] = curves["lyapunov_kaplan_yorke"][-1]
        values["entropy_rate"] = curves["lyapunov_entropy_rate"][-1]
    return PointResult(values, {k: str(v) for k, v in result.paths.items()},
                       {"timings": dict(result.timings)})


register_runner(Runner(
    "train", _train_point, settings=_TRAIN_SETTINGS, prepare=_prepare_train,
    doc="a network trained on a task (biodyn train) at each point: training options (net, hidden, g, "
        "lr, ..., lstm_block, floss, floss_weight, floss_epochs, floss_every, floss_transient, "
        "floss_fixed_trajectory, clip_grad) in [run] or on the grid, or task parameters (delay, ...) on the grid; "
        "floss = 0 is no flossing (the other floss_* keys then do not apply), so floss = [0, 8] compares "
        "plain and flossed training; final train/test loss and metric, the flossing options and "
        "lstm_block each point ran with (floss 0 and floss_* None when unflossed; lstm_block 'full' for "
        "rnn and gru, whose state is h alone), and the last Lyapunov spectrum (per step) as results"))
