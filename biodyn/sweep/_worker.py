"""What a worker runs: a batch of points of one sweep, each turned into a result record.

This module is imported on every worker (dask worker, process of a pool, or
the sweep's own process); it must stay importable without dask.
"""

from __future__ import annotations

import datetime
import json
import math
import os
import socket
import sys
import time
import traceback
from pathlib import Path

import numpy as np

__all__ = ["execute", "flat_values", "one_line"]

_READY = False
_BRIAN_READY = False
#: True while points run in the caller's own process (``workers=0``): no process-wide setup.
_GUEST = False


def _setup():
    """Once per process: quiet libraries; Brian2 (once imported) logs only errors, no files.

    Brian2 is not imported here: a sweep of functions that do not use it does not pay
    for its import.
    """
    global _READY, _BRIAN_READY
    if _GUEST:
        return
    if not _READY:
        _READY = True
        os.environ.setdefault("MPLBACKEND", "Agg")
        import warnings

        # libraries' deprecation notices (pyparsing inside Brian2, ...) would repeat per worker
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"(?!__main__)")
    if _in_worker_process():
        # Ctrl-C reaches every process of the terminal's group: in a worker it stops the
        # point in flight (no result, no record) and leaves the process to the sweep
        from .._signals import install_worker

        install_worker()
    if not _BRIAN_READY and "brian2" in sys.modules:
        _BRIAN_READY = True
        try:
            from brian2 import prefs
            from brian2.utils.logger import BrianLogger

            prefs.logging.file_log = False
            prefs.logging.delete_log_on_exit = True
            prefs.logging.console_log_level = "ERROR"
            BrianLogger.console_handler.setLevel("ERROR")
        except Exception:  # pragma: no cover - brian2 changed
            pass
        if _in_worker_process():
            _drop_brian_log_file()


def _drop_brian_log_file():
    """Close and delete the debug log Brian2 opened in /tmp when it was imported.

    A worker process is often ended by its cluster (SIGTERM) rather than by a normal
    exit, and then Brian2's own clean-up at exit never runs; the file would stay.
    """
    import logging

    try:
        from brian2.utils.logger import BrianLogger
    except Exception:  # pragma: no cover
        return
    handler = getattr(BrianLogger, "file_handler", None)
    if handler is not None:
        logging.getLogger("brian2").removeHandler(handler)
        handler.close()
        BrianLogger.file_handler = None
    path = getattr(BrianLogger, "tmp_log", None)
    if path:
        for name in (path, f"{path}.1"):
            try:
                os.remove(name)
            except OSError:
                pass
        BrianLogger.tmp_log = None


def _in_worker_process():
    """True in a process started for the sweep (dask worker, process pool), not in its own."""
    import multiprocessing

    return multiprocessing.parent_process() is not None


_VERSIONS = {}


def _versions():
    """biodyn's and Brian2's versions, without importing Brian2."""
    if _VERSIONS:
        return dict(_VERSIONS)
    from importlib import metadata

    from .. import __version__

    try:
        brian = metadata.version("brian2")
    except metadata.PackageNotFoundError:  # pragma: no cover
        brian = None
    _VERSIONS.update({"biodyn": __version__, "brian2": brian})
    return dict(_VERSIONS)


def one_line(exc):
    """An exception as one line: ``"ValueError: what went wrong"``."""
    text = " ".join(str(exc).split()) or "(no message)"
    name = type(exc).__name__
    return f"{name}: {text[:600]}"


_NAME = {}


def _worker_name():
    """``dask worker NAME on HOST (pid N)``, or ``pid N on HOST`` outside dask."""
    if os.getpid() in _NAME:
        return _NAME[os.getpid()]
    name = f"pid {os.getpid()} on {socket.gethostname()}"
    if "distributed" in sys.modules:
        try:
            from distributed import get_worker

            name = f"dask worker {get_worker().name} on {socket.gethostname()} (pid {os.getpid()})"
        except Exception:  # not in a dask worker (this process, a process pool)
            return name
    _NAME[os.getpid()] = name
    return name


def _now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def flat_values(values):
    """A point's results as JSON-ready ``(values, units)``; raises ``TypeError`` if not flat.

    Brian2 quantities are stored in SI units (``units[name]`` names the unit);
    numpy scalars become Python numbers; NaN and infinities become the text
    ``"nan"``, ``"inf"``, ``"-inf"`` (JSON has no such numbers).
    """
    if "brian2" in sys.modules:  # a quantity can only come from a process that imported Brian2
        from brian2.units.fundamentalunits import DIMENSIONLESS, Quantity, get_dimensions, get_unit
    else:
        Quantity = ()

    out, units = {}, {}
    if values is None:
        return out, units
    if not hasattr(values, "items"):
        raise TypeError(f"a point must return a dict of scalar results (or PointResult), "
                        f"not {type(values).__name__}")
    for name, value in values.items():
        name = str(name)
        if value is None or isinstance(value, (bool, str)):
            out[name] = value
            continue
        if isinstance(value, np.bool_):
            out[name] = bool(value)
            continue
        if isinstance(value, Quantity):
            if np.ndim(value) != 0:
                raise TypeError(f"result {name!r} is not a scalar (shape {np.shape(value)})")
            dim = get_dimensions(value)
            if dim is not DIMENSIONLESS:
                units[name] = str(get_unit(dim))
            value = float(np.asarray(value))
        elif isinstance(value, (int, np.integer)):
            out[name] = int(value)
            continue
        else:
            try:
                if np.ndim(value) != 0:
                    raise TypeError(f"result {name!r} is not a scalar (shape {np.shape(value)})")
                value = float(value)
            except (TypeError, ValueError):
                raise TypeError(f"result {name!r} is not a scalar: {type(value).__name__}") from None
        out[name] = value if math.isfinite(value) else ("nan" if math.isnan(value)
                                                        else ("inf" if value > 0 else "-inf"))
    return out, units


def _record(point, status, started, elapsed, worker, result=None, error=None, tb=None):
    from ._runners import PointResult

    record = {"point": point["name"], "key": point["key"], "status": status, "values": {},
              "units": {}, "paths": {}, "error": error, "traceback": tb,
              "timings": {"run_s": round(elapsed, 6)}, "started": started, "finished": _now(),
              "worker": worker}
    record["versions"] = _versions()
    if status == "ok":
        try:
            extra = {}
            if isinstance(result, PointResult):
                values, paths, extra = result.values, result.paths, result.extra
            else:
                values, paths = result, {}
            record["values"], record["units"] = flat_values(values)
            record["paths"] = {str(k): str(v) for k, v in (paths or {}).items()}
            if extra:
                record["extra"] = json.loads(json.dumps(dict(extra), default=str))
        except TypeError as exc:
            record.update(status="failed", error=one_line(exc), values={}, units={})
    return record


def execute(task):
    """Run the points of ``task`` and return one result record per point.

    ``task`` is a plain dict (it travels to the worker): ``job``, ``settings``
    and ``points`` (each: ``name``, ``key``, ``params``, ``seed``, ``out``).
    A point that raises is recorded as ``failed`` with its error; it never
    stops the other points. A point interrupted (Ctrl-C, SIGTERM: ``KeyboardInterrupt``)
    gets the status ``interrupted``, which the sweep never writes as a result; the
    points after it in the task are not run.
    """
    _setup()
    from ._runners import RUNNERS

    if task["job"] not in RUNNERS:
        from .. import __version__
        from ..errors import BiodynError

        raise BiodynError(f"the job {task['job']!r} is not known to biodyn {__version__} on "
                          f"{socket.gethostname()}: install the same biodyn on every worker")
    runner = RUNNERS[task["job"]]
    settings = task["settings"]
    worker = _worker_name()
    points = task["points"]
    if task.get("transfer"):
        return _transferred(task, points)
    for p in points:
        Path(p["out"]).mkdir(parents=True, exist_ok=True)
    return _execute(runner, settings, worker, points, task.get("batched", False))


def _transferred(task, points):
    """Run the points in a folder of this worker's own; return their files with the records.

    A worker need not see the client's filesystem: each point writes its files under a
    temporary folder here, and every file travels back in ``record["files"]`` (path
    relative to the point's folder -> bytes), its ``paths`` made relative the same way;
    the sweep writes them into its output folder.
    """
    import shutil
    import tempfile

    tmp = Path(tempfile.mkdtemp(prefix="biodyn-sweep-"))
    try:
        local = [dict(p, out=str(tmp / p["name"])) for p in points]
        records = execute(dict(task, points=local, transfer=False))
        for p, rec in zip(local, records):
            folder = Path(p["out"])
            files = {}
            if folder.is_dir():
                for path in sorted(folder.rglob("*")):
                    if path.is_file():
                        files[str(path.relative_to(folder))] = path.read_bytes()
            rec["files"] = files
            rec["paths"] = {k: (str(Path(v).resolve().relative_to(folder.resolve()))
                                if _inside(v, folder) else v) for k, v in rec.get("paths", {}).items()}
            rec["paths_relative"] = True
        return records
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _inside(path, folder):
    try:
        Path(path).resolve().relative_to(Path(folder).resolve())
        return True
    except ValueError:
        return False


def _execute(runner, settings, worker, points, batched=False):
    from .._signals import clear, received
    from ._runners import PointTask

    records = []
    if batched or runner.batch_size(settings) > 1:
        started, t0 = _now(), time.perf_counter()
        tasks = [PointTask(p["params"], p["seed"], Path(p["out"]), p["name"]) for p in points]
        clear()
        try:
            results = runner.run_batch(tasks, settings)
            stopped = received()  # a Brian2 run outside biodyn's Simulation stopped early
            if stopped is not None:
                raise stopped
        except KeyboardInterrupt as exc:
            return [_interrupted_record(p, started, time.perf_counter() - t0, worker, exc)
                    for p in points]
        except Exception as exc:
            elapsed = time.perf_counter() - t0
            return [_record(p, "failed", started, elapsed, worker, error=one_line(exc),
                            tb=traceback.format_exc()) for p in points]
        total = time.perf_counter() - t0
        elapsed = total / max(len(points), 1)
        for p, result in zip(points, results):
            if isinstance(result, BaseException):
                records.append(_record(p, "failed", started, elapsed, worker, error=one_line(result)))
            else:
                records.append(_record(p, "ok", started, elapsed, worker, result=result))
            records[-1]["timings"]["batch_s"] = round(total, 6)
            records[-1]["timings"]["batch_points"] = len(points)
        _setup()  # Brian2 may have been imported by the batch
        for p in points:
            _remove_if_empty(p["out"])
        return records
    for p in points:
        started, t0 = _now(), time.perf_counter()
        clear()
        try:
            result = runner.run(p["params"], p["seed"], Path(p["out"]), settings)
            stopped = received()  # a Brian2 run outside biodyn's Simulation stopped early
            if stopped is not None:
                raise stopped
        except KeyboardInterrupt as exc:  # nothing of this point is a result
            records.append(_interrupted_record(p, started, time.perf_counter() - t0, worker, exc))
            _remove_if_empty(p["out"])
            break
        except Exception as exc:
            records.append(_record(p, "failed", started, time.perf_counter() - t0, worker,
                                   error=one_line(exc), tb=traceback.format_exc()))
        else:
            records.append(_record(p, "ok", started, time.perf_counter() - t0, worker, result=result))
        _setup()  # Brian2 may have been imported by the point
        _remove_if_empty(p["out"])
    return records


def _interrupted_record(point, started, elapsed, worker, exc):
    import signal

    rec = _record(point, "interrupted", started, elapsed, worker, error=one_line(exc))
    rec["signal"] = int(getattr(exc, "signum", signal.SIGINT))
    return rec


def _remove_if_empty(folder):
    try:
        os.rmdir(folder)
    except OSError:
        pass
