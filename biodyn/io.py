"""Results as neo Blocks, and files.

Results follow PyNN's convention for neo: one :class:`neo.Segment` per run;
each :class:`neo.SpikeTrain` carries the annotations PyNN writes —
``source_population``, ``source_index``, ``source_id`` and ``channel_id`` — and biodyn's
``population`` and ``index`` (the same values); recorded state variables are
:class:`neo.AnalogSignal` objects named after the variable, one channel per neuron or
synapse, with the channel indices in the array annotation ``channel_index`` (PyNN's) and
``source_population`` in the annotations. So ``seg.filter(channel_id=0,
objects=neo.SpikeTrain)`` and Elephant/viziphant work on a result as they are.
Where channels are the conditions of a protocol, each channel's condition labels
(``delta_t``, ``frequency``, ...) are array annotations of the signals and annotations of
the trains, as quantities with their units (:func:`label_channels`).
The Block's annotations record how the result was made: seed, biodyn and Brian2
versions, target, ``dt`` (a quantity), and whatever the caller adds.

Files: pickle (``.pkl``, always available), NWB (``.nwb``, needs ``pynwb``; written and
read by :mod:`biodyn._nwb` in NWB's own structures, losslessly) and NIX (``.nix``, needs
``nixio``). Every file is written atomically: to a temporary file in the same folder, then
renamed, so a crash never leaves a half-written result under the final name. The files of
one job (data, figure, JSON) are written all or nothing (:func:`all_or_nothing`): an
interrupted job leaves none of them. Where a job will write is checked before it runs
(:func:`check_writable`).
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from .errors import BiodynError, SpecError, shorten

__all__ = ["new_block", "add_spiketrains", "add_signal", "spike_monitor_trains",
           "state_monitor_signal", "label_channels", "write", "read", "FORMATS", "atomic_path",
           "write_json", "signal", "spiketrains", "all_or_nothing", "check_writable"]

#: File formats by extension -> (neo IO class name, extra needed).
FORMATS = {"pkl": ("PickleIO", None), "nwb": ("NWBIO", "pynwb"), "nix": ("NixIO", "nixio")}


def _pq():
    import quantities as pq

    return pq


def _clean_annotations(ann):
    """Annotations neo (and NIX/NWB) accept: str, int, float, bool, quantities; others as JSON text."""
    pq = _pq()
    out = {}
    for key, value in ann.items():
        if isinstance(value, (pq.Quantity, datetime.datetime)):
            out[key] = value
            continue
        if value is None:
            value = "null"
        elif isinstance(value, (np.integer,)):
            value = int(value)
        elif isinstance(value, (np.floating,)):
            value = float(value)
        elif isinstance(value, (dict, list, tuple)):
            value = json.dumps(value, default=str)
        elif not isinstance(value, (str, int, float, bool)):
            value = str(value)
        out[key] = value
    return out


def new_block(name, description="", **annotations):
    """A neo Block with one empty Segment and the given provenance annotations."""
    import neo

    block = neo.Block(name=name, description=description,
                      file_origin="biodyn", rec_datetime=datetime.datetime.now())
    block.annotate(**_clean_annotations(annotations))
    block.segments.append(neo.Segment(name=f"{name} run 0", index=0))
    block.segments[0].block = block
    return block


def _to_pq_seconds(times):
    from brian2.units.fundamentalunits import Quantity

    if isinstance(times, Quantity):
        return np.asarray(times / _brian_second(), dtype=float)
    return np.asarray(times, dtype=float)


def _brian_second():
    from brian2 import second

    return second


def add_spiketrains(segment, trains, t_stop, population, t_start=0.0, indices=None, names=None,
                    **annotations):
    """Add one SpikeTrain per entry of ``trains`` (times in seconds or Brian2 quantities).

    Each is named ``population[index]`` (or ``names[k]``) and annotated as PyNN annotates
    its trains (``source_population``, ``source_index``, ``source_id``, ``channel_id``),
    plus ``population`` and ``index``.
    """
    import neo

    pq = _pq()
    t_stop_s = float(_to_pq_seconds(t_stop))
    t_start_s = float(_to_pq_seconds(t_start))
    for k, times in enumerate(trains):
        index = int(indices[k]) if indices is not None else k
        t = _to_pq_seconds(times)
        st = neo.SpikeTrain(t * pq.s, t_start=t_start_s * pq.s, t_stop=max(t_stop_s, t.max(initial=0)) * pq.s,
                            name=names[k] if names is not None else f"{population}[{index}]")
        st.annotate(population=population, index=index, source_population=population,
                    source_index=index, source_id=index, channel_id=index,
                    **_clean_annotations(annotations))
        st.segment = segment
        segment.spiketrains.append(st)
    return segment


def spike_monitor_trains(monitor, N=None):
    """A SpikeMonitor's spikes as a list of arrays in seconds, one per neuron."""
    i = np.asarray(monitor.i[:])
    t = np.asarray(monitor.t_[:])  # in seconds: t[:] / second, without the quantity
    N = monitor.source.N if N is None else N
    order = np.argsort(i, kind="stable")
    i, t = i[order], t[order]
    bounds = np.searchsorted(i, np.arange(N + 1))
    return [t[bounds[k]:bounds[k + 1]] for k in range(N)]


def add_signal(segment, name, values, sampling_period, t_start=0.0, units="dimensionless",
               population=None, indices=None, **annotations):
    """Add an AnalogSignal named ``name``: ``values`` has shape (times, channels)."""
    import neo

    pq = _pq()
    values = np.asarray(values, dtype=float)
    if values.ndim == 1:
        values = values[:, None]
    n = values.shape[1]
    sig = neo.AnalogSignal(values, units=units, sampling_period=float(_to_pq_seconds(sampling_period)) * pq.s,
                           t_start=float(_to_pq_seconds(t_start)) * pq.s, name=name)
    sig.array_annotate(channel_index=np.asarray(indices if indices is not None else np.arange(n),
                                                dtype=np.int64))
    if population is not None:
        sig.annotate(population=population, source_population=population)
    sig.annotate(**_clean_annotations(annotations))
    sig.segment = segment
    segment.analogsignals.append(sig)
    return sig


def _pq_units(dim):
    """quantities units for a Brian2 dimension (SI base units)."""
    from brian2.units.fundamentalunits import DIMENSIONLESS, get_unit

    if dim is DIMENSIONLESS:
        return "dimensionless", 1.0
    table = {"V": "V", "A": "A", "s": "s", "S": "S", "Hz": "Hz", "F": "F", "ohm": "ohm"}
    name = str(get_unit(dim))
    if name in table:
        return table[name], 1.0
    # fall back to SI base units text quantities understands (e.g. 'm^-2 A' -> 'A/m**2')
    from brian2.units.fundamentalunits import Quantity

    try:
        text = repr(get_unit(dim)).replace("metre", "m").replace("kilogram", "kg").replace(
            "second", "s").replace("amp", "A").replace("kelvin", "K").replace("mole", "mol").replace(
            "candle", "cd")
        _pq().Quantity(1.0, text)
        return text, 1.0
    except Exception:
        return "dimensionless", 1.0


def state_monitor_signal(segment, monitor, variable, population=None, indices=None, **annotations):
    """Add a StateMonitor's recording of ``variable`` as an AnalogSignal (SI units)."""
    from brian2.units.fundamentalunits import get_dimensions

    values = getattr(monitor, variable)  # (channels, times)
    dim = get_dimensions(values)
    units, _ = _pq_units(dim)
    arr = np.asarray(values, dtype=float).T
    t = np.asarray(monitor.t[:] / _brian_second())
    period = float(monitor.clock.dt_ / 1.0) if hasattr(monitor.clock, "dt_") else (t[1] - t[0] if t.size > 1 else 1.0)
    rec = indices if indices is not None else np.asarray(monitor.record)
    return add_signal(segment, variable, arr, period, t_start=t[0] if t.size else 0.0, units=units,
                      population=population or monitor.source.name, indices=rec, **annotations)


def label_channels(block, conditions, units):
    """Give each channel of ``block`` the labels of its condition, with their units.

    Parameters
    ----------
    conditions : list of dict
        The protocol's conditions in order, each ``{label: number}``.
    units : dict
        ``{label: unit text}`` (``"1"`` for dimensionless labels).

    A signal whose array annotation ``condition`` gives each channel's condition (the
    networks: one channel per input of each condition), or whose channels are the
    conditions one to one, gets one array annotation per label; a train of a population
    with one train per condition gets the labels of its own condition as annotations.
    Quantities carry the labels' units (``delta_t`` in ms ...).
    """
    pq = _pq()
    if not conditions:
        return block
    labels = list(conditions[0])

    def dimensionless(name):
        return units.get(name, "1") in ("1", "", None)

    def quantity(name, values):
        values = np.asarray(values, dtype=float)
        return values if dimensionless(name) else pq.Quantity(values, units[name])

    table = {name: [c.get(name, np.nan) for c in conditions] for name in labels}
    for seg in block.segments:
        for sig in seg.analogsignals:
            n = sig.shape[1]
            cond = sig.array_annotations.get("condition")
            if cond is not None and len(cond) == n:
                which = np.asarray(cond, dtype=int)
            elif n == len(conditions):
                which = np.arange(n)
                sig.array_annotate(condition=which.astype(np.int64))
            else:
                continue
            sig.array_annotate(**{name: quantity(name, np.asarray(table[name], float)[which])
                                  for name in labels})
        by_population = {}
        for st in seg.spiketrains:
            by_population.setdefault(st.annotations.get("population"), []).append(st)
        for trains in by_population.values():
            if len(trains) != len(conditions):
                continue
            for st in trains:
                k = int(st.annotations.get("index", 0))
                if 0 <= k < len(conditions):
                    st.annotate(condition=k, **{name: float(table[name][k]) if dimensionless(name)
                                                else pq.Quantity(float(table[name][k]), units[name])
                                                for name in labels})
    return block


def signal(block, name, segment=0):
    """The AnalogSignal named ``name`` in a segment of ``block``."""
    for sig in block.segments[segment].analogsignals:
        if sig.name == name:
            return sig
    raise KeyError(f"no AnalogSignal named {name!r} (have: "
                   + ", ".join(s.name for s in block.segments[segment].analogsignals) + ")")


def spiketrains(block, population, segment=0):
    """The SpikeTrains of ``population`` in a segment, ordered by index."""
    trains = [st for st in block.segments[segment].spiketrains
              if st.annotations.get("population") == population]
    return sorted(trains, key=lambda st: st.annotations.get("index", 0))


# --------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; on success rename it to ``path``.

    On failure the temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix + ".part"
                               if path.suffix not in (".nix", ".nwb") else path.suffix,
                               dir=path.parent)
    os.close(fd)
    os.unlink(tmp)  # writers create the file themselves
    try:
        yield Path(tmp)
        pending = _GROUP.get()
        if pending is not None and os.path.lexists(tmp):
            pending.append((tmp, path))  # renamed with the other files of the job
        else:
            os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


#: The files written so far inside :func:`all_or_nothing`: (temporary path, final path).
_GROUP = contextvars.ContextVar("biodyn_io_group", default=None)


@contextlib.contextmanager
def all_or_nothing():
    """The files written inside (through :func:`atomic_path`) appear together at the end,
    or, if the block raises (an error, Ctrl-C, SIGTERM), not at all.

    Each file is written to its temporary name beside its final one; when the block
    ends they are all renamed, with SIGINT and SIGTERM held for those few renames
    (a signal arriving then is delivered after them: the result is whole). Nested
    blocks belong to the outermost one. Used as a decorator on every job::

        @io.all_or_nothing()
        def replay(...): ...
    """
    if _GROUP.get() is not None:
        yield
        return
    pending = []
    token = _GROUP.set(pending)
    try:
        yield
    except BaseException:
        for tmp, _ in pending:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise
    finally:
        _GROUP.reset(token)
    from ._signals import received

    interrupted = received()  # a signal whose run was not biodyn's to check (a user's callable)
    if interrupted is not None:
        for tmp, _ in pending:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise interrupted
    with _signals_held():
        for tmp, path in pending:
            os.replace(tmp, path)


@contextlib.contextmanager
def _signals_held():
    import signal as _sig
    import threading

    held = {_sig.SIGINT, _sig.SIGTERM}
    if threading.current_thread() is not threading.main_thread() or not hasattr(_sig, "pthread_sigmask"):
        yield
        return
    before = _sig.pthread_sigmask(_sig.SIG_BLOCK, held)
    try:
        yield
    finally:
        _sig.pthread_sigmask(_sig.SIG_SETMASK, before)


def _why_unwritable(path, existing, exc, folder):
    """Why nothing can be written at ``path``, whose nearest existing folder ``existing``
    refused a probe file with ``exc``: in words a user acts on (a denied permission, a
    read-only or virtual file system, a full disk) rather than the bare ``strerror`` — a
    virtual file system such as /proc answers "No such file or directory" for a folder that
    exists."""
    import errno

    where = repr(str(existing))
    made = "" if Path(path) == existing or (not folder and Path(path).parent == existing) else \
        "it cannot be made: "
    code = exc.errno
    if code in (errno.EACCES, errno.EPERM):
        why = f"no permission to write in {where}"
    elif code == errno.EROFS:
        why = f"{where} is on a read-only file system"
    elif code == errno.ENOENT and existing.is_dir():
        why = f"{where} takes no new files or folders, a virtual file system like /proc or /sys"
    elif code in (errno.ENOSPC, errno.EDQUOT):
        why = f"no space left (or quota reached) where {where} lives"
    else:
        why = f"{where}: {exc.strerror or type(exc).__name__}"
    return made + why


def check_writable(path, flag, *, folder=False):
    """Raise :class:`SpecError` (before any run) unless a job can write ``path``.

    ``folder=True``: ``path`` is a folder the job writes into (made if missing);
    else a file (its folder made if missing). Refused: an existing file where a
    folder is needed (and the reverse), a path under a file, a folder that cannot
    be written to (read-only, no permission) -- found by writing a probe file
    there, so that every cause (permissions, read-only mounts, ACLs) is caught.
    """
    path = Path(path)
    shown = repr(str(path))
    want = "a folder biodyn can write to" if folder else "a file path biodyn can write to"
    if path.exists():
        if folder and not path.is_dir():
            raise SpecError("<command line>", flag, want, f"{shown}, an existing file",
                            "give a folder (or a new path)")
        if not folder and path.is_dir():
            raise SpecError("<command line>", flag, want, f"{shown}, an existing folder",
                            "give a file name")
    start = path if folder else path.parent
    existing = start
    while not existing.exists() and existing != existing.parent:
        if existing.is_symlink():  # a dangling link: the folder cannot be made
            break
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        raise SpecError("<command line>", flag, want, f"{shown}, under the file {str(existing)!r}",
                        "choose a path whose parents are folders")
    try:
        fd, probe = tempfile.mkstemp(prefix=".biodyn-probe-", dir=existing)
    except OSError as exc:
        raise SpecError("<command line>", flag, want, f"{shown} ({_why_unwritable(path, existing, exc, folder)})",
                        f"give {'a folder' if folder else 'a file in a folder'} you can write to"
                        + (" (e.g. --out results)" if flag == "--out" else "")) from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)
    return path


def write_json(data, path):
    """Write ``data`` as indented JSON, atomically; ``path`` ``"-"`` writes it to stdout
    (``biodyn ... --json - | jq``) and returns ``"-"``."""
    if str(path) == "-":
        import sys

        json.dump(data, sys.stdout, indent=2, allow_nan=False)
        sys.stdout.write("\n")
        sys.stdout.flush()
        return "-"
    with atomic_path(path) as tmp:
        with open(tmp, "w") as f:
            json.dump(data, f, indent=2, allow_nan=False)
            f.write("\n")
    return Path(path)


def _format_of(path, fmt=None):
    fmt = (fmt or Path(path).suffix.lstrip(".")).lower()
    if fmt not in FORMATS:
        raise SpecError("<command line>", "--format", "one of " + ", ".join(FORMATS), repr(fmt))
    extra = FORMATS[fmt][1]
    if extra is not None:
        try:
            __import__(extra)
        except ImportError:
            raise BiodynError(f"writing .{fmt} files needs the '{extra}' package: "
                              f"pip install 'biodyn[{fmt}]'") from None
    return fmt


def write(block, path, format=None):
    """Write a neo Block to ``path`` (format from the extension), atomically."""
    import neo

    path = Path(path)
    fmt = _format_of(path, format)
    with atomic_path(path) as tmp:
        if fmt == "pkl":
            neo.io.PickleIO(str(tmp)).write_block(block)
        elif fmt == "nix":
            io = neo.io.NixIO(str(tmp), mode="ow")
            try:
                io.write_block(block)
            finally:
                io.close()
        elif fmt == "nwb":
            from . import _nwb

            _nwb.write(block, tmp)
    return path


def read(path):
    """Read the first Block of a neo file (.pkl, .nwb or .nix)."""
    import neo

    path = Path(path)
    if not path.is_file():
        raise SpecError(str(path), "<file>", "an existing neo file", "no such file")
    fmt = _format_of(path)
    try:
        if fmt == "pkl":
            return neo.io.PickleIO(str(path)).read_block()
        if fmt == "nix":
            io = neo.io.NixIO(str(path), mode="ro")
            try:
                return io.read_block()
            finally:
                io.close()
        from . import _nwb

        return _nwb.read(path)
    except BiodynError:
        raise
    except Exception as exc:
        raise SpecError(str(path), "<file>", f"a readable .{fmt} neo file",
                        shorten(exc)) from None
