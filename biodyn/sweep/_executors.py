"""Where the points run: a dask.distributed cluster, a process pool, or this process.

* no scheduler address: an embedded ``LocalCluster`` on loopback (processes,
  one thread per worker, ``OMP_NUM_THREADS=1`` and friends in the workers,
  no dashboard);
* a scheduler address: ``distributed.Client(ADDRESS)`` — the workers of a
  cluster started with ``dask scheduler`` / ``dask worker`` (or dask-jobqueue,
  dask-kubernetes, ...). Without ``--scheduler``, dask's own configuration is
  honoured as ``distributed.Client()`` honours it: the key ``scheduler-address``
  (the environment variable ``DASK_SCHEDULER_ADDRESS``, or a dask YAML file).
  An explicit ``--workers N`` on the command line wins over that configuration
  (the command line is the more specific request) and says so in a note;
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

from ..errors import BiodynError, shorten

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
    #: whether the workers see this process's files (else results travel back as bytes)
    shares_files = True

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
    """A dask.distributed client: on an embedded local cluster or at a scheduler address.

    Workers may run on other machines: they write each point's files in a folder of their
    own and send them back with the result, and the sweep writes them into its output
    folder (``shares_files = False``); no shared filesystem is assumed.

    Workers lost while the sweep runs (a crash, an out-of-memory kill, a machine gone) are
    watched for: :attr:`events` lists each loss with the points that were assigned to the
    lost worker (running or queued there), which dask then schedules again on another
    worker ("retried"); the sweep reports them on stderr and in ``sweep.json``.
    """

    shares_files = False
    #: seconds between looks at the cluster's workers while waiting for results
    poll = 0.25

    def __init__(self, scheduler=None, workers=1, timeout=10, notes=()):
        import dask
        from distributed import Client, LocalCluster

        self.cluster = None
        self.notes = tuple(notes)
        self.events = []
        self._labels = {}
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
                                      f"{shorten(exc)}") from exc
            self.description = (f"a local dask cluster of {workers} worker"
                                f"{'s' if workers != 1 else ''} (1 thread each)")
        else:
            try:
                self.client = Client(scheduler, timeout=timeout)
            except Exception as exc:
                raise BiodynError(f"could not connect to the dask scheduler at {scheduler!r}: "
                                  f"{shorten(exc)}") from exc
            n = len(self.client.scheduler_info().get("workers", {}))
            self.description = f"the dask scheduler at {scheduler} ({n} worker{'s' if n != 1 else ''} now)"
        # a point's failure (a worker that died, ...) is reported once, by the sweep, per point
        self._log_level = logging.getLogger("distributed").level
        logging.getLogger("distributed").setLevel(logging.CRITICAL)

    def submit(self, fn, arg):
        future = self.client.submit(fn, arg, pure=False)
        points = arg.get("points", []) if isinstance(arg, dict) else []
        self._labels[future.key] = [p.get("name") for p in points]
        return future

    def _workers(self):
        """The scheduler's workers now, and the tasks each is processing."""
        try:
            return {addr: list(keys) for addr, keys in self.client.processing().items()}
        except Exception:  # the scheduler is busy or gone: look again later
            return None

    def _watch(self, before):
        """Compare the workers with the last look; record every worker that left."""
        now = self._workers()
        if now is None or before is None:
            return now if now is not None else before
        import datetime

        for addr, keys in before.items():
            if addr not in now:
                points = [n for k in keys for n in self._labels.get(k, [])]
                self.events.append({
                    "event": "worker lost", "worker": addr,
                    "time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                    "retried": points})
        return now

    def as_completed(self, futures):
        # results are gathered on the client's event loop as tasks finish, not one
        # round trip per result from this thread; between results, the cluster's workers
        # are watched for losses
        import time

        from distributed import as_completed

        done = as_completed(list(futures), with_results=True, raise_errors=False)
        workers = self._workers()
        while not done.is_empty():
            batch = done.next_batch(block=False)
            if not batch:
                workers = self._watch(workers)
                time.sleep(self.poll)
                continue
            workers = self._watch(workers)
            for future, result in batch:
                self._labels.pop(future.key, None)
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
    notes = []
    if scheduler is None and have_dask:
        import dask

        configured = dask.config.get("scheduler-address", None)
        if configured and workers is None:
            scheduler = configured
            notes.append(f"using the dask scheduler at {configured} from dask's configuration "
                         "(scheduler-address, e.g. DASK_SCHEDULER_ADDRESS)")
        elif configured:
            notes.append(f"dask's configuration names the scheduler {configured} "
                         f"(scheduler-address); --workers {workers} starts a local cluster instead")
    if scheduler is not None and not have_dask:
        raise BiodynError("--scheduler needs dask.distributed, which is not installed "
                          "(pip install 'biodyn[sweep]')")
    if workers is None:
        workers = os.cpu_count() or 1
        if n_tasks:
            workers = max(1, min(workers, n_tasks))
    if have_dask:
        return DaskExecutor(scheduler, workers, notes=notes)
    return PoolExecutor(workers, notes=(FALLBACK_NOTE,))
