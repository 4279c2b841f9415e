"""Where the points run: a dask.distributed cluster, a process pool, or this process.

* no scheduler address: an embedded ``LocalCluster`` on loopback (processes,
  one thread per worker, ``OMP_NUM_THREADS=1`` and friends in the workers,
  no dashboard);
* a scheduler address: ``distributed.Client(ADDRESS)`` — the workers of a
  cluster started with ``dask scheduler`` / ``dask worker`` (or dask-jobqueue,
  dask-kubernetes, ...);
* dask not installed: the standard library's ``ProcessPoolExecutor`` (spawned
  processes, same environment), with a note saying so;
* ``workers = 0``: every point in this process, one after the other (for
  debugging: breakpoints and tracebacks work as usual).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import os

from ..errors import BiodynError

__all__ = ["make_executor", "WORKER_ENV", "Executor"]

#: Environment of worker processes: one thread per worker for the numerical libraries.
WORKER_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}

FALLBACK_NOTE = ("dask.distributed is not installed: running on the standard library's process "
                 "pool on this machine (install biodyn[sweep] for dask clusters)")


def _import_distributed():
    import distributed  # noqa: F401  (ImportError if dask is missing)

    return distributed


class Executor:
    """Submit tasks, get them back as they complete, close.

    :meth:`as_completed` yields ``(future, outcome)`` pairs; ``outcome.result()``
    returns the task's value or raises its exception.
    """

    description = ""
    notes: tuple = ()

    def submit(self, fn, arg):  # pragma: no cover - abstract
        raise NotImplementedError

    def as_completed(self, futures):  # pragma: no cover - abstract
        raise NotImplementedError

    def cancel(self, futures):
        for f in futures:
            with contextlib.suppress(Exception):
                f.cancel()

    def close(self):
        pass


class _Value:
    def __init__(self, value):
        self.value = value

    def result(self):
        return self.value


class _Raised:
    def __init__(self, exc):
        self.exc = exc

    def result(self):
        raise self.exc


class _Done:
    """A finished call, shaped like a future."""

    def __init__(self, fn, arg):
        self.fn, self.arg = fn, arg

    def result(self):
        return self.fn(self.arg)

    def cancel(self):
        return True


class SerialExecutor(Executor):
    """Every task in this process, in order, when its result is asked for."""

    description = "this process (serial)"

    def submit(self, fn, arg):
        return _Done(_as_guest(fn), arg)

    def as_completed(self, futures):
        return ((f, f) for f in list(futures))


def _as_guest(fn):
    """``fn`` run in the caller's process: workers' process-wide setup (Brian2's logging
    prefs, warning filters, environment) is skipped, so the caller's script keeps its own."""

    def run(arg):
        from . import _worker

        saved = _worker._GUEST
        _worker._GUEST = True
        try:
            return fn(arg)
        finally:
            _worker._GUEST = saved

    return run


class PoolExecutor(Executor):
    """The standard library's process pool (spawned processes)."""

    def __init__(self, workers, notes=()):
        import multiprocessing

        self._env = _set_env(WORKER_ENV)
        self.pool = concurrent.futures.ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
        self.description = f"a process pool of {workers} worker{'s' if workers != 1 else ''} on this machine"
        self.notes = tuple(notes)

    def submit(self, fn, arg):
        return self.pool.submit(fn, arg)

    def as_completed(self, futures):
        return ((f, f) for f in concurrent.futures.as_completed(list(futures)))

    def close(self):
        try:
            self.pool.shutdown(wait=True, cancel_futures=True)
        finally:
            _restore_env(self._env)


class DaskExecutor(Executor):
    """A dask.distributed client: on an embedded local cluster or at a scheduler address."""

    def __init__(self, scheduler=None, workers=1, timeout=10):
        import dask
        from distributed import Client, LocalCluster

        self.cluster = None
        if scheduler is None:
            pre = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}) or {})
            pre.update(WORKER_ENV)
            with dask.config.set({"distributed.nanny.pre-spawn-environ": pre}):
                try:
                    self.cluster = LocalCluster(
                        n_workers=workers, threads_per_worker=1, processes=True,
                        host="127.0.0.1", dashboard_address=None, env=dict(WORKER_ENV),
                        silence_logs=logging.CRITICAL)
                    self.client = Client(self.cluster)
                except Exception as exc:
                    if self.cluster is not None:
                        with contextlib.suppress(Exception):
                            self.cluster.close()
                    raise BiodynError(f"could not start a local dask cluster: "
                                      f"{' '.join(str(exc).split())[:300]}") from exc
            self.description = (f"a local dask cluster of {workers} worker"
                                f"{'s' if workers != 1 else ''} (1 thread each)")
        else:
            try:
                self.client = Client(scheduler, timeout=timeout)
            except Exception as exc:
                raise BiodynError(f"could not connect to the dask scheduler at {scheduler!r}: "
                                  f"{' '.join(str(exc).split())[:300]}") from exc
            n = len(self.client.scheduler_info().get("workers", {}))
            self.description = f"the dask scheduler at {scheduler} ({n} worker{'s' if n != 1 else ''} now)"
        # a point's failure (a worker that died, ...) is reported once, by the sweep, per point
        self._log_level = logging.getLogger("distributed").level
        logging.getLogger("distributed").setLevel(logging.CRITICAL)

    def submit(self, fn, arg):
        return self.client.submit(fn, arg, pure=False)

    def as_completed(self, futures):
        # results are gathered on the client's event loop as tasks finish, not one
        # round trip per result from this thread
        from distributed import as_completed

        for future, result in as_completed(list(futures), with_results=True, raise_errors=False):
            if getattr(future, "status", None) == "error":
                exc = result[1] if isinstance(result, tuple) and len(result) == 3 else result
                yield future, _Raised(exc if isinstance(exc, BaseException) else RuntimeError(str(exc)))
            elif isinstance(result, BaseException):
                yield future, _Raised(result)
            else:
                yield future, _Value(result)

    def cancel(self, futures):
        with contextlib.suppress(Exception):
            self.client.cancel(list(futures))

    def close(self):
        with contextlib.suppress(Exception):
            self.client.close(timeout=10)
        if self.cluster is not None:
            with contextlib.suppress(Exception):
                self.cluster.close(timeout=10)
        logging.getLogger("distributed").setLevel(self._log_level)


def _set_env(values):
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    return saved


def _restore_env(saved):
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def make_executor(scheduler=None, workers=None, n_tasks=None):
    """The executor for a sweep.

    Parameters
    ----------
    scheduler : str, optional
        A dask scheduler address (``tcp://10.0.0.5:8786``); ``None`` for a
        cluster on this machine.
    workers : int, optional
        Worker processes on this machine (default: the number of CPUs, at most
        the number of tasks); ``0`` runs every point in this process. Ignored
        with ``scheduler`` (the cluster has its workers).
    """
    if workers is not None and workers < 0:
        raise BiodynError(f"--workers: expected a number >= 0, found {workers}")
    if workers == 0 and scheduler is None:
        return SerialExecutor()
    try:
        _import_distributed()
        have_dask = True
    except ImportError:
        have_dask = False
    if scheduler is not None and not have_dask:
        raise BiodynError("--scheduler needs dask.distributed, which is not installed "
                          "(pip install 'biodyn[sweep]')")
    if workers is None:
        workers = os.cpu_count() or 1
        if n_tasks:
            workers = max(1, min(workers, n_tasks))
    if have_dask:
        return DaskExecutor(scheduler, workers)
    return PoolExecutor(workers, notes=(FALLBACK_NOTE,))
