"""Ctrl-C and SIGTERM: an interrupted run raises :class:`~biodyn.errors.Interrupted`.

Brian2 turns Ctrl-C during ``Network.run`` into a request to stop at the end of
the current time step (``brian2._InterruptHandler``); the run then returns as if
it had finished, with its monitors holding the first part of the run only. biodyn
never takes such a run for a result: :func:`check_run` (called by
:class:`biodyn.build.Simulation` after every run) raises ``Interrupted`` when a
stop was requested, so that no job writes files from it.

Two handlers, for the two kinds of process biodyn runs in:

* the process of a ``biodyn`` command (:func:`interrupts`): SIGINT and SIGTERM
  during a Brian2 run on a runtime target stop the run at the end of its time
  step (a second signal interrupts at once, as in Brian2); at any other moment
  they raise ``Interrupted`` where the program is;
* a worker process of a sweep (:func:`install_worker`): SIGINT never raises (the
  sweep's own process decides what happens); it stops the Brian2 run in flight,
  whose point then ends as interrupted, and no point is ever recorded from it.

Both handlers are plain callables (never ``SIG_IGN``/``SIG_DFL``), so a chain of
handlers (Brian2's, installed when Brian2 is imported, calls the one it found)
never calls something that is not callable.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading

from .errors import Interrupted, SimulationError

__all__ = ["interrupts", "install_worker", "check_run", "stop_requested", "clear", "request_stop",
           "pending_interrupt", "raise_if_requested"]

#: Signals received since the last :func:`clear` (or the last raised Interrupted).
_pending: list = []


def _network_class():
    if "brian2" not in sys.modules:
        return None
    from brian2.core.network import Network

    return Network


def _runtime_run_in_progress():
    """True while ``Network.run`` steps a network in Python (numpy, cython)."""
    Network = _network_class()
    if Network is None or not getattr(Network, "_globally_running", False):
        return False
    from brian2.devices.device import RuntimeDevice, get_device

    return isinstance(get_device(), RuntimeDevice)


def request_stop(signum):
    """Record ``signum`` and ask a running Brian2 network to stop after its current step."""
    _pending.append(int(signum))
    Network = _network_class()
    if Network is not None:
        Network._globally_stopped = True


def stop_requested():
    """The signal that asked the current run to stop (``None`` if none did).

    A stop requested through Brian2's own handler (Ctrl-C in a script) counts as
    SIGINT.
    """
    if _pending:
        return _pending[-1]
    Network = _network_class()
    if Network is not None and getattr(Network, "_globally_stopped", False):
        return int(signal.SIGINT)
    return None


def received():
    """``Interrupted`` for a signal one of biodyn's handlers received and no run has
    raised yet, or ``None``. (Unlike :func:`stop_requested`, Brian2's own flag does not
    count: a script's earlier Ctrl-C of its own run is none of biodyn's business.)"""
    return _interrupted(_pending[-1]) if _pending else None


def clear():
    """Forget the stop requests received so far (once raised, or at the start of a sweep point)."""
    del _pending[:]
    Network = _network_class()
    if Network is not None and not getattr(Network, "_globally_running", False):
        Network._globally_stopped = False  # as Brian2 does at the start of the next run


def _interrupted(signum):
    clear()
    return Interrupted(signum)


def check_run(net, t_end):
    """Raise unless ``net`` ran to ``t_end`` and no stop was requested.

    ``Interrupted`` if a signal (or Brian2's ``stop()``) asked the run to stop;
    :class:`~biodyn.errors.SimulationError` if the network stopped early for
    another reason (``Network.stop()``, a device's maximum run time).
    """
    signum = stop_requested()
    if signum is not None:
        raise _interrupted(signum)
    if net is not None and t_end is not None:
        t, end = float(net.t), float(t_end)
        if t < end - 1e-9 * max(abs(end), 1e-3):
            raise SimulationError(f"the simulation stopped at t = {t:g} s of {end:g} s; its result "
                                  "would be that of a shorter run and is not used")


def pending_interrupt():
    """``Interrupted`` for the stop request received, or ``None``: for a run that failed
    because of the signal (a standalone binary killed by the same Ctrl-C)."""
    signum = stop_requested()
    return _interrupted(signum) if signum is not None else None


def raise_if_requested():
    """Raise ``Interrupted`` if a stop was requested (between two runs, before writing)."""
    signum = stop_requested()
    if signum is not None:
        raise _interrupted(signum)


def _main_handler(signum, frame):
    if _runtime_run_in_progress() and not _pending:
        request_stop(signum)  # the run stops at the end of this step, then check_run raises
        return
    raise _interrupted(signum)


@contextlib.contextmanager
def handling(handler, signals=(signal.SIGINT, signal.SIGTERM)):
    """``handler`` for ``signals`` inside the block (main thread only), the previous handlers
    restored on exit."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {}
    for sig in signals:
        try:
            saved[sig] = signal.signal(sig, handler)
        except (ValueError, OSError):  # pragma: no cover
            pass
    try:
        yield
    finally:
        for sig, old in saved.items():
            signal.signal(sig, old if old is not None else signal.SIG_DFL)


@contextlib.contextmanager
def interrupts(signals=(signal.SIGINT, signal.SIGTERM)):
    """Handle SIGINT and SIGTERM as interrupts of this command (restored on exit)."""
    clear()
    try:
        with handling(_main_handler, signals):
            yield
    finally:
        clear()


def _worker_handler(signum, frame):
    request_stop(signum)


def _install_here():
    if signal.getsignal(signal.SIGINT) is not _worker_handler:
        signal.signal(signal.SIGINT, _worker_handler)


def install_worker():
    """In a worker process of a sweep: SIGINT stops the point in flight, never the process.

    From the main thread the handler is installed at once; from a task thread of a
    dask worker it is installed by the worker's event loop (the main thread).
    """
    if threading.current_thread() is threading.main_thread():
        _install_here()
        return
    with contextlib.suppress(Exception):
        from distributed import get_worker

        get_worker().loop.add_callback(_install_here)
